"""Capabilities and which applications support them."""

from __future__ import annotations

from django.db import transaction

from architecture.models import ApplicationCapability, Capability
from landkarte.roles import ARCHITECT, require_role
from landkarte.services import save_with_history


@transaction.atomic
def create_capability(
    *, user, name: str, code: str, parent: Capability | None = None, description: str = ""
) -> Capability:
    require_role(user, ARCHITECT)
    capability = Capability(name=name, code=code, parent=parent, description=description)
    save_with_history(capability, user, "created")
    return capability


@transaction.atomic
def set_capability_support(
    *, user, application, capability: Capability, support_level: str | None
) -> ApplicationCapability | None:
    """Set how an application supports a capability; an empty level removes the link."""
    require_role(user, ARCHITECT)
    link = (
        ApplicationCapability.objects.select_for_update()
        .filter(application=application, capability=capability)
        .first()
    )
    if not support_level:
        if link is not None:
            link._history_user = user
            link._change_reason = "removed"
            link.delete()
        return None
    if link is None:
        link = ApplicationCapability(application=application, capability=capability)
    link.support_level = support_level
    save_with_history(link, user, f"support: {support_level}")
    return link


def supporting_applications(on=None) -> dict[int, list]:
    """Capability id → the applications supporting it that run on `on` (default today), with
    their owner and vendor: one query."""
    import datetime as _datetime

    from cmdb.lifecycle import application_alive_q

    on = on or _datetime.date.today()
    links = (
        ApplicationCapability.objects.filter(application_alive_q(on, "application__"))
        .select_related("application", "application__vendor", "application__owner_org_unit")
        .order_by("application__name", "pk")
    )
    result: dict[int, list] = {}
    for link in links:
        link.application.support_level = link.support_level
        result.setdefault(link.capability_id, []).append(link.application)
    return result


def application_sovereignty(application):
    """An application's sovereignty as GraphQL's `sovereignty(application)` computes it: its
    current assessment, its effective levels (weakest link over vendor, platforms and cloud
    services) and the score and grade for its protection class. Returns
    (current assessment or None, effective levels, score result)."""
    from sourcing.services import scoring
    from sourcing.services.catalogues import default_catalogue

    current = scoring.current_assessment(application)
    catalogue = current.catalogue if current else default_catalogue()
    effective = scoring.effective_assessment(application, catalogue)
    result = scoring.compute_score(
        catalogue,
        effective.levels,
        not_applicable=effective.not_applicable,
        protection_class=scoring.protection_class_of(application),
    )
    return current, effective, result


GRADE_CACHE_SECONDS = 300


def _grades_fingerprint() -> str:
    """Changes whenever an assessment, an application, an interface link or a component use
    changes: the cached grades are then recomputed."""
    from django.db.models import Count, Max
    from django.utils import timezone

    from cmdb.models import Application, ApplicationComponent, InterfaceConsumer
    from sourcing.models import Assessment

    parts = [str(timezone.localdate())]
    for model in (Assessment, Application, InterfaceConsumer, ApplicationComponent):
        row = model.objects.aggregate(n=Count("pk"), last=Max("updated"))
        parts.append(f"{row['n']}:{row['last']}")
    return "|".join(parts)


def sovereignty_grades(applications) -> dict[int, str]:
    """Application id → sovereignty grade (application_sovereignty). Effective levels cost a
    handful of queries per application, so the grades are cached for a few minutes under a
    fingerprint of the data they depend on."""
    from django.core.cache import cache

    applications = list(applications)
    fingerprint = _grades_fingerprint()
    key = "architecture:sovereignty-grades"
    cached = cache.get(key)
    grades: dict[int, str] = (
        cached[1] if cached and cached[0] == fingerprint and isinstance(cached[1], dict) else {}
    )
    missing = [app for app in applications if app.pk not in grades]
    for app in missing:
        grades[app.pk] = application_sovereignty(app)[2].grade
    if missing or not cached:
        cache.set(key, (fingerprint, grades), GRADE_CACHE_SECONDS)
    return {app.pk: grades[app.pk] for app in applications}

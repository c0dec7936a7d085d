"""Capabilities and which applications support them."""

from __future__ import annotations

import datetime
from collections import Counter

from django.db import transaction

from architecture.models import ApplicationCapability, Capability
from cmdb.choices import TimeClass
from cmdb.lifecycle import application_alive_q
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
    on = on or datetime.date.today()
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


# Worst first: a tie between TIME classes goes to the worse one.
TIME_CLASSES_WORST_FIRST = (
    TimeClass.ELIMINATE,
    TimeClass.MIGRATE,
    TimeClass.TOLERATE,
    TimeClass.INVEST,
)
UNGRADED = "E"
"""The grade an application without a sovereignty result counts as."""


def time_class_counts(applications) -> Counter:
    """How many of the applications fall in each TIME class (None: not rated)."""
    return Counter(app.time_class for app in applications)


def dominant_time_class(counts: Counter) -> str | None:
    """The most frequent rated TIME class (the worse one on a tie); None when none is rated."""
    rated = {time_class: n for time_class, n in counts.items() if time_class}
    if not rated:
        return None
    top = max(rated.values())
    return next(t for t in TIME_CLASSES_WORST_FIRST if rated.get(t) == top)


def grade_counts(applications, grades: dict[int, str]) -> Counter:
    """How many of the applications have each sovereignty grade (`grades`: application id →
    grade); an application without a grade counts as the worst. The worst grade of the
    applications is `max(counts)`."""
    return Counter(grades.get(app.pk, UNGRADED) for app in applications)

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

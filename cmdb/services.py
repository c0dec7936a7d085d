"""Every change to CMDB data goes through these functions (GraphQL, admin actions, importers)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cmdb.models import Application, Interface, InterfaceConsumer
from landkarte.services import require_change, save_with_history

APPLICATION_FIELDS = {
    "name", "acronym", "description", "kind", "owner_org_unit", "owner_team", "business_owner",
    "vendor", "criticality", "confidentiality", "integrity", "availability", "personal_data",
    "hosting", "user_count", "functional_fit", "technical_fit", "plan_date", "phase_in_date",
    "active_date", "phase_out_date", "end_of_life_date", "external_id",
}  # fmt: skip

INTERFACE_FIELDS = {
    "name", "description", "provider", "direction", "protocol", "data_standard", "frequency",
    "personal_data", "owner_team", "active_from", "end_of_life", "external_id",
}  # fmt: skip


def _assign(instance, data: dict, allowed: set[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), code="unknown") for name in unknown}
        )
    for name, value in data.items():
        setattr(instance, name, value)


@transaction.atomic
def create_application(*, user, **data) -> Application:
    require_change(user, "cmdb")
    application = Application()
    _assign(application, data, APPLICATION_FIELDS)
    save_with_history(application, user, "created")
    return application


@transaction.atomic
def update_application(application: Application, *, user, **data) -> Application:
    require_change(user, "cmdb")
    # Lock the row: two editors of one application cannot lose each other's write.
    application = Application.objects.select_for_update().get(pk=application.pk)
    _assign(application, data, APPLICATION_FIELDS)
    changed = ", ".join(sorted(data)) or "nothing"
    save_with_history(application, user, f"updated {changed}")
    return application


@transaction.atomic
def create_interface(*, user, consumers, data_objects=(), **data) -> Interface:
    """Create an interface with its consumers; a consumer depends on the provider."""
    require_change(user, "cmdb")
    interface = Interface()
    _assign(interface, data, INTERFACE_FIELDS)
    consumers = list(dict.fromkeys(consumers))
    errors = {}
    if not consumers:
        errors["consumers"] = ValidationError(
            _("An interface needs at least one consumer."), code="required"
        )
    elif interface.provider_id and any(c.pk == interface.provider_id for c in consumers):
        errors["consumers"] = ValidationError(
            _("An application cannot consume its own interface."), code="own_interface"
        )
    try:
        interface.full_clean()
    except ValidationError as exc:
        errors = {**exc.update_error_dict({}), **errors}
    if errors:
        raise ValidationError(errors)
    save_with_history(interface, user, "created")
    for consumer in consumers:
        link = InterfaceConsumer(interface=interface, consumer=consumer)
        save_with_history(link, user, "consumer added")
    if data_objects:
        interface.data_objects.set(data_objects)
    return interface

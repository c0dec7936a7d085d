"""Helpers every app's service layer uses: permission checks and recorded saves."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from landkarte.roles import can_change


def field_error(field: str | None, message: str, code: str, params: dict | None = None):
    """A refusal attached to one input field (None: the input as a whole), with a code."""
    return ValidationError({field or "__all__": ValidationError(message, code=code, params=params)})


def require_change(user, app_label: str) -> None:
    if not can_change(user, app_label):
        raise PermissionDenied(
            _("You are not allowed to change %(app)s data.") % {"app": app_label}
        )


# django-simple-history stores the reason in a 100-character column (PostgreSQL enforces it).
HISTORY_REASON_LENGTH = 100


def history_reason(reason: str) -> str:
    if len(reason) <= HISTORY_REASON_LENGTH:
        return reason
    return reason[: HISTORY_REASON_LENGTH - 1] + "…"


def save_with_history(instance, user, reason: str) -> None:
    """Validate and save, recording who changed it and why in the history."""
    instance.full_clean()
    instance._history_user = user
    instance._change_reason = history_reason(reason)
    instance.save()


def lock_for_update(instance, expected_version: int | None = None, queryset=None):
    """The row, locked until the transaction ends, so that two writers take turns. A stale
    `expected_version` (someone else saved since the caller read it) is refused on `version`
    with code "conflict", so that no update is lost. `queryset` may add joins; it must select
    for update itself then."""
    model = type(instance)
    if queryset is None:
        queryset = model._default_manager.select_for_update()
    locked = queryset.get(pk=instance.pk)
    if expected_version is not None and expected_version != locked.version:
        raise ValidationError(
            {
                "version": ValidationError(
                    _("Someone else changed this %(object)s; reload it and try again.")
                    % {"object": model._meta.verbose_name},
                    code="conflict",
                )
            }
        )
    return locked

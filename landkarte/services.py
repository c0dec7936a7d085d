"""Helpers every app's service layer uses: permission checks and recorded saves."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from landkarte.roles import can_change


def require_change(user, app_label: str) -> None:
    if not can_change(user, app_label):
        raise PermissionDenied(
            _("You are not allowed to change %(app)s data.") % {"app": app_label}
        )


def save_with_history(instance, user, reason: str) -> None:
    """Validate and save, recording who changed it and why in the history."""
    instance.full_clean()
    instance._history_user = user
    instance._change_reason = reason
    instance.save()

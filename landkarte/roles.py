"""Roles are Django groups. This module is the one place that says what each role may do."""

from django.contrib.auth.models import Group, Permission

SERVICE_DESK = "service_desk"
CHANGE_MANAGER = "change_manager"
ARCHITECT = "architect"
PROCUREMENT = "procurement"
REQUESTER = "requester"
AUDITOR = "auditor"

ROLES = [SERVICE_DESK, CHANGE_MANAGER, ARCHITECT, PROCUREMENT, REQUESTER, AUDITOR]

# Apps whose data each role may change (besides viewing everything). Later apps extend this.
ROLE_CHANGES_APPS: dict[str, set[str]] = {
    SERVICE_DESK: {"itsm"},
    CHANGE_MANAGER: {"itsm"},
    ARCHITECT: {"cmdb", "architecture"},
    PROCUREMENT: {"sourcing"},
    REQUESTER: set(),
    AUDITOR: set(),
}

READABLE_APPS = {"cmdb", "itsm", "sourcing", "architecture", "importers"}


def role_names(user) -> set[str]:
    if not user or not user.is_authenticated:
        return set()
    cached = getattr(user, "_landkarte_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._landkarte_roles = cached
    return cached


def can_read(user) -> bool:
    """Anonymous users see nothing; every role (and staff) may read."""
    if not user or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or bool(role_names(user) & set(ROLES))


def can_change(user, app_label: str) -> bool:
    if not user or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return any(app_label in ROLE_CHANGES_APPS.get(role, set()) for role in role_names(user))


def has_role(user, *roles: str) -> bool:
    """Superusers hold every role."""
    if not user or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or bool(role_names(user) & set(roles))


def require_role(user, *roles: str) -> None:
    from django.core.exceptions import PermissionDenied
    from django.utils.translation import gettext as _

    if not has_role(user, *roles):
        raise PermissionDenied(
            _("This needs one of the roles: %(roles)s.") % {"roles": ", ".join(roles)}
        )


def sync_role_groups() -> None:
    """Create the role groups and give them model permissions matching ROLE_CHANGES_APPS.

    Every role may view every model of the business apps (so the admin shows them read-only);
    roles that may change an app get add/change/delete on its models.
    """
    perms = Permission.objects.filter(content_type__app_label__in=READABLE_APPS).select_related(
        "content_type"
    )
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = [
            p
            for p in perms
            if p.codename.startswith("view_") or p.content_type.app_label in ROLE_CHANGES_APPS[role]
        ]
        group.permissions.set(wanted)

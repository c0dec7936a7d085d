from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from landkarte.models import APIToken, AuditEvent
from landkarte.security import ThrottledAdminAuthenticationForm

# The admin's sign-in goes through the same login throttle as the site's.
admin.site.login_form = ThrottledAdminAuthenticationForm


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    """Tokens are issued with `manage.py create_api_token`; here they can be reviewed, their
    name and expiry changed, and revoked (an action, recorded in the audit log; revocation is
    final)."""

    list_display = (
        "prefix", "user", "name", "created", "last_used", "expires", "revoked", "revoked_at",
    )  # fmt: skip
    list_filter = ("revoked",)
    search_fields = ("user__username", "name", "prefix")
    readonly_fields = ("user", "prefix", "created", "last_used", "revoked", "revoked_at")
    fields = ("user", "name", "prefix", "created", "last_used", "expires", "revoked", "revoked_at")
    actions = ["revoke_tokens"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke selected API tokens"), permissions=["change"])
    def revoke_tokens(self, request, queryset):
        count = sum(
            token.revoke(request=request, by=request.user)
            for token in queryset.select_related("user")
        )
        self.message_user(
            request,
            ngettext("%(count)d API token revoked.", "%(count)d API tokens revoked.", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log, read-only: nobody adds, changes or deletes events."""

    list_display = ("created", "kind", "username", "ip", "detail", "user_agent")
    list_filter = ("kind",)
    search_fields = ("username", "ip", "detail")
    date_hierarchy = "created"
    fields = ("created", "kind", "user", "username", "ip", "user_agent", "detail")
    readonly_fields = fields
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

from django.contrib import admin

from landkarte.models import APIToken


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    """Tokens are issued with `manage.py create_api_token`; here they can be reviewed and
    revoked."""

    list_display = ("prefix", "user", "name", "created", "last_used", "expires", "revoked")
    list_filter = ("revoked",)
    search_fields = ("user__username", "name", "prefix")
    readonly_fields = ("user", "prefix", "created", "last_used")
    fields = ("user", "name", "prefix", "created", "last_used", "expires", "revoked")

    def has_add_permission(self, request):
        return False

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from itsm.models import (
    BusinessCalendar,
    Change,
    ChangeApproval,
    ChangeTemplate,
    ClosingDay,
    FreezeWindow,
    Incident,
    IncidentEvent,
    Problem,
    Requirement,
    ServiceLevel,
    ServiceLevelTarget,
    WorkingHours,
)
from itsm.services.requirements import visible_requirements

# Tickets change state only through itsm.services (rules, SLA clock, timeline): the admin
# shows them read-only, so that nobody bypasses the workflow there.


class ReadOnlyTicketAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class IncidentEventInline(admin.TabularInline):
    model = IncidentEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "author", "from_state", "to_state", "is_public", "text")
    readonly_fields = fields
    ordering = ("at", "id")
    verbose_name_plural = _("timeline")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnlyTicketAdmin):
    list_display = (
        "number", "title", "priority", "state", "assigned_team", "assignee", "service",
        "resolution_due", "resolution_breached", "opened_at",
    )  # fmt: skip
    list_filter = (
        "state", "priority", "is_major", "resolution_breached", "response_breached",
        "category", ("assigned_team", admin.RelatedOnlyFieldListFilter),
    )  # fmt: skip
    search_fields = ("number", "title", "description", "caller_name", "caller__username")
    list_select_related = ("assigned_team", "assignee", "service")
    date_hierarchy = "opened_at"
    inlines = (IncidentEventInline,)
    fieldsets = (
        (None, {"fields": ("number", "title", "description", "category", "state")}),
        (_("Classification"), {"fields": (("impact", "urgency", "priority"), "is_major")}),
        (
            _("Caller and scope"),
            {
                "fields": (
                    "caller",
                    "caller_name",
                    "caller_org_unit",
                    "service",
                    "applications",
                    "components",
                    "parent",
                    "problem",
                )
            },  # fmt: skip
        ),
        (_("Assignment"), {"fields": ("assigned_team", "assignee", "pending_reason")}),
        (
            _("SLA"),
            {
                "fields": (
                    "service_level",
                    ("response_due", "responded_at", "response_minutes", "response_breached"),
                    ("resolution_due", "resolved_at", "resolution_minutes", "resolution_breached"),
                    ("paused_since", "paused_minutes"),
                )  # fmt: skip
            },
        ),
        (
            _("Resolution"),
            {
                "fields": (
                    "resolution_code",
                    "resolution_notes",
                    "closed_at",
                    "reopen_count",
                    "reassignment_count",
                )
            },
        ),  # fmt: skip
    )


@admin.register(Problem)
class ProblemAdmin(ReadOnlyTicketAdmin):
    list_display = ("number", "title", "state", "is_known_error", "assigned_team", "opened_at")
    list_filter = ("state", "is_known_error")
    search_fields = ("number", "title", "description", "workaround", "root_cause")
    list_select_related = ("assigned_team",)


class ChangeApprovalInline(admin.TabularInline):
    model = ChangeApproval
    extra = 0
    can_delete = False
    readonly_fields = ("approver", "role", "on_behalf_of_team", "decision", "comment",
                       "decided_at")  # fmt: skip
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Change)
class ChangeAdmin(ReadOnlyTicketAdmin):
    list_display = (
        "number", "title", "change_type", "state", "risk", "planned_start", "planned_end",
        "outcome",
    )  # fmt: skip
    list_filter = ("state", "change_type", "risk", "outcome")
    search_fields = ("number", "title", "description")
    date_hierarchy = "planned_start"
    inlines = (ChangeApprovalInline,)


@admin.register(ChangeTemplate)
class ChangeTemplateAdmin(SimpleHistoryAdmin):
    list_display = ("name", "max_risk", "active")
    list_filter = ("active", "max_risk")
    search_fields = ("name", "description")


@admin.register(FreezeWindow)
class FreezeWindowAdmin(SimpleHistoryAdmin):
    list_display = ("name", "start", "end", "applies_to_all")
    date_hierarchy = "start"
    autocomplete_fields = ("applications", "services")
    search_fields = ("name", "reason")


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


class ClosingDayInline(admin.TabularInline):
    model = ClosingDay
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(SimpleHistoryAdmin):
    list_display = ("name", "time_zone", "holiday_country", "holiday_subdivision", "is_default")
    inlines = (WorkingHoursInline, ClosingDayInline)


class ServiceLevelTargetInline(admin.TabularInline):
    model = ServiceLevelTarget
    extra = 0


@admin.register(ServiceLevel)
class ServiceLevelAdmin(SimpleHistoryAdmin):
    list_display = ("name", "service", "calendar")
    list_select_related = ("service", "calendar")
    autocomplete_fields = ("service",)
    inlines = (ServiceLevelTargetInline,)


@admin.register(Requirement)
class RequirementAdmin(ReadOnlyTicketAdmin):
    list_display = (
        "number", "title", "kind", "state", "requesting_org_unit", "wsjf", "due_date",
        "submitted_at",
    )  # fmt: skip
    list_filter = ("state", "kind", ("requesting_org_unit", admin.RelatedOnlyFieldListFilter))
    search_fields = ("number", "title", "description", "legal_basis")
    list_select_related = ("requesting_org_unit",)
    ordering = ("-wsjf", "due_date", "number")

    def get_queryset(self, request):
        # The admin honours the backlog's visibility rule like every other view.
        return visible_requirements(request.user, super().get_queryset(request))

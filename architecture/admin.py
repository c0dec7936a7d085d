from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from mptt.admin import MPTTModelAdmin

from architecture.models import (
    ApplicationCapability,
    ArchitectureDecision,
    Capability,
    StandardException,
    TechCategory,
    TechnologyStandard,
)
from architecture.services.decisions import next_decision_number
from cmdb.admin import HistoryAdmin


class ApplicationCapabilityInline(admin.TabularInline):
    model = ApplicationCapability
    extra = 0
    autocomplete_fields = ("application",)
    verbose_name = _("supporting application")
    verbose_name_plural = _("supporting applications")


class TechnologyStandardInline(admin.TabularInline):
    model = TechnologyStandard
    extra = 0
    fields = ("status", "valid_from", "valid_until", "decision", "rationale")
    autocomplete_fields = ("decision",)


class StandardExceptionInline(admin.TabularInline):
    model = StandardException
    extra = 0
    fields = ("application", "standard", "decision", "reason", "expires_on")
    autocomplete_fields = ("application", "standard", "decision")


@admin.register(Capability)
class CapabilityAdmin(MPTTModelAdmin, HistoryAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code", "description")
    autocomplete_fields = ("requirements",)
    inlines = [ApplicationCapabilityInline]
    mptt_level_indent = 20


@admin.register(TechCategory)
class TechCategoryAdmin(MPTTModelAdmin, HistoryAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code", "description")
    autocomplete_fields = ("components",)
    inlines = [TechnologyStandardInline]
    mptt_level_indent = 20


@admin.register(TechnologyStandard)
class TechnologyStandardAdmin(HistoryAdmin):
    list_display = ("__str__", "status", "valid_from", "valid_until", "decision")
    list_filter = ("status",)
    search_fields = ("component__name", "category__name", "category__code", "rationale")
    autocomplete_fields = ("component", "category", "decision")
    date_hierarchy = "valid_from"
    inlines = [StandardExceptionInline]


@admin.register(ArchitectureDecision)
class ArchitectureDecisionAdmin(HistoryAdmin):
    list_display = ("number", "title", "status", "decided_at", "review_date")
    list_filter = ("status",)
    search_fields = ("number", "title", "context", "decision")
    readonly_fields = ("number", "created", "updated")
    autocomplete_fields = (
        "decided_by", "supersedes", "applications", "components", "interfaces",
    )  # fmt: skip
    inlines = [StandardExceptionInline]

    def save_model(self, request, obj, form, change):
        if not obj.number:
            obj.number = next_decision_number()
        super().save_model(request, obj, form, change)


@admin.register(StandardException)
class StandardExceptionAdmin(HistoryAdmin):
    list_display = ("application", "standard", "decision", "expires_on")
    list_filter = ("expires_on",)
    search_fields = ("application__name", "reason", "decision__number")
    autocomplete_fields = ("application", "standard", "decision")

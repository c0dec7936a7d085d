from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from sourcing.models import Answer, Assessment, CriteriaCatalogue, Criterion
from sourcing.procurement_models import ProcurementCandidate, ProcurementCase


class ReadOnlyAdmin(SimpleHistoryAdmin):
    """Catalogues are loaded with `load_criteria` and frozen once published; assessments move
    through sourcing.services (four eyes, scoring): the admin shows them, the pages and the API
    change them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CriterionInline(admin.TabularInline):
    model = Criterion
    fields = ("code", "group", "name", "weight", "is_floor")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CriteriaCatalogue)
class CriteriaCatalogueAdmin(ReadOnlyAdmin):
    list_display = ("code", "version", "status", "title", "published_at")
    list_filter = ("status", "code")
    inlines = (CriterionInline,)


class AnswerInline(admin.TabularInline):
    model = Answer
    fields = ("criterion", "level", "not_applicable", "evidence", "comment")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "catalogue", "state", "assessor", "approved_at", "valid_until")
    list_filter = ("state", "catalogue")
    search_fields = ("vendor__name", "component__name", "application__name")
    list_select_related = ("catalogue", "assessor", "vendor", "component", "application")
    inlines = (AnswerInline,)


class ProcurementCandidateInline(admin.TabularInline):
    model = ProcurementCandidate
    fk_name = "case"
    fields = ("vendor", "component", "assessment", "offer_notes")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ProcurementCase)
class ProcurementCaseAdmin(ReadOnlyAdmin):
    list_display = ("reference", "title", "state", "protection_class", "org_unit", "awarded_at")
    list_filter = ("state", "protection_class")
    search_fields = ("reference", "title", "description")
    list_select_related = ("org_unit",)
    inlines = (ProcurementCandidateInline,)

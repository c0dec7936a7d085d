import datetime

from django.contrib import admin
from django.db import models
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _
from mptt.admin import MPTTModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from cmdb.choices import LifecyclePhase, TimeClass
from cmdb.filtersets import org_unit_subtree_q, vendor_eu_q
from cmdb.lifecycle import phase_q
from cmdb.models import (
    Application,
    ApplicationComponent,
    DataObject,
    Interface,
    InterfaceConsumer,
    ITComponent,
    OrgUnit,
    Responsibility,
    Service,
    SoftwarePackage,
    Team,
    Vendor,
)


class HistoryAdmin(SimpleHistoryAdmin):
    """History with author on every business model; timestamps shown read-only."""

    readonly_fields = ("created", "updated")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request, obj, form, change):
        # Stored, not shown: history reasons stay in English whatever the user's language.
        obj._change_reason = "changed in admin" if change else "created in admin"
        super().save_model(request, obj, form, change)


class OrgUnitSubtreeFilter(admin.SimpleListFilter):
    """Owned by an office or anything below it: pick a department and see all its offices."""

    title = _("org unit (with sub-units)")
    parameter_name = "org_unit_subtree"
    field = "owner_org_unit"

    def lookups(self, request, model_admin):
        units = OrgUnit.objects.filter(level__lte=2).order_by("tree_id", "lft")
        return [(unit.pk, "— " * unit.level + unit.name) for unit in units]

    def queryset(self, request, queryset):
        if not self.value() or not self.value().isdigit():
            return queryset
        return queryset.filter(org_unit_subtree_q([self.value()], f"{self.field}__"))


class LifecyclePhaseFilter(admin.SimpleListFilter):
    title = _("lifecycle phase today")
    parameter_name = "lifecycle_phase"

    def lookups(self, request, model_admin):
        return LifecyclePhase.choices

    def queryset(self, request, queryset):
        if not self.value() or self.value() not in LifecyclePhase.values:
            return queryset
        return queryset.filter(phase_q(self.value(), datetime.date.today()))


class JurisdictionFilter(admin.SimpleListFilter):
    title = _("jurisdiction")
    parameter_name = "jurisdiction"
    prefix = ""

    def lookups(self, request, model_admin):
        return [("eu", _("EU")), ("non_eu", _("outside the EU"))]

    def queryset(self, request, queryset):
        if self.value() == "eu":
            return queryset.filter(vendor_eu_q(self.prefix))
        if self.value() == "non_eu":
            return queryset.filter(**{f"{self.prefix}id__isnull": False}).exclude(
                vendor_eu_q(self.prefix)
            )
        return queryset


class VendorJurisdictionFilter(JurisdictionFilter):
    title = _("vendor jurisdiction")
    parameter_name = "vendor_jurisdiction"
    prefix = "vendor__"


class EndOfLifeFilter(admin.SimpleListFilter):
    title = _("end of life")
    parameter_name = "eol"

    def lookups(self, request, model_admin):
        return [
            ("past", _("past end of life")),
            ("12m", _("within 12 months")),
            ("later", _("later or unknown")),
        ]

    def queryset(self, request, queryset):
        today = datetime.date.today()
        in_a_year = today + datetime.timedelta(days=365)
        if self.value() == "past":
            return queryset.filter(end_of_life__lte=today)
        if self.value() == "12m":
            return queryset.filter(end_of_life__gt=today, end_of_life__lte=in_a_year)
        if self.value() == "later":
            return queryset.filter(Q(end_of_life__isnull=True) | Q(end_of_life__gt=in_a_year))
        return queryset


@admin.register(OrgUnit)
class OrgUnitAdmin(MPTTModelAdmin, HistoryAdmin):
    list_display = ("name", "code", "kind", "application_count")
    list_filter = ("kind",)
    search_fields = ("name", "code")
    mptt_level_indent = 20

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(app_count=Count("applications"))

    @admin.display(description=_("applications"), ordering="app_count")
    def application_count(self, obj):
        return obj.app_count


@admin.register(Team)
class TeamAdmin(HistoryAdmin):
    list_display = ("name", "org_unit", "email")
    list_filter = (("org_unit", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("name", "email", "org_unit__name")
    autocomplete_fields = ("org_unit", "members")
    list_select_related = ("org_unit",)


@admin.register(Vendor)
class VendorAdmin(HistoryAdmin):
    list_display = ("name", "country", "parent", "ultimate_parent", "jurisdiction", "is_eu")
    list_filter = (JurisdictionFilter, "country")
    search_fields = ("name", "country")
    autocomplete_fields = ("parent",)
    list_select_related = ("parent", "ultimate_parent")
    readonly_fields = ("ultimate_parent", "jurisdiction", "created", "updated")

    @admin.display(description=_("EU"), boolean=True)
    def is_eu(self, obj):
        return obj.is_eu


@admin.register(ITComponent)
class ITComponentAdmin(HistoryAdmin):
    list_display = (
        "name", "version", "vendor", "kind", "is_open_source", "end_of_support", "end_of_life",
    )  # fmt: skip
    list_filter = (
        EndOfLifeFilter,
        "kind",
        "is_open_source",
        ("vendor", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("name", "version", "purl", "cpe", "vendor__name")
    autocomplete_fields = ("vendor",)
    list_select_related = ("vendor",)
    date_hierarchy = "end_of_life"


class ApplicationComponentInline(admin.TabularInline):
    model = ApplicationComponent
    extra = 0
    autocomplete_fields = ("component",)


class ResponsibilityInline(admin.TabularInline):
    model = Responsibility
    extra = 0
    autocomplete_fields = ("team", "person")


class ProvidedInterfaceInline(admin.TabularInline):
    model = Interface
    fk_name = "provider"
    extra = 0
    fields = ("name", "protocol", "data_standard", "frequency", "active_from", "end_of_life")
    show_change_link = True
    verbose_name = _("provided interface")
    verbose_name_plural = _("provided interfaces")


class ConsumedInterfaceInline(admin.TabularInline):
    model = InterfaceConsumer
    fk_name = "consumer"
    extra = 0
    autocomplete_fields = ("interface",)
    fields = ("interface",)
    verbose_name = _("consumed interface")
    verbose_name_plural = _("consumed interfaces")


@admin.register(Application)
class ApplicationAdmin(HistoryAdmin):
    list_display = (
        "name", "acronym", "kind", "owner_org_unit", "vendor", "criticality", "hosting",
        "phase_today", "time_class_display",
    )  # fmt: skip
    list_filter = (
        "criticality", LifecyclePhaseFilter, OrgUnitSubtreeFilter, VendorJurisdictionFilter,
        "kind", "hosting", "personal_data", ("vendor__country", admin.AllValuesFieldListFilter),
    )  # fmt: skip
    search_fields = ("name", "acronym", "description", "business_owner", "vendor__name")
    autocomplete_fields = ("owner_org_unit", "owner_team", "vendor")
    list_select_related = ("owner_org_unit", "vendor")
    inlines = (
        ResponsibilityInline, ApplicationComponentInline, ProvidedInterfaceInline,
        ConsumedInterfaceInline,
    )  # fmt: skip
    fieldsets = (
        (None, {"fields": ("name", "acronym", "kind", "description", "vendor", "external_id")}),
        (_("Ownership"), {"fields": ("owner_org_unit", "owner_team", "business_owner")}),
        (
            _("Classification"),
            {
                "fields": (
                    "criticality",
                    ("confidentiality", "integrity", "availability"),
                    "personal_data",
                    "hosting",
                    "user_count",
                )  # fmt: skip
            },
        ),
        (_("Assessment"), {"fields": (("functional_fit", "technical_fit"),)}),
        (
            _("Lifecycle"),
            {
                "fields": (
                    ("plan_date", "phase_in_date", "active_date"),
                    ("phase_out_date", "end_of_life_date"),
                )
            },
        ),
        (_("Record"), {"fields": ("created", "updated"), "classes": ("collapse",)}),
    )

    @admin.display(description=_("phase today"))
    def phase_today(self, obj):
        phase = obj.lifecycle_phase
        return LifecyclePhase(phase).label if phase else "–"

    @admin.display(description=_("TIME"))
    def time_class_display(self, obj):
        return TimeClass(obj.time_class).label if obj.time_class else "–"

    def save_formset(self, request, form, formset, change):
        # Inline rows get the same author and reason in their history as the parent.
        for instance in formset.save(commit=False):
            instance._change_reason = "changed in admin"
            instance.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


class InterfaceConsumerInline(admin.TabularInline):
    model = InterfaceConsumer
    fk_name = "interface"
    extra = 1
    autocomplete_fields = ("consumer",)
    fields = ("consumer",)


@admin.register(Interface)
class InterfaceAdmin(HistoryAdmin):
    list_display = (
        "name", "provider", "consumer_count", "protocol", "data_standard", "frequency",
        "personal_data", "owner_team", "end_of_life",
    )  # fmt: skip
    list_filter = ("protocol", "frequency", "personal_data", "direction")
    search_fields = ("name", "data_standard", "provider__name", "links__consumer__name")
    autocomplete_fields = ("provider", "owner_team", "data_objects")
    list_select_related = ("provider", "owner_team")
    inlines = (InterfaceConsumerInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_consumers=Count("links"))

    @admin.display(description=_("consumers"), ordering="n_consumers")
    def consumer_count(self, obj):
        return obj.n_consumers


@admin.register(InterfaceConsumer)
class InterfaceConsumerAdmin(HistoryAdmin):
    list_display = ("interface", "provider", "consumer")
    search_fields = ("interface__name", "consumer__name", "provider__name")
    autocomplete_fields = ("interface", "consumer")
    list_select_related = ("interface", "provider", "consumer")


@admin.register(DataObject)
class DataObjectAdmin(HistoryAdmin):
    list_display = ("name", "classification", "personal_data", "special_categories")
    list_filter = ("classification", "personal_data", "special_categories")
    search_fields = ("name", "description")


@admin.register(Service)
class ServiceAdmin(HistoryAdmin):
    list_display = ("name", "code", "kind", "owner_team")
    list_filter = ("kind",)
    search_fields = ("name", "code", "description")
    autocomplete_fields = ("owner_team", "applications", "consumer_org_units")
    list_select_related = ("owner_team",)


@admin.register(SoftwarePackage)
class SoftwarePackageAdmin(HistoryAdmin):
    list_display = ("name", "version", "application", "supplier", "licences")
    search_fields = ("name", "purl", "application__name")
    autocomplete_fields = ("application",)
    list_select_related = ("application",)


@admin.register(ApplicationComponent)
class ApplicationComponentAdmin(HistoryAdmin):
    list_display = ("application", "component", "environment")
    list_filter = ("environment",)
    search_fields = ("application__name", "component__name")
    autocomplete_fields = ("application", "component")
    list_select_related = ("application", "component")


@admin.register(Responsibility)
class ResponsibilityAdmin(HistoryAdmin):
    list_display = ("application", "role", "team", "person")
    list_filter = ("role",)
    search_fields = ("application__name", "team__name", "person__username")
    autocomplete_fields = ("application", "team", "person")
    list_select_related = ("application", "team", "person")

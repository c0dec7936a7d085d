"""One filterset per model, used by the GraphQL API (and by the pages and admin later)."""

import datetime

import django_filters as filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from graphene_django.filter import GlobalIDFilter, GlobalIDMultipleChoiceFilter
from graphql_relay import from_global_id

from cmdb.choices import (
    EU_COUNTRIES,
    ApplicationKind,
    ComponentKind,
    Criticality,
    Hosting,
    LifecyclePhase,
    OrgUnitKind,
    Protocol,
    ServiceKind,
)
from cmdb.lifecycle import application_alive_q, interface_alive_q, phase_q
from cmdb.models import (
    Application,
    DataObject,
    Interface,
    ITComponent,
    OrgUnit,
    Service,
    SoftwarePackage,
    Team,
    Vendor,
)


class Jurisdiction:
    EU = "eu"
    NON_EU = "non_eu"
    CHOICES = [(EU, _("EU")), (NON_EU, _("outside the EU"))]


def vendor_eu_q(prefix: str = "") -> Q:
    """Vendors whose jurisdiction (the country of the ultimate parent) is in the EU."""
    return Q(
        **{f"{prefix}ultimate_parent__isnull": True, f"{prefix}country__in": EU_COUNTRIES}
    ) | Q(**{f"{prefix}ultimate_parent__country__in": EU_COUNTRIES})


def filter_jurisdiction(queryset, prefix: str, value: str):
    if value == Jurisdiction.EU:
        return queryset.filter(vendor_eu_q(prefix))
    if value == Jurisdiction.NON_EU:
        return queryset.filter(**{f"{prefix}id__isnull": False}).exclude(vendor_eu_q(prefix))
    return queryset


def decode_ids(global_ids) -> list[str]:
    """Primary keys from Relay global IDs (filters with a method receive them undecoded)."""
    pks = []
    for value in global_ids:
        try:
            pks.append(from_global_id(value)[1] or value)
        except Exception:  # not base64: accept a plain primary key
            pks.append(value)
    return [pk for pk in pks if str(pk).isdigit()]


def org_unit_subtree_q(org_unit_ids, prefix: str) -> Q:
    """Rows whose org unit (at `prefix`) is one of the given units or below them in the tree."""
    condition = Q()
    for unit in OrgUnit.objects.filter(pk__in=org_unit_ids):
        condition |= Q(
            **{
                f"{prefix}tree_id": unit.tree_id,
                f"{prefix}lft__gte": unit.lft,
                f"{prefix}rght__lte": unit.rght,
            }
        )
    return condition if condition else Q(pk__in=[])


class SearchFilterMixin:
    search_fields: tuple[str, ...] = ("name",)

    def filter_search(self, queryset, name, value):
        if not value:
            return queryset
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value})
        return queryset.filter(condition)


class OrgUnitFilterSet(SearchFilterMixin, filters.FilterSet):
    search_fields = ("name", "code")
    search = filters.CharFilter(method="filter_search", label=_("name or code contains"))
    kind = filters.MultipleChoiceFilter(choices=OrgUnitKind.choices)
    parent = GlobalIDFilter(field_name="parent")
    within = GlobalIDMultipleChoiceFilter(method="filter_within", label=_("in the subtree of"))
    order_by = filters.OrderingFilter(fields=("name", "code", "kind", "lft"))

    class Meta:
        model = OrgUnit
        fields = []

    def filter_within(self, queryset, name, value):
        return queryset.filter(org_unit_subtree_q(decode_ids(value), "")) if value else queryset


class TeamFilterSet(SearchFilterMixin, filters.FilterSet):
    search = filters.CharFilter(method="filter_search")
    org_unit = GlobalIDMultipleChoiceFilter(method="filter_org_unit")
    order_by = filters.OrderingFilter(fields=("name",))

    class Meta:
        model = Team
        fields = []

    def filter_org_unit(self, queryset, name, value):
        return (
            queryset.filter(org_unit_subtree_q(decode_ids(value), "org_unit__"))
            if value
            else queryset
        )


class VendorFilterSet(SearchFilterMixin, filters.FilterSet):
    search = filters.CharFilter(method="filter_search")
    country = filters.CharFilter(field_name="country", lookup_expr="iexact")
    jurisdiction = filters.ChoiceFilter(
        choices=Jurisdiction.CHOICES,
        method="filter_jurisdiction",
        label=_("jurisdiction of the ultimate parent"),
    )
    parent = GlobalIDFilter(field_name="parent")
    order_by = filters.OrderingFilter(fields=("name", "country"))

    class Meta:
        model = Vendor
        fields = []

    def filter_jurisdiction(self, queryset, name, value):
        return filter_jurisdiction(queryset, "", value)


class ITComponentFilterSet(SearchFilterMixin, filters.FilterSet):
    search_fields = ("name", "version", "purl")
    search = filters.CharFilter(method="filter_search")
    kind = filters.MultipleChoiceFilter(choices=ComponentKind.choices)
    vendor = GlobalIDMultipleChoiceFilter(field_name="vendor")
    is_open_source = filters.BooleanFilter()
    end_of_life_before = filters.DateFilter(field_name="end_of_life", lookup_expr="lt")
    order_by = filters.OrderingFilter(fields=("name", "version", "end_of_life"))

    class Meta:
        model = ITComponent
        fields = []


class ApplicationFilterSet(SearchFilterMixin, filters.FilterSet):
    search_fields = ("name", "acronym", "description")
    search = filters.CharFilter(method="filter_search", label=_("name, acronym or description"))
    org_unit = GlobalIDMultipleChoiceFilter(
        method="filter_org_unit", label=_("owned in this org unit or below")
    )
    owner_team = GlobalIDMultipleChoiceFilter(field_name="owner_team")
    kind = filters.MultipleChoiceFilter(choices=ApplicationKind.choices)
    criticality = filters.MultipleChoiceFilter(choices=Criticality.choices)
    hosting = filters.MultipleChoiceFilter(choices=Hosting.choices)
    personal_data = filters.BooleanFilter()
    lifecycle_phase = filters.MultipleChoiceFilter(
        choices=LifecyclePhase.choices,
        method="filter_lifecycle_phase",
        label=_("lifecycle phase on lifecycleDate (default: today)"),
    )
    lifecycle_date = filters.DateFilter(method="filter_noop")
    as_of = filters.DateFilter(
        method="filter_as_of",
        label=_("only applications running on this date (by lifecycle); landscapeAsOf gives "
                "the landscape as recorded then"),
    )  # fmt: skip
    vendor = GlobalIDMultipleChoiceFilter(field_name="vendor")
    vendor_jurisdiction = filters.ChoiceFilter(
        choices=Jurisdiction.CHOICES, method="filter_vendor_jurisdiction"
    )
    vendor_country = filters.CharFilter(field_name="vendor__country", lookup_expr="iexact")
    uses_component = GlobalIDMultipleChoiceFilter(
        field_name="component_uses__component", distinct=True
    )
    order_by = filters.OrderingFilter(
        fields=("name", "acronym", "criticality", "created", "updated", "active_date")
    )

    class Meta:
        model = Application
        fields = []

    def filter_noop(self, queryset, name, value):
        return queryset

    def filter_org_unit(self, queryset, name, value):
        return (
            queryset.filter(org_unit_subtree_q(decode_ids(value), "owner_org_unit__"))
            if value
            else queryset
        )

    def filter_as_of(self, queryset, name, value):
        return queryset.filter(application_alive_q(value)) if value else queryset

    def filter_lifecycle_phase(self, queryset, name, value):
        if not value:
            return queryset
        on = self.form.cleaned_data.get("lifecycle_date") or datetime.date.today()
        condition = Q()
        for phase in value:
            condition |= phase_q(phase, on)
        return queryset.filter(condition)

    def filter_vendor_jurisdiction(self, queryset, name, value):
        return filter_jurisdiction(queryset, "vendor__", value)


class InterfaceFilterSet(SearchFilterMixin, filters.FilterSet):
    search_fields = ("name", "description", "data_standard")
    search = filters.CharFilter(method="filter_search")
    protocol = filters.MultipleChoiceFilter(choices=Protocol.choices)
    provider = GlobalIDMultipleChoiceFilter(field_name="provider")
    consumer = GlobalIDMultipleChoiceFilter(field_name="links__consumer", distinct=True)
    application = GlobalIDMultipleChoiceFilter(
        method="filter_application", label=_("provided or consumed by")
    )
    personal_data = filters.BooleanFilter()
    owner_team = GlobalIDMultipleChoiceFilter(field_name="owner_team")
    as_of = filters.DateFilter(
        method="filter_as_of", label=_("only interfaces (and their provider) alive on this date")
    )
    order_by = filters.OrderingFilter(fields=("name", "protocol", "created"))

    def filter_as_of(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(interface_alive_q(value), application_alive_q(value, "provider__"))

    class Meta:
        model = Interface
        fields = []

    def filter_application(self, queryset, name, value):
        if not value:
            return queryset
        pks = decode_ids(value)
        return queryset.filter(Q(provider__in=pks) | Q(links__consumer__in=pks)).distinct()


class DataObjectFilterSet(SearchFilterMixin, filters.FilterSet):
    search = filters.CharFilter(method="filter_search")
    personal_data = filters.BooleanFilter()
    order_by = filters.OrderingFilter(fields=("name", "classification"))

    class Meta:
        model = DataObject
        fields = ["classification"]


class ServiceFilterSet(SearchFilterMixin, filters.FilterSet):
    search_fields = ("name", "code", "description")
    search = filters.CharFilter(method="filter_search")
    kind = filters.ChoiceFilter(choices=ServiceKind.choices)
    application = GlobalIDMultipleChoiceFilter(field_name="applications", distinct=True)
    order_by = filters.OrderingFilter(fields=("name", "code"))

    class Meta:
        model = Service
        fields = []


class SoftwarePackageFilterSet(SearchFilterMixin, filters.FilterSet):
    search_fields = ("name", "purl")
    search = filters.CharFilter(method="filter_search")
    application = GlobalIDMultipleChoiceFilter(field_name="application")
    order_by = filters.OrderingFilter(fields=("name", "version"))

    class Meta:
        model = SoftwarePackage
        fields = []

import django_filters as filters
from django.db.models import Q
from graphene_django.filter import GlobalIDMultipleChoiceFilter

from cmdb.choices import ProtectionNeed
from sourcing.choices import AssessmentState, CatalogueStatus
from sourcing.models import Assessment, CriteriaCatalogue
from sourcing.procurement_models import ProcurementCase, ProcurementState


class CriteriaCatalogueFilterSet(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=CatalogueStatus.choices)
    code = filters.CharFilter()
    order_by = filters.OrderingFilter(fields=("code", "published_at", "created"))

    class Meta:
        model = CriteriaCatalogue
        fields = []


class AssessmentFilterSet(filters.FilterSet):
    state = filters.MultipleChoiceFilter(choices=AssessmentState.choices)
    vendor = GlobalIDMultipleChoiceFilter(field_name="vendor")
    component = GlobalIDMultipleChoiceFilter(field_name="component")
    application = GlobalIDMultipleChoiceFilter(field_name="application")
    catalogue = GlobalIDMultipleChoiceFilter(field_name="catalogue")
    valid_on = filters.DateFilter(field_name="valid_until", lookup_expr="gte")
    order_by = filters.OrderingFilter(fields=("approved_at", "created", "valid_until"))

    class Meta:
        model = Assessment
        fields = []


class ProcurementCaseFilterSet(filters.FilterSet):
    search = filters.CharFilter(method="filter_search")
    state = filters.MultipleChoiceFilter(choices=ProcurementState.choices)
    protection_class = filters.MultipleChoiceFilter(choices=ProtectionNeed.choices)
    org_unit = GlobalIDMultipleChoiceFilter(field_name="org_unit")
    order_by = filters.OrderingFilter(fields=("reference", "created", "awarded_at"))

    class Meta:
        model = ProcurementCase
        fields = []

    def filter_search(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(
            Q(reference__icontains=value) | Q(title__icontains=value)
            | Q(description__icontains=value)
        )  # fmt: skip

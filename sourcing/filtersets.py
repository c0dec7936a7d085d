import django_filters as filters
from graphene_django.filter import GlobalIDMultipleChoiceFilter

from sourcing.choices import AssessmentState, CatalogueStatus
from sourcing.models import Assessment, CriteriaCatalogue


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

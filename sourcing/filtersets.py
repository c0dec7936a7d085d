import django_filters as filters
from django.db.models import Q
from graphene_django.filter import GlobalIDMultipleChoiceFilter

from cmdb.choices import ProtectionNeed
from sourcing.choices import AssessmentState, CatalogueStatus, SubjectKind
from sourcing.models import Assessment, CriteriaCatalogue
from sourcing.procurement_models import ProcurementCase, ProcurementState

GRADES = [(grade, grade) for grade in "ABCDE"]


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
    subject_kind = filters.ChoiceFilter(choices=SubjectKind.choices, method="filter_subject_kind")
    grade = filters.ChoiceFilter(choices=GRADES, method="filter_grade")
    order_by = filters.OrderingFilter(fields=("approved_at", "created", "valid_until"))

    class Meta:
        model = Assessment
        fields = []

    def filter_subject_kind(self, queryset, name, value):
        return queryset.filter(**{f"{value}__isnull": False})

    def filter_grade(self, queryset, name, value):
        """The grade is computed from the answers (without a protection class), not stored."""
        from sourcing.services.scoring import scorable_assessments, score_assessment

        wanted = [
            assessment.pk
            for assessment in scorable_assessments(queryset.order_by().prefetch_related(None))
            if score_assessment(assessment).grade == value
        ]
        return queryset.filter(pk__in=wanted)


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

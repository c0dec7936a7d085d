"""The filterset of the requirements backlog (GraphQL `requirements`, pages, admin)."""

import django_filters as filters
from django.utils.translation import gettext_lazy as _
from graphene_django.filter import GlobalIDMultipleChoiceFilter

from cmdb.filtersets import SearchFilterMixin, decode_ids, org_unit_subtree_q
from itsm.models.requirement import Requirement
from itsm.requirement_choices import FINAL_REQUIREMENT_STATES, RequirementKind, RequirementState


class RequirementFilterSet(SearchFilterMixin, filters.FilterSet):
    search_fields = ("number", "title", "description")
    search = filters.CharFilter(method="filter_search", label=_("number, title or description"))
    state = filters.MultipleChoiceFilter(choices=RequirementState.choices)
    kind = filters.MultipleChoiceFilter(choices=RequirementKind.choices)
    org_unit = GlobalIDMultipleChoiceFilter(
        method="filter_org_unit", label=_("requested by this org unit or a unit below it")
    )
    application = GlobalIDMultipleChoiceFilter(field_name="applications", distinct=True)
    due_before = filters.DateFilter(field_name="due_date", lookup_expr="lt")
    open = filters.BooleanFilter(
        method="filter_open", label=_("open (not yet done, rejected or withdrawn)")
    )
    order_by = filters.OrderingFilter(fields=("wsjf", "due_date", "number", "submitted_at"))

    class Meta:
        model = Requirement
        fields = []

    def filter_org_unit(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(org_unit_subtree_q(decode_ids(value), "requesting_org_unit__"))

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        if value:
            return queryset.exclude(state__in=FINAL_REQUIREMENT_STATES)
        return queryset.filter(state__in=FINAL_REQUIREMENT_STATES)

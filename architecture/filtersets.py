"""Filtersets of the architecture app, used by the GraphQL API."""

import django_filters as filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from graphene_django.filter import GlobalIDFilter

from architecture.choices import DecisionStatus, StandardStatus
from architecture.models import (
    ArchitectureDecision,
    Capability,
    StandardException,
    TechCategory,
    TechnologyStandard,
)
from cmdb.filtersets import SearchFilterMixin


class CapabilityFilterSet(SearchFilterMixin, filters.FilterSet):
    search_fields = ("name", "code", "description")
    search = filters.CharFilter(method="filter_search", label=_("name, code or description"))
    parent = GlobalIDFilter(field_name="parent")
    is_root = filters.BooleanFilter(field_name="parent", lookup_expr="isnull", label=_("root"))
    level = filters.NumberFilter(field_name="level", label=_("depth in the tree (0 = root)"))
    order_by = filters.OrderingFilter(fields=("name", "code", "lft"))

    class Meta:
        model = Capability
        fields = []


class TechCategoryFilterSet(SearchFilterMixin, filters.FilterSet):
    search_fields = ("name", "code", "description")
    search = filters.CharFilter(method="filter_search")
    parent = GlobalIDFilter(field_name="parent")
    level = filters.NumberFilter(field_name="level")
    order_by = filters.OrderingFilter(fields=("name", "code", "lft"))

    class Meta:
        model = TechCategory
        fields = []


class TechnologyStandardFilterSet(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=StandardStatus.choices)
    on_date = filters.DateFilter(method="filter_on_date", label=_("valid on this date"))
    component = GlobalIDFilter(field_name="component")
    category = GlobalIDFilter(field_name="category")
    order_by = filters.OrderingFilter(fields=("valid_from", "valid_until", "status"))

    class Meta:
        model = TechnologyStandard
        fields = []

    def filter_on_date(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(
            Q(valid_from__lte=value) & (Q(valid_until__isnull=True) | Q(valid_until__gt=value))
        )


class ArchitectureDecisionFilterSet(SearchFilterMixin, filters.FilterSet):
    search_fields = ("number", "title", "context", "decision", "consequences")
    search = filters.CharFilter(method="filter_search")
    status = filters.MultipleChoiceFilter(choices=DecisionStatus.choices)
    order_by = filters.OrderingFilter(fields=("number", "title", "decided_at", "review_date"))

    class Meta:
        model = ArchitectureDecision
        fields = []


class StandardExceptionFilterSet(filters.FilterSet):
    expired = filters.BooleanFilter(method="filter_expired", label=_("expired today"))
    application = GlobalIDFilter(field_name="application")
    standard = GlobalIDFilter(field_name="standard")
    order_by = filters.OrderingFilter(fields=("expires_on",))

    class Meta:
        model = StandardException
        fields = []

    def filter_expired(self, queryset, name, value):
        if value is None:
            return queryset
        today = timezone.localdate()
        return (
            queryset.filter(expires_on__lt=today)
            if value
            else queryset.filter(expires_on__gte=today)
        )

import django_filters as filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from graphene_django.filter import GlobalIDMultipleChoiceFilter

from cmdb.filtersets import SearchFilterMixin
from itsm.choices import (
    OPEN_INCIDENT_STATES,
    ChangeOutcome,
    ChangeRisk,
    ChangeState,
    IncidentState,
    Priority,
    ProblemState,
)
from itsm.choices import ChangeType as ChangeTypeChoice
from itsm.models import Change, Incident, Problem


class IncidentFilterSet(SearchFilterMixin, filters.FilterSet):
    search_fields = ("number", "title", "description", "caller_name")
    search = filters.CharFilter(method="filter_search", label=_("number, title or description"))
    # Columns of the incident itself: no join, so no DISTINCT (django-filter's default for
    # multiple choices), which would make the queue's query sort and compare whole rows.
    state = filters.MultipleChoiceFilter(choices=IncidentState.choices, distinct=False)
    open = filters.BooleanFilter(
        method="filter_open", label=_("open (not yet resolved, closed or cancelled)")
    )
    priority = filters.MultipleChoiceFilter(choices=Priority.choices, distinct=False)
    team = GlobalIDMultipleChoiceFilter(field_name="assigned_team")
    assignee = GlobalIDMultipleChoiceFilter(field_name="assignee")
    service = GlobalIDMultipleChoiceFilter(field_name="service")
    application = GlobalIDMultipleChoiceFilter(field_name="applications", distinct=True)
    problem = GlobalIDMultipleChoiceFilter(field_name="problem")
    is_major = filters.BooleanFilter()
    breached = filters.BooleanFilter(method="filter_breached", label=_("SLA breached or overdue"))
    due_before = filters.IsoDateTimeFilter(method="filter_due_before")
    opened_after = filters.IsoDateTimeFilter(field_name="opened_at", lookup_expr="gte")
    opened_before = filters.IsoDateTimeFilter(field_name="opened_at", lookup_expr="lt")
    mine = filters.BooleanFilter(method="filter_mine", label=_("assigned to me"))
    my_teams = filters.BooleanFilter(method="filter_my_teams", label=_("in my teams' queue"))
    order_by = filters.OrderingFilter(
        fields=(
            "resolution_due",
            "response_due",
            "opened_at",
            "priority",
            "number",
            "updated",
        )  # fmt: skip
    )

    class Meta:
        model = Incident
        fields = []

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        return (
            queryset.filter(state__in=OPEN_INCIDENT_STATES)
            if value
            else queryset.exclude(state__in=OPEN_INCIDENT_STATES)
        )

    def filter_breached(self, queryset, name, value):
        if value is None:
            return queryset
        now = timezone.now()
        # Overdue counts as breached before the clock has recorded it.
        overdue = (
            Q(response_breached=True)
            | Q(resolution_breached=True)
            | Q(responded_at__isnull=True, response_due__lt=now)
            | Q(resolved_at__isnull=True, paused_since__isnull=True, resolution_due__lt=now,
                state__in=["new", "assigned", "in_progress"])
        )  # fmt: skip
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_due_before(self, queryset, name, value):
        return queryset.filter(resolution_due__lt=value, resolved_at__isnull=True)

    def _user(self):
        return getattr(self.request, "user", None)

    def filter_mine(self, queryset, name, value):
        user = self._user()
        if value and user is not None:
            return queryset.filter(assignee=user)
        return queryset

    def filter_my_teams(self, queryset, name, value):
        user = self._user()
        if value and user is not None:
            return queryset.filter(assigned_team__members=user)
        return queryset


class ProblemFilterSet(SearchFilterMixin, filters.FilterSet):
    search_fields = ("number", "title", "description", "workaround", "root_cause")
    search = filters.CharFilter(method="filter_search")
    state = filters.MultipleChoiceFilter(choices=ProblemState.choices)
    is_known_error = filters.BooleanFilter()
    application = GlobalIDMultipleChoiceFilter(field_name="applications", distinct=True)
    team = GlobalIDMultipleChoiceFilter(field_name="assigned_team")
    order_by = filters.OrderingFilter(fields=("opened_at", "number", "updated"))

    class Meta:
        model = Problem
        fields = []


class ChangeFilterSet(SearchFilterMixin, filters.FilterSet):
    search_fields = ("number", "title", "description")
    search = filters.CharFilter(method="filter_search")
    state = filters.MultipleChoiceFilter(choices=ChangeState.choices)
    change_type = filters.MultipleChoiceFilter(choices=ChangeTypeChoice.choices)
    risk = filters.MultipleChoiceFilter(choices=ChangeRisk.choices)
    outcome = filters.MultipleChoiceFilter(choices=ChangeOutcome.choices)
    application = GlobalIDMultipleChoiceFilter(field_name="applications", distinct=True)
    team = GlobalIDMultipleChoiceFilter(field_name="owner_team")
    window_from = filters.IsoDateTimeFilter(
        field_name="planned_end", lookup_expr="gt", label=_("planned window ends after")
    )
    window_to = filters.IsoDateTimeFilter(
        field_name="planned_start", lookup_expr="lt", label=_("planned window starts before")
    )
    order_by = filters.OrderingFilter(fields=("planned_start", "number", "updated", "risk_score"))

    class Meta:
        model = Change
        fields = []

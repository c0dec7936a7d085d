"""Forms and page filtersets of the service desk pages. Input checks only: the rules (who may
do what, which state may follow which, what a target state requires) stay in the services."""

from __future__ import annotations

import django_filters as filters
from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from cmdb.models import Application, Service, Team
from itsm.choices import (
    Impact,
    PendingReason,
    ProblemState,
    ResolutionCode,
    Urgency,
)
from itsm.filtersets import IncidentFilterSet, ProblemFilterSet
from itsm.models import Problem
from itsm.models.incident import IncidentCategory

User = get_user_model()


def _blank(choices):
    return [("", "---------"), *choices]


# --- list filters ----------------------------------------------------------------------------
# Same parameter names as the model filtersets (the exports apply those with the same query
# string); only the team and service filters take plain primary keys from a select here.


class IncidentQueueFilterSet(IncidentFilterSet):
    search = filters.CharFilter(
        method="filter_search", label=_("number, title or description"),
        widget=forms.SearchInput(),
    )  # fmt: skip
    team = filters.ModelMultipleChoiceFilter(
        field_name="assigned_team", queryset=Team.objects.order_by("name"),
        label=_("assignment group"),
    )  # fmt: skip
    service = filters.ModelMultipleChoiceFilter(
        field_name="service", queryset=Service.objects.order_by("name"), label=_("service")
    )


# The filters shown above the queue; the scope tabs set `mine` / `my_teams`.
QUEUE_FILTER_FIELDS = ("search", "state", "priority", "team", "service", "open", "breached",
                       "is_major")  # fmt: skip
MY_INCIDENTS_FILTER_FIELDS = ("search", "state", "open")


class ProblemListFilterSet(ProblemFilterSet):
    search = filters.CharFilter(
        method="filter_search", label=_("number, title or text"),
        widget=forms.SearchInput(),
    )  # fmt: skip
    team = filters.ModelMultipleChoiceFilter(
        field_name="assigned_team", queryset=Team.objects.order_by("name"),
        label=_("assignment group"),
    )  # fmt: skip


PROBLEM_FILTER_FIELDS = ("search", "state", "is_known_error", "team")


class KnownErrorSearchForm(forms.Form):
    text = forms.CharField(label=_("Text"), required=False, widget=forms.SearchInput())
    application = forms.CharField(
        label=_("Application"), required=False, help_text=_("name or acronym"),
        widget=forms.SearchInput(),
    )  # fmt: skip


# --- new incident ----------------------------------------------------------------------------


class IncidentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea)
    impact = forms.ChoiceField(
        label=_("Impact"), choices=_blank(Impact.choices),
        help_text=_("How many people or how much of the service is affected."),
    )  # fmt: skip
    urgency = forms.ChoiceField(
        label=_("Urgency"), choices=_blank(Urgency.choices),
        help_text=_("How soon the business needs it back."),
    )  # fmt: skip
    category = forms.ChoiceField(
        label=_("Category"), choices=IncidentCategory.choices, initial=IncidentCategory.SOFTWARE
    )
    service = forms.ModelChoiceField(
        label=_("Service"), queryset=Service.objects.order_by("name"), required=False
    )
    applications = forms.ModelMultipleChoiceField(
        label=_("Affected applications"), queryset=Application.objects.all(), required=False
    )
    caller = forms.ModelChoiceField(
        label=_("Caller"), queryset=User.objects.order_by("username"), required=False,
        help_text=_("Leave empty when you report for yourself."),
    )  # fmt: skip
    caller_name = forms.CharField(
        label=_("Caller name"), required=False, max_length=200,
        help_text=_("for callers without an account"),
    )  # fmt: skip

    def __init__(self, *args, agent: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not agent:
            # Requesters are the caller themselves.
            del self.fields["caller"]
            del self.fields["caller_name"]

    def chosen_applications(self):
        """The applications ticked so far (kept when the form comes back with errors)."""
        if self.is_bound:
            ids = [v for v in self.data.getlist(self.add_prefix("applications")) if v.isdigit()]
        else:
            ids = [a.pk for a in self.initial.get("applications", [])]
        return list(Application.objects.filter(pk__in=ids).select_related("owner_org_unit"))


# --- incident actions ------------------------------------------------------------------------


def _text(label, rows=2):
    return forms.CharField(label=label, required=False, widget=forms.Textarea(attrs={"rows": rows}))


class ActionForm(forms.Form):
    """One action on a ticket; carries the version the user saw (a stale form is refused).
    `from_ticket`: {field: ticket attribute} that the form starts from."""

    from_ticket: dict[str, str] = {}
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, ticket=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.ticket, self.user = ticket, user
        if ticket is not None:
            self.fields["expected_version"].initial = ticket.version
            for name, attribute in self.from_ticket.items():
                self.fields[name].initial = getattr(ticket, attribute)


class NoFieldsForm(ActionForm):
    pass


class TakeForm(ActionForm):
    team = forms.ModelChoiceField(label=_("Assignment group"), queryset=Team.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        teams = list(self.user.teams.order_by("name")) if self.user else []
        field = self.fields["team"]
        field.queryset = Team.objects.filter(pk__in=[t.pk for t in teams]).order_by("name")
        if len(teams) == 1:
            # One team: a button is enough.
            field.widget = forms.HiddenInput()
            field.initial = teams[0].pk
        elif self.ticket is not None and self.ticket.assigned_team_id in {t.pk for t in teams}:
            field.initial = self.ticket.assigned_team_id


class AssignForm(ActionForm):
    from_ticket = {"team": "assigned_team_id", "assignee": "assignee_id"}
    team = forms.ModelChoiceField(
        label=_("Assignment group"), queryset=Team.objects.order_by("name"), required=False
    )
    assignee = forms.ModelChoiceField(
        label=_("Agent"), queryset=User.objects.filter(teams__isnull=False).distinct()
        .order_by("username"), required=False,
    )  # fmt: skip
    note = _text(_("Note"))


class PendingForm(ActionForm):
    reason = forms.ChoiceField(
        label=_("Waiting for"), choices=_blank(PendingReason.choices), required=False
    )
    note = _text(_("Note"))


class ResolveForm(ActionForm):
    resolution_code = forms.ChoiceField(
        label=_("Resolution code"), choices=_blank(ResolutionCode.choices), required=False
    )
    resolution_notes = _text(_("Resolution notes"), rows=3)


class ReasonForm(ActionForm):
    reason = _text(_("Reason"))


class PriorityForm(ActionForm):
    from_ticket = {"impact": "impact", "urgency": "urgency"}
    impact = forms.ChoiceField(label=_("Impact"), choices=Impact.choices)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices)
    reason = _text(_("Reason"))


class CommentForm(ActionForm):
    PUBLIC, WORK_NOTE = "public", "work_note"
    text = _text(_("Text"), rows=3)
    visibility = forms.ChoiceField(
        label=_("Visibility"), widget=forms.RadioSelect,
        choices=[(PUBLIC, _("comment (the caller sees it)")),
                 (WORK_NOTE, _("work note (IT only)"))],
        initial=PUBLIC,
    )  # fmt: skip

    def __init__(self, *args, work_notes: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not work_notes:
            self.fields["visibility"].choices = [self.fields["visibility"].choices[0]]


class LinkProblemForm(ActionForm):
    from_ticket = {"problem": "problem_id"}
    problem = forms.ModelChoiceField(
        label=_("Problem"), required=False, help_text=_("empty: unlink the problem"),
        queryset=Problem.objects.exclude(state__in=[ProblemState.CLOSED, ProblemState.CANCELLED])
        .order_by("-opened_at"),
    )  # fmt: skip


# --- problem actions -------------------------------------------------------------------------


class AnalysisForm(ActionForm):
    """Workaround and root cause: to mark a known error, or to record what is known so far."""

    from_ticket = {"workaround": "workaround", "root_cause": "root_cause"}
    workaround = _text(_("Workaround"), rows=3)
    root_cause = _text(_("Root cause"))


class RootCauseForm(ActionForm):
    from_ticket = {"root_cause": "root_cause"}
    root_cause = _text(_("Root cause"), rows=3)

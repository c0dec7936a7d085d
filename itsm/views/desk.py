"""Pages: the service desk. The queue, the incident page with the actions its state allows,
the new-incident form with an application picker, the requester's own incidents, problems and
the known error database. Every change goes through itsm.services.incidents / problems."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from cmdb.models import Application, Responsibility, Team
from itsm.choices import IncidentEventKind, IncidentState, PendingReason, ProblemState
from itsm.models import Incident, Problem
from itsm.services import incidents as incident_services
from itsm.services import problems as problem_services
from itsm.views import desk_forms as f
from landkarte.pages import (
    EVERY_STAFF,
    FilteredListPage,
    Page,
    apply_service_errors,
)
from landkarte.roles import has_role

User = get_user_model()

# --- lists -----------------------------------------------------------------------------------

INCIDENT_LIST_JOINS = ("assigned_team", "assignee", "caller", "service")


def _priority_css(priority: str) -> str:
    return {"p1": "danger", "p2": "warn"}.get(priority, "neutral")


class IncidentListMixin:
    model = Incident
    filterset_class = f.IncidentQueueFilterSet
    partial_template_name = "itsm/desk/_incident_table.html"
    default_sort = "due"
    default_query = "open=true"
    filter_fields: tuple[str, ...] = f.QUEUE_FILTER_FIELDS
    sort_fields = {
        "number": ("number",),
        "priority": ("priority", "resolution_due"),
        "due": ("resolution_due",),
        "response": ("response_due",),
        "opened": ("opened_at",),
        "state": ("state",),
    }

    def get(self, request, *args, **kwargs):
        # Without any parameter the list shows the open incidents (and says so in the URL
        # parameters the filter form, the tabs and the export links carry on).
        if not request.GET and self.default_query:
            request.GET = QueryDict(self.default_query)
        return super().get(request, *args, **kwargs)

    def base_queryset(self):
        return Incident.objects.select_related(*INCIDENT_LIST_JOINS).prefetch_related(
            Prefetch("applications", queryset=Application.objects.only("pk", "name"))
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context.get("filter_form")
        context["shown_filters"] = [form[name] for name in self.filter_fields] if form else []
        # The scope tabs' parameters, kept when the filters change.
        context["hidden_filters"] = [
            (key, value) for key in ("mine", "my_teams") for value in self.request.GET.getlist(key)
        ]
        for incident in context["object_list"]:
            incident.priority_css = _priority_css(incident.priority)
        return context


class IncidentQueue(IncidentListMixin, FilteredListPage):
    """The incident queue of IT staff: my teams, mine or all, with SLA countdowns."""

    roles = incident_services.STAFF_ROLES
    title = _("Incident queue")
    template_name = "itsm/desk/queue.html"
    export_name = "incidents"

    def visible(self, user, queryset):
        return incident_services.visible_incidents(user, queryset)

    def scope_tabs(self):
        params = self.request.GET.copy()
        for key in ("mine", "my_teams", "page"):
            params.pop(key, None)
        current = (
            "mine"
            if self.request.GET.get("mine") == "true"
            else "my_teams"
            if self.request.GET.get("my_teams") == "true"
            else "all"
        )
        tabs = []
        for key, label in (("my_teams", _("My teams")), ("mine", _("Mine")), ("all", _("All"))):
            query = params.copy()
            if key != "all":
                query[key] = "true"
            tabs.append({"label": label, "url": "?" + query.urlencode(), "active": key == current})
        return tabs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tabs"] = self.scope_tabs()
        return context


class MyIncidents(IncidentListMixin, FilteredListPage):
    """The incidents the signed-in user raised (requesters see only these)."""

    title = _("My incidents")
    template_name = "itsm/desk/my_incidents.html"
    filter_fields = f.MY_INCIDENTS_FILTER_FIELDS
    default_sort = "-opened"
    default_query = ""

    def visible(self, user, queryset):
        return incident_services.visible_incidents(user, queryset).filter(caller=user)


# --- actions on a ticket ---------------------------------------------------------------------


@dataclass
class Action:
    """An action offered on a ticket page: its button, its form and the service call. Which
    actions a ticket offers the user is the service's rule (incident_actions, problem_actions)."""

    label: str
    form_class: type
    run: Callable  # (ticket, user, cleaned_data) -> result
    style: str = ""
    form_kwargs: Callable = field(default=lambda ticket, user: {})


def _version(data):
    return data.get("expected_version")


s = incident_services

INCIDENT_ACTIONS: dict[str, Action] = {
    "take": Action(
        _("Assign to me"), f.TakeForm,
        lambda i, u, d: s.assign_incident(
            i, user=u, team=d["team"], assignee=u, expected_version=_version(d)),
    ),
    "start": Action(
        _("Start work"), f.NoFieldsForm,
        lambda i, u, d: s.start_work(i, user=u, expected_version=_version(d)),
    ),
    "resume": Action(
        _("Resume work"), f.NoFieldsForm,
        lambda i, u, d: s.start_work(i, user=u, expected_version=_version(d)),
    ),
    "assign": Action(
        _("Assign"), f.AssignForm,
        lambda i, u, d: s.assign_incident(
            i, user=u, team=d["team"], assignee=d["assignee"], note=d["note"],
            expected_version=_version(d)),
        style="secondary",
    ),
    "pending": Action(
        _("Set pending"), f.PendingForm,
        lambda i, u, d: s.set_pending(
            i, user=u, reason=d["reason"], note=d["note"], expected_version=_version(d)),
        style="secondary",
    ),
    "resolve": Action(
        _("Resolve"), f.ResolveForm,
        lambda i, u, d: s.resolve_incident(
            i, user=u, resolution_code=d["resolution_code"],
            resolution_notes=d["resolution_notes"], expected_version=_version(d)),
    ),
    "reopen": Action(
        _("Reopen"), f.ReasonForm,
        lambda i, u, d: s.reopen_incident(
            i, user=u, reason=d["reason"], expected_version=_version(d)),
        style="secondary",
    ),
    "close": Action(
        _("Close"), f.NoFieldsForm,
        lambda i, u, d: s.close_incident(i, user=u, expected_version=_version(d)),
        style="secondary",
    ),
    "priority": Action(
        _("Change priority"), f.PriorityForm,
        lambda i, u, d: s.change_priority(
            i, user=u, impact=d["impact"], urgency=d["urgency"], reason=d["reason"],
            expected_version=_version(d)),
        style="secondary",
    ),
    "comment": Action(
        _("Add a comment or work note"), f.CommentForm,
        lambda i, u, d: s.add_comment(
            i, user=u, text=d["text"], public=d["visibility"] == f.CommentForm.PUBLIC),
        style="secondary",
        form_kwargs=lambda i, u: {"work_notes": s.can_write_work_notes(u)},
    ),
    "link_problem": Action(
        _("Link a problem"), f.LinkProblemForm,
        lambda i, u, d: s.link_problem(
            i, user=u, problem=d["problem"], expected_version=_version(d)),
        style="secondary",
    ),
    "cancel": Action(
        _("Cancel incident"), f.ReasonForm,
        lambda i, u, d: s.cancel_incident(
            i, user=u, reason=d["reason"], expected_version=_version(d)),
        style="danger",
    ),
}  # fmt: skip


def _problem_step(target):
    def run(problem, user, data):
        extra = {k: data[k] for k in ("workaround", "root_cause") if k in data}
        return problem_services.transition_problem(
            problem, user=user, to_state=target, expected_version=_version(data), **extra
        )

    return run


PROBLEM_ACTIONS: dict[str, Action] = {
    "investigate": Action(_("Start investigation"), f.NoFieldsForm,
                          _problem_step(ProblemState.INVESTIGATING)),
    "known_error": Action(_("Mark as known error"), f.AnalysisForm,
                          _problem_step(ProblemState.KNOWN_ERROR)),
    "resolve": Action(_("Resolve"), f.RootCauseForm, _problem_step(ProblemState.RESOLVED)),
    "close": Action(_("Close"), f.NoFieldsForm, _problem_step(ProblemState.CLOSED),
                    style="secondary"),
    "edit": Action(
        _("Record root cause and workaround"), f.AnalysisForm,
        lambda p, u, d: problem_services.update_problem(
            p, user=u, root_cause=d["root_cause"], workaround=d["workaround"],
            expected_version=_version(d)),
        style="secondary",
    ),
    "cancel": Action(_("Cancel problem"), f.NoFieldsForm, _problem_step(ProblemState.CANCELLED),
                     style="danger"),
}  # fmt: skip


class TicketPage(Page):
    """A ticket with the actions its state allows the user, each a small form posting here."""

    actions: dict[str, Action] = {}

    def get_ticket(self):
        raise NotImplementedError

    def allowed_actions(self, ticket) -> list[str]:
        """The names of the actions the service offers `ticket`'s user now, in its order."""
        raise NotImplementedError

    def build_forms(self, ticket, bound=None):
        user = self.request.user
        forms = []
        for name in self.allowed_actions(ticket):
            action = self.actions[name]
            if bound is not None and bound.prefix == name:
                form = bound
            else:
                form = action.form_class(
                    prefix=name, ticket=ticket, user=user, **action.form_kwargs(ticket, user)
                )
            forms.append({"name": name, "action": action, "form": form,
                          "open": bound is not None and bound.prefix == name})  # fmt: skip
        return forms

    def get(self, request, *args, **kwargs):
        self.ticket = self.get_ticket()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        ticket = self.ticket = self.get_ticket()
        name = request.POST.get("action", "")
        if name not in self.allowed_actions(ticket):
            messages.error(request, _("This action is not possible in the current state."))
            return HttpResponseRedirect(request.path)
        action = self.actions[name]
        user = request.user
        form = action.form_class(
            request.POST, prefix=name, ticket=ticket, user=user, **action.form_kwargs(ticket, user)
        )
        if form.is_valid():
            try:
                action.run(ticket, user, form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc) or _("You may not do this."))
            else:
                messages.success(request, _("%(action)s: done.") % {"action": action.label})
                return HttpResponseRedirect(request.path)
        self.ticket = self.get_ticket()
        context = self.get_context_data(bound_form=form, **kwargs)
        return render(request, self.template_name, context, status=400)

    def get_context_data(self, bound_form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        context["action_forms"] = self.build_forms(self.ticket, bound_form)
        return context


class IncidentDetail(TicketPage):
    template_name = "itsm/desk/incident_detail.html"
    actions = INCIDENT_ACTIONS

    def allowed_actions(self, ticket):
        return incident_services.incident_actions(ticket, self.request.user)

    def get_ticket(self):
        queryset = incident_services.visible_incidents(
            self.request.user,
            Incident.objects.select_related(
                *INCIDENT_LIST_JOINS, "caller_org_unit", "problem", "parent", "service_level"
            ),
        )
        return get_object_or_404(queryset, number=self.kwargs["number"])

    def timeline(self, incident):
        events = list(
            incident_services.visible_incident_events(
                self.request.user, incident.timeline.select_related("author")
            )
        )
        team_ids, user_ids = set(), set()
        for event in events:
            if event.kind == IncidentEventKind.ASSIGNMENT:
                team_ids.add(event.data.get("team"))
                user_ids.add(event.data.get("assignee"))
        teams = Team.objects.in_bulk([t for t in team_ids if t]) if team_ids else {}
        users = User.objects.in_bulk([u for u in user_ids if u]) if user_ids else {}
        for event in events:
            event.from_label = IncidentState(event.from_state).label if event.from_state else ""
            event.to_label = IncidentState(event.to_state).label if event.to_state else ""
            reason = event.data.get("reason")
            event.reason_label = (
                PendingReason(reason).label if reason in PendingReason.values else ""
            )
            if event.kind == IncidentEventKind.ASSIGNMENT:
                event.team_name = teams.get(event.data.get("team"), "")
                event.assignee_name = users.get(event.data.get("assignee"), "")
        return events

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        incident = self.ticket
        user = self.request.user
        applications = incident.applications.select_related(
            "owner_org_unit", "owner_team"
        ).prefetch_related(
            Prefetch(
                "responsibilities",
                queryset=Responsibility.objects.select_related("team", "person").order_by("role"),
            )
        )
        related = incident_services.related_for(incident)
        known_errors = related["known_errors"].prefetch_related(
            Prefetch("applications", queryset=Application.objects.only("pk", "name"))
        )
        open_incidents = incident_services.visible_incidents(
            user, related["open_incidents"].select_related("assigned_team", "assignee")
        ).order_by("resolution_due")
        incident.priority_css = _priority_css(incident.priority)
        context.update(
            title=f"{incident.number} {incident.title}",
            incident=incident,
            timeline=self.timeline(incident),
            applications=applications,
            known_errors=known_errors[:20],
            related_incidents=open_incidents[:20],
            children=incident.children.only("pk", "number", "title", "state"),
            staff=has_role(user, *incident_services.STAFF_ROLES),
        )
        return context


class ProblemDetail(TicketPage):
    template_name = "itsm/desk/problem_detail.html"
    roles = EVERY_STAFF
    actions = PROBLEM_ACTIONS

    def allowed_actions(self, ticket):
        return problem_services.problem_actions(ticket, self.request.user)

    def get_ticket(self):
        return get_object_or_404(
            Problem.objects.select_related("assigned_team", "assignee"),
            number=self.kwargs["number"],
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        problem = self.ticket
        incidents = incident_services.visible_incidents(
            self.request.user, problem.incidents.select_related("assigned_team", "assignee")
        ).order_by("-opened_at")
        context.update(
            title=f"{problem.number} {problem.title}",
            problem=problem,
            incidents=incidents[:100],
            incident_count=incidents.count(),
            applications=problem.applications.select_related("owner_org_unit", "owner_team"),
            changes=problem.changes.only("pk", "number", "title", "state"),
        )
        return context


# --- new incident ----------------------------------------------------------------------------

PICKER_LIMIT = 20


def application_matches(text: str, exclude=()):
    queryset = Application.objects.select_related("owner_org_unit").order_by("name", "pk")
    for word in text.split():
        queryset = queryset.filter(Q(name__icontains=word) | Q(acronym__icontains=word))
    return queryset.exclude(pk__in=list(exclude))


def picker_context(text: str, chosen) -> dict:
    matches = list(application_matches(text, [a.pk for a in chosen])[: PICKER_LIMIT + 1])
    return {
        "query": text,
        "chosen": chosen,
        "matches": matches[:PICKER_LIMIT],
        "more": len(matches) > PICKER_LIMIT,
    }


class ApplicationSearch(Page):
    """The picker's results as one types: the ticked applications first, then matches."""

    roles = incident_services.REPORTER_ROLES
    template_name = "itsm/desk/_application_results.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        ids = [v for v in self.request.GET.getlist("applications") if v.isdigit()]
        chosen = list(
            Application.objects.filter(pk__in=ids).select_related("owner_org_unit").order_by("name")
        )
        context.update(picker_context(self.request.GET.get("q", "").strip(), chosen))
        return context


class IncidentCreate(Page):
    roles = incident_services.REPORTER_ROLES
    title = _("New incident")
    template_name = "itsm/desk/incident_form.html"

    def agent(self):
        return incident_services.can_work_on(self.request.user)

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        form = form or f.IncidentForm(agent=self.agent())
        context["form"] = form
        context["picker"] = picker_context("", form.chosen_applications())
        return context

    def post(self, request, *args, **kwargs):
        form = f.IncidentForm(request.POST, agent=self.agent())
        if form.is_valid():
            try:
                incident = incident_services.open_incident(user=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request, _("Incident %(number)s opened.") % {"number": incident.number}
                )
                return HttpResponseRedirect(reverse("itsm:incident-detail", args=[incident.number]))
        return render(request, self.template_name, self.get_context_data(form=form), status=400)


# --- problems and known errors ---------------------------------------------------------------


class ProblemList(FilteredListPage):
    model = Problem
    roles = EVERY_STAFF
    title = _("Problems")
    template_name = "itsm/desk/problems.html"
    partial_template_name = "itsm/desk/_problem_table.html"
    filterset_class = f.ProblemListFilterSet
    export_name = "problems"
    default_sort = "-opened"
    sort_fields = {"number": ("number",), "opened": ("opened_at",), "state": ("state",)}

    def base_queryset(self):
        return Problem.objects.select_related("assigned_team", "assignee").annotate(
            incident_count=Count("incidents", distinct=True)
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["filter_form"]
        context["shown_filters"] = [form[name] for name in f.PROBLEM_FILTER_FIELDS]
        return context


class KnownErrorList(FilteredListPage):
    """The known error database: workarounds by text and by application."""

    model = Problem
    roles = EVERY_STAFF
    title = _("Known errors")
    template_name = "itsm/desk/known_errors.html"
    partial_template_name = "itsm/desk/_known_error_table.html"
    sort_fields = {"number": ("number",), "opened": ("opened_at",)}
    default_sort = "-opened"

    def get_queryset(self):
        self.search_form = f.KnownErrorSearchForm(self.request.GET or None)
        return super().get_queryset()

    def base_queryset(self):
        text, application = "", ""
        if self.search_form.is_valid():
            text = self.search_form.cleaned_data["text"].strip()
            application = self.search_form.cleaned_data["application"].strip()
        applications = ()
        if application:
            applications = list(application_matches(application).values_list("pk", flat=True))
            if not applications:
                return Problem.objects.none()
        found = problem_services.search_known_errors(text=text, applications=applications)
        return (
            Problem.objects.filter(pk__in=found.values("pk"))
            .select_related("assigned_team")
            .prefetch_related(
                Prefetch("applications", queryset=Application.objects.only("pk", "name"))
            )
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["search_form"] = self.search_form
        return context


urlpatterns = [
    path("incidents/", IncidentQueue.as_view(), name="queue"),
    path("incidents/new/", IncidentCreate.as_view(), name="incident-new"),
    path("incidents/mine/", MyIncidents.as_view(), name="my-incidents"),
    path("incidents/application-search/", ApplicationSearch.as_view(), name="application-search"),
    path("incidents/<str:number>/", IncidentDetail.as_view(), name="incident-detail"),
    path("problems/", ProblemList.as_view(), name="problems"),
    path("problems/<str:number>/", ProblemDetail.as_view(), name="problem-detail"),
    path("known-errors/", KnownErrorList.as_view(), name="known-errors"),
]

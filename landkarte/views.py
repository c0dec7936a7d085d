"""Sign-in, the home page per role and the dashboard."""

import datetime
from urllib.parse import urlencode

from django.contrib.auth import views as auth_views
from django.http import Http404, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from itsm.services.incidents import sees_all_incidents
from landkarte import dashboard
from landkarte.pages import EVERY_STAFF, Page
from landkarte.roles import (
    ARCHITECT,
    AUDITOR,
    CHANGE_MANAGER,
    PROCUREMENT,
    REQUESTER,
    SERVICE_DESK,
    role_names,
)
from landkarte.security import ThrottledAuthenticationForm


class LoginView(auth_views.LoginView):
    """Sign-in with the login throttle: while it holds, the form says how long to wait and the
    answer is 429 (JSON for clients that accept only JSON)."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True
    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form):
        if not form.is_throttled:
            return super().form_invalid(form)
        if wants_json(self.request):
            errors = [
                {"message": str(error), "code": "throttled"} for error in form.non_field_errors()
            ]
            response = JsonResponse({"errors": errors}, status=429)
        else:
            response = super().form_invalid(form)
            response.status_code = 429
        response["Retry-After"] = str(form.retry_after)
        return response


def wants_json(request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def list_url(name: str, params: dict) -> str:
    """The URL of a list page with its filter parameters."""
    return reverse(name) + "?" + urlencode(params, doseq=True)


def filtered(filterset_class, params: dict, queryset, request):
    """The rows of a list page's own filterset, so that a figure equals what its link shows."""
    return filterset_class(data=params, queryset=queryset, request=request).qs


# --- the role blocks -------------------------------------------------------------------------

SOON = datetime.timedelta(hours=4)
ROWS = 10


def desk_block(request, now) -> dict:
    from itsm.filtersets import IncidentFilterSet
    from itsm.models import Incident
    from itsm.services.incidents import visible_incidents

    incidents = visible_incidents(request.user, Incident.objects.all())
    soon = (now + SOON).isoformat(timespec="seconds")
    queue = {"open": "true", "my_teams": "true"}
    figures = [
        (_("Assigned to me, open"), {"open": "true", "mine": "true"}),
        (_("In my teams' queue, open"), queue),
        (
            _("SLA runs out within 4 hours"),
            {"open": "true", "breached": "false", "due_before": soon},
        ),
        (_("SLA breached or overdue"), {"open": "true", "breached": "true"}),
    ]
    counts = [
        {
            "label": label,
            "count": filtered(IncidentFilterSet, params, incidents, request).count(),
            "url": list_url("itsm:queue", params),
        }
        for label, params in figures
    ]
    rows = (
        filtered(IncidentFilterSet, queue, incidents, request)
        .select_related("assignee", "assigned_team")
        .order_by("resolution_due", "number")[:ROWS]
    )
    return {"counts": counts, "incidents": list(rows), "queue_url": list_url("itsm:queue", queue)}


def change_block(request, now) -> dict:
    from itsm.choices import ChangeState
    from itsm.filtersets import ChangeFilterSet
    from itsm.models import Change

    today = timezone.localdate(now)
    monday = today - datetime.timedelta(days=today.weekday())
    week_start = timezone.make_aware(datetime.datetime.combine(monday, datetime.time.min))
    week_end = week_start + datetime.timedelta(days=7)
    awaiting = {"state": [ChangeState.AUTHORIZATION.value]}
    this_week = {
        "window_from": week_start.isoformat(timespec="seconds"),
        "window_to": week_end.isoformat(timespec="seconds"),
    }
    lists = []
    for key, label, params in (
        ("awaiting", _("Awaiting approval"), awaiting),
        ("week", _("Planned this week"), this_week),
    ):
        queryset = filtered(ChangeFilterSet, params, Change.objects.all(), request)
        rows = queryset.select_related("owner_team").order_by("planned_start", "number")[:ROWS]
        lists.append(
            {
                "key": key,
                "label": label,
                "count": queryset.count(),
                "rows": list(rows),
                "url": list_url("itsm:changes", params),
            }
        )
    return {"lists": lists}


def procurement_block(request, now) -> dict:
    from sourcing.choices import AssessmentState
    from sourcing.filtersets import AssessmentFilterSet, ProcurementCaseFilterSet
    from sourcing.models import Assessment
    from sourcing.procurement_models import OPEN_PROCUREMENT_STATES, ProcurementCase

    counts = []
    for label, state in (
        (_("Assessments in draft"), AssessmentState.DRAFT),
        (_("Assessments awaiting approval"), AssessmentState.SUBMITTED),
    ):
        params = {"state": [state.value]}
        assessments = filtered(AssessmentFilterSet, params, Assessment.objects.all(), request)
        counts.append(
            {
                "label": label,
                "count": assessments.count(),
                "url": list_url("sourcing:assessments", params),
            }
        )
    open_params = {"state": sorted(str(s) for s in OPEN_PROCUREMENT_STATES)}
    cases = filtered(ProcurementCaseFilterSet, open_params, ProcurementCase.objects.all(), request)
    counts.append(
        {
            "label": _("Open procurement cases"),
            "count": cases.count(),
            "url": list_url("sourcing:cases", open_params),
        }
    )
    rows = cases.select_related("org_unit").order_by("-created")[:ROWS]
    return {"counts": counts, "cases": list(rows)}


def requester_block(request, now) -> dict:
    from itsm.filtersets import IncidentFilterSet
    from itsm.models import Incident, Requirement
    from itsm.requirement_filtersets import RequirementFilterSet
    from itsm.services.incidents import visible_incidents
    from itsm.services.requirements import visible_requirements

    user = request.user
    is_open = {"open": "true"}
    mine = visible_requirements(user, Requirement.objects.all())
    requirements = filtered(RequirementFilterSet, is_open, mine, request)
    reported = visible_incidents(user, Incident.objects.filter(caller=user))
    incidents = filtered(IncidentFilterSet, is_open, reported, request)
    latest = requirements.select_related("requesting_org_unit").order_by("-submitted_at", "-pk")
    return {
        "requirement_count": requirements.count(),
        "requirements": list(latest[:ROWS]),
        "requirements_url": list_url("itsm:requirements", is_open),
        "incident_count": incidents.count(),
        "incidents": list(incidents.order_by("-opened_at")[:ROWS]),
    }


ROLE_BLOCKS = (
    (SERVICE_DESK, "desk", desk_block),
    (CHANGE_MANAGER, "change", change_block),
    (ARCHITECT, "architect", None),
    (PROCUREMENT, "procurement", procurement_block),
    (REQUESTER, "requester", requester_block),
)


# --- pages -----------------------------------------------------------------------------------


def dashboard_context(request, heading_level: int) -> dict:
    form, selection = dashboard.read_filter(request.GET)
    query = urlencode({**selection.query(), "h": heading_level})
    return {
        "filter_form": form,
        "selection": selection,
        "itsm": dashboard.itsm_figures(selection),
        "fragment_query": query,
        "h": heading_level,
        "h_sub": heading_level + 1,
    }


class HomeView(Page):
    """What each role works on first, then the dashboard (auditors and administrators see the
    dashboard only)."""

    template_name = "landkarte/home.html"
    title = _("Home")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        roles = role_names(self.request.user)
        blocks = [
            {
                "name": name,
                "template": f"landkarte/home_{name}.html",
                "data": build(self.request, now) if build else {},
            }
            for role, name, build in ROLE_BLOCKS
            if role in roles
        ]
        context.update(blocks=blocks, is_auditor=AUDITOR in roles)
        # Key figures count every incident: only for those who may read every incident.
        if sees_all_incidents(self.request.user):
            context.update(show_dashboard=True, **dashboard_context(self.request, 3))
        return context


class DashboardView(Page):
    """The dashboard alone; `?section=sourcing|governance|architect` answers with that slower
    section (loaded by htmx after the page)."""

    template_name = "landkarte/dashboard.html"
    title = _("Dashboard")
    roles = EVERY_STAFF
    sections = {
        "sourcing": "landkarte/dashboard_sourcing.html",
        "governance": "landkarte/dashboard_governance.html",
        "architect": "landkarte/home_architect_findings.html",
    }

    def get_template_names(self):
        section = self.request.GET.get("section")
        if section:
            if section not in self.sections:
                raise Http404(_("No such dashboard section."))
            return [self.sections[section]]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        section = self.request.GET.get("section")
        if not section:
            context.update(dashboard_context(self.request, 2))
            return context
        try:
            level = min(5, max(2, int(self.request.GET.get("h", 2))))
        except ValueError:
            level = 2
        _form, selection = dashboard.read_filter(self.request.GET)
        context.update(selection=selection, h=level, h_sub=level + 1)
        if section == "sourcing":
            context["sourcing"] = dashboard.sourcing_figures(selection)
        elif section == "governance":
            context["governance"] = dashboard.governance_figures(selection)
        elif section == "architect":
            context.update(dashboard.architect_figures(timezone.localdate()))
        return context

"""Sign-in, the home page per role and the dashboard."""

import datetime
from urllib.parse import urlencode

from django.contrib.auth import views as auth_views
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from landkarte import dashboard
from landkarte.pages import Page
from landkarte.roles import (
    ARCHITECT,
    AUDITOR,
    CHANGE_MANAGER,
    PROCUREMENT,
    REQUESTER,
    SERVICE_DESK,
    role_names,
)


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


# --- links that may not exist yet ------------------------------------------------------------


def url_or_none(name: str, *args, query: dict | None = None) -> str | None:
    """The URL of a page, or None while that page is not installed."""
    try:
        url = reverse(name, args=args)
    except NoReverseMatch:
        return None
    if query:
        url += "?" + urlencode(query, doseq=True)
    return url


def _count(filterset_class, params: dict, queryset, request) -> int:
    """Count with the list page's own filterset, so the figure equals what its link shows."""
    return filterset_class(data=params, queryset=queryset, request=request).qs.count()


# --- the role blocks -------------------------------------------------------------------------

SOON = datetime.timedelta(hours=4)
ROWS = 10


def desk_block(request, now) -> dict:
    from itsm.filtersets import IncidentFilterSet
    from itsm.models import Incident
    from itsm.services.incidents import visible_incidents

    user = request.user
    incidents = visible_incidents(user, Incident.objects.all())
    soon = (now + SOON).isoformat(timespec="seconds")
    figures = [
        (_("Assigned to me, open"), {"open": "true", "mine": "true"}),
        (_("In my teams' queue, open"), {"open": "true", "my_teams": "true"}),
        (
            _("SLA runs out within 4 hours"),
            {"open": "true", "breached": "false", "due_before": soon},
        ),
        (_("SLA breached or overdue"), {"open": "true", "breached": "true"}),
    ]
    counts = [
        {
            "label": label,
            "count": _count(IncidentFilterSet, params, incidents, request),
            "url": url_or_none("itsm:queue", query=params),
        }
        for label, params in figures
    ]
    listed = IncidentFilterSet(
        data={"open": "true", "my_teams": "true"}, queryset=incidents, request=request
    ).qs
    rows = list(
        listed.select_related("assignee", "assigned_team")
        .order_by("resolution_due", "number")
        .distinct()[:ROWS]
    )
    for incident in rows:
        incident.page_url = url_or_none("itsm:incident-detail", incident.number)
    return {
        "counts": counts,
        "incidents": rows,
        "queue_url": url_or_none("itsm:queue", query={"open": "true", "my_teams": "true"}),
    }


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
    changes = Change.objects.all()
    lists = []
    for key, label, params in (
        ("awaiting", _("Awaiting approval"), awaiting),
        ("week", _("Planned this week"), this_week),
    ):
        queryset = ChangeFilterSet(data=params, queryset=changes, request=request).qs
        rows = list(
            queryset.select_related("owner_team").order_by("planned_start", "number")[:ROWS]
        )
        for change in rows:
            change.page_url = url_or_none("itsm:change-detail", change.number)
        lists.append(
            {
                "key": key,
                "label": label,
                "count": queryset.count(),
                "rows": rows,
                "url": url_or_none("itsm:changes", query=params),
            }
        )
    return {"lists": lists, "cab_url": url_or_none("itsm:cab")}


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
        counts.append(
            {
                "label": label,
                "count": _count(AssessmentFilterSet, params, Assessment.objects.all(), request),
                "url": url_or_none("sourcing:assessments", query=params),
            }
        )
    open_params = {"state": sorted(str(s) for s in OPEN_PROCUREMENT_STATES)}
    cases = ProcurementCaseFilterSet(
        data=open_params, queryset=ProcurementCase.objects.all(), request=request
    ).qs
    rows = list(cases.select_related("org_unit").order_by("-created")[:ROWS])
    for case in rows:
        case.page_url = url_or_none("sourcing:case-detail", case.reference)
    counts.append(
        {
            "label": _("Open procurement cases"),
            "count": cases.count(),
            "url": url_or_none("sourcing:cases", query=open_params),
        }
    )
    return {"counts": counts, "cases": rows}


def requester_block(request, now) -> dict:
    from itsm.choices import OPEN_INCIDENT_STATES
    from itsm.models import Incident, Requirement
    from itsm.requirement_choices import FINAL_REQUIREMENT_STATES
    from itsm.services.incidents import visible_incidents
    from itsm.services.requirements import visible_requirements

    user = request.user
    requirements = visible_requirements(user, Requirement.objects.all()).exclude(
        state__in=FINAL_REQUIREMENT_STATES
    )
    requirement_rows = list(
        requirements.select_related("requesting_org_unit").order_by("-submitted_at", "-pk")[:ROWS]
    )
    for requirement in requirement_rows:
        requirement.page_url = url_or_none("itsm:requirement-detail", requirement.number)
    incidents = visible_incidents(user, Incident.objects.filter(caller=user)).filter(
        state__in=OPEN_INCIDENT_STATES
    )
    incident_rows = list(incidents.order_by("-opened_at")[:ROWS])
    for incident in incident_rows:
        incident.page_url = url_or_none("itsm:incident-detail", incident.number)
    return {
        "requirement_count": requirements.count(),
        "requirements": requirement_rows,
        "requirements_url": url_or_none("itsm:requirements", query={"open": "true"}),
        "new_requirement_url": url_or_none("itsm:requirement-new"),
        "incident_count": incidents.count(),
        "incidents": incident_rows,
        "incidents_url": url_or_none("itsm:my-incidents"),
        "new_incident_url": url_or_none("itsm:incident-new"),
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
        blocks = []
        for role, name, build in ROLE_BLOCKS:
            if role in roles:
                blocks.append(
                    {
                        "name": name,
                        "template": f"landkarte/home_{name}.html",
                        "data": build(self.request, now) if build else {},
                    }
                )
        context.update(
            blocks=blocks,
            is_auditor=AUDITOR in roles,
            findings_url=url_or_none("architecture:findings"),
            **dashboard_context(self.request, 3),
        )
        return context


class DashboardView(Page):
    """The dashboard alone; `?section=sourcing|governance|architect` answers with that slow
    section (loaded by htmx after the page, cached for a few minutes)."""

    template_name = "landkarte/dashboard.html"
    title = _("Dashboard")
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
        try:
            level = min(5, max(2, int(self.request.GET.get("h", 2))))
        except ValueError:
            level = 2
        if not section:
            context.update(dashboard_context(self.request, 2))
            return context
        _form, selection = dashboard.read_filter(self.request.GET)
        context.update(selection=selection, h=level, h_sub=level + 1)
        if section == "sourcing":
            context["sourcing"] = dashboard.sourcing_figures(selection)
            context["risk_url"] = url_or_none("sourcing:risk")
        elif section == "governance":
            context["governance"] = dashboard.governance_figures(selection)
            context["findings_url"] = url_or_none("architecture:findings")
        elif section == "architect":
            today = timezone.localdate()
            counts = dashboard.governance_counts(None, today)
            labels = dict(
                zip(
                    ("info", "low", "medium", "high", "critical"),
                    dashboard.SEVERITY_LABELS,
                    strict=True,
                )
            )
            context["severities"] = [
                {
                    "label": labels[severity],
                    "count": count,
                    "url": url_or_none("architecture:findings", query={"severity": severity}),
                }
                for severity, count in counts.items()
            ]
            context["eol"] = dashboard.end_of_life_applications(today)
            for row in context["eol"]["rows"]:
                row["url"] = url_or_none("architecture:application-detail", row["application_id"])
        return context

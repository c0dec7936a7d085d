"""Pages: the change list, a change with its risk, impact, approvals, conflicts and steps, the
change calendar (week and month, with freeze windows and conflicts) and the CAB page with what
awaits the signed-in user's decision. Every step calls itsm.services.changes, like GraphQL."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from graphql_relay import to_global_id

from cmdb.graph import LoadedGraph
from cmdb.models import Application, Team
from itsm.choices import ChangeRisk, ChangeState
from itsm.filtersets import ChangeFilterSet
from itsm.models import Change, ChangeApproval, FreezeWindow
from itsm.services import changes as change_services
from itsm.services import conflicts as conflict_services
from itsm.views.change_forms import ACTIONS, make_form
from landkarte.pages import EVERY_STAFF, FilteredListPage, Page, apply_service_errors
from landkarte.roles import ARCHITECT, AUDITOR, CHANGE_MANAGER

RISK_FACTOR_LABELS = {
    "criticality": gettext_lazy("Criticality"),
    "dependents": gettext_lazy("Dependent applications"),
    "change_type": gettext_lazy("Change type"),
    "failure_rate": gettext_lazy("Failure rate of earlier changes"),
}

CONFLICT_LABELS = {
    conflict_services.SAME_APPLICATION: gettext_lazy("Same application"),
    conflict_services.DEPENDENT_APPLICATION: gettext_lazy("Dependent application"),
    conflict_services.FREEZE_WINDOW: gettext_lazy("Freeze window"),
}

RISK_BADGES = {ChangeRisk.LOW: "ok", ChangeRisk.MEDIUM: "warn", ChangeRisk.HIGH: "danger"}

STATE_BADGES = {
    ChangeState.CLOSED: "ok",
    ChangeState.REJECTED: "danger",
    ChangeState.CANCELLED: "neutral",
    ChangeState.AUTHORIZATION: "warn",
    ChangeState.IMPLEMENTING: "warn",
}

# The most dependents listed on a change page (the count is always complete).
IMPACT_LIMIT = 100


def decorate(change):
    """Badge classes for the templates (presentation only)."""
    change.risk_badge = RISK_BADGES.get(change.risk, "neutral")
    change.state_badge = STATE_BADGES.get(change.state, "neutral")
    return change


def conflicts_of(changes) -> dict[int, list]:
    """The conflicts of the changes a page shows (pk → conflicts), on today's dependency
    graph loaded once (a fixed number of queries however many applications they touch); no
    query when there is no change."""
    if not changes:
        return {}
    return conflict_services.conflicts_for_changes(changes, graph=LoadedGraph())


def describe_conflicts(conflicts) -> list[dict]:
    rows = []
    for conflict in conflicts:
        other = conflict.other
        is_change = isinstance(other, Change)
        rows.append(
            {
                "label": CONFLICT_LABELS.get(conflict.kind, conflict.kind),
                "other": other,
                "other_is_change": is_change,
                "other_url": reverse("itsm:change-detail", args=[other.number])
                if is_change
                else "",
                "applications": conflict.applications,
                "message": conflict.message,
            }
        )
    return rows


# --- change list -----------------------------------------------------------------------------


class ChangePageFilterSet(ChangeFilterSet):
    """The change filterset (the one GraphQL and the export use) with pickers for the
    application and team filters; sorting is the page's own (`sort`)."""

    order_by = None

    LABELS = {
        "search": gettext_lazy("Number, title or description"),
        "state": gettext_lazy("State"),
        "change_type": gettext_lazy("Type"),
        "risk": gettext_lazy("Risk"),
        "outcome": gettext_lazy("Outcome"),
        "application": gettext_lazy("Affected application"),
        "team": gettext_lazy("Owning team"),
        "window_from": gettext_lazy("Planned window ends after"),
        "window_to": gettext_lazy("Planned window starts before"),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in self.LABELS.items():
            self.filters[name].label = label

    @property
    def form(self):
        if hasattr(self, "_form"):
            return self._form
        form = super().form
        # Choices go on the form's fields: a filter may carry a form field built (and cached)
        # before this filterset existed, whose choices its `extra` no longer reaches.
        applications = Application.objects.filter(changes__isnull=False).distinct()
        form.fields["application"].choices = [
            (to_global_id("ApplicationType", pk), name)
            for pk, name in applications.order_by("name").values_list("pk", "name")
        ]
        form.fields["team"].choices = [
            (to_global_id("TeamType", pk), name)
            for pk, name in Team.objects.order_by("name").values_list("pk", "name")
        ]
        for name in ("state", "change_type", "risk", "outcome", "application", "team"):
            form.fields[name].widget.attrs.setdefault("size", 4)
        for name in ("window_from", "window_to"):
            form.fields[name].widget.attrs.setdefault("placeholder", "YYYY-MM-DD")
        return form


class ChangeListView(FilteredListPage):
    model = Change
    roles = EVERY_STAFF
    filterset_class = ChangePageFilterSet
    template_name = "itsm/changes/list.html"
    partial_template_name = "itsm/changes/_table.html"
    title = gettext_lazy("Changes")
    export_name = "changes"
    default_sort = "-number"
    sort_fields = {
        "planned_start": ("planned_start",),
        "risk": ("risk_score",),
        "state": ("state",),
        "number": ("number",),
    }

    def base_queryset(self):
        return Change.objects.select_related(
            "requested_by", "assignee", "owner_team"
        ).prefetch_related(Prefetch("applications", queryset=Application.objects.order_by("name")))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for change in context["object_list"]:
            decorate(change)
        return context


# --- change page -----------------------------------------------------------------------------


def load_change(number: str) -> Change:
    queryset = Change.objects.select_related(
        "requested_by", "assignee", "owner_team", "template"
    ).prefetch_related(
        Prefetch(
            "applications",
            queryset=Application.objects.select_related("owner_team").order_by("name"),
        ),
        "components",
    )
    try:
        return queryset.get(number=number)
    except Change.DoesNotExist:
        raise Http404(_("No change with this number.")) from None


class ChangeDetailView(Page):
    roles = EVERY_STAFF
    template_name = "itsm/changes/detail.html"

    def get_change(self):
        if not hasattr(self, "change"):
            self.change = decorate(load_change(self.kwargs["number"]))
        return self.change

    def get_context_data(self, bound_action=None, bound_form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        change = self.get_change()
        user = self.request.user
        required = change_services.required_approvals(change)
        slots = change_services.decision_options(change, user, required)
        forms = []
        for action in change_services.available_actions(change, user, required):
            form = bound_form if action == bound_action else make_form(action, change, slots=slots)
            forms.append({"action": action, "form": form, "open": action == bound_action})
        conflicts = conflicts_of([change])
        factors = [
            {**factor, "label": RISK_FACTOR_LABELS.get(factor.get("factor"), factor.get("factor"))}
            for factor in change.risk_factors or []
        ]
        context.update(
            title=str(change),
            change=change,
            required_approvals=required,
            approvals=change.approvals.select_related("approver", "on_behalf_of_team").order_by(
                "-decided_at", "-pk"
            ),
            risk_factors=factors,
            impact=change_services.change_impact(change, limit=IMPACT_LIMIT),
            conflicts=describe_conflicts(conflicts[change.pk]),
            history=change.history.select_related("history_user").order_by(
                "-history_date", "-history_id"
            ),
            action_forms=forms,
        )
        return context

    def post(self, request, *args, **kwargs):
        change = self.get_change()
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            messages.error(request, _("Unknown step."))
            return redirect("itsm:change-detail", number=change.number)
        slots = change_services.decision_options(change, request.user)
        form = make_form(action, change, data=request.POST, slots=slots)
        status = run_action(request, action, change, form)
        if status is None:
            return redirect("itsm:change-detail", number=change.number)
        if action not in change_services.available_actions(change, request.user):
            # The step is not offered (any more): show the refusal above the page.
            for error in form.non_field_errors():
                messages.error(request, error)
        context = self.get_context_data(bound_action=action, bound_form=form, **kwargs)
        return self.render_to_response(context, status=status)


def run_action(request, action: str, change, form) -> int | None:
    """Validate the form and call the step's service function. None on success (with a
    message), else the status code of the refusal, whose reasons are on the form."""
    _form_class, service = ACTIONS[action]
    if not form.is_valid():
        return 400
    try:
        service(
            change,
            user=request.user,
            expected_version=form.cleaned_data["expected_version"],
            **form.service_arguments(),
        )
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or _("You may not do this."))
        return 403
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return 400
    messages.success(
        request,
        _("%(change)s: %(done)s") % {"change": change.number, "done": form.done},
    )
    return None


# --- calendar --------------------------------------------------------------------------------


def _parse_date(value: str | None) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value) if value else timezone.localdate()
    except ValueError:
        return timezone.localdate()


def _day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(
        day + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
    )
    return start, end


class ChangeCalendarView(Page):
    roles = EVERY_STAFF
    template_name = "itsm/changes/calendar.html"
    title = gettext_lazy("Change calendar")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        view = self.request.GET.get("view")
        view = view if view in ("week", "month") else "week"
        day = _parse_date(self.request.GET.get("date"))
        if view == "week":
            first = day - datetime.timedelta(days=day.weekday())
            last = first + datetime.timedelta(days=6)
            previous, following = (
                first - datetime.timedelta(days=7),
                first + datetime.timedelta(days=7),
            )
            month_first = None
        else:
            month_first = day.replace(day=1)
            month_last = (month_first + datetime.timedelta(days=32)).replace(
                day=1
            ) - datetime.timedelta(days=1)
            first = month_first - datetime.timedelta(days=month_first.weekday())
            last = month_last + datetime.timedelta(days=6 - month_last.weekday())
            previous = (month_first - datetime.timedelta(days=1)).replace(day=1)
            following = month_last + datetime.timedelta(days=1)
        range_start, _ignored = _day_bounds(first)
        _ignored, range_end = _day_bounds(last)

        changes = [
            decorate(change)
            for change in Change.objects.exclude(
                state__in=[ChangeState.CANCELLED, ChangeState.REJECTED]
            )
            .filter(planned_start__lt=range_end, planned_end__gt=range_start)
            .order_by("planned_start", "pk")
        ]
        conflicts = conflicts_of(changes)
        for change in changes:
            change.conflicts = describe_conflicts(conflicts.get(change.pk, []))
        freezes = list(
            FreezeWindow.objects.filter(start__lt=range_end, end__gt=range_start).order_by(
                "start", "pk"
            )
        )

        weeks, week = [], []
        current = first
        today = timezone.localdate()
        while current <= last:
            start, end = _day_bounds(current)
            week.append(
                {
                    "date": current,
                    "today": current == today,
                    "outside": month_first is not None and current.month != month_first.month,
                    "changes": [
                        c for c in changes if c.planned_start < end and c.planned_end > start
                    ],
                    "freezes": [f for f in freezes if f.start < end and f.end > start],
                }
            )
            if len(week) == 7:
                weeks.append({"number": week[0]["date"].isocalendar().week, "days": week})
                week = []
            current += datetime.timedelta(days=1)

        base = reverse("itsm:change-calendar")
        context.update(
            view=view,
            day=day,
            first=first,
            last=last,
            month_first=month_first,
            weekdays=[weeks[0]["days"][i]["date"] for i in range(7)],
            weeks=weeks,
            changes=changes,
            freezes=freezes,
            conflicting=sum(1 for change in changes if change.conflicts),
            previous_url=f"{base}?view={view}&date={previous.isoformat()}",
            next_url=f"{base}?view={view}&date={following.isoformat()}",
            today_url=f"{base}?view={view}&date={today.isoformat()}",
            week_url=f"{base}?view=week&date={day.isoformat()}",
            month_url=f"{base}?view=month&date={day.isoformat()}",
        )
        return context


# --- CAB -------------------------------------------------------------------------------------


CAB_RECENT = 20


class CabView(Page):
    roles = (CHANGE_MANAGER, ARCHITECT, AUDITOR)
    template_name = "itsm/changes/cab.html"
    title = gettext_lazy("Change advisory board")

    def get_context_data(self, bound=None, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        waiting = change_services.changes_awaiting_approval(user)
        conflicts = conflicts_of([change for change, _s in waiting])
        rows = []
        for change, slots in waiting:
            decorate(change)
            forms = []
            for action in (change_services.ACTION_APPROVE, change_services.ACTION_REJECT):
                prefix = f"{action}-{change.pk}"
                if bound is not None and bound[0] == change.pk and bound[1] == action:
                    form = bound[2]
                else:
                    form = make_form(action, change, slots=slots, prefix=prefix)
                forms.append({"action": action, "form": form})
            rows.append(
                {
                    "change": change,
                    "slots": slots,
                    "conflicts": describe_conflicts(conflicts.get(change.pk, [])),
                    "forms": forms,
                }
            )
        recent = ChangeApproval.objects.select_related(
            "change", "approver", "on_behalf_of_team"
        ).order_by("-decided_at", "-pk")[:CAB_RECENT]
        context.update(waiting=rows, recent=recent)
        return context

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        if action not in (change_services.ACTION_APPROVE, change_services.ACTION_REJECT):
            messages.error(request, _("Unknown step."))
            return redirect("itsm:cab")
        try:
            change = Change.objects.get(number=request.POST.get("change", ""))
        except Change.DoesNotExist:
            messages.error(request, _("No change with this number."))
            return redirect("itsm:cab")
        slots = change_services.decision_options(change, request.user)
        form = make_form(
            action, change, data=request.POST, slots=slots, prefix=f"{action}-{change.pk}"
        )
        status = run_action(request, action, change, form)
        if status is None:
            return redirect("itsm:cab")
        still_waiting = change_services.changes_awaiting_approval(
            request.user, Change.objects.filter(pk=change.pk)
        )
        if not still_waiting:
            # The change is no longer listed with its form: show the refusal above the page.
            for error in form.non_field_errors():
                messages.error(request, error)
        context = self.get_context_data(bound=(change.pk, action, form), **kwargs)
        return self.render_to_response(context, status=status)


urlpatterns = [
    path("changes/", ChangeListView.as_view(), name="changes"),
    path("changes/calendar/", ChangeCalendarView.as_view(), name="change-calendar"),
    path("changes/<str:number>/", ChangeDetailView.as_view(), name="change-detail"),
    path("cab/", CabView.as_view(), name="cab"),
]

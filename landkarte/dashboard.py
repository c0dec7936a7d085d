"""The dashboard's figures: the ITSM KPIs, the sourcing landscape risk and the governance
finding counts for an org unit (with the units below it) and a period. Everything is computed by
the apps' services; this module only picks the period, calls them and shapes the results for the
charts. The sourcing and governance sections load after the page (htmx); each takes a fixed
number of queries, so nothing is cached and the figures are never stale. No business rule lives
here.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cmdb.models import OrgUnit

PERIODS = (
    ("30", _("last 30 days")),
    ("90", _("last 90 days")),
    ("365", _("last 365 days")),
    ("custom", _("from – to")),
)
DEFAULT_PERIOD = "90"


# --- the filter ------------------------------------------------------------------------------


class OrgUnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return "\u2003" * obj.level + f"{obj.code} {obj.name}"


class DashboardFilterForm(forms.Form):
    org_unit = OrgUnitChoiceField(
        queryset=OrgUnit.objects.order_by("tree_id", "lft"),
        required=False,
        empty_label=_("the whole city"),
        label=_("Org unit (with the units below it)"),
    )
    period = forms.ChoiceField(choices=PERIODS, required=False, label=_("Period"))
    start = forms.DateField(
        required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        period = data.get("period") or DEFAULT_PERIOD
        data["period"] = period
        if period == "custom":
            start, end = data.get("start"), data.get("end")
            if start is None and "start" not in self.errors:
                self.add_error("start", _("Give the first day of the period."))
            if end is None and "end" not in self.errors:
                self.add_error("end", _("Give the last day of the period."))
            if start and end and start > end:
                self.add_error("end", _("The last day must not be before the first day."))
        return data


@dataclass(frozen=True)
class DashboardFilter:
    org_unit: OrgUnit | None
    period: str
    start: datetime.datetime
    end: datetime.datetime
    """Exclusive."""

    @property
    def on(self) -> datetime.date:
        """The day the landscape and the governance rules are looked at: the period's last."""
        return timezone.localdate(self.end - datetime.timedelta(microseconds=1))

    @property
    def first_day(self) -> datetime.date:
        return timezone.localdate(self.start)

    def query(self) -> dict:
        """The filter as GET parameters (for the fragments loaded later)."""
        params = {"period": self.period}
        if self.org_unit is not None:
            params["org_unit"] = str(self.org_unit.pk)
        if self.period == "custom":
            params["start"] = self.first_day.isoformat()
            params["end"] = self.on.isoformat()
        return params

    def previous(self) -> tuple[datetime.datetime, datetime.datetime]:
        """The period of the same length just before this one."""
        return self.start - (self.end - self.start), self.start


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def read_filter(data, now=None) -> tuple[DashboardFilterForm, DashboardFilter]:
    """The form bound to `data` (GET parameters) and the filter it gives; an invalid form falls
    back to the default period for the whole city (its errors are shown next to the fields)."""
    now = now or timezone.now()
    form = DashboardFilterForm(data or None)
    valid = form.is_valid() if form.is_bound else False
    cleaned = form.cleaned_data if valid else {}
    period = cleaned.get("period") or DEFAULT_PERIOD
    org_unit = cleaned.get("org_unit")
    if period == "custom":
        start = _midnight(cleaned["start"])
        end = _midnight(cleaned["end"] + datetime.timedelta(days=1))
    else:
        end = now
        start = now - datetime.timedelta(days=int(period))
    if not form.is_bound:
        form = DashboardFilterForm(initial={"period": DEFAULT_PERIOD})
    return form, DashboardFilter(org_unit=org_unit, period=period, start=start, end=end)


# --- ITSM ------------------------------------------------------------------------------------

# (field of itsm.services.kpis.Kpis, label, kind) in the order shown.
KPI_FIELDS = (
    ("incidents_opened", _("Incidents opened"), "count"),
    ("incidents_resolved", _("Incidents resolved"), "count"),
    ("mtta_minutes", _("Mean time to acknowledge (MTTA)"), "minutes"),
    ("mttr_minutes", _("Mean time to resolve (MTTR)"), "minutes"),
    ("sla_compliance", _("SLA compliance"), "percent"),
    ("reopen_rate", _("Reopen rate"), "percent"),
    ("first_time_fix_rate", _("First-time fix rate"), "percent"),
    ("backlog_size", _("Incident backlog at the end"), "count"),
    ("backlog_mean_age_days", _("Mean backlog age"), "days"),
    ("changes_completed", _("Changes completed"), "count"),
    ("change_success_rate", _("Change success rate"), "percent"),
    ("changes_planned", _("Changes planned"), "count"),
    ("emergency_change_share", _("Emergency change share"), "percent"),
)
SHARE_FIELDS = [name for name, _label, kind in KPI_FIELDS if kind == "percent"]


def itsm_figures(selection: DashboardFilter) -> dict:
    from itsm.services.kpis import compute_kpis, incidents_per_week

    kpis = compute_kpis(selection.start, selection.end, selection.org_unit)
    before = compute_kpis(*selection.previous(), selection.org_unit)
    labels = {name: label for name, label, _kind in KPI_FIELDS}
    cards = [
        {
            "name": name,
            "label": label,
            "kind": kind,
            "value": getattr(kpis, name),
            "previous": getattr(before, name),
        }
        for name, label, kind in KPI_FIELDS
    ]
    weeks = incidents_per_week(selection.start, selection.end, selection.org_unit)
    return {
        "kpis": kpis,
        "cards": cards,
        "share_rows": [(labels[name], getattr(kpis, name)) for name in SHARE_FIELDS],
        "weeks": weeks,
        "week_chart": week_chart(weeks),
    }


def week_chart(weeks, width=640, height=180) -> dict:
    """Coordinates of a grouped column chart (opened, resolved) for the template's SVG."""
    top = max([1, *(w.opened for w in weeks), *(w.resolved for w in weeks)])
    left, bottom, plot_height = 36, 20, height - 30
    slot = (width - left) / max(1, len(weeks))
    bar = max(1.0, slot / 2 - 2)
    columns = []
    for index, week in enumerate(weeks):
        x = left + index * slot
        for offset, (kind, value) in enumerate(
            (("opened", week.opened), ("resolved", week.resolved))
        ):
            h = plot_height * value / top
            columns.append(
                {
                    "kind": kind,
                    "x": round(x + 1 + offset * bar, 1),
                    "y": round(height - bottom - h, 1),
                    "width": round(bar, 1),
                    "height": round(h, 1),
                    "value": value,
                    "week": week.start,
                }
            )
    label_every = max(1, len(weeks) // 8)
    labels = [
        {"x": round(left + index * slot, 1), "text": timezone.localdate(week.start)}
        for index, week in enumerate(weeks)
        if index % label_every == 0
    ]
    return {
        "width": width,
        "height": height,
        "top": top,
        "axis_y": height - bottom,
        "top_y": height - bottom - plot_height,
        "left": left,
        "columns": columns,
        "labels": labels,
    }


# --- sourcing and governance ----------------------------------------------------------------


def sourcing_figures(selection: DashboardFilter) -> dict:
    """The landscape risk of the org unit on the period's last day (sourcing.services.landscape)."""
    from sourcing.services.landscape import sovereignty_risk

    unit = selection.org_unit
    risk = sovereignty_risk(org_unit=unit, on=selection.on)
    top = risk.vendor_shares[:10]
    return {
        "risk": risk,
        "top_vendors": [{"vendor": v, "percent": round(100 * v.share, 1)} for v in top],
        "vendor_rows": [(v.name, round(100 * v.share, 1)) for v in top],
        "alert_count": len(risk.alerts),
        "alert_severities": sorted(Counter(a.severity for a in risk.alerts).items()),
        "non_eu_percent": None
        if risk.non_eu_exposure_ratio is None
        else round(100 * risk.non_eu_exposure_ratio, 1),
    }


SEVERITY_LABELS = {
    "info": _("info"),
    "low": _("low"),
    "medium": _("medium"),
    "high": _("high"),
    "critical": _("critical"),
}


def governance_counts(org_unit: OrgUnit | None, on: datetime.date) -> dict[str, int]:
    """Findings per severity, most severe first, as the governanceFindings query counts them."""
    from architecture.governance import SEVERITIES, run_rules

    found = Counter(f.severity for f in run_rules(on=on, org_unit=org_unit))
    return {severity: found[severity] for severity in reversed(SEVERITIES)}


def governance_figures(selection: DashboardFilter) -> dict:
    counts = governance_counts(selection.org_unit, selection.on)
    return {
        "counts": [(severity, SEVERITY_LABELS[severity], n) for severity, n in counts.items()],
        "severity_rows": [(SEVERITY_LABELS[severity], n) for severity, n in counts.items()],
        "total": sum(counts.values()),
    }


def architect_figures(on: datetime.date) -> dict:
    """The architect's home block: the whole city's findings per severity and the applications
    with end-of-life components."""
    counts = governance_counts(None, on)
    return {
        "severities": [
            {"severity": severity, "label": SEVERITY_LABELS[severity], "count": n}
            for severity, n in counts.items()
        ],
        "eol": end_of_life_applications(on),
    }


def end_of_life_applications(on: datetime.date | None = None, limit: int = 15) -> dict:
    """Applications using, in production, a component past or near its end of life: the
    findings of the governance rule component_end_of_life with the applications it names."""
    from architecture.governance import RULES, GovernanceContext

    context = GovernanceContext(on=on or timezone.localdate())
    rows = []
    for finding in RULES["component_end_of_life"](context):
        component = context.components[finding.subject_id]
        for app_id in context.users_of[finding.subject_id]:
            app = context.applications[app_id]
            rows.append(
                {
                    "application": app.name,
                    "application_id": app.pk,
                    "component": str(component),
                    "end_of_life": component.end_of_life,
                    "past": finding.severity == "high",
                }
            )
    rows.sort(key=lambda r: (r["end_of_life"], r["application"]))
    return {
        "application_count": len({r["application_id"] for r in rows}),
        "past_count": len({r["application_id"] for r in rows if r["past"]}),
        "rows": rows[:limit],
    }

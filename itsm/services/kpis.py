"""ITSM key figures for a period, optionally for one org unit (with its sub-units) and one
service. Durations are business minutes as recorded by the SLA clock.

Definitions (period = [start, end)):
- MTTA: mean time to respond of incidents opened in the period that have been responded to.
- MTTR: mean time to resolve (pending time excluded) of incidents resolved in the period.
- SLA compliance: share of incidents resolved in the period with neither target breached.
- Reopen rate: share of incidents resolved in the period that were reopened at least once.
- First-time fix: share of incidents resolved in the period without reassignment or reopening.
- Backlog: incidents opened before the end and neither resolved nor cancelled by then; its age
  is measured at the end of the period, in calendar days.
- Change success rate: share of changes with an outcome recorded in the period (by actual end)
  that succeeded.
- Emergency-change share: share of changes planned to start in the period that are emergency
  changes.
Shares are percentages rounded to one decimal; None where nothing was counted.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Avg, Count, Q

from cmdb.filtersets import org_unit_subtree_q
from itsm.choices import ChangeOutcome, ChangeType
from itsm.models import Change, Incident


@dataclass
class Kpis:
    start: datetime.datetime
    end: datetime.datetime
    incidents_opened: int
    incidents_resolved: int
    mtta_minutes: float | None
    mttr_minutes: float | None
    sla_compliance: float | None
    reopen_rate: float | None
    first_time_fix_rate: float | None
    backlog_size: int
    backlog_mean_age_days: float | None
    changes_completed: int
    change_success_rate: float | None
    changes_planned: int
    emergency_change_share: float | None


def share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def mean(value) -> float | None:
    return round(float(value), 1) if value is not None else None


def scoped_incidents(org_unit=None, service=None):
    """The incidents the figures count: raised by the org unit or a unit below it (by the
    caller's org unit), and for the service."""
    incidents = Incident.objects.all()
    if org_unit is not None:
        incidents = incidents.filter(org_unit_subtree_q([org_unit.pk], "caller_org_unit__"))
    if service is not None:
        incidents = incidents.filter(service=service)
    return incidents


def scoped_changes(org_unit=None, service=None):
    """The changes the figures count: touching an application owned by the org unit or a unit
    below it, and one supporting the service."""
    changes = Change.objects.all()
    if org_unit is not None:
        changes = changes.filter(
            pk__in=Change.objects.filter(
                org_unit_subtree_q([org_unit.pk], "applications__owner_org_unit__")
            ).values("pk")
        )
    if service is not None:
        changes = changes.filter(
            pk__in=Change.objects.filter(applications__services=service).values("pk")
        )
    return changes


def compute_kpis(start, end, org_unit=None, service=None) -> Kpis:
    incidents = scoped_incidents(org_unit, service)
    changes = scoped_changes(org_unit, service)

    opened = incidents.filter(opened_at__gte=start, opened_at__lt=end)
    opened_figures = opened.aggregate(
        n=Count("pk"), mtta=Avg("response_minutes", filter=Q(responded_at__isnull=False))
    )
    resolved = incidents.filter(resolved_at__gte=start, resolved_at__lt=end)
    resolved_figures = resolved.aggregate(
        n=Count("pk"),
        mttr=Avg("resolution_minutes"),
        compliant=Count("pk", filter=Q(response_breached=False, resolution_breached=False)),
        reopened=Count("pk", filter=Q(reopen_count__gt=0)),
        first_time=Count("pk", filter=Q(reassignment_count=0, reopen_count=0)),
    )
    backlog = (
        incidents.filter(opened_at__lt=end)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=end))
        .exclude(state="cancelled", closed_at__lt=end)
    )
    ages = [(end - opened_at).total_seconds() / 86400 for opened_at in
            backlog.values_list("opened_at", flat=True)]  # fmt: skip

    completed = changes.filter(
        outcome__isnull=False, actual_end__gte=start, actual_end__lt=end
    ).aggregate(n=Count("pk"), ok=Count("pk", filter=Q(outcome=ChangeOutcome.SUCCESSFUL)))
    planned = (
        changes.filter(planned_start__gte=start, planned_start__lt=end)
        .exclude(state__in=["draft", "cancelled"])
        .aggregate(n=Count("pk"), emergency=Count("pk", filter=Q(change_type=ChangeType.EMERGENCY)))
    )

    n_resolved = resolved_figures["n"]
    return Kpis(
        start=start,
        end=end,
        incidents_opened=opened_figures["n"],
        incidents_resolved=n_resolved,
        mtta_minutes=mean(opened_figures["mtta"]),
        mttr_minutes=mean(resolved_figures["mttr"]),
        sla_compliance=share(resolved_figures["compliant"], n_resolved),
        reopen_rate=share(resolved_figures["reopened"], n_resolved),
        first_time_fix_rate=share(resolved_figures["first_time"], n_resolved),
        backlog_size=len(ages),
        backlog_mean_age_days=round(sum(ages) / len(ages), 1) if ages else None,
        changes_completed=completed["n"],
        change_success_rate=share(completed["ok"], completed["n"]),
        changes_planned=planned["n"],
        emergency_change_share=share(planned["emergency"], planned["n"]),
    )


@dataclass
class IncidentWeek:
    start: datetime.datetime
    """The first moment of the seven-day bucket; the last bucket may be shorter."""
    opened: int
    resolved: int


def incidents_per_week(start, end, org_unit=None, service=None) -> list[IncidentWeek]:
    """Incidents opened and resolved in [start, end) in seven-day buckets counted from `start`,
    with compute_kpis' scope (scoped_incidents)."""
    incidents = scoped_incidents(org_unit, service)
    week = datetime.timedelta(days=7)
    count = max(1, -(-(end - start) // week))
    weeks = [
        IncidentWeek(start=start + index * week, opened=0, resolved=0) for index in range(count)
    ]
    opened = incidents.filter(opened_at__gte=start, opened_at__lt=end)
    for moment in opened.values_list("opened_at", flat=True):
        weeks[(moment - start) // week].opened += 1
    resolved = incidents.filter(resolved_at__gte=start, resolved_at__lt=end)
    for moment in resolved.values_list("resolved_at", flat=True):
        weeks[(moment - start) // week].resolved += 1
    return weeks

"""The risk of a change, computed from what it touches and from experience.

The score is the sum of four factors, clamped to 0–100. Every factor is always listed (with 0
points where it does not apply) so that users see what was considered, not only what counted.

=================  ==============================================================  ======
factor             value                                                           points
=================  ==============================================================  ======
criticality        highest criticality among the affected applications:
                   mission critical                                                    35
                   business critical                                                   25
                   business operational                                                10
                   administrative, or no affected application                           0
dependents         distinct applications that depend on any affected application,
                   transitively (the affected applications themselves not counted;
                   on the planned start date when there is one):
                   0                                                                    0
                   1–2                                                                 10
                   3–9                                                                 20
                   10 or more                                                          25
change_type        emergency                                                          +20
                   normal                                                               0
                   standard (from a pre-approved template)                            -15
failure_rate       failed or rolled-back share of the other closed changes with an
                   outcome that touched any of the same applications:
                   20 × share, rounded half up (no such changes: 0)                  0–20
=================  ==============================================================  ======

Level from the clamped score: below 30 low, 30–59 medium, 60 and above high.

Examples: a normal change on one mission-critical application with no dependents scores 35
(medium); with ten dependents 60 (high); a standard change on a business-operational
application scores 0 (low).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cmdb.choices import Criticality
from cmdb.graph import dependents
from itsm.choices import ChangeOutcome, ChangeRisk, ChangeState, ChangeType

CRITICALITY_POINTS = {
    Criticality.MISSION_CRITICAL: 35,
    Criticality.BUSINESS_CRITICAL: 25,
    Criticality.BUSINESS_OPERATIONAL: 10,
    Criticality.ADMINISTRATIVE: 0,
}

# (minimum number of dependents, points), highest first.
DEPENDENT_POINTS = [(10, 25), (3, 20), (1, 10), (0, 0)]

CHANGE_TYPE_POINTS = {
    ChangeType.EMERGENCY: 20,
    ChangeType.NORMAL: 0,
    ChangeType.STANDARD: -15,
}

FAILURE_RATE_MAX_POINTS = 20

# (minimum score, level), highest first.
RISK_LEVELS = [(60, ChangeRisk.HIGH), (30, ChangeRisk.MEDIUM), (0, ChangeRisk.LOW)]

RISK_ORDER = {ChangeRisk.LOW: 0, ChangeRisk.MEDIUM: 1, ChangeRisk.HIGH: 2}


@dataclass(frozen=True)
class RiskAssessment:
    level: str
    score: int
    factors: list[dict] = field(default_factory=list)


def _factor(name: str, value, points: int, explanation: str) -> dict:
    return {"factor": name, "value": value, "points": points, "explanation": explanation}


def _criticality_factor(applications) -> dict:
    if not applications:
        return _factor("criticality", None, 0, _("No affected application."))
    # Criticality choices are declared from most to least critical.
    order = list(Criticality.values)
    highest = min((app.criticality for app in applications), key=order.index)
    label = Criticality(highest).label
    return _factor(
        "criticality",
        highest,
        CRITICALITY_POINTS[highest],
        _("Highest criticality among the affected applications: %(label)s.") % {"label": label},
    )


def dependents_as_of(change):
    """The day whose dependency graph counts for a change: who depends on the affected
    applications when the work is done (the planned start), not today; None without a plan."""
    return timezone.localdate(change.planned_start) if change.planned_start else None


def _dependents_factor(change, applications, walk=dependents) -> dict:
    affected = {app.pk for app in applications}
    as_of = dependents_as_of(change)
    found: set[int] = set()
    for app_id in sorted(affected):
        found.update(node.application_id for node in walk(app_id, None, as_of))
    count = len(found - affected)
    points = next(p for minimum, p in DEPENDENT_POINTS if count >= minimum)
    return _factor(
        "dependents",
        count,
        points,
        ngettext(
            "%(count)d other application depends on the affected ones (transitively).",
            "%(count)d other applications depend on the affected ones (transitively).",
            count,
        )
        % {"count": count},
    )


def _change_type_factor(change) -> dict:
    if change.change_type == ChangeType.STANDARD and change.template_id is None:
        # Without a template nothing has been pre-approved, so no discount.
        return _factor(
            "change_type",
            change.change_type,
            0,
            _("Standard change without a template: no discount."),
        )
    explanations = {
        ChangeType.EMERGENCY: _("Emergency change: prepared and tested under time pressure."),
        ChangeType.NORMAL: _("Normal change."),
        ChangeType.STANDARD: _("Standard change from a pre-approved template."),
    }
    return _factor(
        "change_type",
        change.change_type,
        CHANGE_TYPE_POINTS[change.change_type],
        explanations[change.change_type],
    )


def _failure_rate_factor(change, applications) -> dict:
    from itsm.models import Change

    app_ids = [app.pk for app in applications]
    outcomes = []
    if app_ids:
        rows = (
            Change.objects.filter(
                state=ChangeState.CLOSED, outcome__isnull=False, applications__in=app_ids
            )
            .exclude(pk=change.pk)
            .order_by()
            .values_list("pk", "outcome")
            .distinct()
        )
        outcomes = [outcome for _pk, outcome in rows]
    total = len(outcomes)
    if not total:
        return _factor(
            "failure_rate",
            0.0,
            0,
            _("No earlier closed changes on these applications."),
        )
    failed = sum(1 for o in outcomes if o in (ChangeOutcome.FAILED, ChangeOutcome.ROLLED_BACK))
    # Integer arithmetic: round half up, the same on every platform.
    points = (2 * FAILURE_RATE_MAX_POINTS * failed + total) // (2 * total)
    return _factor(
        "failure_rate",
        round(failed / total, 3),
        points,
        _(
            "%(failed)d of %(total)d earlier changes on these applications failed or were "
            "rolled back."
        )
        % {"failed": failed, "total": total},
    )


def level_for(score: int) -> str:
    return next(level for minimum, level in RISK_LEVELS if score >= minimum)


def assess_risk(change, dependents_walk=dependents) -> RiskAssessment:
    """The risk of a (saved) change from its applications, type and template; see the module
    docstring for the points table. Deterministic: the same data gives the same result.

    `dependents_walk` (same signature as cmdb.graph.dependents) lets a caller that assesses
    many changes at once answer the graph questions from memory."""
    applications = sorted(change.applications.all(), key=lambda app: app.pk)
    factors = [
        _criticality_factor(applications),
        _dependents_factor(change, applications, dependents_walk),
        _change_type_factor(change),
        _failure_rate_factor(change, applications),
    ]
    score = max(0, min(100, sum(f["points"] for f in factors)))
    return RiskAssessment(level=level_for(score), score=score, factors=factors)


def exceeds(level: str | None, maximum: str) -> bool:
    """Whether a risk level is above a maximum (an unassessed risk always is)."""
    return level is None or RISK_ORDER[level] > RISK_ORDER[maximum]

"""The lifecycle of a procurement case (Vergabeverfahren) and the evaluation of its candidates.

    preparation → published → evaluation → awarded; cancelled from any state before the award
    open_case, add_candidate, set_candidate_assessment (until the award), publish_case
    (fixes the catalogue version), start_evaluation (needs a candidate), evaluate_case
    (read-only), award_case (the knock-out gate), cancel_case (reason required)

The evaluation follows the catalogue's `scoring.decision_rule`: "1) check profile minima
(knock-out gate); 2) rank eligible offers by total_score as award criterion". A candidate is
eligible when its assessment is approved, still valid and made against the case's catalogue
version, and it fails no knock-out of the case's protection class. The award goes to an
eligible candidate only; it need not be the best-ranked one (the justification says why), but
the ranking at that moment is recorded with it.

Who may write: the procurement role and superusers. Every write locks the case row, takes an
optional `expected_version` (the case's version the caller saw; candidate changes count as
changes of the case), and raises PermissionDenied or ValidationError({field: error}) with one
of these codes: conflict, invalid_transition, invalid_state, subject_required, duplicate,
wrong_subject, wrong_case, no_candidates, required, knockout_failed, assessment_missing,
invalid_choice. A refused call writes nothing. Each successful write increments the case's
`version` and records the user and a reason in the history.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from itsm.models import next_number
from landkarte.roles import PROCUREMENT, has_role, require_role
from landkarte.services import field_error as _error
from landkarte.services import lock_for_update, save_with_history
from sourcing.choices import AssessmentState
from sourcing.models import Answer, Assessment, CriteriaCatalogue
from sourcing.procurement_models import (
    OPEN_PROCUREMENT_STATES,
    PROCUREMENT_TRANSITIONS,
    ProcurementCandidate,
    ProcurementCase,
    ProcurementState,
)
from sourcing.services.catalogues import default_catalogue
from sourcing.services.scoring import ScoreResult, current_assessment, score_assessment

__all__ = [
    "ASSESSMENT_MISSING",
    "KNOCKOUT_FAILED",
    "REFERENCE_PREFIX",
    "CandidateEvaluation",
    "add_candidate",
    "award_case",
    "cancel_case",
    "evaluate_case",
    "open_case",
    "publish_case",
    "set_candidate_assessment",
    "start_evaluation",
]

REFERENCE_PREFIX = "VG"  # Vergabe

ASSESSMENT_MISSING = "assessment_missing"
KNOCKOUT_FAILED = "knockout_failed"


# --- evaluation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateEvaluation:
    """One candidate as the decision rule sees it."""

    candidate: ProcurementCandidate
    assessment: Assessment | None
    result: ScoreResult | None
    """The assessment's score for the case's protection class (against the assessment's own
    catalogue version); None without an assessment."""
    eligible: bool
    reason: str | None
    """Why not eligible: "assessment_missing" (none, not approved, expired, or against another
    catalogue version) or "knockout_failed"; None when eligible."""
    message: str
    """The reason in words; empty when eligible."""
    rank: int
    """1 for the best; eligible candidates come before every other one."""

    @property
    def score(self) -> float | None:
        return self.result.score if self.result else None

    @property
    def grade(self) -> str | None:
        return self.result.grade if self.result else None

    @property
    def knockouts_failed(self) -> list:
        return self.result.knockouts_failed if self.result else []

    def as_record(self) -> dict:
        """The JSON kept in ProcurementCase.ranking at the award."""
        return {
            "rank": self.rank,
            "candidate": self.candidate.pk,
            "name": str(self.candidate),
            "assessment": self.assessment.pk if self.assessment else None,
            "score": self.score,
            "grade": self.grade,
            "eligible": self.eligible,
            "reason": self.reason,
            "knockouts_failed": [
                {"code": failed.code, "level": failed.level, "minimum": failed.minimum}
                for failed in self.knockouts_failed
            ],
        }


def _knockout_text(result: ScoreResult) -> str:
    return ", ".join(
        _("%(code)s (level %(level)s, minimum %(minimum)s)")
        % {
            "code": failed.code,
            "level": _("unanswered") if failed.level is None else failed.level,
            "minimum": failed.minimum,
        }
        for failed in result.knockouts_failed
    )


def _missing_reason(
    candidate: ProcurementCandidate, catalogue: CriteriaCatalogue, on: datetime.date
) -> str:
    """Why the candidate's assessment cannot carry an award; empty when it can."""
    assessment = candidate.assessment
    name = str(candidate)
    if assessment is None:
        return _("%(candidate)s has no sovereignty assessment.") % {"candidate": name}
    if assessment.state != AssessmentState.APPROVED:
        return _("The assessment of %(candidate)s is %(state)s, not approved.") % {
            "candidate": name,
            "state": assessment.get_state_display(),
        }
    if assessment.valid_until is not None and assessment.valid_until < on:
        return _("The assessment of %(candidate)s expired on %(date)s.") % {
            "candidate": name,
            "date": assessment.valid_until.isoformat(),
        }
    if assessment.catalogue_id != catalogue.pk:
        # Scores against different versions are not comparable: the bidders were measured
        # against the version fixed at publication.
        return _(
            "The assessment of %(candidate)s was made against %(other)s, not against %(catalogue)s."
        ) % {"candidate": name, "other": str(assessment.catalogue), "catalogue": str(catalogue)}
    return ""


def _case_catalogue(case: ProcurementCase) -> CriteriaCatalogue:
    # Before publication the case shows what it would be measured against today.
    return case.catalogue if case.catalogue_id else default_catalogue()


def _candidates(case: ProcurementCase) -> list[ProcurementCandidate]:
    answers = Answer.objects.select_related("criterion")
    return list(
        case.candidates.select_related("vendor", "component", "assessment__catalogue")
        .prefetch_related(
            Prefetch("assessment__answers", queryset=answers),
            "assessment__catalogue__criteria",
        )
        .order_by("pk")
    )


def evaluate_case(
    case: ProcurementCase,
    protection_class: str | None = None,
    *,
    on: datetime.date | None = None,
) -> list[CandidateEvaluation]:
    """Every candidate of the case, ranked by the decision rule: eligible candidates by score,
    best first, then the others by score (those without an assessment last); ties keep the
    order in which candidates were added. `protection_class` overrides the case's (to see how
    the field would look for another class); `on` is the day validity is checked (today)."""
    on = on or timezone.localdate()
    protection_class = protection_class or case.protection_class
    catalogue = _case_catalogue(case)
    if protection_class not in catalogue.profiles:
        raise _error(
            "protection_class",
            _("The catalogue has no knock-out profile for %(value)s."),
            "invalid_choice",
            {"value": protection_class},
        )
    rows = []
    for position, candidate in enumerate(_candidates(case)):
        assessment = candidate.assessment
        result = score_assessment(assessment, protection_class) if assessment else None
        missing = _missing_reason(candidate, catalogue, on)
        if missing:
            reason, message = ASSESSMENT_MISSING, missing
        elif result.knockouts_failed:
            reason = KNOCKOUT_FAILED
            message = _("%(candidate)s fails knock-out criteria for %(class)s: %(failed)s.") % {
                "candidate": str(candidate),
                "class": protection_class,
                "failed": _knockout_text(result),
            }
        else:
            reason, message = None, ""
        rows.append((candidate, assessment, result, reason, message, position))
    rows.sort(
        key=lambda row: (
            row[3] is not None,
            row[2] is None,
            -(row[2].score if row[2] else 0),
            row[5],
        )
    )
    return [
        CandidateEvaluation(
            candidate=candidate,
            assessment=assessment,
            result=result,
            eligible=reason is None,
            reason=reason,
            message=message,
            rank=rank,
        )
        for rank, (candidate, assessment, result, reason, message, _pos) in enumerate(rows, 1)
    ]


# --- shared steps ----------------------------------------------------------------------------


def _lock(case: ProcurementCase, expected_version: int | None) -> ProcurementCase:
    return lock_for_update(case, expected_version)


def _check_transition(case: ProcurementCase, target: str) -> None:
    if target not in PROCUREMENT_TRANSITIONS[case.state]:
        raise _error(
            "state",
            _("A procurement case cannot go from %(from)s to %(to)s."),
            "invalid_transition",
            {
                "from": ProcurementState(case.state).label,
                "to": ProcurementState(target).label,
            },
        )


def _check_open(case: ProcurementCase) -> None:
    if case.state not in OPEN_PROCUREMENT_STATES:
        raise _error(
            "state",
            _("Candidates can no longer change once the case is %(state)s."),
            "invalid_state",
            {"state": case.get_state_display()},
        )


def _save(case: ProcurementCase, user, reason: str) -> None:
    case.version += 1
    save_with_history(case, user, reason)


def _move(case: ProcurementCase, target: str, user, reason: str) -> None:
    previous = case.state
    case.state = target
    _save(case, user, f"{previous} -> {target}: {reason}" if reason else f"{previous} -> {target}")


# --- writes ----------------------------------------------------------------------------------


def open_case(
    *,
    user,
    title: str,
    org_unit,
    protection_class: str,
    requirement=None,
    description: str = "",
    now=None,
) -> ProcurementCase:
    """A new case in preparation with the next reference (VG-2026-000001)."""
    require_role(user, PROCUREMENT)
    now = now or timezone.now()
    with transaction.atomic():
        case = ProcurementCase(
            title=(title or "").strip(),
            description=description,
            org_unit=org_unit,
            protection_class=protection_class,
            requirement=requirement,
        )
        # Validate before drawing a number, so that bad input does not use one up.
        case.full_clean(exclude=["reference"])
        case.reference = next_number(REFERENCE_PREFIX, timezone.localtime(now).year)
        save_with_history(case, user, "opened")
    return case


def _check_assessment_subject(candidate: ProcurementCandidate, assessment) -> None:
    if assessment is None:
        return
    if (assessment.vendor_id, assessment.component_id, assessment.application_id) != (
        candidate.vendor_id,
        candidate.component_id,
        None,
    ):
        raise _error(
            "assessment",
            _("The assessment concerns %(subject)s, not %(candidate)s."),
            "wrong_subject",
            {"subject": str(assessment.subject), "candidate": str(candidate)},
        )


def add_candidate(
    case: ProcurementCase,
    *,
    user,
    vendor=None,
    component=None,
    assessment: Assessment | None = None,
    offer_notes: str = "",
    expected_version: int | None = None,
) -> ProcurementCandidate:
    """Add a vendor or an IT component (exactly one) as a candidate until the award. Without
    `assessment` the subject's current approved assessment is taken, if any. Any assessment
    of the subject may be named: one that is not (yet) approved makes the candidate
    ineligible until it is."""
    require_role(user, PROCUREMENT)
    if (vendor is None) == (component is None):
        raise _error("__all__", _("Name exactly one vendor or IT component."), "subject_required")
    with transaction.atomic():
        case = _lock(case, expected_version)
        _check_open(case)
        if assessment is None:
            assessment = current_assessment(vendor or component)
        candidate = ProcurementCandidate(
            case=case,
            vendor=vendor,
            component=component,
            assessment=assessment,
            offer_notes=offer_notes,
        )
        _check_assessment_subject(candidate, assessment)
        save_with_history(candidate, user, "added")
        _save(case, user, f"candidate added: {candidate}")
    return candidate


def set_candidate_assessment(
    candidate: ProcurementCandidate,
    *,
    user,
    assessment: Assessment | None,
    expected_version: int | None = None,
) -> ProcurementCandidate:
    """Point a candidate at another assessment of the same subject (None: none), e.g. after a
    re-assessment against the case's catalogue version, until the award."""
    require_role(user, PROCUREMENT)
    with transaction.atomic():
        case = _lock(candidate.case, expected_version)
        _check_open(case)
        candidate = ProcurementCandidate.objects.select_for_update().get(pk=candidate.pk)
        _check_assessment_subject(candidate, assessment)
        candidate.assessment = assessment
        shown = f"assessment {assessment.pk}" if assessment else "no assessment"
        save_with_history(candidate, user, shown)
        _save(case, user, f"candidate {candidate}: {shown}")
    return candidate


def publish_case(
    case: ProcurementCase, *, user, expected_version: int | None = None, now=None
) -> ProcurementCase:
    """Preparation → published: the tender is announced and the catalogue version it is
    evaluated against (the latest published version of the shipped catalogue) is fixed, so
    that a new version published during the tender does not move the goalposts."""
    require_role(user, PROCUREMENT)
    with transaction.atomic():
        case = _lock(case, expected_version)
        _check_transition(case, ProcurementState.PUBLISHED)
        case.catalogue = default_catalogue()
        case.published_at = now or timezone.now()
        _move(case, ProcurementState.PUBLISHED, user, f"catalogue {case.catalogue}")
    return case


def start_evaluation(
    case: ProcurementCase, *, user, expected_version: int | None = None, now=None
) -> ProcurementCase:
    """Published → evaluation: the offers are in; there must be at least one."""
    require_role(user, PROCUREMENT)
    with transaction.atomic():
        case = _lock(case, expected_version)
        _check_transition(case, ProcurementState.EVALUATION)
        if not case.candidates.exists():
            raise _error(
                "candidates",
                _("Add at least one candidate before the evaluation starts."),
                "no_candidates",
            )
        case.evaluation_started_at = now or timezone.now()
        _move(case, ProcurementState.EVALUATION, user, "")
    return case


def award_case(
    case: ProcurementCase,
    *,
    user,
    candidate: ProcurementCandidate,
    justification: str,
    expected_version: int | None = None,
    now=None,
) -> ProcurementCase:
    """Evaluation → awarded to `candidate`, which must be eligible: refused with
    "knockout_failed" (naming each failed criterion with its level and the minimum) or
    "assessment_missing"; a justification is required. The ranking at this moment is
    recorded with the award."""
    require_role(user, PROCUREMENT)
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case, expected_version)
        _check_transition(case, ProcurementState.AWARDED)
        if candidate.case_id != case.pk:
            raise _error(
                "candidate",
                _("%(candidate)s is not a candidate of %(case)s."),
                "wrong_case",
                {"candidate": str(candidate), "case": case.reference},
            )
        ranking = evaluate_case(case, on=timezone.localtime(now).date())
        chosen = next(row for row in ranking if row.candidate.pk == candidate.pk)
        errors: dict[str, list[ValidationError]] = {}
        if not chosen.eligible:
            errors["candidate"] = [
                ValidationError(
                    # Already formatted; escaped because params make Django format it again.
                    chosen.message.replace("%", "%%"),
                    code=chosen.reason,
                    params={
                        "candidate": str(chosen.candidate),
                        "codes": [failed.code for failed in chosen.knockouts_failed],
                    },
                )
            ]
        justification = (justification or "").strip()
        if not justification:
            errors["justification"] = [ValidationError(_("Justify the award."), code="required")]
        if errors:
            raise ValidationError(errors)
        case.awarded_candidate = chosen.candidate
        case.award_justification = justification
        case.awarded_at = now
        case.ranking = [row.as_record() for row in ranking]
        _move(
            case,
            ProcurementState.AWARDED,
            user,
            f"to {chosen.candidate} (rank {chosen.rank}): {justification}",
        )
    return case


def cancel_case(
    case: ProcurementCase,
    *,
    user,
    reason: str,
    expected_version: int | None = None,
    now=None,
) -> ProcurementCase:
    """Any state before the award → cancelled, with the reason (a tender may be withdrawn,
    e.g. when no offer is acceptable or the need has gone)."""
    require_role(user, PROCUREMENT)
    with transaction.atomic():
        case = _lock(case, expected_version)
        _check_transition(case, ProcurementState.CANCELLED)
        reason = (reason or "").strip()
        if not reason:
            raise _error("reason", _("Say why the procurement is cancelled."), "required")
        case.cancelled_reason = reason
        case.cancelled_at = now or timezone.now()
        _move(case, ProcurementState.CANCELLED, user, reason)
    return case


# --- reading for pages (appended) ------------------------------------------------------------

ACTION_PUBLISH = "publish"
ACTION_EVALUATE = "evaluate"
ACTION_AWARD = "award"
ACTION_CANCEL = "cancel"

_ACTION_TARGETS = {
    ACTION_PUBLISH: ProcurementState.PUBLISHED,
    ACTION_EVALUATE: ProcurementState.EVALUATION,
    ACTION_AWARD: ProcurementState.AWARDED,
    ACTION_CANCEL: ProcurementState.CANCELLED,
}


def allowed_case_actions(case: ProcurementCase, user) -> set[str]:
    """The steps `user` may take on `case` now (publish, evaluate, award, cancel): the
    procurement role and the transition table. Whether a chosen candidate may win is decided by
    `award_case` (the knock-out gate), which names the refusal."""
    if not has_role(user, PROCUREMENT):
        return set()
    targets = PROCUREMENT_TRANSITIONS[case.state]
    return {action for action, target in _ACTION_TARGETS.items() if target in targets}

"""The lifecycle of a sovereignty assessment.

    draft → submitted → approved (→ superseded when its re-assessment is approved)
    start_assessment, answer_criterion (draft only), submit_assessment,
    approve_assessment (four eyes), return_assessment (submitted → draft, reason required),
    reassess (approved/superseded → a new draft copying the answers; the old one is untouched)

Who may do what: the procurement role and superusers write; reading is for everyone with a
role (the GraphQL layer's job). Nobody approves an assessment they assessed themselves, not
even a superuser: the four-eyes rule is the point of approval.

Every function but start_assessment locks the assessment row it changes (reassess: the one
it copies), takes an optional `expected_version` (the version the caller saw) and raises
PermissionDenied or ValidationError({field: error}) with one of these codes: conflict,
invalid_transition, invalid_state, subject_required, catalogue_not_published,
unknown_criterion, invalid_level, invalid, not_applicable_refused, unanswered,
reason_required, valid_until_past, reassessment_open. A refused call writes nothing. Each
successful write increments `version` and records the user and a reason in the history.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from landkarte.roles import PROCUREMENT, has_role, require_role
from landkarte.services import field_error as _error
from landkarte.services import history_reason, lock_for_update, save_with_history
from sourcing.choices import ASSESSMENT_TRANSITIONS, AssessmentState, CatalogueStatus
from sourcing.models import LEVELS, Answer, Assessment, CriteriaCatalogue, subject_scopes
from sourcing.services.catalogues import BATCH_SIZE, default_catalogue

__all__ = [
    "allowed_assessment_actions",
    "answer_criteria",
    "answer_criterion",
    "approve_assessment",
    "reassess",
    "return_assessment",
    "start_assessment",
    "submit_assessment",
    "unanswered_knockouts",
]

DEFAULT_VALIDITY_YEARS = 1


def _lock(assessment: Assessment, expected_version: int | None) -> Assessment:
    # of=("self",): PostgreSQL refuses to lock the nullable side of the subject outer joins.
    queryset = Assessment.objects.select_for_update(of=("self",)).select_related(
        "catalogue", "vendor", "component", "application"
    )
    return lock_for_update(assessment, expected_version, queryset)


def _check_transition(assessment: Assessment, target: str) -> None:
    if target not in ASSESSMENT_TRANSITIONS[assessment.state]:
        raise _error(
            "state",
            _("An assessment cannot go from %(from)s to %(to)s."),
            "invalid_transition",
            {
                "from": AssessmentState(assessment.state).label,
                "to": AssessmentState(target).label,
            },
        )


def _save(assessment: Assessment, user, reason: str) -> None:
    assessment.version += 1
    save_with_history(assessment, user, reason)


def _check_catalogue(catalogue: CriteriaCatalogue) -> None:
    if catalogue.status != CatalogueStatus.PUBLISHED:
        raise _error(
            "catalogue",
            _("Catalogue %(catalogue)s is %(status)s; assess against a published version."),
            "catalogue_not_published",
            {"catalogue": str(catalogue), "status": catalogue.get_status_display()},
        )


def _create_answers(user, answers: list[Answer], reason: str) -> None:
    bulk_create_with_history(
        answers,
        Answer,
        batch_size=BATCH_SIZE,
        default_user=user,
        default_change_reason=history_reason(reason),
    )


def _blank_answers(assessment: Assessment, criteria) -> list[Answer]:
    """One answer per criterion: not applicable where the criterion's applies_to does not
    match the subject (the catalogue's not_applicable rule), unanswered elsewhere. Created
    up front so that a vendor assessment does not score 0 on the cloud criteria it could
    never answer, and so that every gap is visible as an empty row."""
    scopes = assessment.scopes()
    return [
        Answer(
            assessment=assessment,
            criterion=criterion,
            not_applicable=not criterion.applies(scopes),
        )
        for criterion in criteria
    ]


def start_assessment(
    *,
    user,
    vendor=None,
    component=None,
    application=None,
    catalogue: CriteriaCatalogue | None = None,
    comment: str = "",
) -> Assessment:
    """A new draft assessment of exactly one vendor, IT component or application against a
    published catalogue (default: the latest published version of the shipped one)."""
    require_role(user, PROCUREMENT)
    subjects = {"vendor": vendor, "component": component, "application": application}
    if sum(subject is not None for subject in subjects.values()) != 1:
        raise _error(
            "__all__",
            _("Name exactly one vendor, IT component or application."),
            "subject_required",
        )
    with transaction.atomic():
        # Re-read: the caller's copy may predate a retirement.
        catalogue = CriteriaCatalogue.objects.get(pk=(catalogue or default_catalogue()).pk)
        _check_catalogue(catalogue)
        assessment = Assessment(catalogue=catalogue, assessor=user, comment=comment, **subjects)
        save_with_history(assessment, user, "started")
        _create_answers(user, _blank_answers(assessment, catalogue.criteria.all()), "started")
    return assessment


def _check_draft(assessment: Assessment) -> None:
    if assessment.state != AssessmentState.DRAFT:
        raise _error(
            "state",
            _("Answers can only be changed while the assessment is a draft, not %(state)s."),
            "invalid_state",
            {"state": assessment.get_state_display()},
        )


def answer_criterion(
    assessment: Assessment,
    *,
    user,
    criterion_code: str,
    level: int | None = None,
    not_applicable: bool = False,
    evidence: str = "",
    comment: str = "",
    expected_version: int | None = None,
) -> Answer:
    """Set the answer to one criterion of a draft. `level` None leaves it unanswered (scored
    0); `not_applicable` is allowed only where the criterion's applies_to does not match the
    subject."""
    require_role(user, PROCUREMENT)
    with transaction.atomic():
        assessment = _lock(assessment, expected_version)
        _check_draft(assessment)
        criterion = assessment.catalogue.criteria.filter(code=criterion_code).first()
        if criterion is None:
            raise _error(
                "criterion_code",
                _("Catalogue %(catalogue)s has no criterion %(code)s."),
                "unknown_criterion",
                {"catalogue": str(assessment.catalogue), "code": criterion_code},
            )
        if level is not None and (isinstance(level, bool) or level not in LEVELS):
            raise _error(
                "level",
                _("The level must be a whole number from 0 to 4."),
                "invalid_level",
            )
        if not_applicable and level is not None:
            raise _error(
                "level",
                _("Either give a level or mark the criterion not applicable, not both."),
                "invalid",
            )
        answer = Answer.objects.filter(assessment=assessment, criterion=criterion).first()
        answer = answer or Answer(assessment=assessment, criterion=criterion)
        answer.assessment = assessment
        answer.level = level
        answer.not_applicable = not_applicable
        answer.evidence = evidence
        answer.comment = comment
        shown = "n/a" if not_applicable else ("unanswered" if level is None else level)
        reason = f"answered {criterion.code}: {shown}"
        save_with_history(answer, user, reason)
        _save(assessment, user, reason)
    return answer


def unanswered_knockouts(assessment: Assessment) -> list[str]:
    """The knock-out criteria that still need an answer before the assessment can be
    submitted, in catalogue order."""
    # Every criterion any knock-out profile names (in sovcat-de-muni 0.1.0 that is exactly
    # the very_high profile, which contains the others), so that the assessment can be
    # judged for every protection class.
    required = {code for minima in assessment.catalogue.profiles.values() for code in minima}
    answered = {
        code
        for code, level, not_applicable in assessment.answers.values_list(
            "criterion__code", "level", "not_applicable"
        )
        if level is not None or not_applicable
    }
    order = dict(assessment.catalogue.criteria.values_list("code", "position"))
    return sorted(
        (code for code in required if code in order and code not in answered),
        key=lambda code: (order[code], code),
    )


def submit_assessment(
    assessment: Assessment, *, user, expected_version: int | None = None, now=None
) -> Assessment:
    """Draft → submitted. Unanswered criteria score 0, but every knock-out criterion (of any
    protection-class profile, i.e. the very_high one) must be answered or not applicable, so
    that no knock-out verdict rests on a forgotten row."""
    require_role(user, PROCUREMENT)
    with transaction.atomic():
        assessment = _lock(assessment, expected_version)
        _check_transition(assessment, AssessmentState.SUBMITTED)
        missing = unanswered_knockouts(assessment)
        if missing:
            raise _error(
                "answers",
                _("Answer these knock-out criteria before submitting: %(codes)s."),
                "unanswered",
                {"codes": ", ".join(missing)},
            )
        assessment.state = AssessmentState.SUBMITTED
        assessment.submitted_at = now or timezone.now()
        assessment.return_reason = ""
        _save(assessment, user, "submitted")
    return assessment


def _one_year_after(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year + DEFAULT_VALIDITY_YEARS)
    except ValueError:  # 29 February
        return day.replace(year=day.year + DEFAULT_VALIDITY_YEARS, day=28)


def approve_assessment(
    assessment: Assessment,
    *,
    user,
    valid_until: datetime.date | None = None,
    expected_version: int | None = None,
    now=None,
) -> Assessment:
    """Submitted → approved by someone other than the assessor, valid until `valid_until`
    (default: one year from today). The assessment it re-assesses, if approved, becomes
    superseded."""
    require_role(user, PROCUREMENT)
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    with transaction.atomic():
        assessment = _lock(assessment, expected_version)
        _check_transition(assessment, AssessmentState.APPROVED)
        if assessment.assessor_id == user.pk:
            raise PermissionDenied(_("You cannot approve an assessment you made yourself."))
        valid_until = valid_until or _one_year_after(today)
        if valid_until <= today:
            raise _error(
                "valid_until",
                _("The validity must end after today."),
                "valid_until_past",
            )
        assessment.state = AssessmentState.APPROVED
        assessment.approved_at = now
        assessment.approved_by = user
        assessment.valid_until = valid_until
        _save(assessment, user, f"approved, valid until {valid_until.isoformat()}")
        previous = assessment.previous
        if previous is not None:
            previous = Assessment.objects.select_for_update().get(pk=previous.pk)
            if previous.state == AssessmentState.APPROVED:
                previous.state = AssessmentState.SUPERSEDED
                _save(previous, user, f"superseded by assessment {assessment.pk}")
    return assessment


def return_assessment(
    assessment: Assessment, *, user, reason: str, expected_version: int | None = None
) -> Assessment:
    """Submitted → draft, with the reason the assessor needs to fix it."""
    require_role(user, PROCUREMENT)
    with transaction.atomic():
        assessment = _lock(assessment, expected_version)
        _check_transition(assessment, AssessmentState.DRAFT)
        if not (reason or "").strip():
            raise _error("reason", _("Say why the assessment is sent back."), "reason_required")
        assessment.state = AssessmentState.DRAFT
        assessment.submitted_at = None
        assessment.return_reason = reason.strip()
        _save(assessment, user, f"returned: {reason.strip()}")
    return assessment


REASSESSABLE_STATES = (AssessmentState.APPROVED, AssessmentState.SUPERSEDED)


def _reassessment_open(assessment: Assessment) -> bool:
    open_states = [AssessmentState.DRAFT, AssessmentState.SUBMITTED]
    return assessment.reassessments.filter(state__in=open_states).exists()


def reassess(
    assessment: Assessment,
    *,
    user,
    catalogue: CriteriaCatalogue | None = None,
    expected_version: int | None = None,
) -> Assessment:
    """A new draft of the same subject linked to `assessment` through `previous`, starting
    from its answers (matched by criterion code when `catalogue` is a newer version; new
    criteria start unanswered). The old assessment is not changed."""
    require_role(user, PROCUREMENT)
    with transaction.atomic():
        # Locked so that two re-assessments of one assessment cannot both start.
        old = _lock(assessment, expected_version)
        if old.state not in REASSESSABLE_STATES:
            raise _error(
                "state",
                _("Only an approved assessment can be re-assessed, not a %(state)s one."),
                "invalid_state",
                {"state": old.get_state_display()},
            )
        if _reassessment_open(old):
            raise _error(
                "__all__",
                _("A re-assessment of this assessment is already in progress."),
                "reassessment_open",
            )
        catalogue = CriteriaCatalogue.objects.get(pk=(catalogue or old.catalogue).pk)
        _check_catalogue(catalogue)
        new = Assessment(
            catalogue=catalogue,
            assessor=user,
            previous=old,
            vendor=old.vendor,
            component=old.component,
            application=old.application,
        )
        save_with_history(new, user, f"re-assessment of assessment {old.pk}")
        before = {
            answer.criterion.code: answer for answer in old.answers.select_related("criterion")
        }
        scopes = subject_scopes(new.subject)
        answers = []
        for blank in _blank_answers(new, catalogue.criteria.all()):
            earlier = before.get(blank.criterion.code)
            # A "not applicable" that the new version no longer allows starts unanswered.
            if earlier is not None and (
                not earlier.not_applicable or not blank.criterion.applies(scopes)
            ):
                blank.level = earlier.level
                blank.not_applicable = earlier.not_applicable
                blank.evidence = earlier.evidence
                blank.comment = earlier.comment
            answers.append(blank)
        _create_answers(user, answers, f"copied from assessment {old.pk}")
    return new


# --- for pages (appended) --------------------------------------------------------------------

ACTION_ANSWER = "answer"
ACTION_SUBMIT = "submit"
ACTION_APPROVE = "approve"
ACTION_RETURN = "return"
ACTION_REASSESS = "reassess"

# Refusals that concern the whole assessment rather than one answer.
_WHOLE_ASSESSMENT_FIELDS = {"version", "state", NON_FIELD_ERRORS}


def answer_criteria(
    assessment: Assessment,
    *,
    user,
    answers: Mapping[str, tuple[int | None, bool, str]],
    expected_version: int | None = None,
    submit: bool = False,
) -> Assessment:
    """Several answers of a draft at once, as an answer form sends them ({criterion code:
    (level, not applicable, evidence)}), then the submission when `submit`. Only the answers
    that differ from the stored ones are written, each through answer_criterion (keeping its
    comment). All or nothing: when an answer, the assessment as a whole (a conflict, its state)
    or the submission is refused, nothing is written and one ValidationError names every
    refusal: a refused answer under its criterion code, the rest under the field the refusing
    function named. The answers after a whole-assessment refusal are not tried."""
    require_role(user, PROCUREMENT)
    stored = {
        answer.criterion.code: answer for answer in assessment.answers.select_related("criterion")
    }
    refused: dict[str, list[ValidationError]] = {}
    latest, version = assessment, expected_version
    with transaction.atomic():
        for code, (level, not_applicable, evidence) in answers.items():
            answer = stored.get(code)
            if answer is not None and (answer.level, answer.not_applicable, answer.evidence) == (
                level,
                not_applicable,
                evidence,
            ):
                continue
            try:
                saved = answer_criterion(
                    assessment,
                    user=user,
                    criterion_code=code,
                    level=level,
                    not_applicable=not_applicable,
                    evidence=evidence,
                    comment=answer.comment if answer is not None else "",
                    expected_version=version,
                )
            except ValidationError as exc:
                errors = exc.update_error_dict({})
                if errors.keys() & _WHOLE_ASSESSMENT_FIELDS:
                    raise ValidationError({**refused, **errors}) from exc
                refused[code] = sum(errors.values(), [])
                continue
            latest = saved.assessment
            version = latest.version
        if refused:
            raise ValidationError(refused)
        if submit:
            latest = submit_assessment(assessment, user=user, expected_version=version)
    return latest


def allowed_assessment_actions(assessment: Assessment, user) -> set[str]:
    """The steps `user` may take on `assessment` now (answer, submit, approve, return,
    reassess), by the same rules the functions above enforce, so that a page offers exactly
    these: procurement role; answers and submission only on a draft; approval by someone
    other than the assessor (four eyes); re-assessment of an approved or superseded one
    without another re-assessment in progress."""
    if not has_role(user, PROCUREMENT):
        return set()
    state = assessment.state
    targets = ASSESSMENT_TRANSITIONS[state]
    actions = set()
    if state == AssessmentState.DRAFT:
        actions.add(ACTION_ANSWER)
    if AssessmentState.SUBMITTED in targets:
        actions.add(ACTION_SUBMIT)
    if AssessmentState.APPROVED in targets and assessment.assessor_id != user.pk:
        actions.add(ACTION_APPROVE)
    if state == AssessmentState.SUBMITTED and AssessmentState.DRAFT in targets:
        actions.add(ACTION_RETURN)
    if state in REASSESSABLE_STATES and not _reassessment_open(assessment):
        actions.add(ACTION_REASSESS)
    return actions

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from cmdb.choices import ApplicationKind, ComponentKind, Hosting
from cmdb.factories import ApplicationFactory, ITComponentFactory, VendorFactory
from sourcing.choices import AssessmentState
from sourcing.models import Answer, Assessment
from sourcing.services.assessments import (
    ACTION_ANSWER,
    ACTION_APPROVE,
    ACTION_REASSESS,
    ACTION_RETURN,
    ACTION_SUBMIT,
    allowed_assessment_actions,
    answer_criteria,
    answer_criterion,
    approve_assessment,
    reassess,
    return_assessment,
    start_assessment,
    submit_assessment,
    unanswered_knockouts,
)
from sourcing.services.catalogues import load_catalogue
from sourcing.services.scoring import current_assessment, score_assessment
from tests.sourcing import approved_assessment, write_variant

pytestmark = pytest.mark.django_db

# What a vendor must answer before submitting: the very_high profile minus the criteria that
# do not apply to vendors.
VENDOR_KNOCKOUTS = ["JUR-01", "JUR-03", "JUR-04", "JUR-07"]


def codes_of(error: ValidationError) -> set[str]:
    return {e.code for errors in error.error_dict.values() for e in errors}


@pytest.fixture
def catalogue():
    return load_catalogue()


@pytest.fixture
def buyer(make_user):
    return make_user("buyer", "procurement")


@pytest.fixture
def approver(make_user):
    return make_user("approver", "procurement")


@pytest.fixture
def draft(catalogue, buyer):
    return start_assessment(user=buyer, vendor=VendorFactory())


def snapshot(assessment):
    """Everything a refused call must leave as it was."""
    assessment.refresh_from_db()
    return (
        assessment.state,
        assessment.version,
        assessment.history.count(),
        list(assessment.answers.values_list("criterion__code", "level", "not_applicable")),
        Answer.history.filter(assessment_id=assessment.pk).count(),
    )


def answer_knockouts(assessment, user, level=3):
    for code in VENDOR_KNOCKOUTS:
        answer_criterion(assessment, user=user, criterion_code=code, level=level)


def submitted(assessment, user):
    answer_knockouts(assessment, user)
    return submit_assessment(assessment, user=user)


def test_start_creates_a_draft_with_one_row_per_criterion(catalogue, buyer):
    vendor = VendorFactory()
    assessment = start_assessment(user=buyer, vendor=vendor)
    assert assessment.state == AssessmentState.DRAFT
    assert (assessment.catalogue, assessment.vendor, assessment.assessor) == (
        catalogue,
        vendor,
        buyer,
    )
    assert assessment.version == 1
    answers = {a.criterion.code: a for a in assessment.answers.select_related("criterion")}
    assert len(answers) == 33
    # Only criteria whose applies_to names vendors are open; the rest are not applicable.
    open_codes = sorted(code for code, a in answers.items() if not a.not_applicable)
    assert open_codes == sorted(
        ["JUR-01", "JUR-02", "JUR-03", "JUR-04", "JUR-05", "JUR-06", "JUR-07", "TEC-04", "EXT-06"]
    )
    assert all(a.level is None for a in answers.values())
    record = assessment.history.first()
    assert (record.history_user, record.history_change_reason) == (buyer, "started")


def test_subject_kinds_decide_what_is_not_applicable(catalogue, buyer):
    saas = start_assessment(user=buyer, application=ApplicationFactory(kind=ApplicationKind.SAAS))
    on_premises = start_assessment(
        user=buyer,
        application=ApplicationFactory(
            kind=ApplicationKind.SPECIALIST_PROCEDURE, hosting=Hosting.CITY_DATA_CENTRE
        ),
    )
    hardware = start_assessment(
        user=buyer, component=ITComponentFactory(kind=ComponentKind.HARDWARE)
    )

    def applicable(assessment):
        return set(
            assessment.answers.filter(not_applicable=False).values_list(
                "criterion__code", flat=True
            )
        )

    assert {"DAT-01", "JUR-04", "EXT-03"} <= applicable(saas)
    assert "SUP-03" not in applicable(saas)
    assert "DAT-01" not in applicable(on_premises)
    assert {"SUP-03", "OPS-03", "TEC-01"} <= applicable(on_premises)
    assert applicable(hardware) == {"JUR-07", "SUP-03", "EXT-02", "OPS-03", "OPS-04"}


def test_start_needs_exactly_one_subject_and_a_published_catalogue(catalogue, buyer, tmp_path):
    with pytest.raises(ValidationError) as raised:
        start_assessment(user=buyer, vendor=VendorFactory(), application=ApplicationFactory())
    assert codes_of(raised.value) == {"subject_required"}
    with pytest.raises(ValidationError) as raised:
        start_assessment(user=buyer)
    assert codes_of(raised.value) == {"subject_required"}

    draft_catalogue = load_catalogue(write_variant(tmp_path, version="0.9.0"), publish=False)
    with pytest.raises(ValidationError) as raised:
        start_assessment(user=buyer, vendor=VendorFactory(), catalogue=draft_catalogue)
    assert codes_of(raised.value) == {"catalogue_not_published"}
    assert not Assessment.objects.exists()


def test_only_procurement_and_superusers_write(catalogue, requester, architect, admin_user):
    vendor = VendorFactory()
    for user in (requester, architect):
        with pytest.raises(PermissionDenied):
            start_assessment(user=user, vendor=vendor)
    assert not Assessment.objects.exists()
    assessment = start_assessment(user=admin_user, vendor=vendor)
    assert assessment.assessor == admin_user


def test_a_requester_cannot_answer(draft, requester, architect):
    before = snapshot(draft)
    for user in (requester, architect):
        with pytest.raises(PermissionDenied):
            answer_criterion(draft, user=user, criterion_code="JUR-01", level=4)
    assert snapshot(draft) == before


def test_answer_sets_level_evidence_and_bumps_the_version(draft, buyer):
    answer = answer_criterion(
        draft, user=buyer, criterion_code="JUR-01", level=3, evidence="Handelsregister HRB 1",
        comment="EU-controlled",
    )  # fmt: skip
    assert (answer.level, answer.not_applicable, answer.evidence) == (
        3,
        False,
        "Handelsregister HRB 1",
    )
    draft.refresh_from_db()
    assert draft.version == 2
    assert draft.history.first().history_change_reason == "answered JUR-01: 3"
    assert answer.history.first().history_user == buyer
    # Answering again replaces the answer; level None makes it unanswered again.
    answer_criterion(draft, user=buyer, criterion_code="JUR-01", level=None, expected_version=2)
    assert draft.answers.get(criterion__code="JUR-01").level is None
    assert draft.answers.count() == 33


def test_not_applicable_only_where_applies_to_does_not_match(draft, buyer):
    # DAT-01 applies to SaaS and PaaS/IaaS only: a vendor may leave it not applicable.
    answer_criterion(draft, user=buyer, criterion_code="DAT-01", not_applicable=True)
    before = snapshot(draft)
    with pytest.raises(ValidationError) as raised:
        answer_criterion(draft, user=buyer, criterion_code="JUR-01", not_applicable=True)
    assert codes_of(raised.value) == {"not_applicable_refused"}
    assert "JUR-01 applies to this vendor" in raised.value.messages[0]
    assert snapshot(draft) == before


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"criterion_code": "JUR-01", "level": 5}, "invalid_level"),
        ({"criterion_code": "JUR-01", "level": -1}, "invalid_level"),
        ({"criterion_code": "JUR-01", "level": True}, "invalid_level"),
        ({"criterion_code": "XYZ-01", "level": 2}, "unknown_criterion"),
        ({"criterion_code": "DAT-01", "level": 2, "not_applicable": True}, "invalid"),
        ({"criterion_code": "JUR-01", "level": 2, "expected_version": 7}, "conflict"),
    ],
)
def test_bad_answers_are_refused_with_a_code(draft, buyer, kwargs, code):
    before = snapshot(draft)
    with pytest.raises(ValidationError) as raised:
        answer_criterion(draft, user=buyer, **kwargs)
    assert codes_of(raised.value) == {code}
    assert snapshot(draft) == before


def test_submit_requires_the_very_high_knock_out_criteria(draft, buyer):
    answer_criterion(draft, user=buyer, criterion_code="JUR-01", level=3)
    before = snapshot(draft)
    with pytest.raises(ValidationError) as raised:
        submit_assessment(draft, user=buyer)
    assert codes_of(raised.value) == {"unanswered"}
    assert "JUR-03, JUR-04, JUR-07" in raised.value.messages[0]
    assert snapshot(draft) == before

    answer_knockouts(draft, buyer)
    assessment = submit_assessment(draft, user=buyer)
    assert assessment.state == AssessmentState.SUBMITTED
    assert assessment.submitted_at is not None
    # Other criteria stay unanswered and score 0.
    assert "JUR-02" in score_assessment(assessment).unanswered


def test_illegal_transitions_are_refused_and_change_nothing(draft, buyer, approver):
    before = snapshot(draft)
    with pytest.raises(ValidationError) as raised:
        approve_assessment(draft, user=approver)
    assert codes_of(raised.value) == {"invalid_transition"}
    with pytest.raises(ValidationError) as raised:
        return_assessment(draft, user=approver, reason="why")
    assert codes_of(raised.value) == {"invalid_transition"}
    with pytest.raises(ValidationError) as raised:
        reassess(draft, user=approver)
    assert codes_of(raised.value) == {"invalid_state"}
    assert snapshot(draft) == before

    submitted(draft, buyer)
    before = snapshot(draft)
    with pytest.raises(ValidationError) as raised:
        answer_criterion(draft, user=buyer, criterion_code="JUR-02", level=1)
    assert codes_of(raised.value) == {"invalid_state"}
    with pytest.raises(ValidationError) as raised:
        submit_assessment(draft, user=buyer)
    assert codes_of(raised.value) == {"invalid_transition"}
    assert snapshot(draft) == before

    approve_assessment(draft, user=approver)
    before = snapshot(draft)
    for call in (
        lambda: submit_assessment(draft, user=buyer),
        lambda: approve_assessment(draft, user=approver),
        lambda: return_assessment(draft, user=approver, reason="late"),
    ):
        with pytest.raises(ValidationError) as raised:
            call()
        assert codes_of(raised.value) == {"invalid_transition"}
    assert snapshot(draft) == before


def test_four_eyes(draft, buyer, approver, make_user):
    submitted(draft, buyer)
    before = snapshot(draft)
    with pytest.raises(PermissionDenied):
        approve_assessment(draft, user=buyer)
    assert snapshot(draft) == before

    assessment = approve_assessment(draft, user=approver, expected_version=draft.version)
    assert assessment.state == AssessmentState.APPROVED
    assert assessment.approved_by == approver
    assert assessment.approved_at is not None
    today = datetime.date.today()
    assert assessment.valid_until == today.replace(year=today.year + 1) or (
        (today.month, today.day) == (2, 29)
    )
    record = assessment.history.first()
    assert record.history_user == approver
    assert record.history_change_reason.startswith("approved, valid until ")


def test_even_a_superuser_cannot_approve_their_own_assessment(catalogue, admin_user):
    assessment = start_assessment(user=admin_user, vendor=VendorFactory())
    submitted(assessment, admin_user)
    with pytest.raises(PermissionDenied):
        approve_assessment(assessment, user=admin_user)


def test_validity_must_end_after_today(draft, buyer, approver):
    submitted(draft, buyer)
    before = snapshot(draft)
    with pytest.raises(ValidationError) as raised:
        approve_assessment(draft, user=approver, valid_until=datetime.date.today())
    assert codes_of(raised.value) == {"valid_until_past"}
    assert snapshot(draft) == before


def test_return_sends_back_to_draft_with_a_reason(draft, buyer, approver):
    submitted(draft, buyer)
    with pytest.raises(ValidationError) as raised:
        return_assessment(draft, user=approver, reason="  ")
    assert codes_of(raised.value) == {"reason_required"}
    assessment = return_assessment(draft, user=approver, reason="JUR-04 needs a legal opinion")
    assert assessment.state == AssessmentState.DRAFT
    assert assessment.return_reason == "JUR-04 needs a legal opinion"
    assert assessment.submitted_at is None
    assert (
        assessment.history.first().history_change_reason == "returned: JUR-04 needs a legal opinion"
    )
    # Back in draft, it can be answered and submitted again.
    answer_criterion(assessment, user=buyer, criterion_code="JUR-04", level=2)
    assert submit_assessment(assessment, user=buyer).state == AssessmentState.SUBMITTED


def test_reassess_copies_answers_and_leaves_the_old_assessment_untouched(
    catalogue, buyer, approver, make_user
):
    vendor = VendorFactory()
    old = approved_assessment(
        assessor=buyer, approver=approver, vendor=vendor, levels={"JUR-01": 4}, default=2
    )
    answer_criterion_evidence = old.answers.get(criterion__code="JUR-01")
    Answer.objects.filter(pk=answer_criterion_evidence.pk).update(evidence="register extract")
    before = snapshot(old)
    score_before = score_assessment(old, "very_high")

    second_buyer = make_user("second", "procurement")
    new = reassess(old, user=second_buyer)

    assert new.pk != old.pk
    assert (new.state, new.previous, new.vendor, new.catalogue) == (
        AssessmentState.DRAFT, old, vendor, catalogue,
    )  # fmt: skip
    assert new.assessor == second_buyer
    copied = {
        a.criterion.code: (a.level, a.not_applicable, a.evidence)
        for a in new.answers.select_related("criterion")
    }
    original = {
        a.criterion.code: (a.level, a.not_applicable, a.evidence)
        for a in old.answers.select_related("criterion")
    }
    assert copied == original
    assert copied["JUR-01"] == (4, False, "register extract")
    assert snapshot(old) == before
    assert score_assessment(old, "very_high") == score_before
    assert score_assessment(new, "very_high") == score_before

    # Only one open re-assessment at a time.
    with pytest.raises(ValidationError) as raised:
        reassess(old, user=second_buyer)
    assert codes_of(raised.value) == {"reassessment_open"}

    # Changing the new one does not touch the old one.
    answer_criterion(new, user=second_buyer, criterion_code="JUR-01", level=1)
    assert snapshot(old) == before

    # Approving the re-assessment supersedes the old one and makes it current.
    submit_assessment(new, user=second_buyer)
    approve_assessment(new, user=buyer)
    old.refresh_from_db()
    assert old.state == AssessmentState.SUPERSEDED
    assert current_assessment(vendor) == new


def test_database_refuses_inconsistent_rows(catalogue, buyer):
    vendor, app = VendorFactory(), ApplicationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.create(
            catalogue=catalogue, vendor=vendor, application=app, assessor=buyer
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.create(catalogue=catalogue, assessor=buyer)
    assessment = Assessment.objects.create(catalogue=catalogue, vendor=vendor, assessor=buyer)
    criterion = catalogue.criteria.get(code="DAT-01")
    with pytest.raises(IntegrityError), transaction.atomic():
        Answer.objects.create(assessment=assessment, criterion=criterion, level=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        Answer.objects.create(
            assessment=assessment, criterion=criterion, level=2, not_applicable=True
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.filter(pk=assessment.pk).update(state=AssessmentState.APPROVED)


def test_reassess_against_a_new_catalogue_version_matches_answers_by_code(
    catalogue, buyer, approver, tmp_path
):
    old = approved_assessment(
        assessor=buyer, approver=approver, vendor=VendorFactory(), levels={"JUR-04": 1}
    )
    newer = load_catalogue(
        write_variant(tmp_path, version="0.2.0", weights={"JUR-01": 4, "JUR-04": 7})
    )
    new = reassess(old, user=approver, catalogue=newer)
    assert new.catalogue == newer
    answer = new.answers.select_related("criterion").get(criterion__code="JUR-04")
    assert (answer.criterion.catalogue, answer.level) == (newer, 1)
    assert new.answers.count() == 33
    assert old.answers.get(criterion__code="JUR-04").criterion.catalogue == catalogue


def test_assessment_export_applies_the_subject_kind_and_grade_filters(make_user):
    """The assessments page's filters live in the shared filterset, so its export links (and
    GraphQL) filter the same way."""
    from cmdb.factories import ApplicationFactory, VendorFactory
    from importers.exports import export_rows
    from sourcing.services.scoring import score_assessment
    from tests.sourcing import approved_assessment

    buyer, approver = make_user("buyer2", "procurement"), make_user("approver2", "procurement")
    strong = approved_assessment(
        assessor=buyer, approver=approver, vendor=VendorFactory(), default=4
    )
    weak = approved_assessment(
        assessor=buyer, approver=approver, application=ApplicationFactory(), default=0
    )
    assert score_assessment(strong).grade != score_assessment(weak).grade

    def exported(**filters):
        headers, rows = export_rows("assessments", user=approver, filters=filters)
        subjects = [headers.index("vendor"), headers.index("application")]
        return sorted("vendor" if row[subjects[0]] else "application" for row in rows)

    assert exported() == ["application", "vendor"]
    assert exported(subject_kind="vendor") == ["vendor"]
    assert exported(subject_kind="application") == ["application"]
    assert exported(grade=score_assessment(strong).grade) == ["vendor"]
    assert exported(grade=score_assessment(weak).grade) == ["application"]
    assert exported(subject_kind="vendor", grade=score_assessment(weak).grade) == []


# --- several answers at once (the answer form) -----------------------------------------------


def form_answers(assessment, **changes):
    """Every stored answer as the answer form sends it, with `changes` ({code: (level, not
    applicable, evidence)}) applied."""
    answers = {
        code: (level, not_applicable, evidence)
        for code, level, not_applicable, evidence in assessment.answers.values_list(
            "criterion__code", "level", "not_applicable", "evidence"
        )
    }
    answers.update({code.replace("_", "-"): answer for code, answer in changes.items()})
    return answers


def test_answer_criteria_writes_only_the_changed_answers_and_keeps_their_comments(draft, buyer):
    answer_criterion(draft, user=buyer, criterion_code="JUR-01", level=1, comment="kept")
    draft.refresh_from_db()
    before_version = draft.version
    histories = Answer.history.filter(assessment_id=draft.pk).count()

    result = answer_criteria(
        draft,
        user=buyer,
        answers=form_answers(draft, JUR_01=(3, False, "register"), JUR_02=(2, False, "")),
        expected_version=before_version,
    )

    answers = {a.criterion.code: a for a in draft.answers.select_related("criterion")}
    assert (answers["JUR-01"].level, answers["JUR-01"].evidence) == (3, "register")
    assert answers["JUR-01"].comment == "kept"
    assert answers["JUR-02"].level == 2
    # Two answers changed: two writes, not one per criterion.
    assert Answer.history.filter(assessment_id=draft.pk).count() == histories + 2
    assert result.version == before_version + 2
    assert result.state == AssessmentState.DRAFT


def test_answer_criteria_is_all_or_nothing_and_names_the_refused_criterion(draft, buyer):
    before = snapshot(draft)
    with pytest.raises(ValidationError) as raised:
        answer_criteria(
            draft,
            user=buyer,
            answers=form_answers(draft, JUR_01=(3, False, ""), JUR_02=(7, False, "")),
            expected_version=draft.version,
        )
    assert set(raised.value.error_dict) == {"JUR-02"}
    assert codes_of(raised.value) == {"invalid_level"}
    assert snapshot(draft) == before


def test_answer_criteria_refuses_a_stale_form_as_a_whole(draft, buyer):
    stale = draft.version
    answer_criterion(draft, user=buyer, criterion_code="JUR-02", level=1)  # someone else
    before = snapshot(draft)
    with pytest.raises(ValidationError) as raised:
        answer_criteria(
            draft,
            user=buyer,
            answers=form_answers(draft, JUR_01=(3, False, "")),
            expected_version=stale,
        )
    assert set(raised.value.error_dict) == {"version"}
    assert codes_of(raised.value) == {"conflict"}
    assert snapshot(draft) == before


def test_answer_criteria_with_submit_writes_nothing_when_the_submission_is_refused(draft, buyer):
    before = snapshot(draft)
    with pytest.raises(ValidationError) as raised:
        answer_criteria(
            draft,
            user=buyer,
            answers=form_answers(draft, JUR_01=(3, False, "")),
            expected_version=draft.version,
            submit=True,
        )
    assert codes_of(raised.value) == {"unanswered"}
    assert raised.value.error_dict["answers"][0].params == {"codes": "JUR-03, JUR-04, JUR-07"}
    assert snapshot(draft) == before

    levels = {code.replace("-", "_"): (3, False, "") for code in VENDOR_KNOCKOUTS}
    result = answer_criteria(
        draft,
        user=buyer,
        answers=form_answers(draft, **levels),
        expected_version=draft.version,
        submit=True,
    )
    assert result.state == AssessmentState.SUBMITTED
    draft.refresh_from_db()
    assert draft.state == AssessmentState.SUBMITTED


def test_answer_criteria_needs_the_procurement_role(draft, requester):
    before = snapshot(draft)
    with pytest.raises(PermissionDenied):
        answer_criteria(draft, user=requester, answers=form_answers(draft, JUR_01=(3, False, "")))
    assert snapshot(draft) == before


def test_unanswered_knockouts_are_those_submission_requires(draft, buyer):
    assert unanswered_knockouts(draft) == VENDOR_KNOCKOUTS
    answer_criterion(draft, user=buyer, criterion_code="JUR-03", level=0)
    assert unanswered_knockouts(draft) == ["JUR-01", "JUR-04", "JUR-07"]


def test_allowed_actions_follow_state_role_and_four_eyes(draft, buyer, approver, requester):
    assert allowed_assessment_actions(draft, buyer) == {ACTION_ANSWER, ACTION_SUBMIT}
    assert allowed_assessment_actions(draft, requester) == set()
    assessment = submitted(draft, buyer)
    assert allowed_assessment_actions(assessment, buyer) == {ACTION_RETURN}
    assert allowed_assessment_actions(assessment, approver) == {ACTION_APPROVE, ACTION_RETURN}
    assessment = approve_assessment(assessment, user=approver)
    assert allowed_assessment_actions(assessment, buyer) == {ACTION_REASSESS}
    reassess(assessment, user=buyer)
    # One re-assessment at a time.
    assert allowed_assessment_actions(assessment, buyer) == set()

import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from cmdb.choices import ComponentKind
from cmdb.factories import ITComponentFactory, OrgUnitFactory, VendorFactory
from sourcing.choices import AssessmentState
from sourcing.models import ProcurementCandidate, ProcurementCase, ProcurementState
from sourcing.services.assessments import start_assessment
from sourcing.services.catalogues import load_catalogue
from sourcing.services.procurement import (
    add_candidate,
    award_case,
    cancel_case,
    evaluate_case,
    open_case,
    publish_case,
    set_candidate_assessment,
    start_evaluation,
)
from tests.sourcing import approved_assessment, write_variant

pytestmark = pytest.mark.django_db


def codes_of(error: ValidationError) -> dict[str, set[str]]:
    return {field: {e.code for e in errors} for field, errors in error.error_dict.items()}


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
def assess(buyer, approver, catalogue):
    def make(subject, **levels_and_default):
        default = levels_and_default.pop("default", 2)
        kind = "vendor" if subject.__class__.__name__ == "Vendor" else "component"
        return approved_assessment(
            assessor=buyer, approver=approver, levels=levels_and_default, default=default,
            **{kind: subject},
        )  # fmt: skip

    return make


@pytest.fixture
def case(buyer, catalogue):
    return open_case(
        user=buyer, title="Fachverfahren Bauantrag", org_unit=OrgUnitFactory(),
        protection_class="high",
    )  # fmt: skip


def snapshot(case):
    """Everything a refused call must leave as it was."""
    case.refresh_from_db()
    return (
        case.state,
        case.version,
        case.history.count(),
        case.awarded_candidate_id,
        case.award_justification,
        case.ranking,
        case.awarded_at,
    )


@pytest.fixture
def field(case, buyer, assess):
    """A case in evaluation with four vendors, of protection class high:

    - strong: every applicable criterion 4;
    - fair: every applicable criterion 3;
    - knocked_out: level 4 everywhere but JUR-04 = 1 (minimum 2 for high): the best score
      among those with an assessment, but ineligible;
    - unassessed: no assessment.
    """
    vendors = {
        name: VendorFactory(name=f"{name} GmbH")
        for name in ("strong", "fair", "knocked_out", "unassessed")
    }
    assess(vendors["strong"], default=4)
    assess(vendors["fair"], default=3)
    assess(vendors["knocked_out"], default=4, **{"JUR-04": 1, "JUR-03": 1})
    candidates = {
        name: add_candidate(case, user=buyer, vendor=vendor) for name, vendor in vendors.items()
    }
    publish_case(case, user=buyer)
    start_evaluation(case, user=buyer)
    case.refresh_from_db()
    return candidates


def test_open_case_assigns_a_reference_and_records_who(case, buyer):
    year = timezone.localtime().year
    assert re.fullmatch(rf"VG-{year}-\d{{6}}", case.reference)
    assert case.state == ProcurementState.PREPARATION
    assert case.version == 1
    assert case.catalogue is None
    record = case.history.latest()
    assert (record.history_user, record.history_change_reason) == (buyer, "opened")


def test_references_count_up(buyer, case):
    second = open_case(
        user=buyer, title="Zweites Verfahren", org_unit=case.org_unit, protection_class="normal"
    )
    assert int(second.reference[-6:]) == int(case.reference[-6:]) + 1


def test_open_case_refuses_bad_input_without_using_a_number(buyer, catalogue):
    with pytest.raises(ValidationError) as refused:
        open_case(user=buyer, title="", org_unit=OrgUnitFactory(), protection_class="secret")
    assert {"title", "protection_class"} <= set(codes_of(refused.value))
    assert not ProcurementCase.objects.exists()
    case = open_case(user=buyer, title="Ok", org_unit=OrgUnitFactory(), protection_class="normal")
    assert case.reference.endswith("-000001")


def test_full_lifecycle_ranks_eligible_first_and_records_the_award(case, buyer, field):
    assert case.state == ProcurementState.EVALUATION
    assert case.catalogue is not None
    ranking = evaluate_case(case)
    assert [row.candidate for row in ranking] == [
        field["strong"], field["fair"], field["knocked_out"], field["unassessed"],
    ]  # fmt: skip
    assert [row.rank for row in ranking] == [1, 2, 3, 4]
    assert [row.eligible for row in ranking] == [True, True, False, False]
    assert [row.reason for row in ranking] == [
        None, None, "knockout_failed", "assessment_missing",
    ]  # fmt: skip
    assert ranking[0].score == 100.0 and ranking[0].grade == "A"
    assert ranking[1].score == 75.0 and ranking[1].grade == "B"
    # The knocked-out vendor scores higher than "fair" but ranks after every eligible one.
    assert ranking[2].score > ranking[1].score
    assert ranking[2].grade == "E"
    assert [k.code for k in ranking[2].knockouts_failed] == ["JUR-03", "JUR-04"]
    assert ranking[3].score is None and ranking[3].assessment is None

    version = case.version
    award_case(
        case, user=buyer, candidate=field["fair"], justification="Better support offer",
        expected_version=version,
    )  # fmt: skip
    case.refresh_from_db()
    assert case.state == ProcurementState.AWARDED
    assert case.awarded_candidate == field["fair"]
    assert case.award_justification == "Better support offer"
    assert case.awarded_at is not None
    assert case.version == version + 1
    assert [entry["candidate"] for entry in case.ranking] == [
        field[name].pk for name in ("strong", "fair", "knocked_out", "unassessed")
    ]
    assert case.ranking[1] == {
        "rank": 2, "candidate": field["fair"].pk, "name": "fair GmbH",
        "assessment": field["fair"].assessment_id, "score": 75.0, "grade": "B",
        "eligible": True, "reason": None, "knockouts_failed": [],
    }  # fmt: skip
    assert case.ranking[2]["knockouts_failed"] == [
        {"code": "JUR-03", "level": 1, "minimum": 2},
        {"code": "JUR-04", "level": 1, "minimum": 2},
    ]
    record = case.history.latest()
    assert record.history_user == buyer
    assert record.history_change_reason.startswith("evaluation -> awarded: to fair GmbH")
    assert [r.history_change_reason for r in case.history.order_by("history_id")][:1] == ["opened"]


def test_award_to_a_knocked_out_candidate_is_refused_and_changes_nothing(case, buyer, field):
    before = snapshot(case)
    with pytest.raises(ValidationError) as refused:
        award_case(case, user=buyer, candidate=field["knocked_out"], justification="Cheapest offer")
    assert codes_of(refused.value) == {"candidate": {"knockout_failed"}}
    error = refused.value.error_dict["candidate"][0]
    assert error.params["codes"] == ["JUR-03", "JUR-04"]
    message = error.messages[0]
    assert "JUR-03 (level 1, minimum 2)" in message
    assert "JUR-04 (level 1, minimum 2)" in message
    assert snapshot(case) == before
    assert before[0] == ProcurementState.EVALUATION and before[3] is None


def test_knockouts_follow_the_protection_class(case, field):
    # For normal protection needs the vendor's JUR-03/JUR-04 are no knock-outs.
    ranking = evaluate_case(case, protection_class="normal")
    row = next(row for row in ranking if row.candidate == field["knocked_out"])
    assert row.eligible and row.rank == 2  # after "strong" (100), before "fair" (75)
    with pytest.raises(ValidationError) as refused:
        evaluate_case(case, protection_class="secret")
    assert codes_of(refused.value) == {"protection_class": {"invalid_choice"}}


def test_award_without_an_assessment_is_refused(case, buyer, field):
    before = snapshot(case)
    with pytest.raises(ValidationError) as refused:
        award_case(case, user=buyer, candidate=field["unassessed"], justification="Only one")
    assert codes_of(refused.value) == {"candidate": {"assessment_missing"}}
    assert snapshot(case) == before


def test_award_needs_an_approved_assessment(case, buyer, field):
    vendor = field["unassessed"].vendor
    draft = start_assessment(user=buyer, vendor=vendor)
    set_candidate_assessment(field["unassessed"], user=buyer, assessment=draft)
    before = snapshot(case)
    with pytest.raises(ValidationError) as refused:
        award_case(case, user=buyer, candidate=field["unassessed"], justification="x")
    assert codes_of(refused.value) == {"candidate": {"assessment_missing"}}
    assert "not approved" in refused.value.error_dict["candidate"][0].messages[0]
    assert snapshot(case) == before
    assert draft.state == AssessmentState.DRAFT


def test_award_needs_an_assessment_against_the_case_catalogue(
    case, buyer, approver, field, tmp_path
):
    # A newer catalogue version published during the tender does not apply to it.
    newer = load_catalogue(write_variant(tmp_path, version="0.2.0"))
    vendor = field["unassessed"].vendor
    other = approved_assessment(
        assessor=buyer, approver=approver, default=4, catalogue=newer, vendor=vendor
    )
    set_candidate_assessment(field["unassessed"], user=buyer, assessment=other)
    case.refresh_from_db()
    assert case.catalogue != newer
    row = next(row for row in evaluate_case(case) if row.candidate == field["unassessed"])
    assert row.reason == "assessment_missing"
    assert row.score == 100.0
    assert str(newer) in row.message
    with pytest.raises(ValidationError) as refused:
        award_case(case, user=buyer, candidate=field["unassessed"], justification="x")
    assert codes_of(refused.value) == {"candidate": {"assessment_missing"}}


def test_expired_assessment_is_not_enough(case, buyer, field):
    later = datetime.date.today() + datetime.timedelta(days=60)
    row = next(r for r in evaluate_case(case, on=later) if r.candidate == field["strong"])
    assert row.reason == "assessment_missing" and "expired" in row.message


def test_award_needs_a_justification(case, buyer, field):
    before = snapshot(case)
    with pytest.raises(ValidationError) as refused:
        award_case(case, user=buyer, candidate=field["strong"], justification="  ")
    assert codes_of(refused.value) == {"justification": {"required"}}
    assert snapshot(case) == before


def test_both_problems_are_reported_at_once(case, buyer, field):
    with pytest.raises(ValidationError) as refused:
        award_case(case, user=buyer, candidate=field["knocked_out"], justification="")
    assert codes_of(refused.value) == {
        "candidate": {"knockout_failed"},
        "justification": {"required"},
    }


def test_award_only_from_evaluation_and_only_to_own_candidates(case, buyer, field, catalogue):
    other_case = open_case(
        user=buyer, title="Anderes", org_unit=case.org_unit, protection_class="high"
    )
    stranger = add_candidate(other_case, user=buyer, vendor=field["strong"].vendor)
    with pytest.raises(ValidationError) as refused:
        award_case(case, user=buyer, candidate=stranger, justification="x")
    assert codes_of(refused.value) == {"candidate": {"wrong_case"}}
    with pytest.raises(ValidationError) as refused:
        award_case(other_case, user=buyer, candidate=stranger, justification="x")
    assert codes_of(refused.value) == {"state": {"invalid_transition"}}


def test_an_architect_cannot_award_or_open(case, architect, field):
    before = snapshot(case)
    with pytest.raises(PermissionDenied):
        award_case(case, user=architect, candidate=field["strong"], justification="x")
    with pytest.raises(PermissionDenied):
        open_case(user=architect, title="x", org_unit=case.org_unit, protection_class="high")
    with pytest.raises(PermissionDenied):
        cancel_case(case, user=architect, reason="x")
    assert snapshot(case) == before


def test_a_superuser_may_award(case, admin_user, field):
    award_case(case, user=admin_user, candidate=field["strong"], justification="Best score")
    case.refresh_from_db()
    assert case.state == ProcurementState.AWARDED


def test_stale_version_is_a_conflict(case, buyer, field):
    before = snapshot(case)
    with pytest.raises(ValidationError) as refused:
        award_case(
            case, user=buyer, candidate=field["strong"], justification="x",
            expected_version=case.version - 1,
        )  # fmt: skip
    assert codes_of(refused.value) == {"version": {"conflict"}}
    assert snapshot(case) == before
    with pytest.raises(ValidationError) as refused:
        add_candidate(case, user=buyer, vendor=VendorFactory(), expected_version=case.version - 1)
    assert codes_of(refused.value) == {"version": {"conflict"}}


def test_publishing_fixes_the_catalogue(case, buyer, catalogue):
    publish_case(case, user=buyer, expected_version=1)
    case.refresh_from_db()
    assert (case.state, case.catalogue, case.version) == (
        ProcurementState.PUBLISHED, catalogue, 2,
    )  # fmt: skip
    assert case.published_at is not None
    with pytest.raises(ValidationError) as refused:
        publish_case(case, user=buyer)
    assert codes_of(refused.value) == {"state": {"invalid_transition"}}


def test_evaluation_needs_a_candidate(case, buyer):
    publish_case(case, user=buyer)
    before = snapshot(case)
    with pytest.raises(ValidationError) as refused:
        start_evaluation(case, user=buyer)
    assert codes_of(refused.value) == {"candidates": {"no_candidates"}}
    assert snapshot(case) == before


def test_evaluation_before_publication_previews_the_default_catalogue(case, buyer, assess):
    vendor = VendorFactory()
    assess(vendor, default=3)
    add_candidate(case, user=buyer, vendor=vendor)
    (row,) = evaluate_case(case)
    assert row.eligible and row.score == 75.0


def test_candidates(case, buyer, assess):
    vendor = VendorFactory()
    assessment = assess(vendor)
    candidate = add_candidate(case, user=buyer, vendor=vendor, offer_notes="Angebot vom 1.3.")
    assert candidate.assessment == assessment  # the current one by default
    case.refresh_from_db()
    assert case.version == 2
    assert case.history.latest().history_change_reason == f"candidate added: {vendor}"

    with pytest.raises(ValidationError) as refused:
        add_candidate(case, user=buyer, vendor=vendor)
    assert "duplicate" in {c for codes in codes_of(refused.value).values() for c in codes}

    with pytest.raises(ValidationError) as refused:
        add_candidate(case, user=buyer, vendor=vendor, component=ITComponentFactory())
    assert codes_of(refused.value) == {"__all__": {"subject_required"}}
    with pytest.raises(ValidationError) as refused:
        add_candidate(case, user=buyer)
    assert codes_of(refused.value) == {"__all__": {"subject_required"}}

    other = VendorFactory()
    with pytest.raises(ValidationError) as refused:
        add_candidate(case, user=buyer, vendor=other, assessment=assessment)
    assert codes_of(refused.value) == {"assessment": {"wrong_subject"}}
    assert case.candidates.count() == 1

    product = ITComponentFactory(kind=ComponentKind.CLOUD_SERVICE)
    product_assessment = assess(product, default=3)
    as_product = add_candidate(case, user=buyer, component=product)
    assert as_product.assessment == product_assessment
    assert str(as_product) == str(product)

    set_candidate_assessment(candidate, user=buyer, assessment=None)
    candidate.refresh_from_db()
    assert candidate.assessment is None


def test_candidates_are_closed_after_the_award(case, buyer, field):
    award_case(case, user=buyer, candidate=field["strong"], justification="Best")
    case.refresh_from_db()
    before = snapshot(case)
    with pytest.raises(ValidationError) as refused:
        add_candidate(case, user=buyer, vendor=VendorFactory())
    assert codes_of(refused.value) == {"state": {"invalid_state"}}
    with pytest.raises(ValidationError) as refused:
        set_candidate_assessment(field["strong"], user=buyer, assessment=None)
    assert codes_of(refused.value) == {"state": {"invalid_state"}}
    assert snapshot(case) == before
    assert ProcurementCandidate.objects.filter(case=case).count() == 4
    with pytest.raises(ValidationError) as refused:
        cancel_case(case, user=buyer, reason="too late")
    assert codes_of(refused.value) == {"state": {"invalid_transition"}}


def test_cancel_needs_a_reason(case, buyer, field):
    before = snapshot(case)
    with pytest.raises(ValidationError) as refused:
        cancel_case(case, user=buyer, reason=" ")
    assert codes_of(refused.value) == {"reason": {"required"}}
    assert snapshot(case) == before
    cancel_case(case, user=buyer, reason="Need has gone", expected_version=case.version)
    case.refresh_from_db()
    assert case.state == ProcurementState.CANCELLED
    assert case.cancelled_reason == "Need has gone"
    assert case.cancelled_at is not None
    with pytest.raises(ValidationError) as refused:
        award_case(case, user=buyer, candidate=field["strong"], justification="x")
    assert codes_of(refused.value) == {"state": {"invalid_transition"}}


def test_cancel_in_preparation(case, buyer):
    cancel_case(case, user=buyer, reason="Duplicate")
    case.refresh_from_db()
    assert case.state == ProcurementState.CANCELLED and case.catalogue is None


def test_requirement_link(buyer, catalogue, architect):
    from itsm.services.requirements import submit_requirement

    unit = OrgUnitFactory()
    requirement = submit_requirement(
        user=architect, title="Neues Fachverfahren", kind="procurement",
        requesting_org_unit=unit, business_value=8, time_criticality=5, risk_reduction=3,
        job_size=5,
    )  # fmt: skip
    case = open_case(
        user=buyer, title="Vergabe", org_unit=unit, protection_class="normal",
        requirement=requirement,
    )  # fmt: skip
    assert list(requirement.procurement_cases.all()) == [case]

"""The sourcing demo: assessments that tell a story, two procurement cases, a backlog in every
state, idempotent, and a landscape on which the sovereignty risk has something to say.

The demo city and the sourcing demo are built once for the module (a few seconds) inside a
transaction that is rolled back at the end; every test runs in its own savepoint inside it.
"""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from cmdb.demo import build_demo_city
from itsm.choices import ChangeOutcome, ChangeState
from itsm.models.requirement import Requirement
from itsm.requirement_choices import WSJF_SCALE, RequirementKind, RequirementState
from landkarte.roles import PROCUREMENT, has_role
from sourcing.choices import AssessmentState
from sourcing.demo import APPROVER, build_sourcing_demo
from sourcing.models import Assessment, ProcurementCase, ProcurementState
from sourcing.services.landscape import sovereignty_risk
from sourcing.services.procurement import evaluate_case
from sourcing.services.scoring import current_assessment, score_assessment


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        build_demo_city(seed=1, scale=1)
        first = build_sourcing_demo(seed=1, scale=1)
        second = build_sourcing_demo(seed=1, scale=1)
        yield {"first": first, "second": second}
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def vendor_assessment(key: str) -> Assessment:
    return Assessment.objects.get(
        vendor__external_id=f"demo:vendor:{key}", state=AssessmentState.APPROVED
    )


def test_the_story_grades_hold(demo):
    story = demo["first"]["story"]
    assert {key: entry["grade"] for key, entry in story.items()} == {
        "komm-one": "A",
        "nextcloud": "B",
        "microsoft-de": "E",
    }
    # Recomputed from the stored answers, not taken from the builder's word.
    municipal = score_assessment(vendor_assessment("komm-one"), "very_high")
    assert municipal.grade == "A" and not municipal.knockouts_failed
    eu_vendor = score_assessment(vendor_assessment("nextcloud"), "very_high")
    assert eu_vendor.grade == "B" and not eu_vendor.knockouts_failed
    us_subsidiary = vendor_assessment("microsoft-de")
    assert us_subsidiary.vendor.jurisdiction == "US" and us_subsidiary.vendor.country == "DE"
    failed = score_assessment(us_subsidiary, "very_high")
    assert failed.grade == "E"
    assert {"JUR-01", "JUR-04"} <= {item.code for item in failed.knockouts_failed}
    assert all(item.code.startswith("JUR-") for item in failed.knockouts_failed)
    # Without a protection class the score alone decides: not E.
    assert score_assessment(us_subsidiary).grade != "E"


def test_assessments_went_through_four_eyes_and_every_state(demo):
    assessments = Assessment.objects.all()
    assert assessments.count() >= 20
    states = set(assessments.values_list("state", flat=True))
    assert {AssessmentState.DRAFT, AssessmentState.SUBMITTED, AssessmentState.APPROVED} <= states
    approved = assessments.filter(state=AssessmentState.APPROVED)
    assert not approved.filter(approved_by=None).exists()
    assert not approved.filter(approved_by_id=F("assessor_id")).exists()
    assert set(approved.values_list("approved_by__username", flat=True)) == {APPROVER}
    assert set(assessments.values_list("assessor__username", flat=True)) == {"procurement"}
    lead = get_user_model().objects.get(username=APPROVER)
    assert has_role(lead, PROCUREMENT)
    # Vendors, products and applications are assessed.
    assert approved.filter(component__isnull=False).count() >= 2
    assert approved.filter(application__isnull=False).count() >= 3
    # One expired: approved, but no longer current.
    expired = approved.filter(valid_until__lt=timezone.localdate())
    assert expired.count() == 1
    assert current_assessment(expired.get().vendor) is None
    # The history records every answer.
    komm_one = vendor_assessment("komm-one")
    assert komm_one.history.count() > komm_one.answers.filter(not_applicable=False).count()


def test_two_procurement_cases(demo):
    cases = {case.title: case for case in ProcurementCase.objects.all()}
    assert len(cases) == 2

    awarded = cases["Kollaborationsplattform für die Stadtverwaltung"]
    assert awarded.state == ProcurementState.AWARDED
    assert awarded.protection_class == "very_high"
    assert awarded.requirement is not None
    assert awarded.award_justification
    winner = awarded.awarded_candidate
    assert winner.component.name == "Nextcloud Hub"
    ranking = awarded.ranking
    assert [row["rank"] for row in ranking] == [1, 2]
    by_candidate = {row["candidate"]: row for row in ranking}
    assert by_candidate[winner.pk]["eligible"] is True
    loser = next(row for row in ranking if row["candidate"] != winner.pk)
    assert loser["eligible"] is False and loser["reason"] == "knockout_failed"
    assert {"JUR-01", "JUR-04"} <= {item["code"] for item in loser["knockouts_failed"]}

    open_case = cases["Terminvereinbarung online (Bürgeramt)"]
    assert open_case.state == ProcurementState.EVALUATION
    assert open_case.protection_class == "high"
    assert open_case.awarded_candidate is None and open_case.ranking == []
    assert open_case.requirement is not None
    evaluation = evaluate_case(open_case)
    assert len(evaluation) == 3
    assert evaluation[0].eligible
    assert {row.reason for row in evaluation[1:]} == {"assessment_missing", "knockout_failed"}


def test_a_backlog_in_every_state(demo):
    requirements = Requirement.objects.all()
    assert requirements.count() >= 50
    states = set(requirements.values_list("state", flat=True))
    assert len(states) >= 6
    assert states == set(RequirementState.values)
    for field in ("business_value", "time_criticality", "risk_reduction", "job_size"):
        assert set(requirements.values_list(field, flat=True)) <= set(WSJF_SCALE)
    legal = requirements.filter(kind=RequirementKind.LEGAL_OBLIGATION)
    assert legal.count() >= 10 and not legal.filter(legal_basis="").exists()
    assert legal.exclude(due_date=None).exists()
    assert requirements.filter(legal_basis__contains="OZG").exists()
    # Done: a delivery note or a successful change; rejected and withdrawn: a reason.
    done = requirements.filter(state=RequirementState.DONE)
    delivered_by_change = Q(
        changes__state=ChangeState.CLOSED, changes__outcome=ChangeOutcome.SUCCESSFUL
    )
    assert not done.filter(delivery_note="").exclude(delivered_by_change).exists()
    assert not done.filter(done_at=None).exists()
    final = requirements.filter(state__in=[RequirementState.REJECTED, RequirementState.WITHDRAWN])
    assert final.count() >= 4 and not final.filter(decision_reason="").exists()
    # The office submits its own; the architect submits for the others.
    submitters = set(requirements.values_list("requested_by__username", flat=True))
    assert submitters == {"requester", "architect"}
    assert requirements.filter(
        requested_by__username="requester", requesting_org_unit__code__startswith="33"
    ).exists()
    assert not requirements.filter(submitted_at__gt=timezone.now()).exists()
    # Every procurement case serves a requirement of the backlog.
    assert Requirement.objects.filter(procurement_cases__isnull=False).distinct().count() == 2


def test_a_second_run_creates_nothing(demo):
    assert sum(demo["first"]["created"].values()) > 0
    assert not any(demo["second"]["created"].values()), demo["second"]["created"]
    assert demo["second"]["total"] == demo["first"]["total"]
    assert demo["first"]["skipped"] == []


def test_the_sovereignty_risk_has_something_to_say(demo):
    risk = sovereignty_risk()
    assert risk.vendor_shares
    assert abs(sum(share.share for share in risk.vendor_shares) - 1) < 1e-9
    assert any(not share.is_eu for share in risk.jurisdiction_shares)
    assert risk.alerts
    assert any(alert.code == "very_high_knockout" for alert in risk.alerts)

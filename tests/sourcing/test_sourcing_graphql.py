"""Sovereignty assessments through /graphql/: procurement writes, others read."""

import pytest
from graphql_relay import to_global_id

from cmdb.factories import ApplicationFactory, VendorFactory
from tests.sourcing import approved_assessment

pytestmark = pytest.mark.django_db


def gid(obj):
    return to_global_id(f"{type(obj).__name__}Type", obj.pk)


@pytest.fixture
def buyers(make_user):
    return make_user("buyer", "procurement"), make_user("lead-buyer", "procurement")


START = """mutation($vendor: ID) { assessmentStart(vendor: $vendor) {
  assessment { id state version catalogue { code version } } errors { field code } } }"""
ANSWER = """mutation($id: ID!, $c: String!, $level: Int, $na: Boolean) {
  assessmentAnswer(id: $id, criterion: $c, level: $level, notApplicable: $na) {
    answer { level notApplicable criterion { code } } errors { field code } } }"""


def test_assessment_flow_and_result(gql, buyers, architect):
    buyer, lead = buyers
    vendor = VendorFactory(name="Komm.ONE", country="DE")
    _, body = gql(START, {"vendor": gid(vendor)}, user=architect)
    assert body["data"]["assessmentStart"]["errors"][0]["code"] == "permission_denied"
    _, body = gql(START, {"vendor": gid(vendor)}, user=buyer)
    started = body["data"]["assessmentStart"]
    assert started["errors"] == [] and started["assessment"]["state"] == "DRAFT"
    assessment_id = started["assessment"]["id"]
    _, body = gql(ANSWER, {"id": assessment_id, "c": "JUR-01", "level": 7}, user=buyer)
    assert body["data"]["assessmentAnswer"]["errors"][0]["field"] == "level"
    _, body = gql(ANSWER, {"id": assessment_id, "c": "JUR-01", "level": 4}, user=buyer)
    assert body["data"]["assessmentAnswer"]["answer"]["level"] == 4
    _, body = gql(
        """mutation($id: ID!) { assessmentSubmit(id: $id) { errors { field code message } } }""",
        {"id": assessment_id}, user=buyer,
    )  # fmt: skip
    assert body["data"]["assessmentSubmit"]["errors"][0]["code"] == "unanswered"
    query = """query($id: ID!) { assessment(id: $id) { state
        result(protectionClass: "very_high") { score grade knockoutsFailed { code } } } }"""
    _, body = gql(query, {"id": assessment_id}, user=architect)
    result = body["data"]["assessment"]["result"]
    assert result["grade"] == "E" and result["knockoutsFailed"]


def test_sovereignty_of_a_vendor_and_an_application(gql, buyers, architect):
    buyer, lead = buyers
    vendor = VendorFactory(name="Dataport", country="DE")
    approved_assessment(assessor=buyer, approver=lead, vendor=vendor, default=4)
    app = ApplicationFactory(vendor=vendor, confidentiality="high")
    query = """query($v: ID, $a: ID) {
      v: sovereignty(vendor: $v) { currentAssessment { state } result { grade score } }
      a: sovereignty(application: $a) { result { grade protectionClass }
        effectiveLevels { code level inherited } gaps } }"""
    _, body = gql(query, {"v": gid(vendor), "a": gid(app)}, user=architect)
    data = body["data"]
    assert data["v"] == {"currentAssessment": {"state": "APPROVED"},
                         "result": {"grade": "A", "score": 100.0}}  # fmt: skip
    assert data["a"]["result"]["protectionClass"] == "high"
    levels = {e["code"]: e for e in data["a"]["effectiveLevels"]}
    assert levels["JUR-01"]["inherited"] is True
    assert any(gap.startswith("application") for gap in data["a"]["gaps"])


def test_admin_pages(client, admin_user, buyers):
    from django.urls import reverse

    from sourcing.models import Assessment

    buyer, lead = buyers
    approved_assessment(assessor=buyer, approver=lead, vendor=VendorFactory(), default=3)
    client.force_login(admin_user)
    assessment = Assessment.objects.get()
    for url in (
        reverse("admin:sourcing_criteriacatalogue_changelist"),
        reverse("admin:sourcing_assessment_changelist"),
        reverse("admin:sourcing_assessment_change", args=[assessment.pk]),
        reverse("admin:itsm_requirement_changelist"),
        reverse("admin:sourcing_procurementcase_changelist"),
    ):
        assert client.get(url).status_code == 200, url

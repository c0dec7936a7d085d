"""Procurement and landscape risk through /graphql/."""

import pytest
from graphql_relay import to_global_id

from cmdb.factories import ApplicationFactory, OrgUnitFactory, VendorFactory
from sourcing.procurement_models import ProcurementCase
from tests.sourcing import approved_assessment

pytestmark = pytest.mark.django_db


def gid(obj):
    return to_global_id(f"{type(obj).__name__}Type", obj.pk)


def test_award_refused_for_a_knocked_out_candidate(gql, make_user, architect):
    buyer, lead = make_user("buyer", "procurement"), make_user("lead", "procurement")
    eu = VendorFactory(name="Open-Xchange AG", country="DE")
    us = VendorFactory(
        name="Microsoft Deutschland GmbH",
        country="DE",
        parent=VendorFactory(name="Microsoft Corporation", country="US"),
    )
    approved_assessment(assessor=buyer, approver=lead, vendor=eu, default=3)
    approved_assessment(assessor=buyer, approver=lead, vendor=us, default=3,
                        levels={"JUR-01": 0, "JUR-04": 1})  # fmt: skip
    unit = OrgUnitFactory()
    open_case = """mutation($unit: ID!) { procurementCaseOpen(title: "Groupware",
        orgUnit: $unit, protectionClass: "very_high") {
        procurementCase { id } errors { code } } }"""
    _, body = gql(open_case, {"unit": gid(unit)}, user=buyer)
    case_id = body["data"]["procurementCaseOpen"]["procurementCase"]["id"]
    add = """mutation($id: ID!, $v: ID!) { procurementCandidateAdd(id: $id, vendor: $v) {
        procurementCase { candidates { id vendor { name } } } errors { code } } }"""
    for vendor in (eu, us):
        _, body = gql(add, {"id": case_id, "v": gid(vendor)}, user=buyer)
        assert body["data"]["procurementCandidateAdd"]["errors"] == []
    candidates = {
        c["vendor"]["name"]: c["id"]
        for c in body["data"]["procurementCandidateAdd"]["procurementCase"]["candidates"]
    }
    for step in ("procurementCasePublish", "procurementCaseStartEvaluation"):
        _, body = gql(f"mutation($id: ID!) {{ {step}(id: $id) {{ errors {{ code }} }} }}",
                      {"id": case_id}, user=buyer)  # fmt: skip
        assert body["data"][step]["errors"] == [], step
    evaluation = """query($id: ID!) { procurementCase(id: $id) { evaluation {
        rank eligible reason candidate { vendor { name } } result { grade } } } }"""
    _, body = gql(evaluation, {"id": case_id}, user=architect)
    ranked = body["data"]["procurementCase"]["evaluation"]
    assert [(e["candidate"]["vendor"]["name"], e["eligible"]) for e in ranked] == [
        ("Open-Xchange AG", True), ("Microsoft Deutschland GmbH", False),
    ]  # fmt: skip
    assert ranked[1]["reason"] == "knockout_failed"
    award = """mutation($id: ID!, $c: ID!) { procurementCaseAward(id: $id, candidate: $c,
        justification: "best offer") {
        procurementCase { state } errors { field code message } } }"""
    case = ProcurementCase.objects.get()
    before = (case.state, case.version, case.history.count())
    _, body = gql(award, {"id": case_id, "c": candidates["Microsoft Deutschland GmbH"]}, user=buyer)
    errors = body["data"]["procurementCaseAward"]["errors"]
    assert errors[0]["code"] == "knockout_failed"
    assert "JUR-01" in errors[0]["message"] and "JUR-04" in errors[0]["message"]
    case.refresh_from_db()
    assert (case.state, case.version, case.history.count()) == before
    assert case.awarded_candidate is None
    _, body = gql(award, {"id": case_id, "c": candidates["Open-Xchange AG"]}, user=architect)
    assert body["data"]["procurementCaseAward"]["errors"][0]["code"] == "permission_denied"
    _, body = gql(award, {"id": case_id, "c": candidates["Open-Xchange AG"]}, user=buyer)
    assert body["data"]["procurementCaseAward"]["procurementCase"]["state"] == "AWARDED"
    case.refresh_from_db()
    assert [entry["eligible"] for entry in case.ranking] == [True, False]


def test_sovereignty_risk_query(gql, architect):
    us = VendorFactory(name="Microsoft Corporation", country="US")
    de = VendorFactory(name="Dataport", country="DE")
    ApplicationFactory(vendor=VendorFactory(country="DE", parent=us), confidentiality="very_high")
    ApplicationFactory(vendor=de)
    query = """{ sovereigntyRisk { applicationCount hhiVendor effectiveNumberOfVendors
        vendorShares { name share jurisdiction } jurisdictionShares { jurisdiction share }
        alerts { code severity } } }"""
    _, body = gql(query, user=architect)
    risk = body["data"]["sovereigntyRisk"]
    # Weights: very high 3 (Microsoft group), normal 1 (Dataport): shares 0.75 and 0.25.
    assert risk["applicationCount"] == 2
    assert {s["name"]: s["share"] for s in risk["vendorShares"]} == {
        "Microsoft Corporation": 0.75, "Dataport": 0.25,
    }  # fmt: skip
    assert risk["hhiVendor"] == pytest.approx(75**2 + 25**2)
    assert risk["effectiveNumberOfVendors"] == pytest.approx(10000 / 6250)
    assert {s["jurisdiction"]: s["share"] for s in risk["jurisdictionShares"]} == {
        "US": 0.75, "DE": 0.25,
    }  # fmt: skip
    assert "very_high_knockout" in {a["code"] for a in risk["alerts"]}

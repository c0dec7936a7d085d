"""Impact, time travel, lifecycle and governance through /graphql/."""

import datetime

import pytest
from django.utils import timezone
from graphql_relay import to_global_id

from cmdb.factories import ApplicationFactory, InterfaceFactory, ServiceFactory, VendorFactory
from cmdb.models import Application

pytestmark = pytest.mark.django_db


def gid(obj):
    return to_global_id(f"{type(obj).__name__}Type", obj.pk)


def test_impact_analysis_of_a_vendor(gql, architect):
    us = VendorFactory(name="Esri Inc.", country="US")
    gis = ApplicationFactory(name="ArcGIS", vendor=VendorFactory(country="DE", parent=us))
    portal = ApplicationFactory(name="Geoportal")
    permits = ApplicationFactory(name="Bauantrag online")
    ApplicationFactory(name="Unrelated")
    InterfaceFactory(provider=gis, consumers=[portal])
    InterfaceFactory(provider=portal, consumers=[permits])
    ServiceFactory(name="Geodaten", applications=[portal])
    query = """query($v: ID!, $depth: Int) { impactAnalysis(vendor: $v, depth: $depth) {
        starts { application { name } reason }
        applications { application { name } depth path { name } }
        services { name } } }"""
    _, body = gql(query, {"v": gid(us), "depth": None}, user=architect)
    impact = body["data"]["impactAnalysis"]
    assert impact["starts"] == [{"application": {"name": "ArcGIS"}, "reason": "supplied by"}]
    assert [(a["application"]["name"], a["depth"]) for a in impact["applications"]] == [
        ("ArcGIS", 0), ("Geoportal", 1), ("Bauantrag online", 2),
    ]  # fmt: skip
    assert [p["name"] for p in impact["applications"][2]["path"]] == [
        "ArcGIS", "Geoportal", "Bauantrag online",
    ]  # fmt: skip
    assert impact["services"] == [{"name": "Geodaten"}]
    _, body = gql(query, {"v": gid(us), "depth": 1}, user=architect)
    assert len(body["data"]["impactAnalysis"]["applications"]) == 2


def test_landscape_as_of_and_diff(gql, architect):
    kept = ApplicationFactory(name="OK.EWO")
    doomed = ApplicationFactory(name="Altverfahren")
    before = timezone.now()
    kept.name = "OK.EWO 2"
    kept.save()
    doomed.delete()
    query = """query($at: DateTime!) { landscapeAsOf(at: $at) { source applications { name } } }"""
    _, body = gql(query, {"at": before.isoformat()}, user=architect)
    snapshot = body["data"]["landscapeAsOf"]
    assert snapshot["source"] == "history"
    assert sorted(a["name"] for a in snapshot["applications"]) == ["Altverfahren", "OK.EWO"]
    diff = """query($from: DateTime!, $to: DateTime!) { landscapeDiff(from: $from, to: $to) {
        disappearedApplications { name } changed { name changedFields } } }"""
    _, body = gql(diff, {"from": before.isoformat(), "to": timezone.now().isoformat()},
                  user=architect)  # fmt: skip
    result = body["data"]["landscapeDiff"]
    assert result["disappearedApplications"] == [{"name": "Altverfahren"}]
    assert result["changed"] == [{"name": "OK.EWO 2", "changedFields": ["name"]}]


def test_as_of_on_the_application_list_leaves_out_retired_ones(gql, architect):
    today = datetime.date.today()
    ApplicationFactory(name="Bleibt", active_date=today - datetime.timedelta(days=10))
    ApplicationFactory(
        name="Geht", active_date=today - datetime.timedelta(days=10),
        end_of_life_date=today + datetime.timedelta(days=30),
    )  # fmt: skip
    query = """query($d: Date) { applications(asOf: $d, orderBy: "name") {
        edges { node { name } } } }"""
    later = (today + datetime.timedelta(days=60)).isoformat()
    _, body = gql(query, {"d": later}, user=architect)
    assert [e["node"]["name"] for e in body["data"]["applications"]["edges"]] == ["Bleibt"]
    assert Application.objects.count() == 2


def test_governance_findings_query(gql, architect):
    ApplicationFactory(name="Ohne Team", owner_team=None)
    query = """{ governanceRules { code }
        governanceFindings(rule: ["missing_owner"]) { rule severity subjectName hint } }"""
    _, body = gql(query, user=architect)
    codes = {r["code"] for r in body["data"]["governanceRules"]}
    assert {"retired_technology_in_use", "expired_exception", "capability_overlap"} <= codes
    findings = body["data"]["governanceFindings"]
    assert [f["subjectName"] for f in findings] == ["Ohne Team"]
    assert findings[0]["severity"] == "low" and findings[0]["hint"]
    _, body = gql('{ governanceFindings(severity: "extreme") { rule } }', user=architect)
    assert "errors" in body

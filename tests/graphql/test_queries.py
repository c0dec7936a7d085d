"""List queries: query counts that do not grow with rows, filters, ordering, the graph."""

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from cmdb.factories import (
    ApplicationFactory,
    InterfaceFactory,
    OrgUnitFactory,
    VendorFactory,
)

pytestmark = pytest.mark.django_db

APPLICATIONS_WITH_INTERFACES = """
query($first: Int) {
  applications(first: $first, orderBy: "name") {
    totalCount
    edges { node {
      name
      vendor { name jurisdiction isEu }
      ownerOrgUnit { name code }
      providedInterfaces { name protocol consumers { name vendor { name } } }
      consumedInterfaces { name provider { name ownerOrgUnit { name } } }
    } }
  }
}"""


def gid(obj):
    return to_global_id(f"{type(obj).__name__}Type", obj.pk)


def build_landscape(n: int):
    unit = OrgUnitFactory()
    us = VendorFactory(name="Globex Corp", country="US")
    vendors = [VendorFactory(country="DE"), VendorFactory(country="DE", parent=us)]
    apps = [ApplicationFactory(owner_org_unit=unit, vendor=vendors[i % 2]) for i in range(n)]
    for i, app in enumerate(apps):
        InterfaceFactory(provider=app, consumers=[apps[(i + 1) % n], apps[(i + 7) % n]])
    return apps


def count_queries(client, first):
    payload = json.dumps({"query": APPLICATIONS_WITH_INTERFACES, "variables": {"first": first}})
    with CaptureQueriesContext(connection) as ctx:
        response = client.post("/graphql/", payload, content_type="application/json")
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body
    return len(ctx.captured_queries), body["data"]["applications"]


def test_query_count_does_not_grow_with_rows(client, architect):
    build_landscape(120)
    client.force_login(architect)
    small, data_small = count_queries(client, 10)
    large, data_large = count_queries(client, 100)
    assert len(data_small["edges"]) == 10
    assert len(data_large["edges"]) == 100
    node = data_large["edges"][0]["node"]
    assert len(node["providedInterfaces"][0]["consumers"]) == 2
    assert len(node["consumedInterfaces"]) == 2
    assert node["vendor"]["jurisdiction"] in {"DE", "US"}
    assert small == large, f"10 rows: {small} queries, 100 rows: {large} queries"
    # Session, user, roles, count, rows and the prefetches: a fixed, small number.
    assert large <= 14


def test_filters_and_ordering(gql, architect):
    city = OrgUnitFactory(name="City", code="LHS", kind="administration")
    dept = OrgUnitFactory(name="Dezernat II", code="D2", kind="department", parent=city)
    office = OrgUnitFactory(name="Bürgeramt", code="33", kind="office", parent=dept)
    other = OrgUnitFactory(name="Kämmerei", code="20", kind="office", parent=city)
    us = VendorFactory(name="Microsoft Corporation", country="US")
    ms_de = VendorFactory(name="Microsoft Deutschland GmbH", country="DE", parent=us)
    dataport = VendorFactory(name="Dataport", country="DE")
    today = datetime.date.today()
    ewo = ApplicationFactory(
        name="Einwohnermeldewesen", owner_org_unit=office, vendor=dataport,
        criticality="mission_critical", active_date=today - datetime.timedelta(days=900),
    )  # fmt: skip
    m365 = ApplicationFactory(
        name="Microsoft 365", owner_org_unit=other, vendor=ms_de, criticality="business_critical",
        active_date=today - datetime.timedelta(days=400),
        phase_out_date=today - datetime.timedelta(days=10),
    )  # fmt: skip
    InterfaceFactory(name="Mail relay", provider=m365, consumers=[ewo], protocol="email")
    InterfaceFactory(name="XMeld out", provider=ewo, consumers=[m365], protocol="xoev_osci")

    def names(args, field="applications"):
        query = f"query {{ {field}({args}) {{ edges {{ node {{ name }} }} }} }}"
        status, body = gql(query, user=architect)
        assert "errors" not in body, body
        return [e["node"]["name"] for e in body["data"][field]["edges"]]

    assert names(f'orgUnit: ["{gid(dept)}"]') == ["Einwohnermeldewesen"]
    assert names(f'orgUnit: ["{gid(city)}"], orderBy: "-name"') == [
        "Microsoft 365", "Einwohnermeldewesen",
    ]  # fmt: skip
    assert names('criticality: ["mission_critical"]') == ["Einwohnermeldewesen"]
    assert names('lifecyclePhase: ["phase_out"]') == ["Microsoft 365"]
    past = (today - datetime.timedelta(days=100)).isoformat()
    assert names(f'lifecyclePhase: ["active"], lifecycleDate: "{past}", orderBy: "name"') == [
        "Einwohnermeldewesen", "Microsoft 365",
    ]  # fmt: skip
    assert names('vendorJurisdiction: "non_eu"') == ["Microsoft 365"]
    assert names('vendorJurisdiction: "eu"') == ["Einwohnermeldewesen"]
    assert names('search: "einwohner"') == ["Einwohnermeldewesen"]
    assert names(f'vendor: ["{gid(dataport)}"]') == ["Einwohnermeldewesen"]
    assert names('protocol: ["xoev_osci"]', field="interfaces") == ["XMeld out"]
    assert names('jurisdiction: "non_eu", orderBy: "name"', field="vendors") == [
        "Microsoft Corporation", "Microsoft Deutschland GmbH",
    ]  # fmt: skip


def test_pagination(gql, architect):
    for i in range(5):
        ApplicationFactory(name=f"App {i}")
    query = """query($after: String) { applications(first: 2, after: $after, orderBy: "name") {
        totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } }"""
    _, body = gql(query, user=architect)
    page = body["data"]["applications"]
    assert page["totalCount"] == 5 and page["pageInfo"]["hasNextPage"]
    _, body = gql(query, {"after": page["pageInfo"]["endCursor"]}, user=architect)
    assert [e["node"]["name"] for e in body["data"]["applications"]["edges"]] == ["App 2", "App 3"]


def test_dependents_through_graphql(gql, architect):
    idp = ApplicationFactory(name="Keycloak")
    portal = ApplicationFactory(name="Serviceportal")
    payment = ApplicationFactory(name="ePayBL")
    InterfaceFactory(provider=idp, consumers=[portal])
    InterfaceFactory(provider=portal, consumers=[payment])
    InterfaceFactory(provider=payment, consumers=[idp], end_of_life=datetime.date(2020, 1, 1))
    query = """query($id: ID!, $depth: Int, $asOf: Date) { application(id: $id) {
        name dependents(depth: $depth, asOf: $asOf) { depth application { name } path { name } }
        dependencies(depth: $depth) { depth application { name } } } }"""
    _, body = gql(query, {"id": gid(idp), "depth": None}, user=architect)
    app = body["data"]["application"]
    assert [(d["application"]["name"], d["depth"]) for d in app["dependents"]] == [
        ("Serviceportal", 1), ("ePayBL", 2),
    ]  # fmt: skip
    assert [p["name"] for p in app["dependents"][1]["path"]] == ["Serviceportal", "ePayBL"]
    assert [(d["application"]["name"], d["depth"]) for d in app["dependencies"]] == [
        ("ePayBL", 1), ("Serviceportal", 2),
    ]  # fmt: skip
    _, body = gql(query, {"id": gid(payment), "depth": None, "asOf": "2026-01-01"}, user=architect)
    assert body["data"]["application"]["dependents"] == []
    _, body = gql(query, {"id": gid(idp), "depth": 1}, user=architect)
    assert len(body["data"]["application"]["dependents"]) == 1

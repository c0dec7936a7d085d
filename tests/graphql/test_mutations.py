"""Mutations return field errors with codes for bad input, never a 500, and record history."""

import pytest
from django.test import Client
from graphql_relay import to_global_id

from cmdb.factories import ApplicationFactory, InterfaceFactory, OrgUnitFactory, VendorFactory
from cmdb.models import Application, Interface

pytestmark = pytest.mark.django_db

CREATE = """
mutation($input: ApplicationCreateInput!) {
  applicationCreate(input: $input) {
    application { id name acronym criticality timeClass vendor { name } }
    errors { field message code }
  }
}"""
UPDATE = """
mutation($id: ID!, $input: ApplicationUpdateInput!) {
  applicationUpdate(id: $id, input: $input) {
    application { name criticality activeDate phaseOutDate }
    errors { field message code }
  }
}"""
INTERFACE_CREATE = """
mutation($input: InterfaceCreateInput!) {
  interfaceCreate(input: $input) {
    interface { name provider { name } consumers { name } }
    errors { field message code }
  }
}"""


def gid(obj):
    return to_global_id(f"{type(obj).__name__}Type", obj.pk)


def codes(result):
    return {(e["field"], e["code"]) for e in result["errors"]}


def test_create_application_records_history_with_user(gql, architect):
    unit, vendor = OrgUnitFactory(), VendorFactory(name="Dataport AöR", country="DE")
    variables = {
        "input": {
            "name": "OK.EWO",
            "acronym": "EWO",
            "kind": "specialist_procedure",
            "ownerOrgUnit": gid(unit),
            "vendor": gid(vendor),
            "criticality": "mission_critical",
            "functionalFit": 4,
            "technicalFit": 2,
        }
    }
    status, body = gql(CREATE, variables, user=architect)
    result = body["data"]["applicationCreate"]
    assert status == 200 and result["errors"] == []
    assert result["application"]["timeClass"] == "MIGRATE"
    assert result["application"]["vendor"]["name"] == "Dataport AöR"
    app = Application.objects.get(acronym="EWO")
    record = app.history.get()
    assert record.history_type == "+"
    assert record.history_user == architect


def test_missing_and_invalid_fields_are_reported_per_field(gql, architect):
    variables = {
        "input": {
            "kind": "nonsense",
            "criticality": "very_important",
            "functionalFit": 7,
            "ownerOrgUnit": "not-an-id",
        }
    }
    status, body = gql(CREATE, variables, user=architect)
    assert status == 200
    result = body["data"]["applicationCreate"]
    assert result["application"] is None
    assert codes(result) >= {("ownerOrgUnit", "invalid_id")}
    assert Application.objects.count() == 0

    variables["input"]["ownerOrgUnit"] = gid(OrgUnitFactory())
    status, body = gql(CREATE, variables, user=architect)
    result = body["data"]["applicationCreate"]
    assert codes(result) >= {
        ("name", "blank"),
        ("kind", "invalid_choice"),
        ("criticality", "invalid_choice"),
        ("functionalFit", "max_value"),
    }
    assert all(e["message"] for e in result["errors"])
    assert Application.objects.count() == 0


def test_unknown_reference_is_not_found(gql, architect):
    variables = {
        "input": {
            "name": "X",
            "kind": "saas",
            "ownerOrgUnit": to_global_id("OrgUnitType", 999999),
        }
    }
    _, body = gql(CREATE, variables, user=architect)
    assert codes(body["data"]["applicationCreate"]) == {("ownerOrgUnit", "not_found")}


def test_wrong_type_in_graphql_is_a_client_error_not_a_500(gql, architect):
    status, body = gql(CREATE, {"input": {"functionalFit": "four"}}, user=architect)
    assert status == 400
    assert "functionalFit" in body["errors"][0]["message"]


def test_update_checks_lifecycle_order_and_records_user(gql, architect, admin_user):
    app = ApplicationFactory(name="Geoportal", criticality="administrative")
    _, body = gql(
        UPDATE,
        {"id": gid(app), "input": {"activeDate": "2024-01-01", "phaseOutDate": "2023-01-01"}},
        user=architect,
    )
    result = body["data"]["applicationUpdate"]
    assert result["application"] is None
    assert ("phaseOutDate", "date_order") in codes(result)

    _, body = gql(
        UPDATE,
        {"id": gid(app), "input": {"criticality": "business_critical"}},
        user=admin_user,
    )
    assert body["data"]["applicationUpdate"]["errors"] == []
    app.refresh_from_db()
    assert app.criticality == "business_critical"
    latest = app.history.first()
    assert latest.history_user == admin_user
    assert latest.history_change_reason == "updated criticality"
    assert latest.prev_record.criticality == "administrative"


def test_update_of_a_missing_application(gql, architect):
    _, body = gql(
        UPDATE,
        {"id": to_global_id("ApplicationType", 424242), "input": {"name": "x"}},
        user=architect,
    )
    assert codes(body["data"]["applicationUpdate"]) == {("id", "not_found")}


def test_interface_create_and_own_interface_refused(gql, architect):
    idp, portal, dms = (ApplicationFactory(name=n) for n in ("Keycloak", "Serviceportal", "DMS"))
    variables = {
        "input": {
            "name": "OIDC login",
            "provider": gid(idp),
            "consumers": [gid(portal), gid(dms)],
            "protocol": "rest",
        }
    }
    _, body = gql(INTERFACE_CREATE, variables, user=architect)
    result = body["data"]["interfaceCreate"]
    assert result["errors"] == []
    assert {c["name"] for c in result["interface"]["consumers"]} == {"Serviceportal", "DMS"}
    interface = Interface.objects.get(name="OIDC login")
    assert interface.history.get().history_user == architect
    assert interface.links.get(consumer=portal).history.get().history_user == architect

    variables["input"].update(name="Self", consumers=[gid(idp)])
    _, body = gql(INTERFACE_CREATE, variables, user=architect)
    assert codes(body["data"]["interfaceCreate"]) == {("consumers", "own_interface")}

    variables["input"].update(name="Nobody", consumers=[])
    _, body = gql(INTERFACE_CREATE, variables, user=architect)
    assert codes(body["data"]["interfaceCreate"]) == {("consumers", "required")}
    variables["input"].update(name="", protocol="carrier pigeon", consumers=[gid(dms)])
    _, body = gql(INTERFACE_CREATE, variables, user=architect)
    assert codes(body["data"]["interfaceCreate"]) == {
        ("name", "blank"),
        ("protocol", "invalid_choice"),
    }
    assert Interface.objects.count() == 1


def test_session_mutation_requires_csrf_but_token_does_not(architect):
    from landkarte.models import APIToken

    client = Client(enforce_csrf_checks=True)
    client.force_login(architect)
    payload = '{"query": "{ me { roles } }"}'
    response = client.post("/graphql/", payload, content_type="application/json")
    assert response.status_code == 403

    _, raw = APIToken.issue(architect)
    anonymous = Client(enforce_csrf_checks=True)
    response = anonymous.post(
        "/graphql/", payload, content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["data"]["me"]["roles"] == ["architect"]


def test_interface_factory_is_usable():
    interface = InterfaceFactory()
    assert interface.links.count() >= 1

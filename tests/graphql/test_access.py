"""Who may see and change what through /graphql/."""

import pytest
from django.core.management import call_command

from cmdb.factories import ApplicationFactory, OrgUnitFactory
from cmdb.models import Application
from landkarte.models import APIToken, hash_token

pytestmark = pytest.mark.django_db

LIST = "{ applications { totalCount edges { node { name } } } }"
CREATE = """
mutation($input: ApplicationCreateInput!) {
  applicationCreate(input: $input) { application { id name } errors { field message code } }
}"""


def test_anonymous_gets_no_data(gql):
    ApplicationFactory()
    status, body = gql(LIST)
    assert status == 401
    assert "data" not in body or body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "unauthenticated"


def test_anonymous_browser_is_sent_to_login(client):
    response = client.get("/graphql/", HTTP_ACCEPT="text/html")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_graphiql_for_signed_in_user(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/graphql/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"graphiql" in response.content.lower()


def test_user_without_role_sees_nothing(gql, make_user):
    ApplicationFactory()
    nobody = make_user("nobody")
    status, body = gql(LIST, user=nobody)
    assert status == 200
    assert body["data"]["applications"]["totalCount"] == 0


@pytest.mark.parametrize(
    "role", ["service_desk", "change_manager", "architect", "procurement", "requester", "auditor"]
)
def test_every_role_reads_the_cmdb(gql, make_user, role):
    ApplicationFactory(name="Einwohnermeldewesen")
    status, body = gql(LIST, user=make_user(f"u-{role}", role))
    assert status == 200
    assert body["data"]["applications"]["edges"][0]["node"]["name"] == "Einwohnermeldewesen"


@pytest.mark.parametrize("role", ["requester", "auditor", "service_desk", "procurement"])
def test_only_admin_and_architect_change_the_cmdb(gql, make_user, role):
    unit = OrgUnitFactory()
    variables = {
        "input": {
            "name": "Bauantrag online",
            "kind": "specialist_procedure",
            "ownerOrgUnit": to_global_id("OrgUnitType", unit.pk),
        }
    }
    status, body = gql(CREATE, variables, user=make_user(f"u-{role}", role))
    assert status == 200
    result = body["data"]["applicationCreate"]
    assert result["application"] is None
    assert result["errors"][0]["code"] == "permission_denied"
    assert not Application.objects.filter(name="Bauantrag online").exists()


@pytest.mark.parametrize("who", ["admin_user", "architect"])
def test_admin_and_architect_may_create(gql, request, who):
    unit = OrgUnitFactory()
    variables = {
        "input": {
            "name": "Bauantrag online",
            "kind": "specialist_procedure",
            "ownerOrgUnit": to_global_id("OrgUnitType", unit.pk),
        }
    }
    status, body = gql(CREATE, variables, user=request.getfixturevalue(who))
    assert body["data"]["applicationCreate"]["errors"] == []
    assert body["data"]["applicationCreate"]["application"]["name"] == "Bauantrag online"


def test_bearer_token(gql, architect, capsys):
    ApplicationFactory(name="Geoportal")
    call_command("create_api_token", "architect")
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("lk_")
    token = APIToken.objects.get(user=architect)
    assert token.key_hash == hash_token(raw)
    assert raw not in token.key_hash  # only the hash is stored

    status, body = gql(LIST, token=raw)
    assert status == 200
    assert body["data"]["applications"]["totalCount"] == 1
    token.refresh_from_db()
    assert token.last_used is not None

    status, body = gql(LIST, token=raw[:-2] + "xx")
    assert status == 401

    token.revoked = True
    token.save()
    status, _ = gql(LIST, token=raw)
    assert status == 401


def test_me(gql, architect):
    status, body = gql("{ me { user { username } roles isAdmin } }", user=architect)
    assert body["data"]["me"] == {
        "user": {"username": "architect"},
        "roles": ["architect"],
        "isAdmin": False,
    }


def to_global_id(type_name, pk):
    from graphql_relay import to_global_id as encode

    return encode(type_name, pk)

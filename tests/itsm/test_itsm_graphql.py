"""ITSM through /graphql/: the agent's queue, transitions with typed errors."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from cmdb.factories import ApplicationFactory, OrgUnitFactory, ServiceFactory
from itsm.models import Incident
from itsm.services import incidents as svc

pytestmark = pytest.mark.django_db

QUEUE = """query($first: Int) {
  incidents(first: $first, myTeams: true, open: true, orderBy: "resolution_due") {
    totalCount
    edges { node {
      number title priority state resolutionDue
      caller { username } callerOrgUnit { name }
      assignedTeam { name } assignee { username }
      service { name } applications { name vendor { name } }
    } }
  }
}"""


def gid(obj):
    return to_global_id(f"{type(obj).__name__}Type", obj.pk)


def make_incidents(n, desk, team, agent):
    unit = OrgUnitFactory()
    service = ServiceFactory()
    apps = [ApplicationFactory() for _ in range(3)]
    for i in range(n):
        incident = svc.open_incident(
            user=desk, title=f"Incident {i}", impact="medium", urgency=["high", "low"][i % 2],
            caller_org_unit=unit, service=service, applications=apps[: 1 + i % 3],
        )  # fmt: skip
        svc.assign_incident(incident, user=desk, team=team, assignee=agent)


def run_queue(client, first):
    payload = json.dumps({"query": QUEUE, "variables": {"first": first}})
    with CaptureQueriesContext(connection) as ctx:
        response = client.post("/graphql/", payload, content_type="application/json")
    body = response.json()
    assert "errors" not in body, body
    return len(ctx.captured_queries), body["data"]["incidents"]


def test_queue_query_count_is_constant(client, calendar, desk, agent, team):
    make_incidents(50, desk, team, agent)
    client.force_login(agent)
    small, five = run_queue(client, 5)
    large, fifty = run_queue(client, 50)
    assert len(five["edges"]) == 5 and len(fifty["edges"]) == 50
    assert fifty["totalCount"] == 50
    dues = [e["node"]["resolutionDue"] for e in fifty["edges"]]
    assert dues == sorted(dues)
    assert small == large, (small, large)
    assert large <= 14


TRANSITION = """mutation($id: ID!, $version: Int) {
  incidentClose(id: $id, expectedVersion: $version) {
    incident { state } errors { field message code }
  }
}"""
RESOLVE = """mutation($id: ID!) {
  incidentResolve(id: $id, resolutionCode: "", resolutionNotes: "") {
    incident { state } errors { field code }
  }
}"""


def test_illegal_transition_through_graphql(gql, calendar, desk):
    incident = svc.open_incident(user=desk, title="x", impact="low", urgency="low")
    status, body = gql(TRANSITION, {"id": gid(incident)}, user=desk)
    assert status == 200
    result = body["data"]["incidentClose"]
    assert result["incident"] is None
    assert result["errors"][0]["code"] == "invalid_transition"
    assert "cannot go from new to closed" in result["errors"][0]["message"]
    assert Incident.objects.get(pk=incident.pk).history.count() == 1


def test_create_assign_resolve_through_graphql(gql, calendar, desk, agent, team):
    app = ApplicationFactory(name="OK.EWO")
    create = """mutation($input: IncidentCreateInput!) { incidentCreate(input: $input) {
        incident { id number priority state applications { name } } errors { field code } } }"""
    _, body = gql(create, {"input": {"title": "EWO slow", "impact": "high", "urgency": "high",
                                     "applications": [gid(app)]}}, user=desk)  # fmt: skip
    created = body["data"]["incidentCreate"]
    assert created["errors"] == [] and created["incident"]["priority"] == "P1"
    incident_id = created["incident"]["id"]
    assign = """mutation($id: ID!, $team: ID!, $agent: ID!) {
        incidentAssign(id: $id, team: $team, assignee: $agent) {
        incident { state assignee { username } version } errors { code } } }"""
    _, body = gql(assign, {"id": incident_id, "team": gid(team),
                           "agent": to_global_id("UserType", agent.pk)}, user=desk)  # fmt: skip
    assert body["data"]["incidentAssign"]["incident"]["state"] == "ASSIGNED"
    _, body = gql(RESOLVE, {"id": incident_id}, user=agent)
    errors = body["data"]["incidentResolve"]["errors"]
    assert {(e["field"], e["code"]) for e in errors} == {
        ("resolutionCode", "required"), ("resolutionNotes", "required"),
    }  # fmt: skip
    _, body = gql(TRANSITION, {"id": incident_id, "version": 1}, user=desk)
    assert body["data"]["incidentClose"]["errors"][0]["code"] in {"conflict", "invalid_transition"}


def test_work_notes_are_hidden_from_requesters(gql, calendar, make_user, desk):
    requester = make_user("req", "requester")
    incident = svc.open_incident(user=requester, title="Printer", impact="low", urgency="low")
    svc.add_comment(incident, user=desk, text="We are on it")
    svc.add_comment(incident, user=desk, text="Driver bug again", public=False)
    query = "query($id: ID!) { incident(id: $id) { timeline { kind text } } }"
    _, body = gql(query, {"id": gid(incident)}, user=requester)
    texts = [e["text"] for e in body["data"]["incident"]["timeline"]]
    assert "We are on it" in texts and "Driver bug again" not in texts
    _, body = gql(query, {"id": gid(incident)}, user=desk)
    assert "Driver bug again" in [e["text"] for e in body["data"]["incident"]["timeline"]]


def test_problem_to_known_error_and_search(gql, calendar, desk):
    app = ApplicationFactory(name="d.velop documents")
    create = """mutation($input: ProblemCreateInput!) { problemCreate(input: $input) {
        problem { id number state } errors { code } } }"""
    _, body = gql(create, {"input": {"title": "Checkout hangs", "applications": [gid(app)]}},
                  user=desk)  # fmt: skip
    problem_id = body["data"]["problemCreate"]["problem"]["id"]
    step = """mutation($id: ID!, $w: String) { problemMarkKnownError(id: $id, workaround: $w) {
        problem { state isKnownError } errors { field code } } }"""
    _, body = gql(step, {"id": problem_id, "w": "Restart the client"}, user=desk)
    assert body["data"]["problemMarkKnownError"]["errors"][0]["code"] == "invalid_transition"
    _, body = gql("""mutation($id: ID!) { problemInvestigate(id: $id) { errors { code } } }""",
                  {"id": problem_id}, user=desk)  # fmt: skip
    assert body["data"]["problemInvestigate"]["errors"] == []
    _, body = gql(step, {"id": problem_id, "w": ""}, user=desk)
    assert body["data"]["problemMarkKnownError"]["errors"] == [
        {"field": "workaround", "code": "required"}
    ]
    _, body = gql(step, {"id": problem_id, "w": "Restart the client"}, user=desk)
    assert body["data"]["problemMarkKnownError"]["problem"] == {
        "state": "KNOWN_ERROR", "isKnownError": True,
    }  # fmt: skip
    search = """query($apps: [ID!]) { knownErrors(text: "restart", applications: $apps) {
        title workaround } }"""
    _, body = gql(search, {"apps": [gid(app)]}, user=desk)
    assert body["data"]["knownErrors"] == [
        {"title": "Checkout hangs", "workaround": "Restart the client"}
    ]


def test_requesters_see_only_their_own_incidents(gql, calendar, make_user, desk):
    requester = make_user("req", "requester")
    svc.open_incident(user=requester, title="My printer", impact="low", urgency="low")
    svc.open_incident(user=desk, title="Somebody else's", impact="low", urgency="low")
    query = "{ incidents { totalCount edges { node { title } } } }"
    _, body = gql(query, user=requester)
    assert [e["node"]["title"] for e in body["data"]["incidents"]["edges"]] == ["My printer"]
    _, body = gql(query, user=desk)
    assert body["data"]["incidents"]["totalCount"] == 2

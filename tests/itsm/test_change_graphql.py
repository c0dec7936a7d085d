"""Change management through /graphql/: the CAB flow, refusals with codes, conflicts, KPIs."""

import datetime

import pytest
from graphql_relay import to_global_id

from cmdb.factories import ApplicationFactory, InterfaceFactory
from itsm.models import Change, FreezeWindow
from tests.itsm.conftest import BERLIN

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 7, 6, 18, 0, tzinfo=BERLIN)

CREATE = """mutation($input: ChangeCreateInput!) { changeCreate(input: $input) {
  change { id number state version } errors { field code message } } }"""


def gid(obj):
    return to_global_id(f"{type(obj).__name__}Type", obj.pk)


def step(gql, user, name, args, fields="state version"):
    arguments = ", ".join(f"{k}: {v}" for k, v in args.items())
    query = f"mutation {{ {name}({arguments}) {{ change {{ {fields} }} "
    query += "errors { field code message } } }"
    status, body = gql(query, user=user)
    assert status == 200, body
    return body["data"][name]


@pytest.fixture
def change_manager(make_user):
    return make_user("cm", "change_manager")


def create_normal_change(gql, user, app, start=START):
    _, body = gql(CREATE, {"input": {
        "title": "Upgrade PostgreSQL", "changeType": "normal", "reason": "end of life",
        "implementationPlan": "pg_upgrade", "backoutPlan": "restore snapshot",
        "applications": [gid(app)], "plannedStart": start.isoformat(),
        "plannedEnd": (start + datetime.timedelta(hours=2)).isoformat(),
    }}, user=user)  # fmt: skip
    result = body["data"]["changeCreate"]
    assert result["errors"] == []
    return result["change"]["id"]


def test_normal_change_through_the_cab(gql, desk, change_manager):
    app = ApplicationFactory(criticality="administrative")
    change_id = create_normal_change(gql, desk, app)
    quoted = f'"{change_id}"'
    # Scheduling before authorization is refused with a code, and nothing changes.
    refused = step(gql, desk, "changeSchedule", {"id": quoted})
    assert refused["change"] is None and refused["errors"][0]["code"] == "invalid_transition"
    assert step(gql, desk, "changeSubmit", {"id": quoted})["change"]["state"] == "ASSESSMENT"
    assert step(gql, desk, "changeAssess", {"id": quoted})["change"]["state"] == "ASSESSMENT"
    result = step(gql, desk, "changeRequestAuthorization", {"id": quoted},
                  fields="state risk requiredApprovals { label satisfied }")  # fmt: skip
    assert result["change"]["state"] == "AUTHORIZATION"
    assert result["change"]["requiredApprovals"] == [
        {"label": result["change"]["requiredApprovals"][0]["label"], "satisfied": False}
    ]
    missing = step(gql, desk, "changeSchedule", {"id": quoted})
    assert missing["errors"][0]["code"] == "approval_missing"
    approved = step(gql, change_manager, "changeApprove",
                    {"id": quoted, "role": '"change_manager"', "comment": '"ok"'},
                    fields="requiredApprovals { satisfied } approvals { decision }")  # fmt: skip
    assert approved["errors"] == []
    assert approved["change"]["requiredApprovals"] == [{"satisfied": True}]
    assert step(gql, desk, "changeSchedule", {"id": quoted})["change"]["state"] == "SCHEDULED"
    assert step(gql, desk, "changeStart", {"id": quoted})["change"]["state"] == "IMPLEMENTING"
    done = step(gql, desk, "changeComplete", {"id": quoted, "outcome": '"successful"'})
    assert done["change"]["state"] == "REVIEW"
    closed = step(gql, change_manager, "changeClose",
                  {"id": quoted, "reviewNotes": '"went fine"'}, fields="state outcome")  # fmt: skip
    assert closed["change"] == {"state": "CLOSED", "outcome": "SUCCESSFUL"}
    change = Change.objects.get(number__startswith="CHG-")
    users = set(change.history.values_list("history_user__username", flat=True))
    assert users == {"desk", "cm"}


def test_freeze_window_refuses_a_normal_change(gql, desk, change_manager):
    app = ApplicationFactory()
    FreezeWindow.objects.create(
        name="Year end", start=START - datetime.timedelta(days=1),
        end=START + datetime.timedelta(days=1), applies_to_all=True,
    )  # fmt: skip
    change_id = create_normal_change(gql, desk, app)
    quoted = f'"{change_id}"'
    for name in ("changeSubmit", "changeAssess", "changeRequestAuthorization"):
        step(gql, desk, name, {"id": quoted})
    step(gql, change_manager, "changeApprove", {"id": quoted, "role": '"change_manager"'})
    refused = step(gql, desk, "changeSchedule", {"id": quoted})
    assert refused["errors"][0]["code"] == "freeze_window"
    assert Change.objects.get().state == "authorization"


def test_change_conflicts_query(gql, desk, architect):
    provider, consumer, unrelated = (ApplicationFactory() for _ in range(3))
    InterfaceFactory(provider=provider, consumers=[consumer])
    for app, hours in ((provider, 0), (consumer, 1), (unrelated, 0), (provider, 48)):
        Change.objects.create(
            number=f"CHG-2026-{Change.objects.count() + 1:06d}", title=f"on {app}",
            change_type="normal", state="scheduled", requested_by=desk,
            planned_start=START + datetime.timedelta(hours=hours),
            planned_end=START + datetime.timedelta(hours=hours + 2),
        ).applications.add(app)  # fmt: skip
    query = """query($from: DateTime!, $to: DateTime!) { changeConflicts(from: $from, to: $to) {
        kind change { title } otherChange { title } message } }"""
    _, body = gql(query, {"from": START.isoformat(),
                          "to": (START + datetime.timedelta(days=1)).isoformat()},
                  user=architect)  # fmt: skip
    conflicts = body["data"]["changeConflicts"]
    assert [c["kind"] for c in conflicts] == ["dependent_application"]
    titles = {conflicts[0]["change"]["title"], conflicts[0]["otherChange"]["title"]}
    assert titles == {f"on {provider}", f"on {consumer}"}


def test_kpis_query_and_service_levels(gql, calendar, architect):
    query = """query($from: DateTime!, $to: DateTime!) {
      kpis(from: $from, to: $to) { incidentsOpened mttrMinutes backlogSize changeSuccessRate }
      serviceLevels { name service { name } targets { priority responseMinutes } } }"""
    _, body = gql(query, {"from": "2026-01-01T00:00:00+01:00", "to": "2026-02-01T00:00:00+01:00"},
                  user=architect)  # fmt: skip
    assert body["data"]["kpis"] == {
        "incidentsOpened": 0, "mttrMinutes": None, "backlogSize": 0, "changeSuccessRate": None,
    }  # fmt: skip
    levels = body["data"]["serviceLevels"]
    assert levels[0]["service"] is None
    assert {t["priority"]: t["responseMinutes"] for t in levels[0]["targets"]}["P1"] == 15

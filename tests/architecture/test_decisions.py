import datetime

import graphene
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory
from graphql_relay import to_global_id

from architecture.choices import DecisionStatus, StandardStatus
from architecture.graphql import schema as architecture_schema
from architecture.models import ApplicationCapability, ArchitectureDecision, TechnologyStandard
from architecture.services import decisions
from cmdb.factories import ApplicationFactory, ITComponentFactory
from cmdb.graphql import schema as cmdb_schema

D = datetime.date
pytestmark = pytest.mark.django_db


@pytest.fixture
def arch(make_user):
    return make_user("arch", "architect")


def record(user, **extra):
    return decisions.record_decision(
        user=user, title="Use PostgreSQL", context="c", decision="d", consequences="q", **extra
    )


def assert_refused(call, field, code, adr):
    count = adr.history.count()
    before = ArchitectureDecision.objects.get(pk=adr.pk)
    with pytest.raises(ValidationError) as exc:
        call()
    assert exc.value.error_dict[field][0].code == code
    after = ArchitectureDecision.objects.get(pk=adr.pk)
    assert (after.status, after.decided_at, after.supersedes_id) == (
        before.status, before.decided_at, before.supersedes_id,
    )  # fmt: skip
    assert adr.history.count() == count


def test_record_numbers_and_history(arch):
    app = ApplicationFactory()
    first = record(arch, applications=[app])
    second = record(arch, status=DecisionStatus.ACCEPTED)
    assert (first.number, second.number) == ("ADR-0001", "ADR-0002")
    assert first.status == DecisionStatus.PROPOSED and first.decided_at is None
    assert list(first.applications.all()) == [app]
    assert second.decided_by == arch and second.decided_at is not None
    entry = first.history.get()
    assert entry.history_user == arch and entry.history_change_reason == "recorded (proposed)"


def test_record_refuses_other_initial_status(arch):
    with pytest.raises(ValidationError) as exc:
        record(arch, status=DecisionStatus.SUPERSEDED)
    assert exc.value.error_dict["status"][0].code == "invalid_status"
    assert not ArchitectureDecision.objects.exists()


def test_requester_cannot_record_or_decide(arch, make_user):
    requester = make_user("req", "requester")
    with pytest.raises(PermissionDenied):
        record(requester)
    adr = record(arch)
    with pytest.raises(PermissionDenied):
        decisions.accept_decision(adr, user=requester)
    adr.refresh_from_db()
    assert adr.status == DecisionStatus.PROPOSED and adr.history.count() == 1


def test_superuser_may_decide(make_user):
    admin = make_user("root", superuser=True)
    adr = decisions.accept_decision(record(admin), user=admin, decided_at=D(2026, 3, 1))
    assert adr.status == DecisionStatus.ACCEPTED and adr.decided_at == D(2026, 3, 1)


def test_lifecycle(arch):
    adr = record(arch)
    adr = decisions.accept_decision(adr, user=arch, reason="board 2026-03")
    assert adr.status == DecisionStatus.ACCEPTED and adr.decided_by == arch
    assert adr.history.first().history_change_reason == "board 2026-03"
    assert_refused(lambda: decisions.accept_decision(adr, user=arch), "status",
                   "invalid_transition", adr)  # fmt: skip
    assert_refused(lambda: decisions.reject_decision(adr, user=arch), "status",
                   "invalid_transition", adr)  # fmt: skip
    adr = decisions.deprecate_decision(adr, user=arch, reason="cloud first")
    assert adr.status == DecisionStatus.DEPRECATED
    assert_refused(lambda: decisions.accept_decision(adr, user=arch), "status",
                   "invalid_transition", adr)  # fmt: skip


def test_reject(arch):
    adr = decisions.reject_decision(record(arch), user=arch, reason="too expensive")
    assert adr.status == DecisionStatus.REJECTED
    assert_refused(lambda: decisions.accept_decision(adr, user=arch), "status",
                   "invalid_transition", adr)  # fmt: skip
    assert_refused(lambda: decisions.deprecate_decision(adr, user=arch), "status",
                   "invalid_transition", adr)  # fmt: skip


def test_supersede(arch):
    old = decisions.accept_decision(record(arch), user=arch)
    new = record(arch)
    old, new = decisions.supersede_decision(old, new, user=arch)
    assert old.status == DecisionStatus.SUPERSEDED
    assert new.supersedes == old
    assert list(old.superseded_by.all()) == [new]
    assert old.history.first().history_change_reason == f"superseded by {new.number}"


def test_supersede_refusals(arch):
    proposed = record(arch)
    other = record(arch)
    assert_refused(lambda: decisions.supersede_decision(proposed, other, user=arch), "status",
                   "invalid_transition", proposed)  # fmt: skip
    assert ArchitectureDecision.objects.get(pk=other.pk).supersedes is None
    accepted = decisions.accept_decision(record(arch), user=arch)
    assert_refused(lambda: decisions.supersede_decision(accepted, accepted, user=arch), "new",
                   "self_supersede", accepted)  # fmt: skip
    rejected = decisions.reject_decision(record(arch), user=arch)
    assert_refused(lambda: decisions.supersede_decision(accepted, rejected, user=arch), "new",
                   "invalid_status", accepted)  # fmt: skip


# --- GraphQL, through a local schema until the lead wires it into landkarte.schema ----------


class Query(architecture_schema.Query, cmdb_schema.Query):
    pass


class Mutation(architecture_schema.Mutation, cmdb_schema.Mutation):
    pass


SCHEMA = graphene.Schema(query=Query, mutation=Mutation)


def execute(query, variables=None, user=None):
    request = RequestFactory().post("/graphql/")
    request.user = user
    result = SCHEMA.execute(query, variables=variables or {}, context_value=request)
    assert result.errors is None, result.errors
    return result.data


RECORD = """
mutation ($input: ArchitectureDecisionRecordInput!) {
  architectureDecisionRecord(input: $input) {
    architectureDecision { id number status applications { name } }
    errors { field code }
  }
}"""
ACCEPT = """
mutation ($id: ID!) {
  architectureDecisionAccept(id: $id, reason: "board") {
    architectureDecision { status } errors { field code }
  }
}"""
SET_STANDARD = """
mutation ($component: ID, $decision: ID) {
  technologyStandardSet(component: $component, status: "retired", validFrom: "2024-01-01",
                        decision: $decision) {
    technologyStandard { id status validFrom } errors { field code }
  }
}"""
GRANT = """
mutation ($application: ID!, $standard: ID!, $decision: ID!, $expiresOn: Date!) {
  standardExceptionGrant(application: $application, standard: $standard, decision: $decision,
                         reason: "migration running", expiresOn: $expiresOn) {
    standardException { reason isExpired } errors { field code }
  }
}"""
RADAR = """
query ($on: Date) {
  techRadar(on: $on) { status component { name } category { code } }
  architectureDecisions(status: ["accepted"]) { totalCount edges { node { number } } }
  standardExceptions(expired: false) { totalCount }
  technologyStandards(onDate: "2023-06-01") { totalCount }
}"""
CAPABILITY = """
mutation ($parent: ID) {
  capabilityCreate(name: "Bürgerdienste", code: "C1", parent: $parent) {
    capability { id code level } errors { field code }
  }
}"""
SUPPORT = """
mutation ($application: ID!, $capability: ID!) {
  capabilitySupportSet(application: $application, capability: $capability,
                       supportLevel: "primary") {
    support { supportLevel } capability { support { supportLevel } }
    errors { field code }
  }
}"""


def test_graphql_flow(arch, make_user):
    app = ApplicationFactory(name="OK.EWO")
    component = ITComponentFactory(name="Oracle")
    app_id = to_global_id("ApplicationType", app.pk)

    requester = make_user("req", "requester")
    data = execute(RECORD, {"input": {"title": "x"}}, user=requester)
    assert data["architectureDecisionRecord"]["errors"] == [
        {"field": None, "code": "permission_denied"}
    ]

    data = execute(RECORD, {"input": {"title": "Retire Oracle", "applications": [app_id]}},
                   user=arch)["architectureDecisionRecord"]  # fmt: skip
    assert data["errors"] == []
    adr = data["architectureDecision"]
    assert adr["number"] == "ADR-0001" and adr["status"] == "PROPOSED"
    assert adr["applications"] == [{"name": "OK.EWO"}]

    standard = execute(
        SET_STANDARD, {"component": to_global_id("ITComponentType", component.pk)}, user=arch
    )["technologyStandardSet"]
    assert standard["errors"] == []
    assert standard["technologyStandard"]["status"] == "RETIRED"

    grant_vars = {
        "application": app_id, "standard": standard["technologyStandard"]["id"],
        "decision": adr["id"], "expiresOn": "2099-12-31",
    }  # fmt: skip
    refused = execute(GRANT, grant_vars, user=arch)["standardExceptionGrant"]
    assert refused["errors"] == [{"field": "decision", "code": "decision_not_accepted"}]

    accepted = execute(ACCEPT, {"id": adr["id"]}, user=arch)["architectureDecisionAccept"]
    assert accepted == {"architectureDecision": {"status": "ACCEPTED"}, "errors": []}
    again = execute(ACCEPT, {"id": adr["id"]}, user=arch)["architectureDecisionAccept"]
    assert again["errors"] == [{"field": "status", "code": "invalid_transition"}]

    granted = execute(GRANT, grant_vars, user=arch)["standardExceptionGrant"]
    assert granted == {
        "standardException": {"reason": "migration running", "isExpired": False}, "errors": [],
    }  # fmt: skip

    data = execute(RADAR, {"on": "2024-06-01"}, user=requester)
    assert data["techRadar"] == [{"status": "retired", "component": {"name": "Oracle"},
                                  "category": None}]  # fmt: skip
    assert data["architectureDecisions"]["totalCount"] == 1
    assert data["standardExceptions"]["totalCount"] == 1
    assert data["technologyStandards"]["totalCount"] == 0

    # users without a role see nothing
    nobody = make_user("nobody")
    data = execute(RADAR, {"on": "2024-06-01"}, user=nobody)
    assert data["techRadar"] == [] and data["architectureDecisions"]["totalCount"] == 0


def test_graphql_capabilities(arch):
    root = execute(CAPABILITY, user=arch)["capabilityCreate"]
    assert root["errors"] == [] and root["capability"]["level"] == 0
    duplicate = execute(CAPABILITY, user=arch)["capabilityCreate"]
    assert duplicate["errors"] == [{"field": "code", "code": "unique"}]
    app = ApplicationFactory()
    data = execute(SUPPORT, {"application": to_global_id("ApplicationType", app.pk),
                             "capability": root["capability"]["id"]}, user=arch)  # fmt: skip
    data = data["capabilitySupportSet"]
    assert data["errors"] == [] and data["support"] == {"supportLevel": "PRIMARY"}
    assert ApplicationCapability.objects.get().application == app
    assert TechnologyStandard.objects.count() == 0
    assert StandardStatus.PROHIBITED == "prohibited"

"""The backlog through /graphql/: ranking, lifecycle, and offices that cannot see each other."""

import pytest
from django.contrib.auth.models import Group
from graphql_relay import to_global_id

from cmdb.factories import OrgUnitFactory, TeamFactory
from itsm.services import requirements as svc

pytestmark = pytest.mark.django_db


def gid(obj):
    return to_global_id(f"{type(obj).__name__}Type", obj.pk)


@pytest.fixture
def offices(make_user, architect):
    city = OrgUnitFactory(code="LHS", kind="administration")
    citizens = OrgUnitFactory(name="Bürgeramt", parent=city)
    finance = OrgUnitFactory(name="Kämmerei", parent=city)
    alice = make_user("alice", "requester")
    bob = make_user("bob", "requester")
    TeamFactory(org_unit=citizens, members=[alice])
    TeamFactory(org_unit=finance, members=[bob])
    reqs = {}
    for user, unit, title, value in ((alice, citizens, "Online appointments", 13),
                                     (bob, finance, "E-invoicing", 20)):  # fmt: skip
        reqs[title] = svc.submit_requirement(
            user=user, title=title, kind="enhancement", requesting_org_unit=unit,
            business_value=value, time_criticality=5, risk_reduction=3, job_size=2,
        )  # fmt: skip
    return {"alice": alice, "bob": bob, "citizens": citizens, "finance": finance, **reqs}


LIST = '{ requirements(orderBy: "-wsjf") { totalCount edges { node { title wsjf } } } }'
NODE = "query($id: ID!) { node(id: $id) { ... on RequirementType { title } } }"
ONE = "query($id: ID!) { requirement(id: $id) { title } }"


def test_requesters_see_only_their_office(gql, offices, architect):
    _, body = gql(LIST, user=offices["alice"])
    assert [e["node"]["title"] for e in body["data"]["requirements"]["edges"]] == [
        "Online appointments"
    ]
    other = gid(offices["E-invoicing"])
    for query in (NODE, ONE):
        _, body = gql(query, {"id": other}, user=offices["alice"])
        assert list(body["data"].values()) == [None]
    withdraw = """mutation($id: ID!) { requirementWithdraw(id: $id, reason: "mine now") {
        requirement { state } errors { field code } } }"""
    _, body = gql(withdraw, {"id": other}, user=offices["alice"])
    assert body["data"]["requirementWithdraw"]["errors"] == [{"field": "id", "code": "not_found"}]
    _, body = gql(LIST, user=architect)
    ranked = body["data"]["requirements"]["edges"]
    assert [e["node"]["title"] for e in ranked] == ["E-invoicing", "Online appointments"]
    assert [e["node"]["wsjf"] for e in ranked] == [14.0, 10.5]


def test_submit_for_another_office_and_the_review_flow(gql, offices, architect):
    submit = """mutation($input: RequirementSubmitInput!) { requirementSubmit(input: $input) {
        requirement { id number state } errors { field code } } }"""
    base = {"title": "Fax replacement", "kind": "infrastructure", "businessValue": 3,
            "timeCriticality": 2, "riskReduction": 1, "jobSize": 5}  # fmt: skip
    _, body = gql(submit, {"input": {**base, "requestingOrgUnit": gid(offices["finance"])}},
                  user=offices["alice"])  # fmt: skip
    assert body["data"]["requirementSubmit"]["errors"] == [
        {"field": "requestingOrgUnit", "code": "not_your_org_unit"}
    ]
    _, body = gql(submit, {"input": {**base, "requestingOrgUnit": gid(offices["citizens"]),
                                     "jobSize": 4}}, user=offices["alice"])  # fmt: skip
    assert body["data"]["requirementSubmit"]["errors"] == [{"field": "jobSize",
                                                            "code": "not_on_scale"}]  # fmt: skip
    _, body = gql(submit, {"input": {**base, "requestingOrgUnit": gid(offices["citizens"])}},
                  user=offices["alice"])  # fmt: skip
    created = body["data"]["requirementSubmit"]["requirement"]
    assert created["state"] == "SUBMITTED"
    step = "mutation($id: ID!) { %s(id: $id%s) { requirement { state } errors { code } } }"
    _, body = gql(step % ("requirementApprove", ""), {"id": created["id"]}, user=architect)
    assert body["data"]["requirementApprove"]["errors"] == [{"code": "invalid_transition"}]
    _, body = gql(step % ("requirementReview", ""), {"id": created["id"]}, user=offices["alice"])
    assert body["data"]["requirementReview"]["errors"] == [{"code": "permission_denied"}]
    for name in ("requirementReview", "requirementApprove", "requirementPlan"):
        _, body = gql(step % (name, ""), {"id": created["id"]}, user=architect)
        assert body["data"][name]["errors"] == [], name
    assert body["data"]["requirementPlan"]["requirement"]["state"] == "PLANNED"


def test_a_requester_without_a_team_sees_nothing_of_others(gql, offices, make_user):
    loner = make_user("loner", "requester")
    assert Group.objects.get(name="requester").user_set.filter(pk=loner.pk).exists()
    _, body = gql(LIST, user=loner)
    assert body["data"]["requirements"]["totalCount"] == 0

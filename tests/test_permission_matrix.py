"""The permission matrix (tests/permission_matrix.py, rendered in docs/permissions.md): it lists
every GraphQL root field and mutation of the live schema, every page and every export, and each
role's cell is exercised here. Then targeted tests that a hidden object never leaks through a
relation, a count, an export or a history."""

from __future__ import annotations

import csv
import datetime
import io
import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from graphql import get_named_type, is_input_object_type, is_list_type, is_non_null_type
from graphql_relay import to_global_id

from architecture.models import Capability, TechCategory
from architecture.services import decisions as decision_services
from cmdb.factories import (
    ApplicationFactory,
    InterfaceFactory,
    ITComponentFactory,
    OrgUnitFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
    VendorFactory,
)
from importers.exports import EXPORTS
from itsm.models import Change, Incident
from itsm.services import changes as change_services
from itsm.services import incidents as incident_services
from itsm.services import problems as problem_services
from itsm.services import requirements as requirement_services
from itsm.services import sla
from landkarte.roles import sync_role_groups
from landkarte.schema import schema
from sourcing.services import procurement as procurement_services
from sourcing.services.assessments import start_assessment
from tests import permission_matrix as matrix

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parent.parent / "docs" / "permissions.md"
PAGE_NAMESPACES = ("itsm", "architecture", "sourcing")
TOP_LEVEL_PAGES = ("home", "dashboard")
PERMISSION_CODES = {"permission_denied", "unauthenticated"}

# --- what exists --------------------------------------------------------------------------------


def root_fields() -> set[str]:
    return set(schema.graphql_schema.query_type.fields)


def mutation_fields() -> set[str]:
    return set(schema.graphql_schema.mutation_type.fields)


def page_names() -> set[str]:
    names = set()

    def walk(patterns, namespace):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, entry.namespace or namespace)
            elif isinstance(entry, URLPattern) and entry.name:
                if namespace in PAGE_NAMESPACES:
                    names.add(f"{namespace}:{entry.name}")
                elif namespace is None and entry.name in TOP_LEVEL_PAGES:
                    names.add(entry.name)

    walk(get_resolver().url_patterns, None)
    return names


def _compare(kind: str, live: set[str], listed: set[str]) -> list[str]:
    problems = [f"{kind} {name!r} has no entry in the matrix" for name in sorted(live - listed)]
    problems += [f"the matrix lists {kind} {name!r}, which does not exist" for name in
                 sorted(listed - live)]  # fmt: skip
    return problems


def test_matrix_covers_every_root_field_and_mutation():
    problems = _compare("root field", root_fields(), set(matrix.QUERIES))
    problems += _compare("mutation", mutation_fields(), set(matrix.MUTATIONS))
    assert not problems, "\n".join(problems)


def test_matrix_covers_every_page_and_export():
    assert {"itsm:queue", "architecture:impact", "sourcing:risk", "home"} <= page_names()
    problems = _compare("page", page_names(), set(matrix.PAGES))
    problems += _compare("export", set(EXPORTS), set(matrix.EXPORTS))
    assert not problems, "\n".join(problems)


def test_matrix_rows_are_complete_and_follow_the_rules():
    allowed = {matrix.ALL, matrix.OWN, matrix.CHANGE, matrix.CHANGE_OWN, matrix.NO}
    for _title, rows, notes, _fmt in matrix.SECTIONS:
        assert set(notes) <= set(rows)
        for name, row in rows.items():
            assert set(row) == set(matrix.COLUMNS), name
            assert set(row.values()) <= allowed, name
            assert row[matrix.ANONYMOUS] == matrix.NO, f"anonymous users see nothing: {name}"
    # The auditor reads everything and changes nothing.
    for name, row in matrix.MUTATIONS.items():
        assert row["auditor"] == matrix.NO, name
    for rows in (matrix.QUERIES, matrix.EXPORTS):
        assert all(row["auditor"] == matrix.ALL for row in rows.values())
    # Procurement alone edits assessments and procurement cases.
    for name, row in matrix.MUTATIONS.items():
        if name.startswith(("assessment", "procurement")):
            assert [r for r, cell in row.items() if cell != matrix.NO] == ["procurement"], name
    # Architects edit the CMDB and the architecture.
    for name in (
        "applicationCreate",
        "applicationUpdate",
        "interfaceCreate",
        "architectureDecisionRecord",
        "capabilityCreate",
        "technologyStandardSet",
    ):
        assert [r for r, c in matrix.MUTATIONS[name].items() if c != matrix.NO] == ["architect"]
    # Nobody but the requester is limited to its own scope when reading.
    for rows in (matrix.QUERIES, matrix.EXPORTS):
        for name, row in rows.items():
            assert all(row[r] != matrix.OWN for r in matrix.ROLES if r != "requester"), name


def test_docs_show_the_matrix():
    text = DOCS.read_text(encoding="utf-8")
    start = text.index(matrix.BEGIN) + len(matrix.BEGIN)
    end = text.index(matrix.END)
    assert text[start:end].strip() == matrix.markdown_tables().strip(), (
        "docs/permissions.md is out of date: run `python -m tests.permission_matrix` and paste "
        "its output between the markers"
    )


# --- the world every cell is exercised in ---------------------------------------------------


def gid(obj) -> str:
    type_name = {"ITComponent": "ITComponentType"}.get(type(obj).__name__)
    return to_global_id(type_name or f"{type(obj).__name__}Type", obj.pk)


@pytest.fixture
def world(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    sync_role_groups()
    sla.ensure_default_calendar()
    users = {}
    for role in matrix.ROLES:
        users[role] = UserFactory(username=f"m-{role}")
        users[role].groups.add(Group.objects.get(name=role))
    other = UserFactory(username="m-other-requester")
    other.groups.add(Group.objects.get(name="requester"))
    city = OrgUnitFactory(name="Stadt", code="S")
    office_a = OrgUnitFactory(name="Amt A", code="A", parent=city)
    office_b = OrgUnitFactory(name="Amt B", code="B", parent=city)
    TeamFactory(name="Team A", org_unit=office_a, members=[users["requester"]])
    TeamFactory(name="Team B", org_unit=office_b, members=[other])
    ops = TeamFactory(
        name="Operations", org_unit=city,
        members=[users["service_desk"], users["change_manager"], users["auditor"]],
    )  # fmt: skip
    vendor = VendorFactory(name="Vendor", country="DE")
    component = ITComponentFactory(name="PostgreSQL", version="15", vendor=vendor)
    app = ApplicationFactory(
        name="Einwohner", owner_org_unit=office_a, owner_team=ops, vendor=vendor,
        criticality="mission_critical",
    )  # fmt: skip
    consumer = ApplicationFactory(name="Portal", owner_org_unit=office_b, owner_team=ops)
    InterfaceFactory(provider=app, consumers=[consumer])
    service = ServiceFactory(name="Online", applications=[app])
    desk = users["service_desk"]

    def report(caller, title, parent=None):
        return incident_services.open_incident(
            user=desk, caller=caller, title=title, impact="low", urgency="low",
            applications=[app], parent=parent,
        )  # fmt: skip

    other_incident = report(other, "Other office's incident")
    own = {role: report(user, f"{role}'s incident") for role, user in users.items()}
    # The requester's second incident belongs under another office's; and another office's
    # incident under the requester's first one.
    own_child = report(users["requester"], "Me too", parent=other_incident)
    child = report(other, "Follows the requester's incident", parent=own["requester"])
    incident_services.add_comment(own["requester"], user=desk, text="internal", public=False)
    incident_services.add_comment(own["requester"], user=desk, text="we look", public=True)
    incident_services.add_comment(other_incident, user=desk, text="for B", public=True)
    problem = problem_services.open_problem(
        user=desk, title="Login fails", incidents=[other_incident, own["requester"]]
    )
    change = change_services.create_change(
        user=users["architect"], title="Upgrade", change_type="normal", reason="EOL",
        applications=[app],
    )  # fmt: skip
    Change.objects.filter(pk=change.pk).update(state="authorization")
    change.refresh_from_db()

    def submit(user, unit, title):
        return requirement_services.submit_requirement(
            user=user, title=title, kind="enhancement", requesting_org_unit=unit,
            business_value=5, time_criticality=3, risk_reduction=2, job_size=3,
        )  # fmt: skip

    req_a = submit(users["requester"], office_a, "Office A wants")
    req_b = submit(other, office_b, "Office B wants")
    buyer = users["procurement"]
    assessment = start_assessment(user=buyer, vendor=vendor)
    case = procurement_services.open_case(
        user=buyer, title="Tender", org_unit=office_b, protection_class="normal",
        requirement=req_b,
    )  # fmt: skip
    candidate = procurement_services.add_candidate(case, user=buyer, vendor=vendor)
    decision = decision_services.record_decision(
        user=users["architect"], title="Use PostgreSQL", context="c", decision="d",
        consequences="e",
    )  # fmt: skip
    category = TechCategory.objects.create(name="Databases", code="DB")
    standard = decision_services.set_standard(
        user=users["architect"], component=component, status="approved",
        valid_from=datetime.date(2024, 1, 1),
    )  # fmt: skip
    capability = Capability.objects.create(name="Registration", code="REG")
    return {
        "users": users, "other": other, "office_a": office_a, "office_b": office_b, "ops": ops,
        "vendor": vendor, "component": component, "app": app, "consumer": consumer,
        "service": service, "own": own, "other_incident": other_incident, "problem": problem,
        "child": child, "own_child": own_child,
        "change": change, "req_a": req_a, "req_b": req_b, "assessment": assessment,
        "case": case, "candidate": candidate, "decision": decision, "category": category,
        "standard": standard, "capability": capability, "catalogue": assessment.catalogue,
    }  # fmt: skip


# --- GraphQL through the real view -----------------------------------------------------------


def post(client, user, document):
    client.logout()
    if user is not None:
        client.force_login(user)
    response = client.post(
        "/graphql/", data=json.dumps({"query": document}), content_type="application/json"
    )
    return response.status_code, response.json()


def literal(value) -> str:
    """A GraphQL literal of a Python value (dicts are input objects)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))


def arguments(values: dict) -> str:
    return "(" + ", ".join(f"{k}: {literal(v)}" for k, v in values.items()) + ")" if values else ""


# Singular fields with a scope: an object inside the requester's scope.
INSIDE = {
    "node": lambda w: w["req_a"],
    "incident": lambda w: w["own"]["requester"],
    "requirement": lambda w: w["req_a"],
}

FROM, TO = "2020-01-01T00:00:00+00:00", "2035-01-01T00:00:00+00:00"


def object_for_type(world, type_name: str):
    """The object a singular root field is asked for: outside the requester's scope where the
    type has one (so that "read own scope" must answer null)."""
    return {
        "ApplicationType": world["app"], "OrgUnitType": world["office_a"],
        "TeamType": world["ops"], "VendorType": world["vendor"],
        "ITComponentType": world["component"],
        "InterfaceType": world["app"].provided_interfaces.first(),
        "ServiceType": world["service"], "IncidentType": world["other_incident"],
        "ProblemType": world["problem"], "RequirementType": world["req_b"],
        "ChangeType": world["change"], "CriteriaCatalogueType": world["catalogue"],
        "AssessmentType": world["assessment"], "ProcurementCaseType": world["case"],
        "CapabilityType": world["capability"], "ArchitectureDecisionType": world["decision"],
    }[type_name]  # fmt: skip


QUERY_ARGS = {
    "node": lambda w: {"id": gid(w["req_b"])},
    "changeConflicts": lambda w: {"from": FROM, "to": TO},
    "kpis": lambda w: {"from": FROM, "to": TO},
    "landscapeAsOf": lambda w: {"at": "2026-01-01T00:00:00+00:00"},
    "landscapeDiff": lambda w: {"from": FROM, "to": "2026-01-01T00:00:00+00:00"},
    "lifecycleAnalysis": lambda w: {"application": gid(w["app"])},
    "impactAnalysis": lambda w: {"application": gid(w["app"])},
    "sovereignty": lambda w: {"vendor": gid(w["vendor"])},
}


def query_document(name: str, world) -> tuple[str, str]:
    """A minimal valid document for the root field `name`, and its shape: connection, node
    (singular by id) or other."""
    field = schema.graphql_schema.query_type.fields[name]
    named = get_named_type(field.type)
    args = QUERY_ARGS.get(name, lambda w: {})(world)
    if named.name.endswith("Connection"):
        return f"{{ {name} {{ totalCount }} }}", "connection"
    if "id" in field.args and is_non_null_type(field.args["id"].type):
        args = args or {"id": gid(object_for_type(world, named.name))}
        return f"{{ {name}{arguments(args)} {{ id }} }}", "node"
    return f"{{ {name}{arguments(args)} {{ __typename }} }}", "other"


def connection_model(name: str):
    named = get_named_type(schema.graphql_schema.query_type.fields[name].type)
    node_type = named.fields["edges"].type
    node = get_named_type(get_named_type(node_type).fields["node"].type)
    return node.graphene_type._meta.model


def check_query(client, world, role, user, name) -> str | None:
    cell = matrix.QUERIES[name][role]
    document, shape = query_document(name, world)
    status, body = post(client, user, document)
    if role == matrix.ANONYMOUS:
        return None if status == 401 else f"{name}: anonymous got {status}"
    errors = body.get("errors") or []
    value = (body.get("data") or {}).get(name)
    if cell == matrix.NO:
        codes = {e.get("extensions", {}).get("code") for e in errors}
        if value is None and "permission_denied" in codes:
            return None
        return f"{name}: {role} should be refused, got {body}"
    if errors:
        return f"{name}: {role} got errors {errors}"
    if shape == "connection":
        total = connection_model(name)._default_manager.count()
        count = value["totalCount"]
        if cell == matrix.ALL and count != total:
            return f"{name}: {role} sees {count} of {total}"
        if cell == matrix.OWN and not 0 < count < total:
            return f"{name}: {role} should see its scope only, sees {count} of {total}"
    elif shape == "node":
        if cell == matrix.ALL and value is None:
            return f"{name}: {role} should see the object"
        if cell == matrix.OWN and value is not None:
            return f"{name}: {role} sees an object outside its scope"
        if cell == matrix.OWN:
            inside = INSIDE[name](world)
            _, body = post(client, user, f'{{ {name}(id: "{gid(inside)}") {{ id }} }}')
            if (body.get("data") or {}).get(name) is None:
                return f"{name}: {role} does not see an object inside its scope"
    elif value is None:
        return f"{name}: {role} got null"
    return None


# --- mutations ------------------------------------------------------------------------------


def subject_for(name: str, world, user, own: bool = True):
    """The object a mutation acts on: an incident the acting user raised (another user's with
    own=False), the requester's office's requirement (the other office's with own=False)."""
    if name.startswith("incident"):
        if not own:
            return world["other_incident"]
        role = next(r for r, u in world["users"].items() if u == user)
        return world["own"][role]
    if name.startswith("requirement"):
        return world["req_a"] if own else world["req_b"]
    for prefix, key in (("problem", "problem"), ("change", "change"),
                        ("assessment", "assessment"), ("procurement", "case"),
                        ("architectureDecision", "decision"), ("application", "app")):  # fmt: skip
        if name.startswith(prefix):
            return world[key]
    return None


def mutation_args(name: str, world, user, own: bool = True) -> dict:
    w = world
    subject = subject_for(name, w, user, own)
    unit = w["office_a"] if own else w["office_b"]
    caller = user if own else w["other"]
    specific = {
        "applicationCreate": {"input": {"name": "New", "kind": "own_development",
                                        "ownerOrgUnit": gid(w["office_a"])}},
        "applicationUpdate": {"input": {"description": "updated"}},
        "interfaceCreate": {"input": {"name": "New", "provider": gid(w["app"]),
                                      "consumers": [gid(w["consumer"])]}},
        "incidentCreate": {"input": {"title": "Broken", "impact": "low", "urgency": "low",
                                     "caller": to_global_id("UserType", caller.pk)}},
        "incidentAssign": {"team": gid(w["ops"]),
                           "assignee": to_global_id("UserType", w["users"]["service_desk"].pk)},
        "incidentSetPending": {"reason": "awaiting_caller", "note": "waiting"},
        "incidentResolve": {"resolutionCode": "solved", "resolutionNotes": "fixed"},
        "incidentChangePriority": {"impact": "high", "urgency": "high", "reason": "worse"},
        "incidentLinkProblem": {"problem": gid(w["problem"])},
        "problemCreate": {"input": {"title": "Again"}},
        "problemMarkKnownError": {"workaround": "restart"},
        "problemResolve": {"rootCause": "bug"},
        "changeCreate": {"input": {"title": "New change", "changeType": "normal",
                                   "reason": "needed"}},
        "changeUpdate": {"input": {"description": "more"}},
        "changeApprove": {"role": "change_manager"},
        "changeReject": {"role": "change_manager"},
        "changeComplete": {"outcome": "successful"},
        "requirementSubmit": {"input": {
            "title": "Wish", "kind": "enhancement", "requestingOrgUnit": gid(unit),
            "businessValue": 5, "timeCriticality": 3, "riskReduction": 2, "jobSize": 3}},
        "requirementUpdate": {"input": {"description": "more"}},
        "requirementComplete": {"note": "done"},
        "requirementLinkChange": {"change": gid(w["change"])},
        "requirementUnlinkChange": {"change": gid(w["change"])},
        "assessmentStart": {"vendor": gid(w["vendor"])},
        "assessmentAnswer": {"criterion": w["assessment"].answers.first().criterion.code,
                             "level": 2},
        "assessmentApprove": {"validUntil": "2030-01-01"},
        "procurementCaseOpen": {"title": "Tender", "orgUnit": gid(w["office_a"]),
                                "protectionClass": "normal"},
        "procurementCandidateAdd": {"component": gid(w["component"])},
        "procurementCaseAward": {"candidate": to_global_id("ProcurementCandidateType",
                                                           w["candidate"].pk)},
        "architectureDecisionRecord": {"input": {"title": "ADR", "context": "c",
                                                 "decision": "d", "consequences": "e"}},
        "architectureDecisionSupersede": {"old": gid(w["decision"]), "new": gid(w["decision"])},
        "technologyStandardSet": {"component": gid(w["component"]), "status": "approved",
                                  "validFrom": "2025-01-01"},
        "standardExceptionGrant": {
            "application": gid(w["app"]), "decision": gid(w["decision"]),
            "standard": gid(w["standard"]),
            "reason": "legacy", "expiresOn": "2030-01-01"},
        "capabilityCreate": {"name": "Payments", "code": "PAY"},
        "capabilitySupportSet": {"application": gid(w["app"]),
                                 "capability": gid(w["capability"])},
    }.get(name, {})  # fmt: skip
    field = schema.graphql_schema.mutation_type.fields[name]
    values = {}
    for arg_name, arg in field.args.items():
        if arg_name in specific:
            values[arg_name] = specific[arg_name]
        elif arg_name == "id" and subject is not None:
            values["id"] = gid(subject)
        elif is_non_null_type(arg.type):
            values[arg_name] = default_value(arg_name, arg.type)
    return values


def default_value(name, graphql_type):
    named = get_named_type(graphql_type)
    if is_input_object_type(named):
        return {k: default_value(k, f.type) for k, f in named.fields.items()
                if is_non_null_type(f.type)}  # fmt: skip
    if is_list_type(graphql_type) or (
        is_non_null_type(graphql_type) and is_list_type(graphql_type.of_type)
    ):
        return []
    return {"Int": 1, "Boolean": False, "Date": "2030-01-01",
            "DateTime": "2030-01-01T10:00:00+00:00"}.get(named.name, f"matrix {name}")  # fmt: skip


def run_mutation(client, user, name, values):
    document = f"mutation {{ {name}{arguments(values)} {{ errors {{ field message code }} }} }}"
    with transaction.atomic():
        status, body = post(client, user, document)
        transaction.set_rollback(True)
    return status, body


SCOPED_MUTATIONS = ("incident", "requirement")


def check_mutation(client, world, role, user, name) -> list[str]:
    cell = matrix.MUTATIONS[name][role]
    if role == matrix.ANONYMOUS:
        values = mutation_args(name, world, world["users"]["auditor"])
        status, _ = run_mutation(client, None, name, values)
        return [] if status == 401 else [f"{name}: anonymous got {status}"]
    status, body = run_mutation(client, user, name, mutation_args(name, world, user))
    if body.get("errors"):
        return [f"{name}: {role} got GraphQL errors {body['errors']}"]
    codes = {e["code"] for e in body["data"][name]["errors"]}
    if cell == matrix.NO:
        if "permission_denied" not in codes:
            return [f"{name}: {role} should be refused, got {body['data'][name]['errors']}"]
        return []
    if codes & PERMISSION_CODES:
        return [f"{name}: {role} should pass the permission check, got "
                f"{body['data'][name]['errors']}"]  # fmt: skip
    if name.startswith(SCOPED_MUTATIONS):
        # The same mutation on someone else's incident, another office's requirement.
        _, body = run_mutation(client, user, name, mutation_args(name, world, user, own=False))
        codes = {e["code"] for e in body["data"][name]["errors"]}
        refused = bool(codes & {"permission_denied", "not_found", "not_your_org_unit"})
        if cell == matrix.CHANGE_OWN and not refused:
            return [f"{name}: {role} acts on another's object: {body['data'][name]}"]
        if cell == matrix.CHANGE and refused:
            return [f"{name}: {role} should act on any object: {body['data'][name]}"]
    return []


# --- pages and exports ----------------------------------------------------------------------

# URL name → (keyword, object inside the requester's scope, object outside it)
PAGE_OBJECTS = {
    "itsm:incident-detail": (
        "number", lambda w: w["own"]["requester"], lambda w: w["other_incident"]
    ),
    "itsm:problem-detail": ("number", lambda w: w["problem"], None),
    "itsm:change-detail": ("number", lambda w: w["change"], None),
    "itsm:requirement-detail": ("number", lambda w: w["req_a"], lambda w: w["req_b"]),
    "architecture:application-detail": ("pk", lambda w: w["app"], None),
    "architecture:component-detail": ("pk", lambda w: w["component"], None),
    "sourcing:vendor-detail": ("pk", lambda w: w["vendor"], None),
    "sourcing:assessment-detail": ("pk", lambda w: w["assessment"], None),
    "sourcing:assessment-edit": ("pk", lambda w: w["assessment"], None),
    "sourcing:case-detail": ("pk", lambda w: w["case"], None),
}  # fmt: skip


def page_url(name, world, inside=True) -> str:
    if name not in PAGE_OBJECTS:
        return reverse(name)
    keyword, own, other = PAGE_OBJECTS[name]
    obj = (own if inside or other is None else other)(world)
    return reverse(name, kwargs={keyword: getattr(obj, keyword)})


def get(client, user, url):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client.get(url)


def check_page(client, world, role, user, name) -> list[str]:
    cell = matrix.PAGES[name][role]
    response = get(client, user, page_url(name, world))
    if role == matrix.ANONYMOUS:
        if response.status_code == 302 and response["Location"].startswith("/login/"):
            return []
        return [f"{name}: anonymous got {response.status_code}"]
    expected = 403 if cell == matrix.NO else 200
    if response.status_code != expected:
        return [f"{name}: {role} got {response.status_code}, expected {expected}"]
    if cell != matrix.NO and PAGE_OBJECTS.get(name, (0, 0, None))[2] is not None:
        outside = get(client, user, page_url(name, world, inside=False)).status_code
        if cell == matrix.OWN and outside != 404:
            return [f"{name}: {role} opens an object outside its scope ({outside})"]
        if cell != matrix.OWN and outside != 200:
            return [f"{name}: {role} cannot open every object ({outside})"]
    return []


def export_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def check_export(client, world, role, user, name) -> list[str]:
    cell = matrix.EXPORTS[name][role]
    response = get(client, user, f"/exports/{name}.csv")
    if role == matrix.ANONYMOUS:
        if response.status_code == 302 and response["Location"].startswith("/login/"):
            return []
        return [f"{name}: anonymous got {response.status_code}"]
    if cell == matrix.NO:
        return [] if response.status_code == 403 else [f"{name}: {role} not refused"]
    if response.status_code != 200:
        return [f"{name}: {role} got {response.status_code}"]
    count, total = len(export_rows(response)), EXPORTS[name].model._default_manager.count()
    if cell == matrix.ALL and count != total:
        return [f"{name}: {role} exports {count} of {total} rows"]
    if cell == matrix.OWN and not 0 < count < total:
        return [f"{name}: {role} should export its scope only, exports {count} of {total}"]
    return []


@pytest.mark.parametrize("role", matrix.COLUMNS)
def test_every_cell(client, world, role):
    """Every root field, mutation, page and export as `role` behaves as its cell says."""
    user = world["users"].get(role)
    failures = []
    for name in sorted(matrix.QUERIES):
        failure = check_query(client, world, role, user, name)
        failures += [failure] if failure else []
    for name in sorted(matrix.MUTATIONS):
        failures += check_mutation(client, world, role, user, name)
    for name in sorted(matrix.PAGES):
        failures += check_page(client, world, role, user, name)
    for name in sorted(matrix.EXPORTS):
        failures += check_export(client, world, role, user, name)
    assert not failures, "\n".join(failures)


# --- a hidden object never leaks through a relation, a count, an export or a history ---------


def number_list(value) -> list[str]:
    """Every "number" or "id" found anywhere in a GraphQL result."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("number", "id") and isinstance(item, str):
                found.append(item)
            else:
                found += number_list(item)
    elif isinstance(value, list):
        for item in value:
            found += number_list(item)
    return found


def incident_numbers(world, visible_to_requester: bool) -> set[str]:
    mine = set(
        Incident.objects.filter(caller=world["users"]["requester"]).values_list("number", flat=True)
    )
    everything = set(Incident.objects.values_list("number", flat=True))
    return mine if visible_to_requester else everything - mine


def _hidden_events(world) -> set[str]:
    from itsm.models import IncidentEvent

    hidden = IncidentEvent.objects.exclude(
        incident=world["own"]["requester"], is_public=True
    ).values_list("pk", flat=True)
    return {to_global_id("IncidentEventType", pk) for pk in hidden}


# Every field of the schema that reaches an incident, an incident event or a requirement (other
# than the root fields, which the matrix covers, and mutation payloads, which return only what
# the user acted on): a document reading it, and the objects the requester must not see there.
LEAK_PATHS = {
    "IncidentTypeEdge.node": (
        lambda w: "{ incidents(first: 100) { edges { node { number } } } }",
        lambda w: incident_numbers(w, False),
    ),
    "RequirementTypeEdge.node": (
        lambda w: "{ requirements(first: 100) { edges { node { number } } } }",
        lambda w: {w["req_b"].number},
    ),
    "IncidentType.parent": (
        lambda w: f'{{ incident(id: "{gid(w["own_child"])}") {{ parent {{ number }} }} }}',
        lambda w: {w["other_incident"].number},
    ),
    "IncidentType.children": (
        lambda w: f'{{ incident(id: "{gid(w["own"]["requester"])}") {{ children {{ number }} }} }}',
        lambda w: {w["child"].number},
    ),
    "IncidentType.relatedOpenIncidents": (
        lambda w: (
            f'{{ incident(id: "{gid(w["own"]["requester"])}") '
            "{ relatedOpenIncidents { number } } }"
        ),
        lambda w: incident_numbers(w, False),
    ),
    "IncidentType.timeline": (
        lambda w: f'{{ incident(id: "{gid(w["own"]["requester"])}") {{ timeline {{ id }} }} }}',
        _hidden_events,
    ),
    "ProblemType.incidents": (
        lambda w: f'{{ problem(id: "{gid(w["problem"])}") {{ incidents {{ number }} }} }}',
        lambda w: incident_numbers(w, False),
    ),
    "ImpactType.openIncidents": (
        lambda w: (
            f'{{ impactAnalysis(application: "{gid(w["app"])}") {{ openIncidents {{ number }} }} }}'
        ),
        lambda w: incident_numbers(w, False),
    ),
    "ProcurementCaseType.requirement": (
        lambda w: f'{{ procurementCase(id: "{gid(w["case"])}") {{ requirement {{ number }} }} }}',
        lambda w: {w["req_b"].number},
    ),
}
SCOPED_TYPES = {"IncidentType", "IncidentEventType", "RequirementType"}


def scoped_paths() -> set[str]:
    graphql_schema = schema.graphql_schema
    payloads = {get_named_type(f.type).name for f in graphql_schema.mutation_type.fields.values()}
    skip = {graphql_schema.query_type.name, graphql_schema.mutation_type.name, *payloads}
    paths = set()
    for type_name, graphql_type in graphql_schema.type_map.items():
        if type_name.startswith("__") or type_name in skip or not hasattr(graphql_type, "fields"):
            continue
        if is_input_object_type(graphql_type):
            continue
        for field_name, field in graphql_type.fields.items():
            if get_named_type(field.type).name in SCOPED_TYPES:
                paths.add(f"{type_name}.{field_name}")
    return paths


def test_every_path_to_a_scoped_object_has_a_leak_test():
    problems = _compare("path to a scoped type", scoped_paths(), set(LEAK_PATHS))
    assert not problems, "\n".join(problems)


def test_no_relation_leaks_a_hidden_object(client, world):
    requester, auditor = world["users"]["requester"], world["users"]["auditor"]
    failures = []
    for path, (document, hidden) in LEAK_PATHS.items():
        hidden_now = hidden(world)
        assert hidden_now, path
        _, body = post(client, requester, document(world))
        seen = set(number_list(body.get("data")))
        if body.get("errors") or seen & hidden_now:
            failures.append(f"{path}: the requester sees {seen & hidden_now} {body.get('errors')}")
        # The same document reaches the hidden objects for a reader of everything, so the path
        # is real and the test above could fail.
        _, body = post(client, auditor, document(world))
        if not set(number_list(body.get("data"))) & hidden_now:
            failures.append(f"{path}: the auditor does not reach {hidden_now}: {body}")
    assert not failures, "\n".join(failures)


def test_requester_counts_only_its_scope(client, world):
    requester = world["users"]["requester"]
    _, body = post(client, requester, "{ incidents { totalCount } requirements { totalCount } }")
    assert body["data"] == {"incidents": {"totalCount": 2}, "requirements": {"totalCount": 1}}
    kpis = f'{{ kpis(from: "{FROM}", to: "{TO}") {{ incidentsOpened }} }}'
    _, body = post(client, requester, kpis)
    assert body["data"]["kpis"] is None
    assert body["errors"][0]["extensions"]["code"] == "permission_denied"
    _, body = post(client, world["users"]["auditor"], kpis)
    assert body["data"]["kpis"]["incidentsOpened"] == Incident.objects.count()


def test_requester_reaches_no_hidden_object_by_id(client, world):
    requester = world["users"]["requester"]
    from itsm.models import IncidentEvent

    other_event = IncidentEvent.objects.filter(incident=world["other_incident"], is_public=True)
    hidden = [world["other_incident"], world["req_b"], other_event.first()]
    for obj in hidden:
        _, body = post(client, requester, f'{{ node(id: "{gid(obj)}") {{ id }} }}')
        assert body["data"]["node"] is None, obj
        _, body = post(client, world["users"]["auditor"], f'{{ node(id: "{gid(obj)}") {{ id }} }}')
        assert body["data"]["node"] == {"id": gid(obj)}


def test_requester_exports_no_hidden_reference(client, world):
    requester, auditor = world["users"]["requester"], world["users"]["auditor"]
    mine = world["own"]["requester"], world["own_child"]
    rows = export_rows(get(client, requester, "/exports/incidents.csv"))
    assert sorted(row["number"] for row in rows) == sorted(i.number for i in mine)
    own = next(row for row in rows if row["number"] == world["own_child"].number)
    assert own["parent"] == ""  # the parent is someone else's incident
    rows = export_rows(get(client, auditor, "/exports/incidents.csv"))
    own = next(row for row in rows if row["number"] == world["own_child"].number)
    assert own["parent"] == world["other_incident"].number

    rows = export_rows(get(client, requester, "/exports/requirements.csv"))
    assert [row["number"] for row in rows] == [world["req_a"].number]
    rows = export_rows(get(client, requester, "/exports/procurement_cases.csv"))
    assert rows[0]["requirement"] == ""
    rows = export_rows(get(client, auditor, "/exports/procurement_cases.csv"))
    assert rows[0]["requirement"] == world["req_b"].number


def test_requester_sees_no_hidden_history_or_work_note(client, world):
    requester = world["users"]["requester"]
    own = world["own"]["requester"]
    response = get(client, requester, reverse("itsm:incident-detail", args=[own.number]))
    assert response.status_code == 200
    assert b"we look" in response.content and b"internal" not in response.content
    for name, obj in (("itsm:incident-detail", world["other_incident"]),
                      ("itsm:requirement-detail", world["req_b"])):  # fmt: skip
        assert get(client, requester, reverse(name, args=[obj.number])).status_code == 404
        assert get(client, world["users"]["auditor"],
                   reverse(name, args=[obj.number])).status_code == 200  # fmt: skip
    response = get(
        client, requester, reverse("itsm:requirement-detail", args=[world["req_a"].number])
    )
    assert response.status_code == 200 and world["req_b"].number.encode() not in response.content


def test_requester_learns_nothing_by_acting_on_a_hidden_incident(client, world):
    requester, other = world["users"]["requester"], world["other_incident"]
    _, body = run_mutation(client, requester, "incidentComment",
                           {"id": gid(other), "text": "hello?"})  # fmt: skip
    assert body["data"]["incidentComment"]["errors"][0]["code"] == "not_found"
    values = {"input": {"title": "Me too", "impact": "low", "urgency": "low",
                        "parent": gid(other)}}  # fmt: skip
    _, body = run_mutation(client, requester, "incidentCreate", values)
    assert body["data"]["incidentCreate"]["errors"] == [
        {"field": "parent", "message": "Incident not found.", "code": "not_found"}
    ]
    values["input"]["parent"] = gid(world["own"]["requester"])
    _, body = run_mutation(client, requester, "incidentCreate", values)
    assert body["data"]["incidentCreate"]["errors"] == []


def test_owning_team_decides_but_never_an_auditor(client, world):
    """A high-risk change needs the owning team; an auditor in that team may not decide."""
    change = world["change"]
    Change.objects.filter(pk=change.pk).update(risk="high")
    auditor, desk = world["users"]["auditor"], world["users"]["service_desk"]
    assert world["ops"].members.filter(pk__in=[auditor.pk, desk.pk]).count() == 2
    values = {"id": gid(change), "team": gid(world["ops"]), "comment": "ok"}
    _, body = run_mutation(client, auditor, "changeApprove", values)
    assert body["data"]["changeApprove"]["errors"][0]["code"] == "permission_denied"
    _, body = run_mutation(client, desk, "changeApprove", values)
    assert body["data"]["changeApprove"]["errors"] == []

"""Query-count tests guard every list query.

Built from the schema: every root field of Query that returns a connection or a list of model
types is queried with its scalar fields plus one level of nested object and list fields (their
scalars), once with few rows and once with many, as an administrator and as a requester (whose
rows the types narrow). The number of SQL queries must not grow with the rows: a relation or a
computed field that queries per row fails here. The landscape is the demo city with its ITSM,
sourcing and architecture demos, built once for the module.

Then the cases of issue 9: the application list of the benchmark (one query per list level),
the service-desk queue (at most 3 queries with a bearer token, no COUNT(*) unless totalCount
is asked for), lazy counting and paging of connections, computed fields batched over a list
(the same answers as row by row), and permissions through relations."""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, get_named_type, is_leaf_type
from graphql.pyutils import Undefined
from graphql_relay import from_global_id, to_global_id

from architecture.demo import build_architecture_demo
from cmdb.demo import build_demo_city
from cmdb.models import Application, Vendor
from itsm.choices import OPEN_INCIDENT_STATES
from itsm.demo import build_itsm_demo
from itsm.models import ChangeTemplate, FreezeWindow, Incident, Problem, ServiceLevel
from landkarte.graphql import BaseNodeType
from landkarte.models import APIToken
from landkarte.schema import schema
from sourcing.demo import build_sourcing_demo

FEW, MANY = 2, 25
USERS = ["admin", "requester"]

# Arguments a field requires, by (type, field).
ARGUMENTS = {("CriterionType", "minimumLevel"): '(protectionClass: "high")'}


def _keep_first(model, **update):
    """Narrow a root list without paging to one row, inside the test's savepoint."""

    def shrink():
        first = model.objects.order_by("pk").first()
        rest = model.objects.exclude(pk=first.pk)
        rest.update(**update) if update else rest.delete()

    return shrink


def _keep_two_known_errors():
    keep = list(Problem.objects.filter(is_known_error=True).values_list("pk", flat=True)[:2])
    Problem.objects.filter(is_known_error=True).exclude(pk__in=keep).update(is_known_error=False)


# Root lists without paging: how to make them show few rows.
SHRINK = {
    "changeTemplates": _keep_first(ChangeTemplate, active=False),
    "freezeWindows": _keep_first(FreezeWindow),
    "serviceLevels": _keep_first(ServiceLevel),
    "knownErrors": _keep_two_known_errors,
}

# Differences that do not grow with the rows, and why.
BOUNDED = {
    # ChangeType.conflicts looks freeze windows up (two queries) only when one overlaps the
    # period of the changes asked about; more changes span a longer period.
    "changes": 2,
}


def _node_type(field):
    """("connection" | "list", node type) for a root field returning rows of a model type."""
    return_type = field.type
    if isinstance(return_type, GraphQLNonNull):
        return_type = return_type.of_type
    if isinstance(return_type, GraphQLList):
        named = get_named_type(return_type)
        graphene_type = getattr(named, "graphene_type", None)
        if isinstance(graphene_type, type) and issubclass(graphene_type, BaseNodeType):
            return "list", named
        return None, None
    if isinstance(return_type, GraphQLObjectType) and {"edges", "pageInfo"} <= set(
        return_type.fields
    ):
        edge = get_named_type(return_type.fields["edges"].type)
        return "connection", get_named_type(edge.fields["node"].type)
    return None, None


def _arguments(type_name, field_name, field) -> str:
    required = [
        name
        for name, argument in field.args.items()
        if isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined
    ]
    if not required:
        return ""
    return ARGUMENTS[(type_name, field_name)]  # a new required argument needs an entry


def _scalars(object_type) -> list[str]:
    return [
        name + _arguments(object_type.name, name, field)
        for name, field in object_type.fields.items()
        if is_leaf_type(get_named_type(field.type))
    ]


def _selection(object_type) -> str:
    """Scalars, and every object or list field with its scalars."""
    parts = []
    for name, field in object_type.fields.items():
        named = get_named_type(field.type)
        arguments = _arguments(object_type.name, name, field)
        if is_leaf_type(named):
            parts.append(name + arguments)
        elif isinstance(named, GraphQLObjectType) and _scalars(named):
            parts.append(f"{name}{arguments} {{ {' '.join(_scalars(named))} }}")
    return " ".join(parts)


ROOTS = {
    name: _node_type(field)
    for name, field in schema.graphql_schema.query_type.fields.items()
    if _node_type(field)[0]
}


def _document(root: str, first: int | None = None) -> str:
    kind, node_type = ROOTS[root]
    if kind == "connection":
        return f"{{ {root}(first: {first}) {{ edges {{ node {{ {_selection(node_type)} }} }} }} }}"
    return f"{{ {root} {{ {_selection(node_type)} }} }}"


def _rows(data, root) -> int:
    value = data[root]
    return len(value["edges"]) if isinstance(value, dict) else len(value)


@pytest.fixture(scope="module")
def landscape(django_db_setup, django_db_blocker):
    """The demo city at scale 1 with all demos, built once for the module inside a transaction
    that is rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        build_demo_city(seed=1, scale=1)
        build_itsm_demo(seed=1, scale=1)
        build_sourcing_demo(seed=1, scale=1)
        build_architecture_demo(seed=1, scale=1)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def post(landscape, db):
    """POST a document as a demo user (session) or with a bearer token; returns (body, SQL)."""

    def run(document, variables=None, username="admin", token=None):
        client = Client()
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        else:
            client.force_login(get_user_model().objects.get(username=username))
        payload = json.dumps({"query": document, "variables": variables or {}})
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/graphql/", payload, content_type="application/json", headers=headers
            )
        assert response.status_code == 200, response.content
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body, [query["sql"] for query in captured.captured_queries]

    return run


def test_the_schema_has_the_root_lists_this_module_guards():
    assert {"applications", "incidents", "changes", "assessments", "knownErrors"} <= set(ROOTS)
    assert len(ROOTS) >= 25


@pytest.mark.parametrize("username", USERS)
@pytest.mark.parametrize("root", sorted(ROOTS))
def test_list_query_count_does_not_grow_with_the_rows(post, root, username):
    kind, _node = ROOTS[root]
    if kind == "connection":
        many_body, many = post(_document(root, MANY), username=username)
        few_body, few = post(_document(root, FEW), username=username)
    else:
        many_body, many = post(_document(root), username=username)
        with transaction.atomic():
            SHRINK[root]()
            few_body, few = post(_document(root), username=username)
            transaction.set_rollback(True)
    few_rows, many_rows = _rows(few_body["data"], root), _rows(many_body["data"], root)
    assert few_rows <= many_rows
    if username == "admin" and root not in ("criteriaCatalogues", "procurementCases"):
        # The landscape has more rows than FEW (the demo has one catalogue and two cases).
        assert few_rows < many_rows, f"{root}: {few_rows} rows either way"
    bound = BOUNDED.get(root, 0)
    assert len(few) <= len(many) <= len(few) + bound, (
        f"{root} as {username}: {len(few)} queries for {few_rows} rows, {len(many)} for "
        f"{many_rows}:\n" + "\n".join(many)
    )


# -- the application list of the benchmark -----------------------------------------------------

LIST_QUERY = """query($first: Int) { applications(first: $first, orderBy: "name") { edges { node {
  name vendor { name jurisdiction } ownerOrgUnit { name }
  providedInterfaces { name consumers { name } }
  consumedInterfaces { name provider { name } }
} } } }"""

AUTH_TABLES = ("django_session", "auth_user", "auth_group", "landkarte_apitoken")


def _data_queries(sql: list[str]) -> list[str]:
    return [q for q in sql if not any(f'FROM "{table}"' in q for table in AUTH_TABLES)]


@pytest.mark.parametrize("first", [FEW, 200])
def test_application_list_costs_one_query_per_list_level(post, first):
    body, sql = post(LIST_QUERY, {"first": first})
    assert len(body["data"]["applications"]["edges"]) == first
    data = _data_queries(sql)
    # applications (with vendor and org unit joined), provided interfaces, their consumers,
    # consumed interfaces (with their provider joined)
    assert len(data) == 4, "\n".join(data)
    assert not any("COUNT(" in q for q in sql)


def test_the_row_after_the_page_is_not_prefetched(post):
    # The page is fetched with one row more (is there a next page?); its relations are not.
    body, sql = post(LIST_QUERY, {"first": 1})
    assert len(body["data"]["applications"]["edges"]) == 1
    provided = next(q for q in _data_queries(sql) if 'FROM "cmdb_interface" WHERE' in q)
    assert re.search(r'"provider_id" IN \(\d+\)', provided), provided


# -- the service-desk queue --------------------------------------------------------------------

QUEUE = """query Queue($first: Int, $priority: [String]) {
  incidents(first: $first, open: true, priority: $priority, orderBy: "resolutionDue") {
    %s
    edges { cursor node { id number title state priority isMajor openedAt responseDue
      resolutionDue assignedTeam { name } assignee { username } service { name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@pytest.fixture
def desk_token(landscape, db):
    return APIToken.issue(get_user_model().objects.get(username="desk"), name="queue")[1]


def test_the_queue_costs_three_queries_and_counts_only_when_asked(post, desk_token):
    variables = {"first": 5, "priority": ["p3", "p4"]}
    post(QUEUE % "", variables, token=desk_token)  # the token's first use is recorded
    body, sql = post(QUEUE % "", variables, token=desk_token)
    # the token (with its user), the user's roles, the page
    assert len(sql) <= 3, "\n".join(sql)
    assert not any("COUNT(" in q for q in sql)
    page = body["data"]["incidents"]
    expected = Incident.objects.filter(state__in=OPEN_INCIDENT_STATES, priority__in=["p3", "p4"])
    numbers = set(expected.values_list("number", flat=True))
    due = sorted(expected.values_list("resolution_due", flat=True))[:5]
    nodes = [edge["node"] for edge in page["edges"]]
    assert {node["number"] for node in nodes} <= numbers
    assert [node["resolutionDue"] for node in nodes] == [d.isoformat() for d in due]
    assert page["pageInfo"]["hasNextPage"] is (len(numbers) > 5)

    body, sql = post(QUEUE % "totalCount", variables, token=desk_token)
    assert len(sql) <= 4
    assert sum("COUNT(" in q for q in sql) == 1
    assert body["data"]["incidents"]["totalCount"] == len(numbers)


def test_the_queue_query_uses_its_index(landscape, db):
    queue = (
        Incident.objects.filter(state__in=OPEN_INCIDENT_STATES, priority__in=["p1", "p2"])
        .order_by("resolution_due")
        .values("pk")[:51]
    )
    if connection.vendor == "postgresql":
        # PostgreSQL reads a test-sized table whole; without that option it shows the plan it
        # takes at scale (the test runs in a transaction, which SET LOCAL does not outlive).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
    plan = queue.explain()
    assert "incident_queue_idx" in plan or "incident_open_due_idx" in plan, plan


# -- connections count lazily ------------------------------------------------------------------

PAGE = """query($first: Int, $last: Int, $after: String, $before: String) {
  vendors(first: $first, last: $last, after: $after, before: $before, orderBy: "name") {
    %s edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


def _names(body):
    return [edge["node"]["name"] for edge in body["data"]["vendors"]["edges"]]


def test_paging_without_count_matches_the_counted_pages(post):
    names = list(Vendor.objects.order_by("name").values_list("name", flat=True))
    total = len(names)
    cursor, seen = None, []
    while True:
        body, sql = post(PAGE % "", {"first": 7, "after": cursor})
        assert not any("COUNT(" in q for q in sql)
        info = body["data"]["vendors"]["pageInfo"]
        seen += _names(body)
        assert info["hasPreviousPage"] is (cursor is not None)
        if not info["hasNextPage"]:
            break
        cursor = info["endCursor"]
    assert seen == names

    # exactly at the end: no next page
    body, _sql = post(PAGE % "totalCount", {"first": total})
    assert body["data"]["vendors"]["totalCount"] == total
    assert body["data"]["vendors"]["pageInfo"]["hasNextPage"] is False
    body, _sql = post(PAGE % "", {"first": total - 1})
    assert body["data"]["vendors"]["pageInfo"]["hasNextPage"] is True

    # `last` needs the count
    body, sql = post(PAGE % "", {"last": 3})
    assert _names(body) == names[-3:]
    assert any("COUNT(" in q for q in sql)
    assert body["data"]["vendors"]["pageInfo"]["hasPreviousPage"] is True

    # `before`, and a cursor past the end
    fifth = body["data"]["vendors"]["edges"][0]["cursor"]  # offset total - 3
    body, _sql = post(PAGE % "", {"first": 2, "before": fifth})
    assert _names(body) == names[:2]
    assert body["data"]["vendors"]["pageInfo"]["hasNextPage"] is True
    past = to_global_id("arrayconnection", total + 5)
    body, _sql = post(PAGE % "totalCount", {"first": 2, "after": past})
    vendors = body["data"]["vendors"]
    assert vendors["edges"] == [] and vendors["totalCount"] == total
    assert vendors["pageInfo"] == {
        "hasNextPage": False, "hasPreviousPage": True, "startCursor": None, "endCursor": None,
    }  # fmt: skip


# -- computed fields on many rows give what they give on one ------------------------------------


def _one_by_one(post, type_name, field_selection, pks):
    answers = {}
    for pk in pks:
        node_id = to_global_id(type_name, pk)
        body, _sql = post(
            f'{{ node(id: "{node_id}") {{ ... on {type_name} {{ {field_selection} }} }} }}'
        )
        answers[pk] = body["data"]["node"]
    return answers


@pytest.mark.parametrize(
    "root, type_name, selection",
    [
        ("applications", "ApplicationType",
         "dependencies(depth: 2) { depth application { name } path { name } } "
         "dependents { depth application { name } }"),
        ("incidents", "IncidentType",
         "knownErrors { number } relatedOpenIncidents { number }"),
        ("changes", "ChangeType",
         "conflicts { kind message path applications { name } } "
         "requiredApprovals { label satisfied }"),
    ],
)  # fmt: skip
def test_a_computed_field_on_a_list_answers_as_on_each_row(post, root, type_name, selection):
    order = "name" if root == "applications" else "number"
    body, _sql = post(
        f'{{ {root}(first: 12, orderBy: "{order}") {{ edges {{ node {{ id {selection} }} }} }} }}'
    )
    in_list = {}
    for edge in body["data"][root]["edges"]:
        node = dict(edge["node"])
        in_list[int(from_global_id(node.pop("id"))[1])] = node
    assert len(in_list) == 12
    assert any(any(value for value in node.values()) for node in in_list.values())
    assert in_list == _one_by_one(post, type_name, selection, list(in_list))


# -- permissions through relations --------------------------------------------------------------


def test_a_requester_sees_only_their_incidents_through_relations(post):
    requester = get_user_model().objects.get(username="requester")
    document = "{ problems(first: 100) { edges { node { incidents { number caller { id } } } } } }"
    body, _sql = post(document, username="requester")
    callers = {
        incident["caller"]["id"]
        for edge in body["data"]["problems"]["edges"]
        for incident in edge["node"]["incidents"]
    }
    assert callers <= {to_global_id("UserType", requester.pk)}
    others = Incident.objects.exclude(caller=requester).filter(problem__isnull=False)
    assert others.exists()  # there is something to hide
    body, _sql = post(document, username="admin")
    numbers = {
        incident["number"]
        for edge in body["data"]["problems"]["edges"]
        for incident in edge["node"]["incidents"]
    }
    assert numbers & set(others.values_list("number", flat=True))


def test_no_count_query_unless_total_count_is_selected(post):
    body, sql = post("{ applications(first: 3) { edges { node { name } } } }")
    assert not [q for q in sql if re.search(r"COUNT\(", q)]
    body, sql = post("{ applications(first: 3) { totalCount edges { node { name } } } }")
    assert body["data"]["applications"]["totalCount"] == Application.objects.count()
    assert len([q for q in sql if "COUNT(" in q]) == 1


# -- analysis fields: answers holding model instances -------------------------------------------
#
# Lifecycle conflicts, the tech radar, governance findings, sovereignty risk and an incident's
# known errors are plain objects (or lists) holding instances a service produced. Asked for
# with relations below the instances, what the selection adds to the same field with scalars
# only (the service's own queries, which may depend on its input, cancel out) must not grow
# with the rows: the instances are loaded again for the selection, one query per list level.
# (Impact analysis, dependency walks, change conflicts and time travel: see
# test_analysis_query_counts.py.)


def _lifecycle_subjects():
    """(few, many): the applications with the fewest and the most lifecycle conflicts among
    those whose report has every list filled and conflicts of both kinds."""
    from architecture.services.lifecycle import lifecycle_analysis

    candidates = []
    for app in Application.objects.order_by("pk"):
        report = lifecycle_analysis(app)
        kinds = {conflict.kind for conflict in report.conflicts}
        if report.earliest_components and report.earliest_dependencies and len(kinds) == 2:
            candidates.append((len(report.conflicts), app.pk))
    assert len(candidates) >= 2
    (_few, few), (_many, many) = min(candidates), max(candidates)
    return {"id": to_global_id("ApplicationType", few)}, {
        "id": to_global_id("ApplicationType", many)
    }


def _lifecycle_pages():
    """(few, many): the first page with conflicts of both kinds, and a page five times as
    long."""
    from architecture.services.lifecycle import lifecycle_conflicts

    kinds = [conflict.kind for conflict in lifecycle_conflicts()]
    few = max(kinds.index("application"), kinds.index("component")) + 1
    assert len(kinds) > few
    return {"n": few}, {"n": min(5 * few, len(kinds), 100)}


def _small_org_unit():
    """The smallest department or office whose risk report has blast radii of both kinds, and
    none (the whole city)."""
    from cmdb.models import OrgUnit
    from sourcing.services.landscape import sovereignty_risk

    units = OrgUnit.objects.filter(level__in=(1, 2)).annotate(n=Count("applications"))
    for unit in units.filter(n__gt=0).order_by("n", "pk"):
        risk = sovereignty_risk(org_unit=unit)
        if risk.vendor_blast_radius and risk.platform_blast_radius:
            return {"unit": to_global_id("OrgUnitType", unit.pk)}, {"unit": None}
    raise AssertionError("no org unit with blast radii")


APP_BELOW = "name vendor { name } ownerTeam { name } services { name }"
CONFLICT_RICH = (
    "kind application { " + APP_BELOW + " } dependencyApplication { name ownerTeam { name } } "
    "dependencyComponent { name vendor { name } uses { application { name } } }"
)
RISK_RICH = """orgUnit { name parent { name } }
  vendorShares { share vendor { name parent { name } applications { name } } }
  vendorBlastRadius { criticalApplications { name ownerTeam { name } services { name } } }
  platformBlastRadius { criticalApplications { name } }"""
RISK_SCALARS = (
    "hhiVendor vendorShares { share } vendorBlastRadius { name } platformBlastRadius { name }"
)
RELATED = "{ number assignedTeam { name } applications { name ownerTeam { name } } }"

# name: (document, the rich selection, scalars only, variables (few, many) or a function giving
# them, the rows of an answer, the paths below the root field that hold instances: the few rows
# must fill each of them somewhere, as an instance field that holds nothing loads nothing)
ANALYSES = {
    "lifecycleConflicts": (
        "query($n: Int) { lifecycleConflicts(first: $n) { %s } }",
        CONFLICT_RICH, "kind depth", _lifecycle_pages,
        lambda data: data["lifecycleConflicts"],
        ("application", "dependencyApplication", "dependencyComponent"),
    ),
    "lifecycleAnalysis": (
        "query($id: ID!) { lifecycleAnalysis(application: $id) { %s } }",
        "earliestComponents { name vendor { name } uses { application { name } } } "
        "earliestDependencies { " + APP_BELOW + " } conflicts { " + CONFLICT_RICH + " }",
        "endOfLife conflicts { kind }", _lifecycle_subjects,
        lambda data: data["lifecycleAnalysis"]["conflicts"],
        ("earliestComponents", "earliestDependencies", "conflicts.application",
         "conflicts.dependencyApplication", "conflicts.dependencyComponent"),
    ),
    "techRadar": (
        "query($on: Date) { techRadar(on: $on) { %s } }",
        "status component { name vendor { name } uses { application { name } } } "
        "category { name parent { name } components { name } } "
        "standard { status decision { title applications { name } } }",
        "status", ({"on": "2022-01-01"}, {"on": None}),
        lambda data: data["techRadar"], ("component", "category", "standard"),
    ),
    "governanceFindings": (
        "query($severity: String) { governanceFindings(severity: $severity) { %s } }",
        "rule orgUnit { name parent { name } teams { name } }", "rule",
        ({"severity": "high"}, {"severity": None}),
        lambda data: data["governanceFindings"], ("orgUnit",),
    ),
    "sovereigntyRisk": (
        "query($unit: ID) { sovereigntyRisk(orgUnit: $unit) { %s } }",
        RISK_RICH.replace("orgUnit { name parent { name } }", ""), RISK_SCALARS,
        _small_org_unit, lambda data: data["sovereigntyRisk"]["vendorShares"],
        ("vendorShares.vendor", "vendorBlastRadius.criticalApplications",
         "platformBlastRadius.criticalApplications"),
    ),
    "sovereigntyRiskByOrgUnit": (
        "query($level: Int) { sovereigntyRiskByOrgUnit(level: $level) { %s } }",
        RISK_RICH, RISK_SCALARS, ({"level": 1}, {"level": 2}),
        lambda data: data["sovereigntyRiskByOrgUnit"],
        ("orgUnit", "vendorShares.vendor", "vendorBlastRadius.criticalApplications",
         "platformBlastRadius.criticalApplications"),
    ),
    "incidents": (
        'query($n: Int) { incidents(first: $n, orderBy: "number") { edges { node { %s } } } }',
        "knownErrors " + RELATED + " relatedOpenIncidents " + RELATED,
        "knownErrors { number } relatedOpenIncidents { number }", ({"n": 3}, {"n": 30}),
        lambda data: [
            item for edge in data["incidents"]["edges"]
            for item in edge["node"]["knownErrors"] + edge["node"]["relatedOpenIncidents"]
        ],
        ("edges.node.knownErrors", "edges.node.relatedOpenIncidents"),
    ),
}  # fmt: skip


def _filled(value) -> set[str]:
    """Dotted paths of the object and list fields below `value` that hold something somewhere
    (through lists)."""
    found = set()
    if isinstance(value, list):
        for item in value:
            found |= _filled(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                found |= {key} | {f"{key}.{path}" for path in _filled(item)}
    return found


@pytest.mark.parametrize("name", sorted(ANALYSES))
def test_an_analysis_field_costs_the_same_for_few_and_many_rows(post, name):
    document, rich, scalars, variables, rows, instances = ANALYSES[name]
    few_variables, many_variables = variables() if callable(variables) else variables
    extra, found, filled = {}, {}, {}
    for size, values in (("few", few_variables), ("many", many_variables)):
        body, sql = post(document % rich, values)
        _plain, plain_sql = post(document % scalars, values)
        extra[size] = len(sql) - len(plain_sql)
        found[size] = len(rows(body["data"]))
        filled[size] = _filled(body["data"])
    assert 0 < found["few"] < found["many"], found
    assert {f"{name}.{path}" for path in instances} <= filled["few"], filled["few"]
    assert extra["few"] == extra["many"], (
        f"{name}: the selection adds {extra['few']} queries for {found['few']} rows, "
        f"{extra['many']} for {found['many']}"
    )

"""Query counts of the analysis fields (issue 9): answers that are plain objects holding model
instances a service produced (an impact analysis, dependents and dependencies, change
conflicts, landscape snapshots and diffs). Asked for with to-one relations and lists below the
instances, they cost the same number of queries for few rows as for many: the instances are
loaded again for the selection, one query per list level (landkarte.graphql.load_selected).

Impact analysis and the dependency walks cost the same at every depth, although every deeper
walk reaches more. Where a service's own queries depend on its input (the freeze windows a
period overlaps), the tests compare what the selection adds: the queries with the rich
selection minus those with scalars only, for the same arguments. The other analysis fields
(lifecycle, tech radar, governance, sovereignty risk, known errors) are measured on the demo
city in test_query_counts.py."""

import datetime
import json
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from architecture.services.impact import impact_analysis
from cmdb.factories import (
    ApplicationComponentFactory,
    ApplicationFactory,
    DataObjectFactory,
    InterfaceFactory,
    ITComponentFactory,
    OrgUnitFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
    VendorFactory,
)
from cmdb.models import Application
from itsm.models import Change, FreezeWindow, Incident
from itsm.services.conflicts import change_conflicts

pytestmark = pytest.mark.django_db

DEPTHS = [1, 2, None]

# What a client asks about an application: to-one relations (two levels) and a list with a
# to-one relation below it.
APPLICATION = (
    "name vendor { name parent { name } } ownerOrgUnit { name } ownerTeam { name } "
    "services { name ownerTeam { name } }"
)


def _app(name, vendor=None):
    return ApplicationFactory(
        name=name,
        owner_team=TeamFactory(),
        vendor=vendor or VendorFactory(parent=VendorFactory()),
    )


@pytest.fixture
def city(db):
    """Starts: "L0 s1" (supplied by the group), "L0 s2" (by its subsidiary, and using the
    component "Database"), "L0 uses" (using the group's product); behind each a tree of
    consumers three levels deep, with a cycle back to a start. Every application has an owner
    team and a vendor with a parent; at every level a service (with an owner team and a
    consuming org unit below another), an open incident and a scheduled change (with teams)."""
    started = timezone.now()
    group = VendorFactory(name="Group", country="US")
    subsidiary = VendorFactory(name="Group DE", parent=group)
    product = ITComponentFactory(name="Group Cloud", vendor=group)
    other = ITComponentFactory(name="Database", vendor=VendorFactory(name="Other"))
    s1, s2, uses = _app("L0 s1", group), _app("L0 s2", subsidiary), _app("L0 uses")
    ApplicationComponentFactory(application=uses, component=product)
    ApplicationComponentFactory(application=s2, component=other)
    levels = [[s1, s2, uses]]
    for level in range(1, 4):
        following = []
        for i, provider in enumerate(levels[-1]):
            consumers = [_app(f"L{level} {i}a"), _app(f"L{level} {i}b")]
            InterfaceFactory(provider=provider, consumers=consumers)
            following += consumers
        levels.append(following)
    InterfaceFactory(provider=levels[3][0], consumers=[s1])  # a cycle back to a start
    requester = UserFactory(username="requester-of-level-0")
    now = timezone.now()
    for depth, apps in enumerate(levels):
        ServiceFactory(
            applications=apps,
            owner_team=TeamFactory(),
            consumer_org_units=[OrgUnitFactory(parent=OrgUnitFactory())],
        )
        incident = Incident.objects.create(
            number=f"INC-2026-00000{depth}", title="Down", impact="low", urgency="low",
            priority="p4", state="new", assigned_team=TeamFactory(),
            caller=requester if depth == 0 else None,
        )  # fmt: skip
        incident.applications.add(*apps)
        change = Change.objects.create(
            number=f"CHG-2026-00000{depth}", title="Patch", change_type="normal",
            state="scheduled", requested_by=requester, owner_team=TeamFactory(),
            planned_start=now, planned_end=now + datetime.timedelta(hours=2),
        )  # fmt: skip
        change.applications.add(*apps)
    return SimpleNamespace(
        started=started, vendor=subsidiary, component=other, application=s1, levels=levels,
        requester=requester,
    )  # fmt: skip


@pytest.fixture
def run(db, make_user):
    """POST a document as a user (an administrator by default); returns (data, queries)."""
    admin = make_user("admin", superuser=True)

    def post(document, variables=None, user=None):
        client = Client()
        client.force_login(user or admin)
        payload = json.dumps({"query": document, "variables": variables or {}})
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/graphql/", payload, content_type="application/json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"], len(captured.captured_queries)

    return post


# -- impact analysis -----------------------------------------------------------------------------

IMPACT = """query($subject: ID, $depth: Int) {{ impactAnalysis({kind}: $subject, depth: $depth) {{
  starts {{ reason application {{ {app} }} }}
  applications {{ depth application {{ {app} dependents {{ application {{ name }} }} }}
                  path {{ name ownerTeam {{ name }} }} }}
  services {{ name ownerTeam {{ name }} consumerOrgUnits {{ name }} }}
  orgUnits {{ name parent {{ name }} }}
  openIncidents {{ number assignedTeam {{ name }} applications {{ name }} }}
  scheduledChanges {{ number ownerTeam {{ name }} applications {{ name }} }}
}} }}"""

TYPE_NAMES = {
    "vendor": "VendorType",
    "component": "ITComponentType",
    "application": "ApplicationType",
}
LISTS = ("applications", "services", "orgUnits", "openIncidents", "scheduledChanges")


@pytest.mark.parametrize("kind", ["vendor", "component", "application"])
def test_impact_analysis_costs_the_same_at_every_depth(city, run, kind):
    subject = getattr(city, kind)
    document = IMPACT.format(kind=kind, app=APPLICATION)
    counts, sizes = [], []
    for depth in DEPTHS:
        variables = {"subject": to_global_id(TYPE_NAMES[kind], subject.pk), "depth": depth}
        data, count = run(document, variables)
        impact = data["impactAnalysis"]
        counts.append(count)
        sizes.append(tuple(len(impact[name]) for name in LISTS))
        # The selection is answered, below every application.
        expected = impact_analysis(**{kind: subject}, depth=depth)
        assert [(i["application"]["name"], i["depth"], [a["name"] for a in i["path"]])
                for i in impact["applications"]] == [
            (i.application.name, i.depth, [a.name for a in i.path]) for i in expected.applications
        ]  # fmt: skip
        for item in impact["applications"] + impact["starts"]:
            application = item["application"]
            assert application["ownerTeam"] and application["vendor"]
            assert application["services"] and application["services"][0]["ownerTeam"]
    # Every deeper walk reaches more of everything: a query per row would have shown.
    for shallow, deep in zip(sizes, sizes[1:], strict=False):
        assert all(a < b for a, b in zip(shallow, deep, strict=True)), sizes
    assert len(set(counts)) == 1, f"queries at depths {DEPTHS}: {counts} for {sizes}"


def test_impact_analysis_shows_a_requester_only_their_incidents(city, run, roles):
    from django.contrib.auth.models import Group

    city.requester.groups.add(Group.objects.get(name="requester"))
    document = "query($v: ID) { impactAnalysis(vendor: $v) { openIncidents { number } } }"
    variables = {"v": to_global_id("VendorType", city.vendor.pk)}
    data, _count = run(document, variables, user=city.requester)
    assert [i["number"] for i in data["impactAnalysis"]["openIncidents"]] == ["INC-2026-000000"]
    data, _count = run(document, variables)
    assert len(data["impactAnalysis"]["openIncidents"]) == 4


# -- dependents and dependencies ------------------------------------------------------------------

GRAPH = """query($id: ID!, $depth: Int) {{ node(id: $id) {{ ... on ApplicationType {{
  {field}(depth: $depth) {{ depth application {{ {app} }} path {{ name ownerTeam {{ name }} }} }}
}} }} }}"""


@pytest.mark.parametrize("field", ["dependents", "dependencies"])
def test_a_dependency_walk_costs_the_same_at_every_depth(city, run, field):
    # The dependents of a start, the dependencies of a consumer at the far end.
    app = city.application if field == "dependents" else city.levels[3][1]
    document = GRAPH.format(field=field, app=APPLICATION)
    counts, sizes = [], []
    for depth in DEPTHS:
        variables = {"id": to_global_id("ApplicationType", app.pk), "depth": depth}
        data, count = run(document, variables)
        found = data["node"][field]
        counts.append(count)
        sizes.append(len(found))
        assert all(item["application"]["ownerTeam"] for item in found)
        assert all(item["application"]["services"] for item in found)
        assert all(item["path"][-1]["name"] == item["application"]["name"] for item in found)
    assert sizes == sorted(set(sizes)), sizes  # more at every depth
    assert len(set(counts)) == 1, f"queries at depths {DEPTHS}: {counts} for {sizes}"


LIST = """query($first: Int) { applications(first: $first, orderBy: "name") { edges { node {
  name
  dependents(depth: 2) { depth application { ownerTeam { name } services { name } }
                         path { name } }
  dependencies(depth: 2) { application { name vendor { name } } }
} } } }"""


def test_dependency_walks_on_a_list_cost_the_same_for_few_and_many_rows(city, run):
    few, few_count = run(LIST, {"first": 2})
    many, many_count = run(LIST, {"first": 100})
    few_rows = [edge["node"] for edge in few["applications"]["edges"]]
    many_rows = [edge["node"] for edge in many["applications"]["edges"]]
    assert len(few_rows) == 2 and len(many_rows) == Application.objects.count()
    assert all(row["dependents"] for row in few_rows)  # the starts: "L0 s1", "L0 s2"
    found = [sum(len(row[f]) for row in rows for f in ("dependents", "dependencies"))
             for rows in (few_rows, many_rows)]  # fmt: skip
    assert found[0] < found[1]
    assert few_count == many_count, f"{few_count} queries for 2 rows, {many_count} for all"
    assert many_rows[:2] == few_rows


# -- change conflicts -----------------------------------------------------------------------------


@pytest.fixture
def changes(db):
    """Six scheduled changes, each overlapping the next two, alternately on an application and
    on one that depends on it; a freeze window over the first."""
    provider, consumer = _app("Provider"), _app("Consumer")
    InterfaceFactory(provider=provider, consumers=[consumer])
    user, now = UserFactory(), timezone.now()
    hour = datetime.timedelta(hours=1)
    made = []
    for i in range(6):
        change = Change.objects.create(
            number=f"CHG-2026-00010{i}", title="Patch", change_type="normal", state="scheduled",
            requested_by=user, owner_team=TeamFactory(), planned_start=now + 2 * i * hour,
            planned_end=now + (2 * i + 5) * hour,
        )  # fmt: skip
        change.applications.add(provider if i % 2 == 0 else consumer)
        made.append(change)
    FreezeWindow.objects.create(
        name="Year end", start=now + hour, end=now + 2 * hour, applies_to_all=True
    )
    return SimpleNamespace(start=now, changes=made, hour=hour)


CONFLICT = """kind path message
  change { number ownerTeam { name } applications { name ownerTeam { name } } }
  otherChange { number ownerTeam { name } }
  freezeWindow { name applications { name } }
  applications { name vendor { name } ownerTeam { name } services { name } }"""
CONFLICT_SCALARS = "kind path message"
PERIOD = "query($from: DateTime!, $to: DateTime!) { changeConflicts(from: $from, to: $to) { %s } }"
CHANGES = """query($first: Int) { changes(first: $first, orderBy: "number") { edges { node {
  number conflicts { %s } } } } }"""


def _extra(run, document, scalars, variables):
    """(data, queries the rich selection adds to the same field with scalars only)."""
    data, rich = run(document, variables)
    _data, plain = run(scalars, variables)
    return data, rich - plain


def test_change_conflicts_cost_the_same_for_few_and_many(changes, run):
    periods = {
        "few": {"from": changes.start.isoformat(),
                "to": (changes.start + 3 * changes.hour).isoformat()},
        "many": {"from": changes.start.isoformat(),
                 "to": (changes.start + 20 * changes.hour).isoformat()},
    }  # fmt: skip
    extra, found = {}, {}
    for size, variables in periods.items():
        data, extra[size] = _extra(run, PERIOD % CONFLICT, PERIOD % CONFLICT_SCALARS, variables)
        found[size] = data["changeConflicts"]
        start, end = (datetime.datetime.fromisoformat(variables[k]) for k in ("from", "to"))
        assert len(found[size]) == len(change_conflicts(start, end))
    assert 0 < len(found["few"]) < len(found["many"])
    assert {c["kind"] for c in found["many"]} == {
        "same_application", "dependent_application", "freeze_window",
    }  # fmt: skip
    assert extra["few"] == extra["many"], extra


def test_conflicts_on_the_change_list_cost_the_same_for_few_and_many_rows(changes, run):
    extra, found = {}, {}
    for size, first in (("few", 2), ("many", 6)):
        data, extra[size] = _extra(
            run, CHANGES % CONFLICT, CHANGES % CONFLICT_SCALARS, {"first": first}
        )
        found[size] = [c for edge in data["changes"]["edges"] for c in edge["node"]["conflicts"]]
    assert 0 < len(found["few"]) < len(found["many"])
    assert all(c["change"]["ownerTeam"] and c["applications"] for c in found["many"])
    assert extra["few"] == extra["many"], extra


# -- time travel ---------------------------------------------------------------------------------

SNAPSHOT = (
    "query($at: DateTime!) { landscapeAsOf(at: $at) { source applications { "
    + APPLICATION
    + """ }
  interfaces { name provider { name ownerTeam { name } } consumers { name } dataObjects { name } }
  scheduledChanges { number ownerTeam { name } applications { name } }
} }"""
)
SNAPSHOT_SCALARS = """query($at: DateTime!) { landscapeAsOf(at: $at) { source
  applications { name } interfaces { name } scheduledChanges { number } } }"""
DIFF = (
    "query($from: DateTime!, $to: DateTime!) { landscapeDiff(from: $from, to: $to) { "
    "appearedApplications { "
    + APPLICATION
    + """ }
  appearedInterfaces { name provider { name ownerTeam { name } } consumers { name } }
  changed { name }
} }"""
)
DIFF_SCALARS = """query($from: DateTime!, $to: DateTime!) { landscapeDiff(from: $from, to: $to) {
  appearedApplications { name } appearedInterfaces { name } changed { name } } }"""


def _grow(city):
    """More applications, each providing an interface with a data object to a new consumer."""
    for i in range(6):
        provider = _app(f"New {i}")
        InterfaceFactory(
            provider=provider, consumers=[_app(f"New consumer {i}")],
            data_objects=[DataObjectFactory()],
        )  # fmt: skip
        ServiceFactory(applications=[provider], owner_team=TeamFactory())


def test_landscape_snapshots_and_diffs_cost_the_same_for_few_and_many_records(city, run):
    future = (timezone.now() + datetime.timedelta(days=400)).isoformat()
    first = timezone.now()
    extra, found = {"past": [], "plan": [], "diff": []}, {"past": [], "plan": [], "diff": []}

    def measure(until):
        for kind, variables in (("past", {"at": until.isoformat()}), ("plan", {"at": future})):
            data, added = _extra(run, SNAPSHOT, SNAPSHOT_SCALARS, variables)
            snapshot = data["landscapeAsOf"]
            assert snapshot["source"] == ("history" if kind == "past" else "plan")
            assert all(app["ownerTeam"] and app["vendor"] for app in snapshot["applications"])
            extra[kind].append(added)
            found[kind].append((len(snapshot["applications"]), len(snapshot["interfaces"])))
        variables = {"from": city.started.isoformat(), "to": until.isoformat()}
        data, added = _extra(run, DIFF, DIFF_SCALARS, variables)
        diff = data["landscapeDiff"]
        extra["diff"].append(added)
        found["diff"].append((len(diff["appearedApplications"]), len(diff["appearedInterfaces"])))

    measure(first)
    _grow(city)
    measure(timezone.now())
    for kind in extra:
        (few_apps, few_interfaces), (many_apps, many_interfaces) = found[kind]
        assert 0 < few_apps < many_apps and 0 < few_interfaces < many_interfaces, found
        assert extra[kind][0] == extra[kind][1], (kind, extra[kind], found[kind])


def test_a_past_snapshot_shows_the_records_as_they_were(city, run):
    """Historical records are not loaded again (that would show them as they are now): only
    their relations are."""
    app = city.application
    moment = timezone.now()
    app.name = "Renamed since"
    app.owner_team = TeamFactory(name="New owners")
    app.save()
    document = """query($at: DateTime!) { landscapeAsOf(at: $at) {
      applications { name ownerTeam { name } } } }"""
    data, _count = run(document, {"at": moment.isoformat()})
    names = {a["name"]: a["ownerTeam"]["name"] for a in data["landscapeAsOf"]["applications"]}
    assert "Renamed since" not in names
    assert names["L0 s1"] != "New owners"


def test_aliases_of_an_instance_field_keep_their_own_selections(city, run):
    """The two walks share their answers; each alias loads the applications for its own
    selection (here: the same relation with different filters)."""
    document = """query($id: ID!) { node(id: $id) { ... on ApplicationType {
      technical: dependents(depth: 2) { application { services(kind: "technical") { name } } }
      all: dependents(depth: 2) { application { services { name } } }
    } } }"""
    data, _count = run(document, {"id": to_global_id("ApplicationType", city.application.pk)})
    assert [item["application"]["services"] for item in data["node"]["technical"]] == [[]] * 6
    assert all(item["application"]["services"] for item in data["node"]["all"])

"""Impact analysis agrees with a breadth-first search done in Python over the interface table,
collects what hangs off the affected applications, and costs a constant number of queries."""

import datetime
import random
from collections import deque

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from architecture.services.impact import (
    REASON_SELF,
    REASON_SUPPLIED_BY,
    REASON_USES_COMPONENT,
    impact_analysis,
)
from cmdb.choices import ApplicationKind, Environment, Protocol
from cmdb.factories import (
    ApplicationFactory,
    InterfaceFactory,
    OrgUnitFactory,
    ServiceFactory,
    UserFactory,
)
from cmdb.models import (
    Application,
    ApplicationComponent,
    Interface,
    InterfaceConsumer,
    ITComponent,
    OrgUnit,
    Vendor,
)
from itsm.models import Change, Incident

pytestmark = pytest.mark.django_db

MAX_QUERIES = 10


def build_landscape(rng: random.Random, n_apps: int, n_interfaces: int):
    """Vendors (one group with a subsidiary and a sub-subsidiary), components, applications
    supplied by or using them, and random interfaces (cycles are likely)."""
    unit = OrgUnit.objects.create(name=f"City {n_apps}", code=f"C{n_apps}", kind="administration")
    group = Vendor.objects.create(name=f"Group {n_apps}", country="US")
    sub = Vendor.objects.create(name=f"Group DE {n_apps}", country="DE", parent=group)
    subsub = Vendor.objects.create(name=f"Group Cloud {n_apps}", country="IE", parent=sub)
    other = Vendor.objects.create(name=f"Other {n_apps}", country="DE")
    third = Vendor.objects.create(name=f"Third {n_apps}", country="FR")
    vendors = [group, sub, subsub, other, third, None, None]
    components = [
        ITComponent.objects.create(name=f"Product {n_apps}-{i}", vendor=rng.choice(vendors[:5]))
        for i in range(6)
    ]
    apps = Application.objects.bulk_create(
        [
            Application(
                name=f"App {i}",
                kind=ApplicationKind.OWN_DEVELOPMENT,
                owner_org_unit=unit,
                vendor=rng.choice(vendors),
            )
            for i in range(n_apps)
        ]
    )
    ApplicationComponent.objects.bulk_create(
        [
            ApplicationComponent(
                application=app, component=component, environment=Environment.PRODUCTION
            )
            for app in apps
            for component in rng.sample(components, rng.randint(0, 2))
        ]
    )
    interfaces = Interface.objects.bulk_create(
        [
            Interface(name=f"If {i}", provider=rng.choice(apps), protocol=Protocol.REST)
            for i in range(n_interfaces)
        ]
    )
    links = []
    for interface in interfaces:
        candidates = [a for a in apps if a.pk != interface.provider_id]
        for consumer in rng.sample(candidates, rng.randint(1, 2)):
            links.append(
                InterfaceConsumer(
                    interface=interface, consumer=consumer, provider_id=interface.provider_id
                )
            )
    InterfaceConsumer.objects.bulk_create(links)
    return {"group": group, "sub": sub, "subsub": subsub, "other": other, "third": third}


def top(vendor: Vendor) -> Vendor:
    while vendor.parent is not None:
        vendor = vendor.parent
    return vendor


def expected_starts(vendor: Vendor) -> set[int]:
    group = {v.pk for v in Vendor.objects.all() if top(v).pk == top(vendor).pk}
    supplied = {a.pk for a in Application.objects.all() if a.vendor_id in group}
    using = {
        use.application_id
        for use in ApplicationComponent.objects.select_related("component")
        if use.component.vendor_id in group
    }
    return supplied | using


def python_dependents(starts: set[int], depth: int | None) -> dict[int, int]:
    """Multi-source BFS backwards (provider → consumer) over the InterfaceConsumer rows."""
    consumers: dict[int, set[int]] = {}
    for link in InterfaceConsumer.objects.all():
        consumers.setdefault(link.provider_id, set()).add(link.consumer_id)
    seen = {start: 0 for start in starts}
    queue = deque(starts)
    while queue:
        node = queue.popleft()
        if depth is not None and seen[node] >= depth:
            continue
        for consumer in consumers.get(node, ()):
            if consumer not in seen:
                seen[consumer] = seen[node] + 1
                queue.append(consumer)
    return seen


def check_paths(impact, starts: set[int]):
    edges = set(InterfaceConsumer.objects.values_list("consumer_id", "provider_id"))
    for item in impact.applications:
        path = [app.pk for app in item.path]
        assert len(path) == item.depth + 1
        assert path[0] in starts
        assert path[-1] == item.application.pk
        for provider, consumer in zip(path, path[1:], strict=False):
            assert (consumer, provider) in edges


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_vendor_impact_equals_union_of_dependents(seed):
    rng = random.Random(seed)
    vendors = build_landscape(rng, rng.randint(30, 40), rng.randint(30, 45))
    for key in ["group", "sub", "subsub", "other", "third"]:
        vendor = vendors[key]
        starts = expected_starts(vendor)
        for depth in [None, 1, 2]:
            impact = impact_analysis(vendor=vendor, depth=depth)
            assert {s.application_id for s in impact.starts} == starts
            assert {s.reason for s in impact.starts} <= {REASON_SUPPLIED_BY, REASON_USES_COMPONENT}
            got = {item.application.pk: item.depth for item in impact.applications}
            assert got == python_dependents(starts, depth), (seed, key, depth)
            check_paths(impact, starts)


def test_vendor_group_is_the_whole_group_from_any_member():
    rng = random.Random(7)
    vendors = build_landscape(rng, 35, 40)
    results = {
        key: {item.application.pk for item in impact_analysis(vendor=vendors[key]).applications}
        for key in ["group", "sub", "subsub"]
    }
    assert results["group"] == results["sub"] == results["subsub"]


def test_application_and_component_starts():
    a, b, c = ApplicationFactory(), ApplicationFactory(), ApplicationFactory()
    InterfaceFactory(provider=a, consumers=[b])
    InterfaceFactory(provider=b, consumers=[c, a])  # a cycle a ← b ← a
    impact = impact_analysis(application=a)
    assert [(s.application_id, s.reason) for s in impact.starts] == [(a.pk, REASON_SELF)]
    assert {i.application.pk: i.depth for i in impact.applications} == {a.pk: 0, b.pk: 1, c.pk: 2}
    assert [app.pk for app in impact.applications[-1].path] == [a.pk, b.pk, c.pk]
    assert [i.application.pk for i in impact_analysis(application=a, depth=0).applications] == [
        a.pk
    ]

    component = ITComponent.objects.create(name="PostgreSQL", version="15")
    ApplicationComponent.objects.create(application=b, component=component)
    impact = impact_analysis(component=component)
    assert [(s.application_id, s.reason) for s in impact.starts] == [(b.pk, REASON_USES_COMPONENT)]
    assert {i.application.pk: i.depth for i in impact.applications} == {b.pk: 0, a.pk: 1, c.pk: 1}


def test_as_of_leaves_out_retired_interfaces():
    a, b, c = ApplicationFactory(), ApplicationFactory(), ApplicationFactory()
    InterfaceFactory(provider=a, consumers=[b], end_of_life=datetime.date(2024, 1, 1))
    InterfaceFactory(provider=a, consumers=[c])
    impact = impact_analysis(application=a, as_of=datetime.date(2026, 1, 1))
    assert {i.application.pk for i in impact.applications} == {a.pk, c.pk}
    impact = impact_analysis(application=a, as_of=datetime.date(2023, 1, 1))
    assert {i.application.pk for i in impact.applications} == {a.pk, b.pk, c.pk}


def test_services_org_units_incidents_and_changes_are_collected():
    a, b, c, d = (ApplicationFactory() for _ in range(4))
    InterfaceFactory(provider=a, consumers=[b])
    InterfaceFactory(provider=b, consumers=[c])
    ou1, ou2, ou3 = OrgUnitFactory(), OrgUnitFactory(), OrgUnitFactory()
    s1 = ServiceFactory(applications=[b], consumer_org_units=[ou1, ou2])
    ServiceFactory(applications=[d], consumer_org_units=[ou3])
    open_incident = Incident.objects.create(
        number="INC-2026-000001", title="Down", impact="low", urgency="low", priority="p4",
        state="new",
    )  # fmt: skip
    open_incident.applications.add(c)
    closed = Incident.objects.create(
        number="INC-2026-000002", title="Old", impact="low", urgency="low", priority="p4",
        state="cancelled",
    )  # fmt: skip
    closed.applications.add(b)
    elsewhere = Incident.objects.create(
        number="INC-2026-000003", title="Other", impact="low", urgency="low", priority="p4",
        state="new",
    )  # fmt: skip
    elsewhere.applications.add(d)
    user = UserFactory()
    now = timezone.now()
    scheduled = Change.objects.create(
        number="CHG-2026-000001", title="Patch", change_type="normal", state="scheduled",
        requested_by=user, planned_start=now, planned_end=now + datetime.timedelta(hours=2),
    )  # fmt: skip
    scheduled.applications.add(a)
    draft = Change.objects.create(
        number="CHG-2026-000002", title="Idea", change_type="normal", state="draft",
        requested_by=user, planned_start=now, planned_end=now + datetime.timedelta(hours=2),
    )  # fmt: skip
    draft.applications.add(c)

    impact = impact_analysis(application=a)
    assert impact.services == [s1]
    assert set(impact.org_units) == {ou1, ou2}
    assert impact.open_incidents == [open_incident]
    assert impact.scheduled_changes == [scheduled]


def count_queries(**kwargs) -> int:
    with CaptureQueriesContext(connection) as ctx:
        impact_analysis(**kwargs)
    return len(ctx.captured_queries)


def test_query_count_is_constant():
    rng = random.Random(11)
    small = build_landscape(rng, 30, 30)
    counts = [
        count_queries(vendor=small["group"], depth=1),
        count_queries(vendor=small["group"], depth=None),
    ]
    large = build_landscape(rng, 120, 160)
    counts += [
        count_queries(vendor=large["group"], depth=1),
        count_queries(vendor=large["group"], depth=None),
    ]
    assert max(counts) <= MAX_QUERIES
    assert len(set(counts)) == 1, counts

    # A chain deeper than the first bound of the unlimited walk costs at most one more query.
    chain = [ApplicationFactory() for _ in range(25)]
    for provider, consumer in zip(chain, chain[1:], strict=False):
        InterfaceFactory(provider=provider, consumers=[consumer])
    with CaptureQueriesContext(connection) as ctx:
        impact = impact_analysis(application=chain[0])
    assert len(ctx.captured_queries) <= MAX_QUERIES
    assert [i.depth for i in impact.applications] == list(range(25))
    assert [app.pk for app in impact.applications[-1].path] == [app.pk for app in chain]

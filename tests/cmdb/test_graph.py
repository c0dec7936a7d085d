"""The recursive CTE agrees with a breadth-first search done in Python over the same table."""

import datetime
import random
from collections import deque

import pytest

from cmdb import graph
from cmdb.choices import ApplicationKind, Protocol
from cmdb.models import Application, Interface, InterfaceConsumer, OrgUnit

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 1)


def build_random_graph(rng: random.Random, n_apps: int, n_interfaces: int, retired_share=0.0):
    """Applications and interfaces with random consumers; cycles are likely."""
    unit = OrgUnit.objects.create(name="City", code="C", kind="administration")
    apps = Application.objects.bulk_create(
        [
            Application(name=f"App {i}", kind=ApplicationKind.OWN_DEVELOPMENT, owner_org_unit=unit)
            for i in range(n_apps)
        ]
    )
    interfaces = []
    for i in range(n_interfaces):
        retired = rng.random() < retired_share
        interfaces.append(
            Interface(
                name=f"If {i}",
                provider=rng.choice(apps),
                protocol=Protocol.REST,
                active_from=datetime.date(2020, 1, 1),
                end_of_life=datetime.date(2025, 1, 1) if retired else None,
            )
        )
    interfaces = Interface.objects.bulk_create(interfaces)
    links = []
    for interface in interfaces:
        candidates = [a for a in apps if a.pk != interface.provider_id]
        for consumer in rng.sample(candidates, rng.randint(1, 3)):
            links.append(
                InterfaceConsumer(
                    interface=interface, consumer=consumer, provider_id=interface.provider_id
                )
            )
    InterfaceConsumer.objects.bulk_create(links)
    return apps


def python_bfs(start: int, depth: int | None, as_of=None, forwards=True) -> dict[int, int]:
    """Minimum depth of every application reachable from `start`, from the interface table."""
    adjacency: dict[int, set[int]] = {}
    for link in InterfaceConsumer.objects.select_related("interface"):
        if as_of is not None and not link.interface.is_alive(as_of):
            continue
        src, dst = (
            (link.consumer_id, link.provider_id)
            if forwards
            else (link.provider_id, link.consumer_id)
        )
        adjacency.setdefault(src, set()).add(dst)
    seen = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if depth is not None and seen[node] >= depth:
            continue
        for nxt in adjacency.get(node, ()):
            if nxt not in seen:
                seen[nxt] = seen[node] + 1
                queue.append(nxt)
    seen.pop(start)
    return seen


def assert_paths_valid(start: int, nodes, forwards: bool, as_of=None):
    edges = set()
    for link in InterfaceConsumer.objects.select_related("interface"):
        if as_of is not None and not link.interface.is_alive(as_of):
            continue
        edges.add(
            (link.consumer_id, link.provider_id)
            if forwards
            else (link.provider_id, link.consumer_id)
        )
    for node in nodes:
        assert len(node.path) == node.depth
        assert node.path[-1] == node.application_id
        hops = [start, *node.path]
        for a, b in zip(hops, hops[1:], strict=False):
            assert (a, b) in edges, f"path {hops} uses a missing edge {a}->{b}"


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("depth", [1, 3, None])
def test_dependents_equal_python_bfs(seed, depth):
    rng = random.Random(seed)
    apps = build_random_graph(rng, n_apps=40, n_interfaces=70)
    for start in rng.sample(apps, 8):
        expected = python_bfs(start.pk, depth, forwards=False)
        nodes = graph.dependents(start, depth=depth)
        assert {n.application_id: n.depth for n in nodes} == expected
        assert_paths_valid(start.pk, nodes, forwards=False)


@pytest.mark.parametrize("depth", [1, 3, None])
def test_dependencies_equal_python_bfs(depth):
    rng = random.Random(7)
    apps = build_random_graph(rng, n_apps=40, n_interfaces=70)
    for start in rng.sample(apps, 8):
        expected = python_bfs(start.pk, depth, forwards=True)
        nodes = graph.dependencies(start, depth=depth)
        assert {n.application_id: n.depth for n in nodes} == expected
        assert_paths_valid(start.pk, nodes, forwards=True)


@pytest.mark.parametrize("depth", [1, 3, None])
def test_as_of_excludes_retired_interfaces(depth):
    rng = random.Random(11)
    apps = build_random_graph(rng, n_apps=40, n_interfaces=90, retired_share=0.4)
    differs = False
    for start in rng.sample(apps, 10):
        expected = python_bfs(start.pk, depth, as_of=TODAY, forwards=False)
        nodes = graph.dependents(start, depth=depth, as_of=TODAY)
        assert {n.application_id: n.depth for n in nodes} == expected
        assert_paths_valid(start.pk, nodes, forwards=False, as_of=TODAY)
        everything = python_bfs(start.pk, depth, forwards=False)
        differs |= everything != expected
    assert differs, "the retired interfaces should change at least one answer"


def test_as_of_excludes_applications_not_alive():
    unit = OrgUnit.objects.create(name="City", code="C", kind="administration")
    base = Application.objects.create(name="IdP", kind="platform", owner_org_unit=unit)
    retired = Application.objects.create(
        name="Old", kind="own_development", owner_org_unit=unit,
        active_date=datetime.date(2010, 1, 1), end_of_life_date=datetime.date(2020, 1, 1),
    )  # fmt: skip
    future = Application.objects.create(
        name="New", kind="own_development", owner_org_unit=unit,
        plan_date=datetime.date(2026, 1, 1), active_date=datetime.date(2027, 1, 1),
    )  # fmt: skip
    for consumer in (retired, future):
        interface = Interface.objects.create(name=f"to {consumer}", provider=base, protocol="rest")
        InterfaceConsumer.objects.create(interface=interface, consumer=consumer)
    ids = lambda nodes: {n.application_id for n in nodes}  # noqa: E731
    assert ids(graph.dependents(base)) == {retired.pk, future.pk}
    assert ids(graph.dependents(base, as_of=datetime.date(2015, 1, 1))) == {retired.pk}
    assert ids(graph.dependents(base, as_of=TODAY)) == set()
    assert ids(graph.dependents(base, as_of=datetime.date(2027, 6, 1))) == {future.pk}


def test_cycle_terminates_and_excludes_start():
    unit = OrgUnit.objects.create(name="City", code="C", kind="administration")
    a, b, c = (
        Application.objects.create(name=n, kind="platform", owner_org_unit=unit) for n in "ABC"
    )
    for provider, consumer in [(a, b), (b, c), (c, a)]:
        interface = Interface.objects.create(name=f"{provider}>{consumer}", provider=provider,
                                             protocol="rest")  # fmt: skip
        InterfaceConsumer.objects.create(interface=interface, consumer=consumer)
    nodes = graph.dependents(a, depth=None)
    assert [(n.application_id, n.depth) for n in nodes] == [(b.pk, 1), (c.pk, 2)]
    assert nodes[1].path == [b.pk, c.pk]
    assert graph.dependents(a, depth=0) == []


def test_unlimited_depth_on_a_long_chain_with_a_shortcut_and_a_cycle():
    """Deeper than the first bounds tried: every node is found at its shortest depth."""
    unit = OrgUnit.objects.create(name="City", code="C", kind="administration")
    chain = [
        Application.objects.create(name=f"N{i}", kind="platform", owner_org_unit=unit)
        for i in range(13)
    ]
    pairs = [(chain[i], chain[i + 1]) for i in range(12)]  # provider -> consumer
    pairs += [(chain[3], chain[9]), (chain[12], chain[0])]  # a shortcut and a cycle
    for provider, consumer in pairs:
        interface = Interface.objects.create(
            name=f"{provider}>{consumer}", provider=provider, protocol="rest"
        )
        InterfaceConsumer.objects.create(interface=interface, consumer=consumer)
    nodes = graph.dependents(chain[0], depth=None)
    assert {n.application_id: n.depth for n in nodes} == python_bfs(
        chain[0].pk, None, forwards=False
    )
    by_id = {n.application_id: n for n in nodes}
    assert by_id[chain[12].pk].depth == 7  # 0-1-2-3-9-10-11-12
    assert by_id[chain[12].pk].path == [c.pk for c in (chain[1:4] + chain[9:13])]
    assert chain[0].pk not in by_id


@pytest.mark.parametrize("depth", [1, 3, None])
def test_loaded_graph_agrees_with_the_cte(depth):
    rng = random.Random(5)
    apps = build_random_graph(rng, n_apps=40, n_interfaces=80, retired_share=0.3)
    for as_of in (None, TODAY):
        loaded = graph.LoadedGraph(as_of=as_of)
        for start in rng.sample(apps, 6):
            for walk, cte in ((loaded.dependents, graph.dependents),
                              (loaded.dependencies, graph.dependencies)):  # fmt: skip
                expected = {n.application_id: n.depth for n in cte(start, depth, as_of)}
                assert walk(start.pk, depth=depth) == expected
            # With paths: the same nodes, depths and parents (smallest id) as the CTE.
            for nodes, cte in ((loaded.dependent_nodes, graph.dependents),
                               (loaded.dependency_nodes, graph.dependencies)):  # fmt: skip
                assert nodes(start.pk, depth) == cte(start, depth, as_of)
    # Several starts at once: the union, each at its distance from the nearest start.
    a, b = apps[0].pk, apps[1].pk
    union = graph.LoadedGraph().dependents(a, b)
    assert a not in union and b not in union

"""The dependency graph walks cost one query whatever the depth, and agree with networkx.

Query counts: dependents/dependencies at depths 1, 2, … and unlimited each send one statement,
on a landscape where every deeper walk reaches more applications. Properties (hypothesis, on
random graphs with cycles, duplicate edges, retired interfaces and applications not alive):
the sets equal networkx ancestors/descendants, the depths its shortest-path lengths, and the
paths follow the rule LoadedGraph implements in Python (smallest id one level closer)."""

import datetime
import random

import networkx as nx
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmdb import graph
from cmdb.choices import ApplicationKind, Protocol
from cmdb.models import Application, Interface, InterfaceConsumer, OrgUnit

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 1)
DEPTHS = [1, 2, 3, 4, 5, None]  # both sides of graph.SMALL_DEPTH


def make_apps(n: int, dead: set[int] = frozenset()) -> list[Application]:
    unit = OrgUnit.objects.create(name="City", code="C", kind="administration")
    return Application.objects.bulk_create(
        [
            Application(
                name=f"App {i}",
                kind=ApplicationKind.OWN_DEVELOPMENT,
                owner_org_unit=unit,
                # Not alive on TODAY: retired before.
                active_date=datetime.date(2010, 1, 1) if i in dead else None,
                end_of_life_date=datetime.date(2020, 1, 1) if i in dead else None,
            )
            for i in range(n)
        ]
    )


def link(provider: Application, consumers: list[Application], retired=False) -> Interface:
    interface = Interface.objects.create(
        name=f"{provider.name} to {len(consumers)}",
        provider=provider,
        protocol=Protocol.REST,
        active_from=datetime.date(2020, 1, 1),
        end_of_life=datetime.date(2025, 1, 1) if retired else None,
    )
    InterfaceConsumer.objects.bulk_create(
        [
            InterfaceConsumer(interface=interface, consumer=c, provider_id=provider.pk)
            for c in consumers
        ]
    )
    return interface


def queries(fn) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        value = fn()
    return len(ctx.captured_queries), value


# --- query counts ----------------------------------------------------------------------------


@pytest.fixture
def layered():
    """A0 ← A1 ← … ← A7 (each consumes the previous one) with side branches at every level,
    a shortcut A2 ← A5, a cycle back to A0, and a retired interface: every deeper walk
    reaches more applications, up to depth 5."""
    apps = make_apps(16)
    chain, side = apps[:8], apps[8:]
    for i in range(7):
        link(chain[i], [chain[i + 1], side[i]])
    link(chain[2], [chain[5]])  # shortcut: A5 at depth 3 instead of 5
    link(chain[7], [chain[0]])  # cycle
    link(chain[6], [side[7]], retired=True)
    return chain, side


def test_walks_take_one_query_at_every_depth(layered):
    chain, _side = layered
    for walk, start in ((graph.dependents, chain[0]), (graph.dependencies, chain[7])):
        for as_of in (None, TODAY):
            counts, sizes = [], []
            for depth in DEPTHS:
                count, nodes = queries(lambda walk=walk, s=start, d=depth, a=as_of: walk(s, d, a))
                counts.append(count)
                sizes.append(len(nodes))
            assert counts == [1] * len(DEPTHS), (walk.__name__, as_of, counts)
            # Deeper walks reach more, so a per-level or per-node query would show above.
            assert sizes[:3] == sorted(set(sizes[:3])) and sizes[2] < sizes[-1], sizes
    count, found = queries(lambda: graph.dependent_ids(chain[0]))
    assert count == 1 and len(found) == len(graph.dependents(chain[0], None))
    count, found = queries(lambda: graph.dependency_ids(chain[7], as_of=TODAY))
    assert count == 1 and len(found) == len(graph.dependencies(chain[7], None, TODAY))


def test_the_depths_on_the_layered_landscape(layered):
    chain, side = layered
    nodes = {n.application_id: n for n in graph.dependents(chain[0], None)}
    assert [nodes[c.pk].depth for c in chain[1:]] == [1, 2, 3, 4, 3, 4, 5]
    assert nodes[chain[5].pk].path == [chain[1].pk, chain[2].pk, chain[5].pk]
    assert nodes[side[7].pk].depth == 5  # through the interface retired before TODAY
    assert side[7].pk not in {n.application_id for n in graph.dependents(chain[0], None, TODAY)}


def test_many_starts_in_one_query():
    apps = make_apps(1200)
    hub, rest = apps[0], apps[1:]
    link(hub, rest[:1100])  # a result larger than SQLite's 999 parameters of an in_bulk batch
    link(rest[0], [rest[1100]])
    starts = [app.pk for app in rest[:700]]  # more than 500 terms of a compound SELECT
    for depth in (1, None):
        count, rows = queries(lambda d=depth: graph.walk(starts, d, forwards=True))
        assert count == 1
        assert {node for node, d, _parent in rows if d == 1} == {hub.pk}
    count, nodes = queries(lambda: graph.dependents(hub, None))
    assert count == 1 and len(nodes) == 1101
    assert queries(lambda: graph.walk([])) == (0, [])
    # Starts as a queryset: no parameter per start, the same answer.
    subquery = Application.objects.filter(pk__range=(starts[0], starts[-1])).values("pk")
    assert queries(lambda: graph.walk(subquery, None, forwards=True)) == (
        1,
        graph.walk(starts, None, forwards=True),
    )


def test_a_walk_out_of_breadth_first_order_is_caught_and_answered_exactly(layered, monkeypatch):
    """Should the database number the walk in another order, the tree's depths would be too
    long somewhere, or nodes missing from it: the check sees it and bounded walks answer."""
    chain, _side = layered
    expected = {depth: graph.dependents(chain[0], depth) for depth in (4, None)}
    breadth_first = graph._breadth_first

    def depth_first(cursor, *args):
        # As if the walk had followed the chain first: A5 at 5 (after A3, A4), not 3; its
        # nearest predecessor (A2, at 2) then is more than one level closer.
        rows = breadth_first(cursor, *args)
        return [(r[0], 5, chain[2].pk, 2, r[4]) if r[0] == chain[5].pk else r for r in rows]

    def incomplete(cursor, *args):
        rows = breadth_first(cursor, *args)
        return [row for row in rows if row[1] < 2]  # as if the tree had lost deeper nodes

    for wrong, deepened in ((depth_first, 1), (incomplete, 4)):
        monkeypatch.setattr(graph, "_breadth_first", wrong)
        for depth in (4, None):
            count, nodes = queries(lambda d=depth: graph.dependents(chain[0], d))
            assert nodes == expected[depth]
            # One bounded walk for a depth; unlimited: bounds 5 (the wrong tree's deepest) or
            # 1, 2, 4, 8 (until all 16 reached are found: the deepest is at 5).
            assert count == 1 + (1 if depth is not None else deepened), (wrong, depth)
    assert not graph._consistent([(1, 0, None, None, 2), (2, 2, 1, 0, 2)])
    assert not graph._consistent([(1, 0, None, None, 3), (2, 1, 1, 0, 3)])
    assert graph._consistent([(1, 0, None, None, 3), (2, 1, 1, 0, 3), (3, 2, 2, 1, 3)])


# --- properties against networkx -------------------------------------------------------------


@st.composite
def landscapes(draw):
    """n applications; m edges (consumer, provider), each through one of two interfaces of
    the provider (so that a pair may repeat); some interfaces retired and some applications
    not alive. Dense enough for cycles, shortcuts and several parents one level closer."""
    n = draw(st.integers(2, 14))
    m = draw(st.integers(n, 4 * n))
    index = st.integers(0, n - 1)
    pairs = draw(
        st.lists(st.tuples(index, index, st.integers(0, 1)), min_size=m, max_size=m).map(
            lambda ps: sorted({(c, p, k) for c, p, k in ps if c != p})
        )
    )
    retired = draw(st.sets(st.tuples(index, st.integers(0, 1)), max_size=4))
    dead = draw(st.sets(index, max_size=2))
    return n, pairs, retired, dead


def seeded_landscape(seed: int, n: int = 40, m: int = 110):
    rng = random.Random(seed)
    pairs = set()
    while len(pairs) < m:
        consumer, provider = rng.sample(range(n), 2)
        pairs.add((consumer, provider, rng.randint(0, 1)))
    retired = {(rng.randrange(n), rng.randint(0, 1)) for _ in range(6)}
    dead = {rng.randrange(n) for _ in range(3)}
    return n, sorted(pairs), retired, dead


def build(n, pairs, retired, dead):
    apps = make_apps(n, dead)
    ids = [app.pk for app in apps]
    everything, alive = nx.DiGraph(), nx.DiGraph()  # edges consumer → provider
    everything.add_nodes_from(ids)
    alive.add_nodes_from(ids)
    by_interface: dict[tuple[int, int], list[Application]] = {}
    for consumer, provider, k in pairs:
        by_interface.setdefault((provider, k), []).append(apps[consumer])
        everything.add_edge(ids[consumer], ids[provider])
        if (provider, k) not in retired and consumer not in dead and provider not in dead:
            alive.add_edge(ids[consumer], ids[provider])
    for (provider, k), consumers in by_interface.items():
        link(apps[provider], consumers, retired=(provider, k) in retired)
    return ids, {None: everything, TODAY: alive}


def expected_depths(g: nx.DiGraph, starts, depth) -> dict[int, int]:
    """Shortest distance from the nearest start, walking g's edges."""
    lengths = nx.multi_source_dijkstra_path_length(g, set(starts), cutoff=depth)
    return {node: int(length) for node, length in lengths.items()}


PROPERTY = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples on every run of the normal suite
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check_walks(ids, graphs, start):
    for as_of, g in graphs.items():
        reverse = g.reverse(copy=False)
        loaded = graph.LoadedGraph(as_of)
        assert graph.dependent_ids(start, as_of) == nx.ancestors(g, start)
        assert graph.dependency_ids(start, as_of) == nx.descendants(g, start)
        for depth in DEPTHS:
            for walk, g_walked, from_memory in (
                (graph.dependents, reverse, loaded.dependent_nodes),
                (graph.dependencies, g, loaded.dependency_nodes),
            ):
                nodes = walk(start, depth, as_of)
                expected = expected_depths(g_walked, [start], depth)
                del expected[start]
                assert {n.application_id: n.depth for n in nodes} == expected
                for node in nodes:  # one shortest path over existing edges
                    hops = [start, *node.path]
                    assert len(node.path) == node.depth
                    pairs = zip(hops, hops[1:], strict=False)
                    assert all(g_walked.has_edge(a, b) for a, b in pairs)
                # The same nodes, depths and parents (smallest id one level closer).
                assert nodes == from_memory(start, depth)


def check_walk_from_starts(graphs, starts):
    for as_of, g in graphs.items():
        for depth in (0, 1, 2, 4, None):
            for forwards, g_walked in ((False, g.reverse(copy=False)), (True, g)):
                rows = graph.walk(starts, depth, as_of, forwards)
                depths = {node: d for node, d, _parent in rows}
                assert depths == expected_depths(g_walked, starts, depth)
                assert rows == sorted(rows, key=lambda row: (row[1], row[0]))
                for node, d, parent in rows:
                    if d == 0:
                        assert parent is None and node in starts
                        continue
                    closer = [p for p in g_walked.predecessors(node) if depths.get(p) == d - 1]
                    assert parent == min(closer)


@PROPERTY
@given(landscape=landscapes(), data=st.data())
def test_walks_equal_networkx(landscape, data):
    with transaction.atomic():
        ids, graphs = build(*landscape)
        check_walks(ids, graphs, data.draw(st.sampled_from(ids)))
        transaction.set_rollback(True)


@PROPERTY
@given(landscape=landscapes(), data=st.data())
def test_walk_from_several_starts_equals_networkx(landscape, data):
    with transaction.atomic():
        ids, graphs = build(*landscape)
        starts = data.draw(st.sets(st.sampled_from(ids), min_size=1, max_size=4))
        check_walk_from_starts(graphs, starts)
        transaction.set_rollback(True)


@pytest.mark.parametrize("seed", range(4))
def test_walks_on_seeded_random_graphs_equal_networkx(seed):
    """Larger and denser than the examples above: several levels, many parents per node."""
    ids, graphs = build(*seeded_landscape(seed))
    rng = random.Random(seed)
    for start in rng.sample(ids, 3):
        check_walks(ids, graphs, start)
    check_walk_from_starts(graphs, set(rng.sample(ids, 3)))

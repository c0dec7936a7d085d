"""The dependency graph of applications, computed in the database.

An edge runs from a consumer of an interface to its provider: the consumer depends on the
provider. `dependencies(app)` walks edges forwards, `dependents(app)` backwards. Every walk is
one SQL statement whatever the depth (a recursive CTE, on SQLite and PostgreSQL), on the
covering indexes (provider, consumer, interface) and (consumer, provider, interface) of the
edge table; on a date (`as_of`) only interfaces and applications alive then count.

Only the set (`dependent_ids`, `dependency_ids`): a recursive CTE `UNION`-ed on the node id
alone, so that each application is visited once and cycles end by themselves.

With the minimum depth and one shortest path (`dependents`, `dependencies`, and `walk` from
several starts): the parent of a node is the smallest id among its predecessors one level
closer to a start (as LoadedGraph computes it in Python). A CTE that carries the depth in its
rows cannot deduplicate on the node alone: it keeps a node once per length of walk that reaches
it, which on a dense graph (most of a city's applications reach each other) grows with
nodes × depth. So:

* up to `SMALL_DEPTH` levels, that bounded walk is cheap and exact in any evaluation order;
* deeper or unlimited, the node-only walk is numbered in the order its rows come out, which is
  breadth-first: SQLite's queue is first-in first-out when the CTE has no ORDER BY, PostgreSQL
  evaluates a recursive CTE level by level. Each node's predecessor with the smallest number
  is then one level closer (a breadth-first tree), the depths follow by walking down that tree,
  and a second pass over the edges picks each node's parent. SQL does not promise that order,
  so the answer is checked: the tree holds every node reached, and each node's nearest
  predecessor is exactly one level closer, which holds only if every depth is the shortest
  distance. Should a database ever number the walk otherwise, bounded walks answer exactly
  (a few statements more; tests/cmdb/test_graph_performance.py forces it).

The passes over the edges are correlated subqueries on SQLite (which indexes a CTE on the fly)
and joins on PostgreSQL (which hashes it); see `_by_join`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import QuerySet

from cmdb.lifecycle import application_alive_q, interface_alive_q
from cmdb.models import Application, InterfaceConsumer

# Deepest bound walked with depths in the rows; deeper walks number the breadth-first order.
SMALL_DEPTH = 3


@dataclass(frozen=True)
class GraphNode:
    application_id: int
    depth: int
    path: list[int] = field(default_factory=list)
    """Application ids from the start (excluded) to this node (included), one shortest path."""


def _edge_rows(as_of: datetime.date | None):
    """(consumer_id, provider_id) of every interface consumer row, restricted to what is alive
    on a date (the interface and both applications); a pair repeats for each interface."""
    edges = InterfaceConsumer.objects.all()
    if as_of is not None:
        edges = edges.filter(
            interface_alive_q(as_of, "interface__"),
            application_alive_q(as_of, "consumer__"),
            application_alive_q(as_of, "provider__"),
        )
    return edges.values_list("consumer_id", "provider_id")


def _edges(as_of: datetime.date | None):
    """(consumer_id, provider_id) pairs, restricted to what is alive on a date."""
    return _edge_rows(as_of).distinct()


def _edge_source(as_of: datetime.date | None) -> tuple[str, list]:
    """The edges as a FROM item with columns consumer_id and provider_id: the table itself, or
    the rows alive on `as_of` as a subquery without DISTINCT, which the database folds into the
    walk (duplicate edges cost nothing: the walks deduplicate nodes)."""
    if as_of is None:
        return connection.ops.quote_name(InterfaceConsumer._meta.db_table), []
    sql, params = _edge_rows(as_of).query.sql_with_params()
    return f"({sql})", list(params)


def _seed_source(starts) -> tuple[str, list]:
    """A SELECT (or VALUES) of the start ids: a list of ids, or a one-column queryset of ids
    (so that thousands of starts need no parameters)."""
    if isinstance(starts, QuerySet):
        sql, params = starts.query.sql_with_params()
        return sql, list(params)
    return "VALUES " + ", ".join(["(%s)"] * len(starts)), list(starts)


class _Sql:
    """Concatenates SQL fragments with their parameters in textual order."""

    def __init__(self):
        self.parts: list[str] = []
        self.params: list = []

    def add(self, sql: str, params: Iterable = ()) -> _Sql:
        self.parts.append(sql)
        self.params.extend(params)
        return self


def _prologue(query: _Sql, seeds, edges, src: str, dst: str, with_depth: bool, bound=None):
    """`seeds(node)` and `reach`: the walk from the seeds, `UNION`-ed on (node) or, with the
    depth, on (node, depth) up to `bound` levels."""
    query.add("WITH RECURSIVE seeds(node) AS (").add(*seeds).add("), ")
    if with_depth:
        query.add(
            "reach(node, depth) AS (SELECT CAST(node AS BIGINT), 0 FROM seeds UNION "
            f"SELECT e.{dst}, r.depth + 1 FROM reach r JOIN "
        ).add(*edges).add(f" e ON e.{src} = r.node WHERE r.depth < %s)", [bound])
    else:
        # CAST: the column gets integer affinity on SQLite, so that lookups on it use indexes.
        query.add(
            "reach(node) AS (SELECT CAST(node AS BIGINT) FROM seeds UNION "
            f"SELECT e.{dst} FROM reach r JOIN "
        ).add(*edges).add(f" e ON e.{src} = r.node)")


def _by_join() -> bool:
    """Whether the parent passes are joins with GROUP BY rather than correlated subqueries.

    PostgreSQL cannot index a CTE: a correlated subquery on one scans it whole for every row
    (seconds at 12,500 applications), while joins hash it once. SQLite builds an automatic
    index on a CTE, and there correlated subqueries (with the shortcuts for a single start)
    beat sorting every edge for a GROUP BY."""
    return connection.vendor != "sqlite"


def _bounded(cursor, seeds, edges, src, dst, bound: int, single: int | None) -> list[tuple]:
    """(node, minimum depth, parent) within `bound` levels, exact in any evaluation order.

    On SQLite, CROSS JOIN fixes the join order (edges by the covering index, then the node),
    and with a `single` start the parent of every node at depth 1 is that start."""
    query = _Sql()
    _prologue(query, seeds, edges, src, dst, with_depth=True, bound=bound)
    query.add(", best(node, depth) AS (SELECT node, MIN(depth) FROM reach GROUP BY node) ")
    if _by_join():
        query.add("SELECT b.node, b.depth, MIN(p.node) FROM best b LEFT JOIN ").add(*edges)
        query.add(
            f" e ON e.{dst} = b.node AND b.depth > 0 LEFT JOIN best p ON p.node = e.{src} "
            "AND p.depth = b.depth - 1 GROUP BY b.node, b.depth"
        )
    else:
        query.add("SELECT b.node, b.depth, CASE WHEN b.depth = 0 THEN NULL ")
        if single is not None:
            query.add("WHEN b.depth = 1 THEN %s ", [single])
        query.add("ELSE (SELECT MIN(p.node) FROM ").add(*edges).add(
            f" e CROSS JOIN best p WHERE e.{dst} = b.node AND p.node = e.{src} "
            "AND p.depth = b.depth - 1) END FROM best b"
        )
    cursor.execute("".join(query.parts), query.params)
    return cursor.fetchall()


def _breadth_first(cursor, seeds, edges, src, dst, single: int | None) -> list[tuple]:
    """(node, depth, parent, depth of the nearest predecessor, number of nodes reached) of
    everything reachable, from the breadth-first numbering (see the module docstring);
    `_consistent` checks the depths.

    visit: the walk's rows numbered in the order they came out; tree_edge: the number of each
    node's first-visited predecessor (none for a start); tree: the depths down that tree (its
    predecessor was visited first: no cycle); then each node's predecessors of smallest depth.
    On SQLite, with a `single` start (numbered 1), a node it leads to directly needs one index
    lookup instead of a scan of its predecessors, in both passes."""
    query = _Sql()
    _prologue(query, seeds, edges, src, dst, with_depth=False)
    query.add(", visit(node, pos) AS (SELECT node, ROW_NUMBER() OVER () FROM reach), ")
    if _by_join():
        # MATERIALIZED: else PostgreSQL inlines it into the recursive CTE, once per level.
        query.add(
            "tree_edge(node, pos, up) AS MATERIALIZED (SELECT v.node, v.pos, MIN(p.pos) "
            "FROM visit v JOIN "
        )
        query.add(*edges).add(
            f" e ON e.{dst} = v.node JOIN visit p ON p.node = e.{src} "
            "WHERE v.node NOT IN (SELECT node FROM seeds) GROUP BY v.node, v.pos), "
        )
    else:
        query.add(
            "tree_edge(node, pos, up) AS (SELECT v.node, v.pos, "
            "CASE WHEN v.node IN (SELECT node FROM seeds) THEN NULL "
        )
        if single is not None:
            query.add("WHEN EXISTS (SELECT 1 FROM ").add(*edges).add(
                f" e WHERE e.{src} = %s AND e.{dst} = v.node) THEN 1 ", [single]
            )
        query.add("ELSE (SELECT MIN(p.pos) FROM ").add(*edges).add(
            f" e CROSS JOIN visit p WHERE e.{dst} = v.node AND p.node = e.{src}) END "
            "FROM visit v), "
        )
    query.add(
        "tree(node, pos, depth) AS (SELECT node, pos, 0 FROM visit "
        "WHERE node IN (SELECT node FROM seeds) UNION ALL "
        "SELECT c.node, c.pos, t.depth + 1 FROM tree t JOIN tree_edge c ON c.up = t.pos) "
    )
    if _by_join():
        # The parent (smallest id one level closer) and the depth of the nearest predecessor.
        query.add(
            "SELECT t.node, t.depth, MIN(CASE WHEN p.depth = t.depth - 1 THEN p.node END), "
            "MIN(p.depth), (SELECT COUNT(*) FROM visit) FROM tree t LEFT JOIN "
        ).add(*edges).add(
            f" e ON e.{dst} = t.node AND t.depth > 0 LEFT JOIN tree p ON p.node = e.{src} "
            "GROUP BY t.node, t.depth"
        )
        cursor.execute("".join(query.parts), query.params)
        return cursor.fetchall()
    # The predecessor with the smallest (depth, id): the parent, if it is one level closer.
    query.add("SELECT t.node, t.depth, CASE WHEN t.depth = 0 THEN NULL ")
    if single is not None:
        query.add("WHEN t.depth = 1 THEN %s ", [single])
    query.add("ELSE (SELECT p.node FROM ").add(*edges).add(
        f" e CROSS JOIN tree p WHERE e.{dst} = t.node AND p.node = e.{src} "
        "ORDER BY p.depth, p.node LIMIT 1) END, (SELECT COUNT(*) FROM visit) FROM tree t"
    )
    cursor.execute("".join(query.parts), query.params)
    rows = cursor.fetchall()
    depth_of = {row[0]: row[1] for row in rows}
    return [(node, depth, parent, depth_of.get(parent), n) for node, depth, parent, n in rows]


def _consistent(rows) -> bool:
    """Whether the tree holds every node the walk reached, and the nearest predecessor of every
    node but the starts is one level closer, for rows (node, depth, parent, depth of the
    nearest predecessor, number of nodes reached). Then every depth is one more than the least
    depth among the node's predecessors, and the only solution of that (with the starts at 0)
    is the shortest distance: the depths are right."""
    return all(len(rows) == row[4] for row in rows[:1]) and all(
        depth == 0 or (parent is not None and nearest == depth - 1)
        for _node, depth, parent, nearest, _reached in rows
    )


def walk(
    starts: Iterable[int] | QuerySet,
    depth: int | None = None,
    as_of: datetime.date | None = None,
    forwards: bool = False,
) -> list[tuple[int, int, int | None]]:
    """(application id, minimum depth, parent on one shortest path) for the starts (depth 0,
    parent None) and everything within `depth` levels of them (None: unlimited), walking
    dependents (backwards) or dependencies (`forwards`). One query (see the module docstring).

    `starts` is a collection of ids or a one-column queryset of ids. The parent is the smallest
    id among the predecessors one level closer. Rows come sorted by depth, then id."""
    if not isinstance(starts, QuerySet):
        starts = sorted({int(pk) for pk in starts})
        if not starts:
            return []
    depth = None if depth is None else max(depth, 0)
    single = starts[0] if not isinstance(starts, QuerySet) and len(starts) == 1 else None
    args = (_seed_source(starts), _edge_source(as_of))
    args += ("consumer_id", "provider_id") if forwards else ("provider_id", "consumer_id")
    with connection.cursor() as cursor:
        if depth is not None and depth <= SMALL_DEPTH:
            rows = _bounded(cursor, *args, depth, single)
        else:
            found = _breadth_first(cursor, *args, single)
            if _consistent(found):
                rows = [row[:3] for row in found if depth is None or row[1] <= depth]
            else:
                # No supported database numbers the walk otherwise (a test forces it): bounded
                # walks, exact in any order; unlimited, deepened until all reached are found
                # (a shortest path is shorter than the number of nodes).
                bound = depth if depth is not None else max(1, *(row[1] for row in found))
                rows = _bounded(cursor, *args, bound, single)
                reached = found[0][4]
                while depth is None and len(rows) < reached and bound < reached:
                    bound = min(2 * bound, reached)
                    rows = _bounded(cursor, *args, bound, single)
    rows.sort(key=lambda row: (row[1], row[0]))
    return rows


def _nodes(start_id: int, depth: int | None, as_of, forwards: bool) -> list[GraphNode]:
    if depth is not None and depth < 1:
        return []
    rows = walk([start_id], depth, as_of, forwards)
    paths: dict[int, list[int]] = {start_id: []}
    result = []
    for node, node_depth, parent in rows:  # by depth: a parent's path is known before
        if node_depth == 0:
            continue
        paths[node] = [*paths[parent], node]
        result.append(GraphNode(application_id=node, depth=node_depth, path=paths[node]))
    return result


def _id(app) -> int:
    return app.pk if isinstance(app, Application) else int(app)


def dependencies(
    app: Application | int, depth: int | None = 1, as_of: datetime.date | None = None
) -> list[GraphNode]:
    """Applications that `app` depends on (providers of what it consumes), transitively up to
    `depth` levels (None: unlimited), each with its depth and one shortest path."""
    return _nodes(_id(app), depth, as_of, forwards=True)


def dependents(
    app: Application | int, depth: int | None = 1, as_of: datetime.date | None = None
) -> list[GraphNode]:
    """Applications that depend on `app` (consumers of what it provides), transitively."""
    return _nodes(_id(app), depth, as_of, forwards=False)


def _reachable_ids(start_id: int, as_of, forwards: bool) -> set[int]:
    query = _Sql()
    src, dst = ("consumer_id", "provider_id") if forwards else ("provider_id", "consumer_id")
    _prologue(query, _seed_source([start_id]), _edge_source(as_of), src, dst, with_depth=False)
    query.add(" SELECT node FROM reach")
    with connection.cursor() as cursor:
        cursor.execute("".join(query.parts), query.params)
        found = {node for (node,) in cursor.fetchall()}
    found.discard(start_id)
    return found


def dependent_ids(app: Application | int, as_of: datetime.date | None = None) -> set[int]:
    """Ids of every application depending on `app`, transitively (any depth): the set alone,
    each application visited once. Cheaper than `dependents(app, None)` when neither depths
    nor paths are needed."""
    return _reachable_ids(_id(app), as_of, forwards=False)


def dependency_ids(app: Application | int, as_of: datetime.date | None = None) -> set[int]:
    """Ids of every application `app` depends on, transitively (any depth)."""
    return _reachable_ids(_id(app), as_of, forwards=True)


class LoadedGraph:
    """The whole dependency graph in memory, for analyses that walk from many starts (blast
    radius of every vendor, landscape risk). One query loads the edges; each walk is then a
    breadth-first search in Python, far cheaper than one recursive CTE per start (see
    tests/benchmarks). Single questions should use dependents()/dependencies() above."""

    def __init__(self, as_of: datetime.date | None = None):
        self.providers: dict[int, set[int]] = {}
        self.consumers: dict[int, set[int]] = {}
        for consumer, provider in _edges(as_of):
            self.providers.setdefault(consumer, set()).add(provider)
            self.consumers.setdefault(provider, set()).add(consumer)

    @staticmethod
    def _walk(adjacency, starts, depth: int | None) -> dict[int, int]:
        seen = {start: 0 for start in starts}
        frontier = list(seen)
        level = 0
        while frontier and (depth is None or level < depth):
            level += 1
            following = []
            for node in frontier:
                for neighbour in adjacency.get(node, ()):
                    if neighbour not in seen:
                        seen[neighbour] = level
                        following.append(neighbour)
            frontier = following
        for start in starts:
            seen.pop(start, None)
        return seen

    def dependents(self, *app_ids: int, depth: int | None = None) -> dict[int, int]:
        """Application id → minimum depth of everything depending on any of `app_ids`."""
        return self._walk(self.consumers, app_ids, depth)

    def dependencies(self, *app_ids: int, depth: int | None = None) -> dict[int, int]:
        return self._walk(self.providers, app_ids, depth)

    @staticmethod
    def _walk_paths(adjacency, start: int, depth: int | None) -> list[GraphNode]:
        """As the CTE: minimum depth, and as parent the smallest id among the predecessors one
        level closer (the frontier is visited in id order, so the first to find a node is it)."""
        parents: dict[int, int] = {}
        depths = {start: 0}
        frontier, level = [start], 0
        while frontier and (depth is None or level < depth):
            level += 1
            following = []
            for node in sorted(frontier):
                for neighbour in adjacency.get(node, ()):
                    if neighbour not in depths:
                        depths[neighbour] = level
                        parents[neighbour] = node
                        following.append(neighbour)
            frontier = following
        result = []
        for node in sorted(parents, key=lambda n: (depths[n], n)):
            path = [node]
            while parents[path[-1]] != start:
                path.append(parents[path[-1]])
            result.append(GraphNode(application_id=node, depth=depths[node], path=path[::-1]))
        return result

    def dependent_nodes(self, app_id: int, depth: int | None = 1) -> list[GraphNode]:
        """What `dependents()` (the CTE) answers, from memory: nodes with one shortest path."""
        return self._walk_paths(self.consumers, app_id, depth)

    def dependency_nodes(self, app_id: int, depth: int | None = 1) -> list[GraphNode]:
        """What `dependencies()` (the CTE) answers, from memory."""
        return self._walk_paths(self.providers, app_id, depth)

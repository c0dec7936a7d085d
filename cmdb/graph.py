"""The dependency graph of applications, computed in the database.

An edge runs from a consumer of an interface to its provider: the consumer depends on the
provider. `dependencies(app)` walks edges forwards, `dependents(app)` backwards.

One recursive CTE computes, for every reachable application, its minimum depth; a second step
in the same statement picks one parent on a shortest path (the smallest id among the
predecessors one level closer), so that one shortest path per node is rebuilt in Python without
carrying path strings through the recursion (which grows exponentially on dense graphs).
Reachability with `UNION` on (node, depth) terminates on cycles because depth is bounded; for
unlimited depth a CTE `UNION`-ed on the node id alone first counts the reachable nodes, and the
bound is deepened until all of them are found.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import connection

from cmdb.lifecycle import application_alive_q, interface_alive_q
from cmdb.models import Application, InterfaceConsumer


@dataclass(frozen=True)
class GraphNode:
    application_id: int
    depth: int
    path: list[int] = field(default_factory=list)
    """Application ids from the start (excluded) to this node (included), one shortest path."""


def _edges(as_of: datetime.date | None):
    """(consumer_id, provider_id) pairs, restricted to what is alive on a date."""
    edges = InterfaceConsumer.objects.all()
    if as_of is not None:
        edges = edges.filter(
            interface_alive_q(as_of, "interface__"),
            application_alive_q(as_of, "consumer__"),
            application_alive_q(as_of, "provider__"),
        )
    return edges.values_list("consumer_id", "provider_id").distinct()


def _edges_sql(as_of: datetime.date | None) -> tuple[str, list]:
    sql, params = _edges(as_of).query.sql_with_params()
    return sql, list(params)


def _reachable_count(cursor, edges, start_id: int, src: str, dst: str) -> int:
    """How many applications are reachable at all: `UNION` on the node id alone terminates on
    cycles and visits each node once."""
    edge_sql, edge_params = edges
    cursor.execute(
        f"""
        WITH RECURSIVE edges(consumer_id, provider_id) AS ({edge_sql}),
        reach(node) AS (
            SELECT CAST(%s AS BIGINT)
            UNION
            SELECT e.{dst} FROM reach r JOIN edges e ON e.{src} = r.node
        )
        SELECT COUNT(*) - 1 FROM reach
        """,
        [*edge_params, start_id],
    )
    return cursor.fetchone()[0]


def _shortest(cursor, edges, start_id: int, bound: int, src: str, dst: str) -> list[tuple]:
    """(node, minimum depth, parent on a shortest path) for every node within `bound` steps.

    `UNION` on (node, depth) keeps a node once per depth at which some walk reaches it, so
    the work grows with nodes × bound, not with the number of paths."""
    edge_sql, edge_params = edges
    cursor.execute(
        f"""
        WITH RECURSIVE edges(consumer_id, provider_id) AS ({edge_sql}),
        reach(node, depth) AS (
            SELECT CAST(%s AS BIGINT), 0
            UNION
            SELECT e.{dst}, r.depth + 1 FROM reach r JOIN edges e ON e.{src} = r.node
            WHERE r.depth < %s
        ),
        best(node, depth) AS (SELECT node, MIN(depth) FROM reach GROUP BY node)
        SELECT b.node, b.depth, (
            SELECT MIN(p.node) FROM edges e JOIN best p ON p.node = e.{src}
            WHERE e.{dst} = b.node AND p.depth = b.depth - 1
        )
        FROM best b WHERE b.depth > 0
        ORDER BY b.depth, b.node
        """,
        [*edge_params, start_id, bound],
    )
    return cursor.fetchall()


def _walk(start_id: int, depth: int | None, as_of: datetime.date | None, forwards: bool):
    if depth is not None and depth < 1:
        return []
    edges = _edges_sql(as_of)
    # forwards: from consumer (src) to provider (dst); backwards: the other way round.
    src, dst = ("consumer_id", "provider_id") if forwards else ("provider_id", "consumer_id")
    with connection.cursor() as cursor:
        if depth is not None:
            rows = _shortest(cursor, edges, start_id, depth, src, dst)
        else:
            # Unlimited: deepen the bound (2, 4, 8, …) until every reachable node is found.
            # Landscapes are shallow (a handful of levels), so this ends after one or two
            # rounds; a bound of "number of nodes" would cost nodes² rows on a dense graph.
            reachable = _reachable_count(cursor, edges, start_id, src, dst)
            bound, rows = 2, []
            while reachable:
                rows = _shortest(cursor, edges, start_id, bound, src, dst)
                if len(rows) >= reachable or bound >= reachable:
                    break
                bound = min(bound * 2, reachable)
    parents = {node: parent for node, _depth, parent in rows}
    result = []
    for node, node_depth, _parent in rows:
        path = [node]
        while path[-1] in parents and parents[path[-1]] != start_id:
            path.append(parents[path[-1]])
        path.reverse()
        result.append(GraphNode(application_id=node, depth=node_depth, path=path))
    return result


def _id(app) -> int:
    return app.pk if isinstance(app, Application) else int(app)


def dependencies(
    app: Application | int, depth: int | None = 1, as_of: datetime.date | None = None
) -> list[GraphNode]:
    """Applications that `app` depends on (providers of what it consumes), transitively up to
    `depth` levels (None: unlimited), each with its depth and one shortest path."""
    return _walk(_id(app), depth, as_of, forwards=True)


def dependents(
    app: Application | int, depth: int | None = 1, as_of: datetime.date | None = None
) -> list[GraphNode]:
    """Applications that depend on `app` (consumers of what it provides), transitively."""
    return _walk(_id(app), depth, as_of, forwards=False)


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

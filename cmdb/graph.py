"""The dependency graph of applications, computed in the database.

An edge runs from a consumer of an interface to its provider: the consumer depends on the
provider. `dependencies(app)` walks edges forwards, `dependents(app)` backwards.

One recursive CTE computes, for every reachable application, its minimum depth; a second step
in the same statement picks one parent on a shortest path (the smallest id among the
predecessors one level closer), so that one shortest path per node is rebuilt in Python without
carrying path strings through the recursion (which grows exponentially on dense graphs).
Reachability with `UNION` on (node, depth) terminates on cycles because depth is bounded; for
unlimited depth the bound is the number of reachable nodes, found first by a CTE that is
`UNION`-ed on the node id alone.
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


def _edges_sql(as_of: datetime.date | None) -> tuple[str, list]:
    """SQL selecting (consumer_id, provider_id) pairs, restricted to what is alive on a date."""
    edges = InterfaceConsumer.objects.all()
    if as_of is not None:
        edges = edges.filter(
            interface_alive_q(as_of, "interface__"),
            application_alive_q(as_of, "consumer__"),
            application_alive_q(as_of, "provider__"),
        )
    edges = edges.values_list("consumer_id", "provider_id").distinct()
    sql, params = edges.query.sql_with_params()
    return sql, list(params)


def _walk(start_id: int, depth: int | None, as_of: datetime.date | None, forwards: bool):
    edge_sql, edge_params = _edges_sql(as_of)
    # forwards: from consumer (src) to provider (dst); backwards: the other way round.
    src, dst = ("consumer_id", "provider_id") if forwards else ("provider_id", "consumer_id")
    with connection.cursor() as cursor:
        if depth is None:
            cursor.execute(
                f"""
                WITH RECURSIVE edges(consumer_id, provider_id) AS ({edge_sql}),
                reach(node) AS (
                    SELECT CAST(%s AS BIGINT)
                    UNION
                    SELECT e.{dst} FROM reach r JOIN edges e ON e.{src} = r.node
                )
                SELECT COUNT(*) FROM reach
                """,
                [*edge_params, start_id],
            )
            depth = cursor.fetchone()[0]
        if depth < 1:
            return []
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
            [*edge_params, start_id, depth],
        )
        rows = cursor.fetchall()
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

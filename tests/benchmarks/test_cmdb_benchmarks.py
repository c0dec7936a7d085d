"""CMDB benchmarks: `make benchmark` (BENCH_SCALE=K sets the demo size, default 8 → 2,000
applications). They print figures and ratios measured in the same run; assertions only check
that the compared implementations agree."""

import json
import os
import statistics
import time
from collections import deque

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cmdb import graph
from cmdb.demo import build_demo_city
from cmdb.models import Application, InterfaceConsumer

SCALE = int(os.environ.get("BENCH_SCALE", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))

LIST_QUERY = """query($first: Int) { applications(first: $first, orderBy: "name") { edges { node {
  name vendor { name jurisdiction } ownerOrgUnit { name }
  providedInterfaces { name consumers { name } }
  consumedInterfaces { name provider { name } }
} } } }"""


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    # Built once for the module inside a transaction that is rolled back afterwards, so the
    # next benchmark module starts from an empty database.
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_demo_city(seed=1, scale=SCALE)
        transaction.set_rollback(True)


def timed(fn, rounds=ROUNDS):
    samples = []
    value = None
    for _ in range(rounds):
        started = time.perf_counter()
        value = fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), value


def orm_baseline(first: int) -> str:
    """The same data as LIST_QUERY with plain ORM and json.dumps: the floor to compare with."""
    apps = list(
        Application.objects.order_by("name")[:first].values(
            "id", "name", "vendor__name", "vendor__jurisdiction", "owner_org_unit__name"
        )
    )
    ids = [a["id"] for a in apps]
    provided = list(
        InterfaceConsumer.objects.filter(provider_id__in=ids).values(
            "provider_id", "interface__name", "consumer__name"
        )
    )
    consumed = list(
        InterfaceConsumer.objects.filter(consumer_id__in=ids).values(
            "consumer_id", "interface__name", "provider__name"
        )
    )
    return json.dumps({"apps": apps, "provided": provided, "consumed": consumed})


@pytest.mark.django_db
def test_application_list_graphql_vs_orm(demo, django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.get(username="admin"))
    first = min(1000, Application.objects.count())
    payload = json.dumps({"query": LIST_QUERY, "variables": {"first": first}})

    def graphql():
        response = client.post("/graphql/", payload, content_type="application/json")
        assert response.status_code == 200
        return response.json()

    # The demo build may have filled the bounded query log; counting needs it empty.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as ctx:
        body = graphql()
    n_queries = len(ctx.captured_queries)
    assert "errors" not in body
    edges = body["data"]["applications"]["edges"]
    assert len(edges) == first
    fields = sum(
        6 + 2 * len(e["node"]["providedInterfaces"]) + 2 * len(e["node"]["consumedInterfaces"])
        for e in edges
    )
    gql_time, _ = timed(graphql)
    orm_time, _ = timed(lambda: orm_baseline(first))
    print(
        f"\n[graphql list] {first} applications with vendor, org unit, interfaces "
        f"(~{fields} objects): {n_queries} SQL queries, "
        f"GraphQL {gql_time * 1000:.0f} ms, ORM+json {orm_time * 1000:.0f} ms, "
        f"ratio {gql_time / orm_time:.1f}x"
    )


def python_bfs(adjacency, start):
    seen = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in adjacency.get(node, ()):
            if nxt not in seen:
                seen[nxt] = seen[node] + 1
                queue.append(nxt)
    seen.pop(start)
    return seen


@pytest.mark.django_db
def test_dependents_cte_vs_python_bfs(demo):
    hubs = list(
        Application.objects.annotate(n=Count("provider_links"))
        .order_by("-n")
        .values_list("id", flat=True)[:5]
    )

    def build_adjacency():
        adjacency = {}
        for consumer, provider in InterfaceConsumer.objects.values_list(
            "consumer_id", "provider_id"
        ):
            adjacency.setdefault(provider, set()).add(consumer)
        return adjacency

    build_time, adjacency = timed(build_adjacency)
    for hub in hubs:
        cte_time, nodes = timed(lambda hub=hub: graph.dependents(hub, depth=None))
        bfs_time, expected = timed(lambda hub=hub: python_bfs(adjacency, hub))
        assert {n.application_id: n.depth for n in nodes} == expected
        print(
            f"[dependents] app {hub}: {len(nodes)} dependents, max depth "
            f"{max((n.depth for n in nodes), default=0)}: CTE {cte_time * 1000:.1f} ms, "
            f"Python BFS {bfs_time * 1000:.1f} ms on a graph built in {build_time * 1000:.0f} ms; "
            f"CTE / (build + BFS) = {cte_time / (build_time + bfs_time):.2f}"
        )

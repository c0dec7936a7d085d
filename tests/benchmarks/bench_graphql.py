"""GraphQL benchmarks (issue 9): the application list against the ORM, the service-desk queue,
and what the limits and the document cache add to graphene-django's stock view.

Every request goes through Django (django.test.Client with middleware, sessions and the bearer
token middleware, or RequestFactory where two views are compared on equal terms). Figures are
medians of ctx.repeats runs after a warm-up; variants that are compared run interleaved
(harness.interleaved) so that a slow phase of the machine hits both alike."""

from __future__ import annotations

import json

from django.db.models import Q
from django.test import Client, RequestFactory
from graphene_django.views import GraphQLView

from cmdb.models import Application, Interface, InterfaceConsumer
from itsm.choices import OPEN_INCIDENT_STATES
from itsm.models import Incident
from landkarte import graphql_limits
from landkarte.graphql import LandkarteGraphQLView
from landkarte.graphql_execution import SyncExecutionContext, gc_paused
from landkarte.models import APIToken
from tests.benchmarks.harness import Context, Result, capture_queries, interleaved, ratio, timeit

LIST_ROWS = 1000
LIST_QUERY = """query($first: Int) { applications(first: $first, orderBy: "name") { edges { node {
  name vendor { name jurisdiction } ownerOrgUnit { name }
  providedInterfaces { name consumers { name } }
  consumedInterfaces { name provider { name } }
} } } }"""
# applications, providedInterfaces, their consumers, consumedInterfaces (vendor, org unit and
# the consumed interfaces' provider are joined)
LIST_LEVELS = 4

QUEUE_ROWS = 50
QUEUE_PRIORITIES = ["p1", "p2", "p3"]
QUEUE = """query Queue($first: Int, $priority: [String]) {
  incidents(first: $first, open: true, priority: $priority, orderBy: "resolutionDue") {
    %s
    edges { cursor node { id number title state priority isMajor openedAt responseDue
      resolutionDue assignedTeam { name } assignee { username } service { name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""

LIMITS_ROWS = 10  # the limits cost per document, not per row: a short run shows a millisecond
SMALL_QUERY = "{ me { user { username } roles } }"
ALIAS_BOMB = "{ " + " ".join(f"a{i}: __typename" for i in range(1000)) + " }"

AUTH_TABLES = ("django_session", "auth_user", "auth_group", "landkarte_apitoken")


def _post(client: Client, document: str, variables: dict, **headers):
    """The decoded answer, checked for errors (decoding is not part of the timed runs)."""
    body = json.loads(_send(client, document, variables, **headers).content)
    assert "errors" not in body, body["errors"]
    return body


def _send(client: Client, document: str, variables: dict, **headers):
    payload = json.dumps({"query": document, "variables": variables})
    response = client.post(
        "/graphql/", payload, content_type="application/json", secure=True, headers=headers
    )
    assert response.status_code == 200, response.content[:500]
    return response


def count_fields(value) -> int:
    """Every key below `data`: leaves and objects, edges and node included."""
    if isinstance(value, dict):
        return sum(1 + count_fields(item) for item in value.values())
    if isinstance(value, list):
        return sum(count_fields(item) for item in value)
    return 0


def orm_baseline(first: int) -> str:
    """The same rows and fields as LIST_QUERY with the ORM's .values() and json.dumps: the
    applications with vendor and org unit, the interfaces they provide (also those without
    consumers) with their consumers, the interfaces they consume with their provider; one
    query per list level, like the GraphQL answer."""
    apps = list(
        Application.objects.order_by("name")[:first].values(
            "id", "name", "vendor__name", "vendor__jurisdiction", "owner_org_unit__name"
        )
    )
    ids = [app["id"] for app in apps]
    provided = list(
        Interface.objects.filter(provider_id__in=ids).values("id", "provider_id", "name")
    )
    consumers = list(
        InterfaceConsumer.objects.filter(interface_id__in=[i["id"] for i in provided]).values(
            "interface_id", "consumer__name"
        )
    )
    consumed = list(
        InterfaceConsumer.objects.filter(consumer_id__in=ids).values(
            "consumer_id", "interface__name", "interface__provider__name"
        )
    )
    return json.dumps(
        {"apps": apps, "provided": provided, "consumers": consumers, "consumed": consumed}
    )


def _data_queries(sql: list[str]) -> list[str]:
    return [q for q in sql if not any(f'FROM "{table}"' in q for table in AUTH_TABLES)]


def bench_application_list(ctx: Context) -> list[Result]:
    client = Client()
    client.force_login(ctx.user("admin"))
    first = min(LIST_ROWS, Application.objects.count())
    variables = {"first": first}

    body, sql = capture_queries(lambda: _post(client, LIST_QUERY, variables))
    assert len(body["data"]["applications"]["edges"]) == first
    fields = count_fields(body["data"])
    data_queries = _data_queries(sql)
    _small, small_sql = capture_queries(lambda: _post(client, LIST_QUERY, {"first": 10}))
    constant = len(_data_queries(small_sql)) == len(data_queries)
    counted = any("COUNT(" in q for q in sql)

    timings = interleaved(
        {
            "graphql": lambda: _send(client, LIST_QUERY, variables),
            "orm": lambda: orm_baseline(first),
        },
        repeats=ctx.repeats,
    )
    graphql_s, orm_s = timings["graphql"].median, timings["orm"].median
    # For reference: the baseline with the collector paused too, as the GraphQL view runs.
    orm_paused = timeit(lambda: _paused(orm_baseline, first), repeats=ctx.repeats)
    times = ratio(graphql_s, orm_s)
    per_field_us = (graphql_s - orm_s) / fields * 1e6
    queries_ok = len(data_queries) <= LIST_LEVELS and constant and not counted
    details = {
        "rows": first,
        "fields": fields,
        "data_queries": len(data_queries),
        "list_levels": LIST_LEVELS,
        "queries_constant_10_vs_rows": constant,
        "count_query": counted,
        "graphql_min_ms": round(timings["graphql"].minimum * 1000, 1),
        "orm_min_ms": round(timings["orm"].minimum * 1000, 1),
        "orm_gc_paused_ms": round(orm_paused.ms, 1),
    }
    return [
        Result(
            name=f"GraphQL list of {first} applications with interfaces",
            figure=round(graphql_s * 1000, 1),
            unit="ms",
            target="≤ 12× ORM, ≤ 1 query per list level, no COUNT",
            met=times is not None and times <= 12 and queries_ok,
            comparison=round(orm_s * 1000, 1),
            comparison_label="ORM .values() + json.dumps, same rows and fields",
            ratio=round(times, 2) if times else None,
            queries=len(sql),
            details=details,
        ),
        Result(
            name="GraphQL overhead per resolved field",
            figure=round(per_field_us, 2),
            unit="µs/field",
            target="≤ 15 µs",
            met=per_field_us <= 15,
            comparison=round(orm_s * 1000, 1),
            comparison_label="ORM baseline (subtracted)",
            comparison_unit="ms",
            details={"fields": fields, "graphql_ms": round(graphql_s * 1000, 1)},
        ),
    ]


def _paused(fn, *args):
    with gc_paused():
        return fn(*args)


def bench_service_desk_queue(ctx: Context) -> list[Result]:
    """The queue as an API client asks for it: a bearer token (the service desk's), open
    incidents of priorities P1–P3 by SLA deadline, first page of 50, without totalCount."""
    _token, raw = APIToken.issue(ctx.user("desk"), name="benchmark")
    client = Client()
    headers = {"Authorization": f"Bearer {raw}"}
    variables = {"first": QUEUE_ROWS, "priority": QUEUE_PRIORITIES}
    plain, counted = QUEUE % "", QUEUE % "totalCount"
    _post(client, plain, variables, **headers)  # the token's first use is recorded once

    body, sql = capture_queries(lambda: _post(client, plain, variables, **headers))
    page = body["data"]["incidents"]
    count_queries = sum("COUNT(" in q for q in sql)
    total_body, total_sql = capture_queries(lambda: _post(client, counted, variables, **headers))
    total = total_body["data"]["incidents"]["totalCount"]

    def orm_page():
        rows = (
            Incident.objects.filter(state__in=OPEN_INCIDENT_STATES)
            .filter(Q(priority__in=QUEUE_PRIORITIES))
            .select_related("assigned_team", "assignee", "service")
            .order_by("resolution_due")[: QUEUE_ROWS + 1]
        )
        return json.dumps(
            [[r.number, r.title, r.state, str(r.resolution_due), r.assigned_team_id] for r in rows]
        )

    timings = interleaved(
        {
            "queue": lambda: _send(client, plain, variables, **headers),
            "with_total": lambda: _send(client, counted, variables, **headers),
            "orm": orm_page,
        },
        repeats=max(ctx.repeats, 20),
    )
    median_ms = timings["queue"].ms
    met = median_ms <= 50 and len(sql) <= 3 and count_queries == 0
    return [
        Result(
            name=f"Service-desk queue, first {QUEUE_ROWS} of {Incident.objects.count():,} "
            "incidents (bearer token)",
            figure=round(median_ms, 1),
            unit="ms",
            target="≤ 50 ms, ≤ 3 queries, no COUNT",
            met=met,
            comparison=round(timings["with_total"].ms, 1),
            comparison_label="the same page with totalCount",
            ratio=ratio(median_ms, timings["with_total"].ms),
            queries=len(sql),
            details={
                "filters": "open: true, priority: P1–P3, orderBy: resolutionDue",
                "rows": len(page["edges"]),
                "has_next_page": page["pageInfo"]["hasNextPage"],
                "matching": total,
                "count_queries": count_queries,
                "queries_with_total_count": len(total_sql),
                "queries_counted": "token lookup with its user, the user's roles, the page",
                "orm_page_ms": round(timings["orm"].ms, 2),
            },
        )
    ]


def _view_call(view, user, document, variables=None):
    request = RequestFactory().post(
        "/graphql/",
        json.dumps({"query": document, "variables": variables or {}}),
        content_type="application/json",
    )
    request.user = user
    response = view(request)
    return response.status_code, response.content


def _paused_view(view):
    """`view` with the collector paused as LandkarteGraphQLView pauses it (over execution and
    encoding), so that the comparison shows what the limits and the cache cost."""

    def paused(request):
        with gc_paused():
            return view(request)

    return paused


def bench_limits_and_cache(ctx: Context) -> list[Result]:
    """LandkarteGraphQLView (limits, document cache) against graphene-django's stock
    GraphQLView (parse and validate on every request, no limits) on the same request, both
    executing with the same execution context, no field middleware and the collector paused
    alike, so that the difference is what the limits and the cache cost. The 1,000-alias bomb
    is refused before validation."""
    admin = ctx.user("admin")
    ours = LandkarteGraphQLView.as_view()
    stock = _paused_view(
        GraphQLView.as_view(execution_context_class=SyncExecutionContext, middleware=[])
    )
    stock_default = GraphQLView.as_view(middleware=[])
    variables = {"first": LIMITS_ROWS}
    expected = _view_call(stock, admin, LIST_QUERY, variables)
    assert _view_call(ours, admin, LIST_QUERY, variables) == expected and expected[0] == 200

    def uncached(document, variables_=None):
        graphql_limits.document_cache.clear()
        return _view_call(ours, admin, document, variables_)

    repeats = max(ctx.repeats * 10, 50)
    timings = interleaved(
        {
            "stock": lambda: _view_call(stock, admin, LIST_QUERY, variables),
            "ours": lambda: _view_call(ours, admin, LIST_QUERY, variables),
            "ours_uncached": lambda: uncached(LIST_QUERY, variables),
            "stock_default_execution": lambda: _view_call(
                stock_default, admin, LIST_QUERY, variables
            ),
        },
        repeats=repeats,
    )
    added_ms = timings["ours"].ms - timings["stock"].ms
    small = interleaved(
        {
            "stock": lambda: _view_call(stock, admin, SMALL_QUERY),
            "ours": lambda: _view_call(ours, admin, SMALL_QUERY),
            "ours_uncached": lambda: uncached(SMALL_QUERY),
        },
        repeats=repeats,
    )

    def refuse():
        status, content = _view_call(ours, admin, ALIAS_BOMB)
        code = json.loads(content)["errors"][0]["extensions"]["code"]
        assert status == 400 and code == "too_many_aliases", (status, content[:200])

    bomb = timeit(refuse, repeats=max(ctx.repeats, 20))
    stock_bomb = timeit(lambda: _view_call(stock, admin, ALIAS_BOMB), repeats=1, warmup=0)
    return [
        Result(
            name=f"Limits and document cache, list of {LIMITS_ROWS} applications",
            figure=round(added_ms, 2),
            unit="ms added",
            comparison_unit="ms",
            target="≤ 1 ms",
            met=added_ms <= 1,
            comparison=round(timings["stock"].ms, 2),
            comparison_label="graphene-django GraphQLView median (same execution)",
            ratio=ratio(timings["ours"].ms, timings["stock"].ms),
            details={
                "ours_ms": round(timings["ours"].ms, 2),
                "ours_min_ms": round(timings["ours"].minimum * 1000, 2),
                "stock_min_ms": round(timings["stock"].minimum * 1000, 2),
                "ours_without_cache_ms": round(timings["ours_uncached"].ms, 2),
                "stock_with_graphql_core_execution_ms": round(
                    timings["stock_default_execution"].ms, 2
                ),
                "small_query": SMALL_QUERY,
                "small_stock_ms": round(small["stock"].ms, 3),
                "small_ours_ms": round(small["ours"].ms, 3),
                "small_ours_without_cache_ms": round(small["ours_uncached"].ms, 3),
                "runs_each": repeats,
            },
        ),
        Result(
            name="1,000-alias bomb refused",
            figure=round(bomb.ms, 2),
            unit="ms",
            target="≤ 100 ms",
            met=bomb.ms <= 100,
            comparison=round(stock_bomb.ms, 1),
            comparison_label="stock view parses, validates and runs it",
            ratio=ratio(bomb.ms, stock_bomb.ms),
        ),
    ]


BENCHMARKS = [bench_application_list, bench_service_desk_queue, bench_limits_and_cache]

"""What the GraphQL limits and the document cache cost, and how fast bombs are refused:
`make benchmark` (or `pytest tests/benchmarks/test_graphql_limits_benchmark.py -s -o addopts=""`).

The same requests go to graphene-django's stock GraphQLView (parse and validate on every
request, no limits) and to LandkarteGraphQLView (limits and cache), through RequestFactory so
that middleware and sessions are the same for both. BENCH_RUNS (default 50) runs each; figures
are medians. Assertions only check that both views answer alike."""

import json
import os
import statistics
import time

import pytest
from django.test import RequestFactory
from graphene_django.views import GraphQLView

from cmdb.factories import ApplicationFactory, InterfaceFactory, OrgUnitFactory, VendorFactory
from landkarte import graphql_limits
from landkarte.graphql import LandkarteGraphQLView

RUNS = int(os.environ.get("BENCH_RUNS", "50"))
ROWS = int(os.environ.get("BENCH_ROWS", "100"))

LIST_QUERY = """query($first: Int) { applications(first: $first, orderBy: "name") {
  totalCount edges { node {
    name acronym criticality vendor { name jurisdiction } ownerOrgUnit { name code }
    providedInterfaces { name protocol consumers { name } }
    consumedInterfaces { name provider { name } }
} } } }"""
SMALL_QUERY = "{ me { user { username } roles } }"
ALIAS_BOMB = "{ " + " ".join(f"a{i}: __typename" for i in range(1000)) + " }"


@pytest.fixture
def landscape(db):
    unit = OrgUnitFactory()
    vendor = VendorFactory()
    apps = [
        ApplicationFactory(name=f"App {i:04d}", owner_org_unit=unit, vendor=vendor)
        for i in range(ROWS)
    ]
    for i, app in enumerate(apps):
        InterfaceFactory(provider=app, consumers=[apps[(i + 1) % ROWS]])
    return apps


def call(view, user, query, variables=None):
    request = RequestFactory().post(
        "/graphql/",
        json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
    )
    request.user = user
    response = view(request)
    return response.status_code, json.loads(response.content)


def median_ms(fn, runs=RUNS):
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


@pytest.mark.django_db
def test_limits_and_cache_cost_against_stock_view(landscape, admin_user):
    stock = GraphQLView.as_view()
    ours = LandkarteGraphQLView.as_view()
    variables = {"first": ROWS}

    expected = call(stock, admin_user, LIST_QUERY, variables)
    assert call(ours, admin_user, LIST_QUERY, variables) == expected
    assert expected[0] == 200 and len(expected[1]["data"]["applications"]["edges"]) == ROWS

    def stock_call(query, vars_):
        return call(stock, admin_user, query, vars_)

    def cached_call(query, vars_):
        return call(ours, admin_user, query, vars_)

    def uncached_call(query, vars_):
        graphql_limits.document_cache.clear()
        started = time.perf_counter()
        call(ours, admin_user, query, vars_)
        return time.perf_counter() - started

    rows = []
    for name, query, vars_ in (("list", LIST_QUERY, variables), ("small", SMALL_QUERY, None)):
        samples = {"stock": [], "cached": [], "uncached": []}
        for _ in range(RUNS):  # interleaved, so that drift of the machine hits all three
            for key, fn in (("stock", stock_call), ("cached", cached_call)):
                started = time.perf_counter()
                fn(query, vars_)
                samples[key].append(time.perf_counter() - started)
            samples["uncached"].append(uncached_call(query, vars_))
        stock_ms, ours_ms, uncached_ms = (
            statistics.median(samples[key]) * 1000 for key in ("stock", "cached", "uncached")
        )
        rows.append((name, stock_ms, ours_ms, uncached_ms))

    print(f"\n[graphql limits] medians of {RUNS} requests, {ROWS} rows in the list query")
    for name, stock_ms, ours_ms, uncached_ms in rows:
        print(
            f"  {name:5} stock view {stock_ms:7.2f} ms | limits+cache {ours_ms:7.2f} ms "
            f"({ours_ms / stock_ms:.2f}x) | limits, no cache {uncached_ms:7.2f} ms "
            f"({uncached_ms / stock_ms:.2f}x)"
        )


@pytest.mark.django_db
def test_alias_bomb_refusal_against_stock_validation(admin_user):
    ours = LandkarteGraphQLView.as_view()
    stock = GraphQLView.as_view()

    def refuse():
        status, body = call(ours, admin_user, ALIAS_BOMB)
        assert status == 400 and body["errors"][0]["extensions"]["code"] == "too_many_aliases"

    refused_ms = median_ms(refuse, runs=20)
    started = time.perf_counter()
    status, body = call(stock, admin_user, ALIAS_BOMB)
    stock_ms = (time.perf_counter() - started) * 1000
    assert status == 200 and len(body["data"]) == 1000  # the stock view runs it
    print(
        f"\n[graphql limits] 1,000-alias __typename: refused in {refused_ms:.2f} ms (median of "
        f"20); stock view parses, validates and runs it in {stock_ms:.0f} ms "
        f"({stock_ms / refused_ms:.0f}x)"
    )

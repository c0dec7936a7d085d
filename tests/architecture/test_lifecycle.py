"""Lifecycle analysis: earliest end of life among components and dependencies, and conflicts
where an application's planned life outlasts something it depends on."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from architecture.services.lifecycle import (
    KIND_APPLICATION,
    KIND_COMPONENT,
    lifecycle_analysis,
    lifecycle_conflicts,
)
from cmdb.choices import Environment
from cmdb.factories import ApplicationFactory, InterfaceFactory
from cmdb.models import ApplicationComponent, ITComponent

pytestmark = pytest.mark.django_db

D = datetime.date
ON = D(2026, 6, 1)


@pytest.fixture
def landscape():
    """x (end of life 2030) consumes y (2028), y consumes z (2035, a near miss) and w (2030,
    the same day: no conflict). x uses c1 (2027) and c2 (2026-09) in production, c3 (2026-07)
    only in test. `forever` has no end of life and consumes z."""
    x = ApplicationFactory(name="X", end_of_life_date=D(2030, 1, 1))
    y = ApplicationFactory(name="Y", end_of_life_date=D(2028, 1, 1))
    z = ApplicationFactory(name="Z", end_of_life_date=D(2035, 1, 1))
    w = ApplicationFactory(name="W", end_of_life_date=D(2030, 1, 1))
    forever = ApplicationFactory(name="Forever")
    retired = ApplicationFactory(name="Retired", end_of_life_date=D(2020, 1, 1))
    InterfaceFactory(provider=y, consumers=[x])
    InterfaceFactory(provider=z, consumers=[y, forever])
    InterfaceFactory(provider=w, consumers=[y, retired])
    c1 = ITComponent.objects.create(name="Java", version="11", end_of_life=D(2027, 1, 1))
    c2 = ITComponent.objects.create(
        name="Windows Server", version="2016", end_of_life=D(2026, 9, 1)
    )
    c3 = ITComponent.objects.create(name="Oracle", version="12", end_of_life=D(2026, 7, 1))
    c4 = ITComponent.objects.create(name="Linux", version="9")
    for component in [c1, c2, c4]:
        ApplicationComponent.objects.create(
            application=x, component=component, environment=Environment.PRODUCTION
        )
    ApplicationComponent.objects.create(application=x, component=c3, environment=Environment.TEST)
    old = ITComponent.objects.create(name="Solaris", version="8", end_of_life=D(2014, 1, 1))
    ApplicationComponent.objects.create(application=retired, component=old)
    return dict(x=x, y=y, z=z, w=w, forever=forever, retired=retired, c1=c1, c2=c2, c3=c3)


def test_earliest_component_and_dependency(landscape):
    report = lifecycle_analysis(landscape["x"], on=ON)
    assert report.end_of_life == D(2030, 1, 1)
    assert report.earliest_component_end_of_life == D(2026, 9, 1)
    assert report.earliest_components == [landscape["c2"]]
    assert report.earliest_dependency_end_of_life == D(2028, 1, 1)
    assert report.earliest_dependencies == [landscape["y"]]


def test_conflicts_and_near_misses(landscape):
    report = lifecycle_analysis(landscape["x"], on=ON)
    found = {(c.kind, c.dependency.pk) for c in report.conflicts}
    assert found == {
        (KIND_COMPONENT, landscape["c2"].pk),
        (KIND_COMPONENT, landscape["c1"].pk),
        (KIND_APPLICATION, landscape["y"].pk),
    }
    # z ends after x (near miss), w on the same day, c3 is only used in test: none flagged.
    (y_conflict,) = [c for c in report.conflicts if c.kind == KIND_APPLICATION]
    assert y_conflict.depth == 1
    assert y_conflict.application_end_of_life == D(2030, 1, 1)
    assert not y_conflict.passed


def test_no_end_of_life_outlasts_everything(landscape):
    report = lifecycle_analysis(landscape["forever"], on=ON)
    assert [(c.kind, c.dependency.pk) for c in report.conflicts] == [
        (KIND_APPLICATION, landscape["z"].pk)
    ]
    assert report.conflicts[0].application_end_of_life is None


def test_landscape_conflicts_with_bounded_queries(landscape):
    with CaptureQueriesContext(connection) as ctx:
        conflicts = lifecycle_conflicts(on=ON)
    assert len(ctx.captured_queries) <= 3
    found = {(c.application.name, c.kind, str(c.dependency)) for c in conflicts}
    # w ends the same day as x, z after x and after y: near misses. "Retired" has already
    # reached its end of life and is left out although its component ended even earlier.
    assert found == {
        ("X", KIND_COMPONENT, "Java 11"),
        ("X", KIND_COMPONENT, "Windows Server 2016"),
        ("X", KIND_APPLICATION, "Y"),
        ("Forever", KIND_APPLICATION, "Z"),
    }


def test_lifecycle_conflicts_come_in_pages_through_graphql(landscape, gql, architect):
    everything = [(c.application.name, c.kind, c.depth) for c in lifecycle_conflicts(on=ON)]
    query = """query($on: Date, $first: Int, $offset: Int) {
        lifecycleConflicts(on: $on, first: $first, offset: $offset) {
            application { name } kind depth
        }
    }"""

    def page(first, offset):
        variables = {"on": ON.isoformat(), "first": first, "offset": offset}
        status, body = gql(query, variables, user=architect)
        assert status == 200, body
        return [
            (c["application"]["name"], c["kind"], c["depth"])
            for c in body["data"]["lifecycleConflicts"]
        ]

    assert page(2, 0) + page(2, 2) == everything
    assert page(100, 3) == everything[3:]
    assert page(None, None) == everything  # explicit nulls: the defaults
    status, body = gql(query, {"on": ON.isoformat(), "first": 5000}, user=architect)
    assert body["errors"][0]["extensions"]["code"] == "page_size_exceeded"

"""Impact analysis costs the same number of queries at every depth, whatever it reaches.

On a landscape where every deeper walk reaches more applications, services, org units, open
incidents and scheduled changes, the analysis by vendor, by component and by application
takes as many queries at depth 1 and 2 as unlimited; what it returns needs no further query;
and a result of more than 999 applications from more than 500 starts (SQLite's limits for
in_bulk batches and compound SELECTs) costs no more."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from architecture.services.impact import impact_analysis, impact_links
from cmdb.factories import (
    ApplicationComponentFactory,
    ApplicationFactory,
    InterfaceFactory,
    ITComponentFactory,
    OrgUnitFactory,
    ServiceFactory,
    UserFactory,
    VendorFactory,
)
from cmdb.models import Application, Interface, InterfaceConsumer, OrgUnit
from itsm.models import Change, Incident

pytestmark = pytest.mark.django_db

DEPTHS = [1, 2, None]


def count_queries(fn):
    with CaptureQueriesContext(connection) as ctx:
        value = fn()
    return len(ctx.captured_queries), value


def sizes(impact) -> tuple[int, ...]:
    return (
        len(impact.applications),
        len(impact.services),
        len(impact.org_units),
        len(impact.open_incidents),
        len(impact.scheduled_changes),
    )


@pytest.fixture
def landscape():
    """Starts: S1 (supplied by the group V), S2 (by its subsidiary), U (uses V's product)
    and C's users; behind each a chain of dependents three levels deep, with a cycle. At
    every level: a service with a consuming org unit, an open incident, a scheduled change
    (and a closed incident and a draft change that must not count)."""
    group = VendorFactory(name="Group", country="US")
    subsidiary = VendorFactory(name="Group DE", parent=group)
    product = ITComponentFactory(name="Group Cloud", vendor=group)
    other = ITComponentFactory(name="Database", vendor=VendorFactory(name="Other"))
    s1 = ApplicationFactory(vendor=group)
    s2 = ApplicationFactory(vendor=subsidiary)
    uses = ApplicationFactory()
    ApplicationComponentFactory(application=uses, component=product)
    ApplicationComponentFactory(application=s2, component=other)
    levels = [[s1, s2, uses]]
    for _level in range(3):
        following = []
        for provider in levels[-1]:
            consumers = [ApplicationFactory(), ApplicationFactory()]
            InterfaceFactory(provider=provider, consumers=consumers)
            following += consumers
        levels.append(following)
    InterfaceFactory(provider=levels[3][0], consumers=[s1])  # a cycle back to a start
    user, now = UserFactory(), timezone.now()
    for depth, apps in enumerate(levels):
        ServiceFactory(applications=apps, consumer_org_units=[OrgUnitFactory()])
        incident = Incident.objects.create(
            number=f"INC-2026-00000{depth}", title="Down", impact="low", urgency="low",
            priority="p4", state="new",
        )  # fmt: skip
        incident.applications.add(*apps)
        closed = Incident.objects.create(
            number=f"INC-2026-00010{depth}", title="Old", impact="low", urgency="low",
            priority="p4", state="cancelled",
        )  # fmt: skip
        closed.applications.add(apps[0])
        for number, state in ((depth, "scheduled"), (10 + depth, "draft")):
            change = Change.objects.create(
                number=f"CHG-2026-0000{number:02d}", title="Patch", change_type="normal",
                state=state, requested_by=user, planned_start=now,
                planned_end=now + datetime.timedelta(hours=2),
            )  # fmt: skip
            change.applications.add(*apps)
    return {"vendor": subsidiary, "component": other, "application": s1}


@pytest.mark.parametrize("subject", ["vendor", "component", "application"])
def test_query_count_does_not_depend_on_the_depth(landscape, subject):
    counts, found = [], []
    for depth in DEPTHS:
        count, impact = count_queries(
            lambda d=depth: impact_analysis(**{subject: landscape[subject]}, depth=d)
        )
        counts.append(count)
        found.append(sizes(impact))
        # What it returns is loaded: applications, paths, services, org units, tickets.
        touched, _ = count_queries(
            lambda i=impact: (
                [
                    (item.application.name, [app.name for app in item.path], item.depth)
                    for item in i.applications
                ]
                + [s.name for s in i.services]
                + [o.name for o in i.org_units]
                + [x.number for x in i.open_incidents + i.scheduled_changes]
            )
        )
        assert touched == 0
        links, _ = count_queries(lambda i=impact: impact_links(i))
        assert links == 2
    assert len(set(counts)) == 1, counts
    assert counts[0] <= 9, counts
    # Every deeper walk finds more of everything, so per-level queries would have shown above.
    for shallow, deep in zip(found, found[1:], strict=False):
        assert all(a < b for a, b in zip(shallow, deep, strict=True)), found


def test_the_counts_are_the_same_for_every_kind_of_subject_but_the_starts(landscape):
    """The starts of a vendor cost three queries (group, supplied, using), of a component one,
    of an application none; the walk and what hangs off it cost the same."""
    counts = {
        subject: count_queries(lambda s=subject: impact_analysis(**{s: landscape[s]}))[0]
        for subject in ("vendor", "component", "application")
    }
    assert counts["vendor"] - 3 == counts["component"] - 1 == counts["application"]


def test_large_results_from_many_starts_cost_no_more_queries():
    """600 applications supplied by a vendor (more than the 500 terms SQLite allows in one
    compound SELECT) and 1,100 affected (more than the 999 ids of an in_bulk batch)."""
    unit = OrgUnitFactory()
    vendor = VendorFactory(name="Big")
    supplied = Application.objects.bulk_create(
        [
            Application(
                name=f"Supplied {i}", kind="standard_software", owner_org_unit=unit, vendor=vendor
            )  # fmt: skip
            for i in range(600)
        ]
    )
    behind = Application.objects.bulk_create(
        [
            Application(name=f"Behind {i}", kind="own_development", owner_org_unit=unit)
            for i in range(500)
        ]
    )
    interface = Interface.objects.create(name="Hub", provider=supplied[0], protocol="rest")
    InterfaceConsumer.objects.bulk_create(
        [InterfaceConsumer(interface=interface, consumer=a, provider=supplied[0]) for a in behind]
    )
    small_vendor = VendorFactory(name="Small")
    ApplicationFactory(vendor=small_vendor)
    baseline, _ = count_queries(lambda: impact_analysis(vendor=small_vendor))
    for depth in DEPTHS:
        count, impact = count_queries(lambda d=depth: impact_analysis(vendor=vendor, depth=d))
        assert count == baseline
        assert len(impact.starts) == 600
        assert len(impact.applications) == 1100
        assert {item.depth for item in impact.applications} == {0, 1}
    assert OrgUnit.objects.exists()


def test_an_application_id_that_is_no_application_affects_nothing():
    impact = impact_analysis(application=10**9)
    assert impact.applications == [] and impact.services == []

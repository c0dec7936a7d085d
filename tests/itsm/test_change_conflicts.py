"""Change conflicts: overlapping windows on the same or connected applications, and freeze
windows (itsm.services.conflicts)."""

import datetime
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cmdb.factories import ApplicationFactory, InterfaceFactory, ServiceFactory, UserFactory
from itsm.choices import ChangeState
from itsm.models import Change, FreezeWindow
from itsm.services.conflicts import change_conflicts, conflicts_for

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
DAY = datetime.datetime(2026, 5, 4, 0, 0, tzinfo=BERLIN)
H = datetime.timedelta(hours=1)
_numbers = itertools.count(1)


def planned(*applications, start=20, hours=2, state=ChangeState.SCHEDULED) -> Change:
    """A change on `applications` planned from `start` o'clock on DAY for `hours` hours."""
    change = Change.objects.create(
        number=f"CHG-2026-{next(_numbers):06d}",
        title="Change",
        state=state,
        requested_by=UserFactory(),
        planned_start=DAY + start * H,
        planned_end=DAY + (start + hours) * H,
    )
    change.applications.set(applications)
    return change


def freeze(start=18, hours=6, applications=(), services=(), applies_to_all=False):
    window = FreezeWindow.objects.create(
        name="Freeze",
        start=DAY + start * H,
        end=DAY + (start + hours) * H,
        applies_to_all=applies_to_all,
    )
    window.applications.set(applications)
    window.services.set(services)
    return window


def summary(conflicts) -> list[tuple]:
    return [
        (
            c.kind,
            c.change.number,
            c.other.number if isinstance(c.other, Change) else c.other.name,
            c.application_ids,
        )
        for c in conflicts
    ]


@pytest.fixture
def chain():
    """a ← b ← c ← d: b consumes an interface of a, c one of b, d one of c (d is three
    steps away from a)."""
    a, b, c, d = (ApplicationFactory(name=name) for name in "abcd")
    InterfaceFactory(provider=a, consumers=[b])
    InterfaceFactory(provider=b, consumers=[c])
    InterfaceFactory(provider=c, consumers=[d])
    return a, b, c, d


def test_same_application_in_overlapping_windows(chain):
    a, *_ = chain
    first = planned(a, start=20, hours=2)
    second = planned(a, start=21, hours=2)
    [conflict] = conflicts_for(first)
    assert (conflict.kind, conflict.other, conflict.applications) == (
        "same_application",
        second,
        [a],
    )
    assert conflict.path == []
    assert first.number in conflict.message and second.number in conflict.message
    assert summary(conflicts_for(second)) == [
        ("same_application", second.number, first.number, [a.pk])
    ]


def test_dependent_application_in_overlapping_windows(chain):
    a, b, *_ = chain
    provider_change = planned(a)
    consumer_change = planned(b)
    [conflict] = conflicts_for(provider_change)
    assert conflict.kind == "dependent_application"
    assert conflict.other == consumer_change
    assert conflict.applications == [a, b]
    assert conflict.path == [a.pk, b.pk]
    assert conflict.message == (
        f"b (changed by {consumer_change.number}) depends on a (changed by "
        f"{provider_change.number}) within 1 step, in the same period."
    )
    # Seen from the consumer's change, the dependency runs the other way.
    [reverse] = conflicts_for(consumer_change)
    assert (reverse.applications, reverse.path) == ([b, a], [b.pk, a.pk])
    assert reverse.message.startswith(f"b (changed by {consumer_change.number}) depends on a")


def test_depth_limit_is_respected(chain, settings):
    a, b, c, d = chain
    change = planned(a)
    two_steps = planned(c)
    three_steps = planned(d)
    found = conflicts_for(change)
    assert summary(found) == [
        ("dependent_application", change.number, two_steps.number, [a.pk, c.pk])
    ]
    assert found[0].path == [a.pk, b.pk, c.pk]
    assert summary(conflicts_for(change, depth=1)) == []
    deep = conflicts_for(change, depth=3)
    assert [c.other for c in deep] == [two_steps, three_steps]
    assert deep[1].path == [a.pk, b.pk, c.pk, d.pk]
    settings.LANDKARTE_CHANGE_CONFLICT_DEPTH = 3
    assert len(conflicts_for(change)) == 2


@pytest.mark.parametrize(
    ("start", "hours"),
    [
        (22, 2),  # starts when the first one ends: touching, not overlapping
        (18, 2),  # ends when the first one starts
        (8, 3),  # the same morning
    ],
)
def test_non_overlapping_windows_are_not_conflicts(chain, start, hours):
    a, b, *_ = chain
    change = planned(a, start=20, hours=2)
    planned(a, start=start, hours=hours)
    planned(b, start=start, hours=hours)
    assert conflicts_for(change) == []


def test_unrelated_applications_are_not_conflicts(chain):
    a, *_ = chain
    change = planned(a)
    planned(ApplicationFactory())
    planned()  # no applications at all
    assert conflicts_for(change) == []


@pytest.mark.parametrize("state", [ChangeState.CANCELLED, ChangeState.REJECTED, ChangeState.CLOSED])
def test_finished_changes_are_ignored(chain, state):
    a, b, *_ = chain
    change = planned(a)
    planned(a, state=state)
    planned(b, state=state)
    assert conflicts_for(change) == []


def test_changes_without_a_window_are_ignored(chain):
    a, *_ = chain
    change = planned(a)
    unplanned = planned(a, state=ChangeState.DRAFT)
    Change.objects.filter(pk=unplanned.pk).update(planned_start=None, planned_end=None)
    assert conflicts_for(change) == []
    unplanned.refresh_from_db()
    assert conflicts_for(unplanned) == []


def test_other_states_still_count(chain):
    a, *_ = chain
    change = planned(a)
    for state in (ChangeState.DRAFT, ChangeState.AUTHORIZATION, ChangeState.IMPLEMENTING):
        planned(a, state=state)
    assert len(conflicts_for(change)) == 3


def test_freeze_window_conflicts(chain):
    a, b, *_ = chain
    change = planned(a, start=20, hours=2)
    by_app = freeze(applications=[a])
    by_service = freeze(services=[ServiceFactory(applications=[a])])
    everything = freeze(applies_to_all=True)
    freeze(applications=[b])  # another application
    freeze(start=22, hours=3, applies_to_all=True)  # begins as the change ends
    freeze(start=12, hours=8, applications=[a])  # ends as the change begins
    found = conflicts_for(change)
    assert [(c.kind, c.other, c.applications) for c in found] == [
        ("freeze_window", by_app, [a]),
        ("freeze_window", by_service, [a]),
        ("freeze_window", everything, [a]),
    ]
    assert change.number in found[0].message and "Freeze" in found[0].message


def test_change_conflicts_lists_each_pair_once(chain):
    a, b, c, d = chain
    early = planned(a, start=19, hours=3)
    same = planned(a, start=20, hours=1)
    dependent = planned(b, start=21, hours=2)  # touches `same` (ends 21:00): no conflict
    far = planned(d, start=21, hours=2)  # three steps from a, two from b
    planned(a, start=23, hours=1)  # after the period asked about
    planned(a, start=20, hours=2, state=ChangeState.CANCELLED)
    window = freeze(start=22, hours=2, applications=[b])

    found = change_conflicts(DAY + 18 * H, DAY + 23 * H)
    assert summary(found) == [
        ("same_application", early.number, same.number, [a.pk]),
        ("dependent_application", early.number, dependent.number, [a.pk, b.pk]),
        ("dependent_application", dependent.number, far.number, [b.pk, d.pk]),
        ("freeze_window", dependent.number, window.name, [b.pk]),
    ]
    assert found[2].path == [b.pk, c.pk, d.pk]
    # conflicts_for finds every pair from both sides; change_conflicts lists it once.
    pairs = {
        frozenset((x.change.pk, x.other.pk))
        for change in (early, same, dependent, far)
        for x in conflicts_for(change)
        if x.kind != "freeze_window"
    }
    listed = [frozenset((x.change.pk, x.other.pk)) for x in found[:3]]
    assert set(listed) == pairs and len(listed) == len(pairs)


def test_change_conflicts_include_freeze_windows(chain):
    a, *_ = chain
    change = planned(a, start=20, hours=2)
    window = freeze(applies_to_all=True)
    found = change_conflicts(DAY, DAY + 24 * H)
    assert [(c.kind, c.change, c.other) for c in found] == [("freeze_window", change, window)]
    assert change_conflicts(DAY + 22 * H, DAY + 24 * H) == []


def test_query_count_does_not_grow_with_other_changes(chain):
    a, b, *_ = chain
    change = planned(a, b)
    freeze(applications=[a])

    def count() -> int:
        change.refresh_from_db()
        with CaptureQueriesContext(connection) as queries:
            conflicts_for(change)
        return len(queries)

    for _ in range(2):
        planned(ApplicationFactory(), ApplicationFactory())
    few = count()
    for _ in range(20):
        planned(ApplicationFactory(), ApplicationFactory())
    assert count() == few

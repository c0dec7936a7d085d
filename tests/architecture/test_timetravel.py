"""Time travel: past moments from the recorded history (including records deleted since),
future moments from lifecycle dates and scheduled changes; differences between two moments."""

import datetime

import pytest
from django.utils import timezone

from architecture.services.timetravel import (
    SOURCE_HISTORY,
    SOURCE_PLAN,
    applications_as_of,
    applications_queryset_as_of,
    interfaces_as_of,
    is_recorded_moment,
    landscape_as_of,
    landscape_diff,
)
from cmdb.factories import ApplicationFactory, InterfaceFactory, UserFactory
from cmdb.models import Application, Interface
from itsm.models import Change

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    """a and b with an interface a → b are recorded; at `mid` a is renamed, the interface
    renamed, b deleted and c created."""
    a = ApplicationFactory(name="Alt")
    b = ApplicationFactory(name="Weg")
    interface = InterfaceFactory(name="Meldedaten", provider=a, consumers=[b])
    mid = timezone.now()
    a.name = "Neu"
    a.save()
    interface.name = "Meldedaten v2"
    interface.save()
    b_pk = b.pk
    b.delete()
    c = ApplicationFactory(name="Neu dazu")
    return dict(a=a, b_pk=b_pk, c=c, interface=interface, mid=mid)


def test_past_moment_shows_records_as_they_were(history):
    apps = {app.pk: app for app in applications_as_of(history["mid"])}
    assert isinstance(apps[history["a"].pk], Application)
    assert apps[history["a"].pk].name == "Alt"
    assert apps[history["b_pk"]].name == "Weg"  # deleted since
    assert history["c"].pk not in apps
    assert Application.objects.get(pk=history["a"].pk).name == "Neu"

    (interface,) = interfaces_as_of(history["mid"])
    assert isinstance(interface, Interface)
    assert interface.name == "Meldedaten"

    snapshot = landscape_as_of(history["mid"])
    assert snapshot.source == SOURCE_HISTORY
    assert [link.consumer_id for link in snapshot.links] == [history["b_pk"]]
    assert snapshot.scheduled_changes == []

    now = {app.pk: app.name for app in applications_as_of(timezone.now())}
    assert now == {history["a"].pk: "Neu", history["c"].pk: "Neu dazu"}


def test_queryset_as_of_filters_the_recorded_or_the_current_records(history):
    today = timezone.localdate()
    assert is_recorded_moment(history["mid"])
    assert is_recorded_moment(today - datetime.timedelta(days=1))
    assert not is_recorded_moment(today)  # a date means the end of that day
    then = applications_queryset_as_of(history["mid"])
    assert {app.name for app in then.filter(name__startswith="W")} == {"Weg"}  # deleted since
    assert {app.name for app in then} == {app.name for app in applications_as_of(history["mid"])}
    current = {"Neu", "Neu dazu"}
    assert {app.name for app in applications_queryset_as_of(None)} == current
    # A future moment gives the current records, left to the lifecycle filter.
    future = applications_queryset_as_of(today + datetime.timedelta(days=400))
    assert {app.name for app in future} == current


def test_past_date_means_the_end_of_that_day(history):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    assert applications_as_of(yesterday) == []


def test_future_date_uses_lifecycle_dates_and_lists_scheduled_changes():
    today = timezone.localdate()
    staying = ApplicationFactory(name="Bleibt")
    leaving = ApplicationFactory(
        name="Geht",
        active_date=today - datetime.timedelta(days=400),
        end_of_life_date=today + datetime.timedelta(days=100),
    )
    coming = ApplicationFactory(name="Kommt", phase_in_date=today + datetime.timedelta(days=50))
    InterfaceFactory(name="Alt", provider=leaving, consumers=[staying])
    InterfaceFactory(
        name="Später", provider=staying, consumers=[coming],
        active_from=today + datetime.timedelta(days=60),
    )  # fmt: skip
    now = timezone.now()
    user = UserFactory()
    soon = Change.objects.create(
        number="CHG-2026-000001", title="Abschaltung", change_type="normal", state="scheduled",
        requested_by=user, planned_start=now + datetime.timedelta(days=90),
        planned_end=now + datetime.timedelta(days=91),
    )  # fmt: skip
    soon.applications.add(leaving)
    Change.objects.create(
        number="CHG-2026-000002", title="Später", change_type="normal", state="scheduled",
        requested_by=user, planned_start=now + datetime.timedelta(days=400),
        planned_end=now + datetime.timedelta(days=401),
    )  # fmt: skip
    Change.objects.create(
        number="CHG-2026-000003", title="Entwurf", change_type="normal", state="draft",
        requested_by=user, planned_start=now + datetime.timedelta(days=10),
        planned_end=now + datetime.timedelta(days=11),
    )  # fmt: skip

    future = today + datetime.timedelta(days=200)
    snapshot = landscape_as_of(future)
    assert snapshot.source == SOURCE_PLAN
    assert {app.name for app in snapshot.applications} == {"Bleibt", "Kommt"}
    assert [i.name for i in snapshot.interfaces] == ["Später"]
    assert snapshot.scheduled_changes == [soon]

    diff = landscape_diff(timezone.now(), future)
    assert {obj.name for obj in diff.disappeared} == {"Geht", "Alt"}
    # Recorded already, but alive only after their phase-in / activation dates.
    assert {obj.name for obj in diff.appeared} == {"Kommt", "Später"}
    assert diff.changed == []


def test_landscape_diff_between_past_and_now(history):
    diff = landscape_diff(history["mid"], timezone.now())
    assert [app.pk for app in diff.appeared] == [history["c"].pk]
    assert [app.pk for app in diff.disappeared] == [history["b_pk"]]
    changed = {type(new).__name__: (old, new, fields) for old, new, fields in diff.changed}
    old, new, fields = changed["Application"]
    assert (old.name, new.name, fields) == ("Alt", "Neu", ["name"])
    old, new, fields = changed["Interface"]
    assert (old.name, new.name, fields) == ("Meldedaten", "Meldedaten v2", ["name"])

"""Hypothesis properties of the SLA clock (itsm.services.sla) on the default calendar
(Mon–Thu 07:30–16:30, Fri 07:30–13:00, Europe/Berlin, holidays of Baden-Württemberg), across
daylight-saving changes and holidays, on whole-minute instants where exactness is claimed:
business minutes are ≥ 0, zero on an empty span, additive, monotonic; adding N business
minutes and measuring gives N; a pause moves the resolution due date by exactly the paused
business time and by nothing when it lies outside working hours."""

import datetime
import zoneinfo
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itsm.services import sla
from tests.fuzz.conftest import fuzz_derandomize

pytestmark = pytest.mark.fuzz

# Reproducible by default (no example database, a fixed seed); LANDKARTE_FUZZ_RANDOM=1 explores.
PROPERTY = settings(
    max_examples=100,
    deadline=None,
    database=None,
    derandomize=fuzz_derandomize(),
    suppress_health_check=[HealthCheck.too_slow],
)
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = datetime.UTC


def default_schedule(**overrides) -> sla.Schedule:
    weekly = {
        weekday: [(start.hour * 60 + start.minute, end.hour * 60 + end.minute)
                  for start, end in intervals]
        for weekday, intervals in sla.DEFAULT_WORKING_HOURS.items()
    }  # fmt: skip
    options = {"zone": BERLIN, "country": "DE", "subdivision": "BW", "weekly": weekly,
               "closing_days": frozenset({datetime.date(2026, 12, 24)})}  # fmt: skip
    options.update(overrides)
    return sla.Schedule(**options)


SCHEDULE = default_schedule()
ROUND_THE_CLOCK = default_schedule(weekly={d: [(0, 24 * 60)] for d in range(7)}, country="DE")

START = datetime.datetime(2025, 1, 1, tzinfo=UTC)
# Whole minutes within three years that include DST changes, holidays and the closing day.
instants = st.integers(min_value=0, max_value=3 * 366 * 24 * 60).map(
    lambda minutes: START + datetime.timedelta(minutes=minutes)
)
any_instants = st.builds(
    lambda moment, seconds: moment + datetime.timedelta(seconds=seconds),
    instants,
    st.floats(min_value=0, max_value=59.999),
)
zones = st.sampled_from([UTC, BERLIN, zoneinfo.ZoneInfo("America/New_York")])
schedules = st.sampled_from([SCHEDULE, ROUND_THE_CLOCK])
spans = st.integers(min_value=0, max_value=20 * 24 * 60)  # up to 20 days ahead


def between(schedule, start, end):
    return sla.business_minutes_between(schedule, start, end)


@PROPERTY
@given(schedule=schedules, t1=any_instants, t2=any_instants, zone=zones)
def test_business_minutes_are_never_negative_and_zero_on_an_empty_span(schedule, t1, t2, zone):
    assert between(schedule, t1, t1) == 0
    assert between(schedule, t1.astimezone(zone), t2) >= 0
    if t2 <= t1:
        assert between(schedule, t1, t2) == 0
    assert between(schedule, t1, t2) <= max(0, (t2 - t1) // datetime.timedelta(minutes=1))


@PROPERTY
@given(schedule=schedules, t1=instants, d12=spans, d23=spans, zone=zones)
def test_business_minutes_are_additive(schedule, t1, d12, d23, zone):
    t2 = (t1 + datetime.timedelta(minutes=d12)).astimezone(zone)
    t3 = t2 + datetime.timedelta(minutes=d23)
    assert between(schedule, t1, t2) + between(schedule, t2, t3) == between(schedule, t1, t3)


@PROPERTY
@given(schedule=schedules, t1=any_instants, d=spans, extra=spans)
def test_business_minutes_grow_with_the_end(schedule, t1, d, extra):
    t2 = t1 + datetime.timedelta(minutes=d)
    later = t2 + datetime.timedelta(minutes=extra)
    assert between(schedule, t1, t2) <= between(schedule, t1, later)


@PROPERTY
@given(schedule=schedules, start=any_instants, minutes=st.integers(0, 5000), zone=zones)
def test_adding_n_business_minutes_then_measuring_gives_n(schedule, start, minutes, zone):
    start = start.astimezone(zone)
    due = sla.add_business_minutes(schedule, start, minutes)
    assert due >= start
    assert between(schedule, start, due) == minutes
    if minutes:
        # The due date is the earliest such instant: the minute before it was worked.
        assert sla.is_working_time(schedule, due - datetime.timedelta(minutes=1))
        assert between(schedule, start, due - datetime.timedelta(minutes=1)) == minutes - 1


@PROPERTY
@given(schedule=schedules, start=any_instants, a=st.integers(0, 3000), b=st.integers(0, 3000))
def test_adding_business_minutes_composes(schedule, start, a, b):
    at_once = sla.add_business_minutes(schedule, start, a + b)
    in_two_steps = sla.add_business_minutes(
        schedule, sla.add_business_minutes(schedule, start, a), b
    )
    assert at_once.astimezone(UTC) == in_two_steps.astimezone(UTC)
    assert at_once.astimezone(UTC) <= sla.add_business_minutes(schedule, start, a + b + 1)


class Targets:
    def __init__(self, target):
        self.target = target

    def filter(self, **kwargs):
        return self

    def first(self):
        return self.target


def clock(schedule, opened_at, resolution_minutes=480):
    """An incident-like object on `schedule` with one service-level target."""
    target = SimpleNamespace(response_minutes=30, resolution_minutes=resolution_minutes)
    level = SimpleNamespace(calendar=schedule, targets=Targets(target))
    incident = SimpleNamespace(
        service_level=level, priority="p2", opened_at=opened_at, paused_since=None,
        paused_minutes=0, responded_at=None, resolved_at=None, response_minutes=None,
        resolution_minutes=None, response_breached=False, resolution_breached=False,
    )  # fmt: skip
    sla._set_due_dates(incident, target, schedule, response=True)
    return incident


@PROPERTY
@given(schedule=schedules, opened=instants, wait=spans, paused=spans, minutes=st.integers(1, 3000))
def test_a_pause_moves_the_resolution_due_date_by_the_paused_business_time(
    schedule, opened, wait, paused, minutes
):
    incident = clock(schedule, opened, resolution_minutes=minutes)
    before = incident.resolution_due
    pause_at = opened + datetime.timedelta(minutes=wait)
    resume_at = pause_at + datetime.timedelta(minutes=paused)
    sla.pause(incident, pause_at)
    sla.resume(incident, resume_at)
    excluded = between(schedule, pause_at, resume_at)
    assert incident.paused_minutes == excluded
    assert between(schedule, opened, incident.resolution_due) == minutes + excluded
    assert between(schedule, before, incident.resolution_due) == excluded
    # Resolved right at the due date: the clock shows the target, the pause excluded.
    sla.record_resolution(incident, incident.resolution_due)
    assert incident.resolution_minutes == minutes
    assert not incident.resolution_breached


@PROPERTY
@given(opened=instants, minutes=st.integers(1, 3000), data=st.data())
def test_a_pause_outside_working_hours_moves_nothing(opened, minutes, data):
    incident = clock(SCHEDULE, opened, resolution_minutes=minutes)
    before = incident.resolution_due
    # A weekend night: Saturday 00:00 to Sunday 23:00 local time of some week ahead.
    weeks = data.draw(st.integers(0, 100))
    local = opened.astimezone(BERLIN)
    saturday = local.date() + datetime.timedelta(days=(5 - local.weekday()) % 7 + 7 * weeks)
    pause_at = datetime.datetime.combine(saturday, datetime.time(0, 0), tzinfo=BERLIN)
    resume_at = pause_at + datetime.timedelta(hours=data.draw(st.integers(1, 47)))
    sla.pause(incident, pause_at)
    sla.resume(incident, resume_at)
    assert incident.paused_minutes == 0
    assert incident.resolution_due == before

"""The SLA clock. Every expected date is computed by hand against the default calendar
(Mon–Thu 07:30–16:30 = 540 min, Fri 07:30–13:00 = 330 min, holidays of Baden-Württemberg)."""

import datetime
import random
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction

from cmdb.factories import ServiceFactory
from itsm.choices import Priority
from itsm.models import (
    BusinessCalendar,
    ClosingDay,
    ServiceLevel,
    ServiceLevelTarget,
    WorkingHours,
)
from itsm.services import sla
from itsm.services.sla import (
    add_business_minutes,
    business_minutes_between,
    is_working_time,
    priority_for,
    service_level_for,
)

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
UTC = datetime.UTC
T = datetime.time


def berlin(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def calendar():
    calendar, _service_level = sla.ensure_default_calendar()
    return calendar


@pytest.fixture
def lunch_calendar():
    """Only Mondays, 08:00–12:00 and 13:00–17:00."""
    calendar = BusinessCalendar.objects.create(name="Bürgerbüro")
    WorkingHours.objects.create(calendar=calendar, weekday=0, start=T(8), end=T(12))
    WorkingHours.objects.create(calendar=calendar, weekday=0, start=T(13), end=T(17))
    return calendar


@pytest.fixture
def round_the_clock():
    calendar = BusinessCalendar.objects.create(name="24/7")
    for weekday in range(7):
        WorkingHours.objects.create(calendar=calendar, weekday=weekday, start=T(0), end=T(0))
    return calendar


def incident(opened_at, priority=Priority.P3, service=None):
    return SimpleNamespace(
        service=service, priority=priority, opened_at=opened_at, service_level=None,
        response_due=None, resolution_due=None, responded_at=None, resolved_at=None,
        paused_since=None, paused_minutes=0, response_minutes=None, resolution_minutes=None,
        response_breached=False, resolution_breached=False,
    )  # fmt: skip


# --- default calendar ------------------------------------------------------------------------


def test_ensure_default_calendar_is_idempotent():
    first = sla.ensure_default_calendar()
    second = sla.ensure_default_calendar()
    assert first == second
    calendar, service_level = first
    assert calendar.is_default and calendar.time_zone == "Europe/Berlin"
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("DE", "BW")
    assert sorted(calendar.working_hours.values_list("weekday", "start", "end")) == [
        (0, T(7, 30), T(16, 30)),
        (1, T(7, 30), T(16, 30)),
        (2, T(7, 30), T(16, 30)),
        (3, T(7, 30), T(16, 30)),
        (4, T(7, 30), T(13, 0)),
    ]
    assert service_level.service is None and service_level.calendar == calendar
    assert sorted(
        service_level.targets.values_list("priority", "response_minutes", "resolution_minutes")
    ) == [("p1", 15, 240), ("p2", 30, 480), ("p3", 120, 1440), ("p4", 480, 2400)]
    assert BusinessCalendar.objects.count() == 1 and ServiceLevel.objects.count() == 1


def test_ensure_default_calendar_keeps_tuned_rows(calendar):
    service_level = ServiceLevel.objects.get(service=None)
    service_level.targets.filter(priority=Priority.P1).update(response_minutes=5)
    service_level.targets.filter(priority=Priority.P4).delete()
    sla.ensure_default_calendar()
    assert service_level.targets.get(priority=Priority.P1).response_minutes == 5
    assert service_level.targets.get(priority=Priority.P4).resolution_minutes == 2400


# --- working time and edges ------------------------------------------------------------------


def test_is_working_time_edges(calendar):
    assert not is_working_time(calendar, berlin(2026, 6, 15, 7, 29))
    assert is_working_time(calendar, berlin(2026, 6, 15, 7, 30))
    assert is_working_time(calendar, berlin(2026, 6, 15, 16, 29, 59))
    assert not is_working_time(calendar, berlin(2026, 6, 11, 16, 30))  # Thursday close
    assert is_working_time(calendar, berlin(2026, 6, 12, 12, 59))  # Friday
    assert not is_working_time(calendar, berlin(2026, 6, 12, 13, 0))
    assert not is_working_time(calendar, berlin(2026, 6, 13, 10, 0))  # Saturday
    assert not is_working_time(calendar, berlin(2026, 6, 4, 10, 0))  # Corpus Christi
    # the same instant given in UTC
    assert is_working_time(calendar, datetime.datetime(2026, 6, 15, 5, 30, tzinfo=UTC))


def test_start_at_thursday_close_counts_from_friday_morning(calendar):
    assert add_business_minutes(calendar, berlin(2026, 6, 11, 16, 30), 15) == berlin(
        2026, 6, 12, 7, 45
    )


def test_start_before_opening_counts_from_opening(calendar):
    assert add_business_minutes(calendar, berlin(2026, 6, 15, 7, 29), 15) == berlin(
        2026, 6, 15, 7, 45
    )
    assert add_business_minutes(calendar, berlin(2026, 6, 15, 7, 30), 15) == berlin(
        2026, 6, 15, 7, 45
    )
    assert add_business_minutes(calendar, berlin(2026, 6, 15, 7, 31), 15) == berlin(
        2026, 6, 15, 7, 46
    )
    assert (
        business_minutes_between(calendar, berlin(2026, 6, 15, 7, 0), berlin(2026, 6, 15, 7, 45))
        == 15
    )


def test_due_date_exactly_at_close_stays_on_that_day(calendar):
    assert add_business_minutes(calendar, berlin(2026, 6, 15, 16, 0), 30) == berlin(
        2026, 6, 15, 16, 30
    )
    assert add_business_minutes(calendar, berlin(2026, 6, 12, 12, 0), 60) == berlin(
        2026, 6, 12, 13, 0
    )
    # one minute more spills into Monday
    assert add_business_minutes(calendar, berlin(2026, 6, 12, 12, 0), 61) == berlin(
        2026, 6, 15, 7, 31
    )


def test_zero_minutes_returns_start(calendar):
    assert add_business_minutes(calendar, berlin(2026, 6, 13, 10, 0), 0) == berlin(
        2026, 6, 13, 10, 0
    )


def test_weekend_friday_afternoon_rolls_to_monday(calendar):
    # Friday 12:00: 60 minutes until 13:00, the remaining 180 from Monday 07:30
    assert add_business_minutes(calendar, berlin(2026, 6, 12, 12, 0), 240) == berlin(
        2026, 6, 15, 10, 30
    )
    # Friday after closing
    assert add_business_minutes(calendar, berlin(2026, 6, 12, 14, 0), 15) == berlin(
        2026, 6, 15, 7, 45
    )
    assert (
        business_minutes_between(calendar, berlin(2026, 6, 12, 12, 0), berlin(2026, 6, 15, 10, 30))
        == 240
    )


def test_public_holiday_corpus_christi(calendar):
    # Wednesday 15:00: 90 minutes to 16:30; Thursday 4 June is Corpus Christi in BW;
    # the remaining 150 minutes from Friday 07:30
    assert add_business_minutes(calendar, berlin(2026, 6, 3, 15, 0), 240) == berlin(
        2026, 6, 5, 10, 0
    )
    assert (
        business_minutes_between(calendar, berlin(2026, 6, 3, 16, 0), berlin(2026, 6, 5, 8, 0))
        == 60
    )


def test_public_holiday_all_saints_day(calendar):
    # Friday 29 Oct 2027 12:30: 30 minutes; weekend; Monday 1 Nov is All Saints' Day in BW
    assert add_business_minutes(calendar, berlin(2027, 10, 29, 12, 30), 60) == berlin(
        2027, 11, 2, 8, 0
    )


def test_closing_day(calendar):
    start = berlin(2026, 12, 23, 16, 0)  # Wednesday, 30 minutes left
    assert add_business_minutes(calendar, start, 60) == berlin(2026, 12, 24, 8, 0)
    ClosingDay.objects.create(
        calendar=calendar, date=datetime.date(2026, 12, 24), name="Heiligabend"
    )
    # 24th closed, 25th and 26th holidays (26th a Saturday), then Monday 28th
    assert add_business_minutes(calendar, start, 60) == berlin(2026, 12, 28, 8, 0)
    assert not is_working_time(calendar, berlin(2026, 12, 24, 10, 0))


def test_lunch_break_splits_the_day(lunch_calendar):
    monday = datetime.date(2026, 6, 15)
    at = lambda h, m=0: berlin(monday.year, monday.month, monday.day, h, m)  # noqa: E731
    assert add_business_minutes(lunch_calendar, at(11, 30), 60) == at(13, 30)
    assert add_business_minutes(lunch_calendar, at(11, 30), 30) == at(12, 0)
    assert add_business_minutes(lunch_calendar, at(12, 15), 10) == at(13, 10)
    assert not is_working_time(lunch_calendar, at(12, 0))
    assert business_minutes_between(lunch_calendar, at(11, 0), at(14, 0)) == 120
    # Mondays only: 30 minutes today, the rest next Monday
    assert add_business_minutes(lunch_calendar, at(16, 30), 60) == berlin(2026, 6, 22, 8, 30)


def test_overlapping_intervals_are_not_counted_twice(lunch_calendar):
    WorkingHours.objects.create(calendar=lunch_calendar, weekday=1, start=T(8), end=T(10))
    WorkingHours.objects.create(calendar=lunch_calendar, weekday=1, start=T(9), end=T(11))
    assert (
        business_minutes_between(
            lunch_calendar, berlin(2026, 6, 16, 0, 0), berlin(2026, 6, 17, 0, 0)
        )
        == 180
    )


def test_dst_spring_forward_with_office_hours(calendar):
    # Friday 27 March 2026 12:00 CET; clocks go forward on Sunday 29 March.
    due = add_business_minutes(calendar, berlin(2026, 3, 27, 12, 0), 240)
    assert due == berlin(2026, 3, 30, 10, 30)
    assert due == datetime.datetime(2026, 3, 30, 8, 30, tzinfo=UTC)
    assert due.utcoffset() == datetime.timedelta(hours=2)


def test_dst_fall_back_with_office_hours(calendar):
    # Friday 23 October 2026 12:00 CEST; clocks go back on Sunday 25 October.
    due = add_business_minutes(calendar, berlin(2026, 10, 23, 12, 0), 240)
    assert due == datetime.datetime(2026, 10, 26, 9, 30, tzinfo=UTC)
    assert due.utcoffset() == datetime.timedelta(hours=1)


def test_dst_round_the_clock_counts_real_time(round_the_clock):
    # Saturday 12:00 CET + 24 real hours = Sunday 13:00 CEST
    due = add_business_minutes(round_the_clock, berlin(2026, 3, 28, 12, 0), 1440)
    assert due == datetime.datetime(2026, 3, 29, 11, 0, tzinfo=UTC)
    assert (due.hour, due.minute) == (13, 0)
    assert (
        business_minutes_between(
            round_the_clock, berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)
        )
        == 23 * 60
    )
    assert (
        business_minutes_between(
            round_the_clock, berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0)
        )
        == 25 * 60
    )
    # 01:30 CEST is 23:30 UTC; 90 real minutes later it is 01:00 UTC, the second 02:00 (CET).
    # Python never finds a fold=1 datetime equal to one of another zone (PEP 495): compare
    # in UTC.
    due = add_business_minutes(round_the_clock, berlin(2026, 10, 25, 1, 30), 90)
    assert due.astimezone(UTC) == datetime.datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    assert (due.hour, due.minute, due.fold) == (2, 0, 1)


def test_between_is_zero_for_reversed_or_empty_ranges(calendar):
    monday = berlin(2026, 6, 15, 9, 0)
    assert business_minutes_between(calendar, monday, monday) == 0
    assert business_minutes_between(calendar, monday, berlin(2026, 6, 15, 8, 0)) == 0
    assert business_minutes_between(calendar, berlin(2026, 6, 13, 8), berlin(2026, 6, 14, 20)) == 0


def test_between_rounds_down_to_whole_minutes(calendar):
    start = berlin(2026, 6, 15, 9, 0)
    assert business_minutes_between(calendar, start, start + datetime.timedelta(seconds=119)) == 1


def test_bad_input(calendar):
    with pytest.raises(ValueError):
        add_business_minutes(calendar, datetime.datetime(2026, 6, 15, 9, 0), 10)
    with pytest.raises(ValueError):
        add_business_minutes(calendar, berlin(2026, 6, 15, 9, 0), -1)
    empty = BusinessCalendar.objects.create(name="never")
    with pytest.raises(ValueError):
        add_business_minutes(empty, berlin(2026, 6, 15, 9, 0), 10)


@pytest.mark.parametrize("fixture", ["calendar", "lunch_calendar", "round_the_clock"])
def test_round_trip_on_random_starts(request, fixture):
    schedule = sla.schedule_for(request.getfixturevalue(fixture))
    rng = random.Random(1)
    origin = berlin(2026, 1, 1, 0, 0)
    for _ in range(50):
        start = (origin + datetime.timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))).astimezone(
            BERLIN
        )
        minutes = rng.randrange(0, 6000)
        due = add_business_minutes(schedule, start, minutes)
        assert business_minutes_between(schedule, start, due) == minutes, (start, minutes)
        if minutes:
            assert business_minutes_between(schedule, start, due - sla.MINUTE) == minutes - 1


def test_schedule_needs_no_queries(calendar, django_assert_num_queries):
    schedule = sla.schedule_for(calendar)
    with django_assert_num_queries(0):
        add_business_minutes(schedule, berlin(2026, 6, 1, 8, 0), 10_000)
        business_minutes_between(schedule, berlin(2026, 1, 1, 0, 0), berlin(2026, 12, 31, 0, 0))


def test_prefetched_calendar_needs_no_queries(calendar, django_assert_num_queries):
    calendar = BusinessCalendar.objects.prefetch_related("working_hours", "closing_days").get(
        pk=calendar.pk
    )
    with django_assert_num_queries(0):
        add_business_minutes(calendar, berlin(2026, 6, 1, 8, 0), 100)


# --- constraints -----------------------------------------------------------------------------


def test_constraints(calendar):
    with pytest.raises(IntegrityError), transaction.atomic():
        BusinessCalendar.objects.create(name="second", is_default=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceLevel.objects.create(name="second default", calendar=calendar)
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkingHours.objects.create(calendar=calendar, weekday=5, start=T(12), end=T(12))
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkingHours.objects.create(calendar=calendar, weekday=7, start=T(8), end=T(9))
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceLevelTarget.objects.create(
            service_level=ServiceLevel.objects.get(), priority=Priority.P1,
            response_minutes=1, resolution_minutes=2,
        )  # fmt: skip
    day = datetime.date(2026, 12, 31)
    ClosingDay.objects.create(calendar=calendar, date=day)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClosingDay.objects.create(calendar=calendar, date=day)
    # an end of 00:00 is midnight, allowed
    WorkingHours.objects.create(calendar=calendar, weekday=5, start=T(20), end=T(0))
    # two service levels for two services, and a second non-default calendar, are fine
    other = BusinessCalendar.objects.create(name="other")
    ServiceLevel.objects.create(name="A", calendar=other, service=ServiceFactory())
    ServiceLevel.objects.create(name="B", calendar=other, service=ServiceFactory())


def test_positive_targets_constraint(calendar):
    service_level = ServiceLevel.objects.create(
        name="S", calendar=calendar, service=ServiceFactory()
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceLevelTarget.objects.create(
            service_level=service_level, priority=Priority.P1, response_minutes=0,
            resolution_minutes=10,
        )  # fmt: skip


def test_calendar_clean_rejects_unknown_zone_and_region():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as info:
        BusinessCalendar(name="x", time_zone="Europe/Nowhere").full_clean()
    assert "time_zone" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        BusinessCalendar(name="y", holiday_subdivision="XX").full_clean()
    assert "holiday_subdivision" in info.value.message_dict
    BusinessCalendar(name="z").full_clean()


# --- priority matrix -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [
        ("high", "high", "p1"),
        ("high", "medium", "p2"),
        ("high", "low", "p3"),
        ("medium", "high", "p2"),
        ("medium", "medium", "p3"),
        ("medium", "low", "p4"),
        ("low", "high", "p3"),
        ("low", "medium", "p4"),
        ("low", "low", "p4"),
    ],
)
def test_default_priority_matrix(impact, urgency, priority):
    assert priority_for(impact, urgency) == priority


def test_priority_matrix_from_settings(settings):
    settings.LANDKARTE_PRIORITY_MATRIX = {"high": {"high": "p2"}}
    assert priority_for("high", "high") == "p2"
    with pytest.raises(ValueError):
        priority_for("low", "low")


# --- service levels --------------------------------------------------------------------------


def test_service_level_for_prefers_the_service(calendar, round_the_clock):
    default = ServiceLevel.objects.get(service=None)
    service, other_service = ServiceFactory(), ServiceFactory()
    own = ServiceLevel.objects.create(name="E-Akte", service=service, calendar=round_the_clock)
    own_p1 = ServiceLevelTarget.objects.create(
        service_level=own, priority=Priority.P1, response_minutes=15, resolution_minutes=120
    )
    assert service_level_for(service, Priority.P1) == (own, own_p1)
    level, target = service_level_for(service, Priority.P3)  # no own P3 target
    assert level == default and (target.response_minutes, target.resolution_minutes) == (120, 1440)
    assert service_level_for(other_service, Priority.P1)[0] == default
    assert service_level_for(None, Priority.P1)[0] == default


def test_service_level_for_without_any_service_level():
    assert service_level_for(ServiceFactory(), Priority.P1) == (None, None)
    ticket = incident(berlin(2026, 6, 15, 8, 0))
    sla.start_clock(ticket, ticket.opened_at)
    assert (ticket.service_level, ticket.response_due, ticket.resolution_due) == (None, None, None)


def test_start_clock_on_a_service_calendar(calendar, round_the_clock):
    service = ServiceFactory()
    own = ServiceLevel.objects.create(name="Leitstelle", service=service, calendar=round_the_clock)
    ServiceLevelTarget.objects.create(
        service_level=own, priority=Priority.P1, response_minutes=15, resolution_minutes=240
    )
    ticket = incident(berlin(2026, 6, 13, 10, 0), Priority.P1, service)  # a Saturday
    sla.start_clock(ticket, ticket.opened_at)
    assert ticket.service_level == own
    assert ticket.response_due == berlin(2026, 6, 13, 10, 15)
    assert ticket.resolution_due == berlin(2026, 6, 13, 14, 0)


# --- the clock -------------------------------------------------------------------------------


def test_start_clock_default_level(calendar):
    ticket = incident(berlin(2026, 6, 15, 8, 0), Priority.P3)
    sla.start_clock(ticket, ticket.opened_at)
    assert ticket.service_level == ServiceLevel.objects.get(service=None)
    assert ticket.response_due == berlin(2026, 6, 15, 10, 0)
    # 1440 = Mon 510 + Tue 540 + Wed 390 (07:30 → 14:00)
    assert ticket.resolution_due == berlin(2026, 6, 17, 14, 0)
    assert not ticket.response_breached and not ticket.resolution_breached


def test_pause_and_resume_move_the_resolution_due_date(calendar):
    ticket = incident(berlin(2026, 6, 15, 8, 0), Priority.P3)
    sla.start_clock(ticket, ticket.opened_at)
    sla.pause(ticket, berlin(2026, 6, 15, 10, 0))
    sla.pause(ticket, berlin(2026, 6, 15, 11, 0))  # already paused: no-op
    assert ticket.paused_since == berlin(2026, 6, 15, 10, 0)
    sla.resume(ticket, berlin(2026, 6, 15, 11, 30))
    assert ticket.paused_since is None and ticket.paused_minutes == 90
    assert ticket.resolution_due == berlin(2026, 6, 17, 15, 30)
    assert ticket.response_due == berlin(2026, 6, 15, 10, 0)  # the response clock never pauses
    sla.resume(ticket, berlin(2026, 6, 15, 12, 0))  # not paused: no-op
    assert ticket.paused_minutes == 90


def test_pause_outside_working_hours_counts_nothing(calendar):
    # Thu 15:00 P3: Thu 90 + Fri 330 + Mon 540 + Tue 480 → Tue 15:30
    ticket = incident(berlin(2026, 6, 18, 15, 0), Priority.P3)
    sla.start_clock(ticket, ticket.opened_at)
    assert ticket.resolution_due == berlin(2026, 6, 23, 15, 30)
    sla.pause(ticket, berlin(2026, 6, 19, 14, 0))  # Friday after closing
    sla.resume(ticket, berlin(2026, 6, 22, 7, 0))  # Monday before opening
    assert ticket.paused_minutes == 0
    assert ticket.resolution_due == berlin(2026, 6, 23, 15, 30)


def test_pause_over_a_weekend_counts_only_working_time(calendar):
    ticket = incident(berlin(2026, 6, 18, 15, 0), Priority.P3)
    sla.start_clock(ticket, ticket.opened_at)
    sla.pause(ticket, berlin(2026, 6, 19, 12, 0))  # Friday: 60 minutes until 13:00
    sla.resume(ticket, berlin(2026, 6, 22, 8, 0))  # Monday: 30 minutes since 07:30
    assert ticket.paused_minutes == 90
    # Tue 15:30 + 60 to the close, the other 30 on Wednesday
    assert ticket.resolution_due == berlin(2026, 6, 24, 8, 0)


def test_response_and_resolution_breaches(calendar):
    ticket = incident(berlin(2026, 6, 15, 8, 0), Priority.P2)
    sla.start_clock(ticket, ticket.opened_at)
    assert ticket.response_due == berlin(2026, 6, 15, 8, 30)
    assert ticket.resolution_due == berlin(2026, 6, 15, 16, 0)
    sla.refresh_breaches(ticket, berlin(2026, 6, 15, 8, 30))  # due is not yet late
    assert not ticket.response_breached
    sla.refresh_breaches(ticket, berlin(2026, 6, 15, 8, 31))
    assert ticket.response_breached and not ticket.resolution_breached
    sla.record_response(ticket, berlin(2026, 6, 15, 8, 45))
    assert ticket.responded_at == berlin(2026, 6, 15, 8, 45)
    assert ticket.response_minutes == 45 and ticket.response_breached
    sla.record_response(ticket, berlin(2026, 6, 15, 9, 0))  # only the first one counts
    assert ticket.responded_at == berlin(2026, 6, 15, 8, 45)
    sla.refresh_breaches(ticket, berlin(2026, 6, 15, 16, 1))
    assert ticket.resolution_breached
    sla.record_resolution(ticket, berlin(2026, 6, 16, 8, 0))
    assert ticket.resolved_at == berlin(2026, 6, 16, 8, 0)
    assert ticket.resolution_minutes == 510 + 30
    assert ticket.resolution_breached


def test_in_time_is_not_breached(calendar):
    ticket = incident(berlin(2026, 6, 15, 8, 0), Priority.P2)
    sla.start_clock(ticket, ticket.opened_at)
    sla.record_response(ticket, berlin(2026, 6, 15, 8, 30))
    sla.record_resolution(ticket, berlin(2026, 6, 15, 16, 0))
    assert not ticket.response_breached and not ticket.resolution_breached
    assert (ticket.response_minutes, ticket.resolution_minutes) == (30, 480)


def test_no_resolution_breach_while_paused(calendar):
    ticket = incident(berlin(2026, 6, 15, 8, 0), Priority.P2)
    sla.start_clock(ticket, ticket.opened_at)
    sla.pause(ticket, berlin(2026, 6, 15, 9, 0))
    sla.refresh_breaches(ticket, berlin(2026, 6, 16, 9, 0))
    assert not ticket.resolution_breached
    assert ticket.response_breached  # never responded: the response clock ran on


def test_resolution_while_paused_resumes_first(calendar):
    ticket = incident(berlin(2026, 6, 15, 8, 0), Priority.P2)  # due Mon 16:00
    sla.start_clock(ticket, ticket.opened_at)
    sla.pause(ticket, berlin(2026, 6, 15, 9, 0))
    sla.record_resolution(ticket, berlin(2026, 6, 16, 8, 0))
    # paused Mon 09:00–16:30 (450) + Tue 07:30–08:00 (30)
    assert ticket.paused_minutes == 480 and ticket.paused_since is None
    assert ticket.resolution_minutes == 60
    assert ticket.resolution_due == berlin(2026, 6, 16, 15, 0)  # 960 = Mon 510 + Tue 450
    assert not ticket.resolution_breached
    assert ticket.responded_at == berlin(2026, 6, 16, 8, 0)  # a resolution is a response
    assert ticket.response_breached


def test_reopen_counts_resolved_time_as_paused(calendar):
    ticket = incident(berlin(2026, 6, 15, 8, 0), Priority.P2)  # due Mon 16:00
    sla.start_clock(ticket, ticket.opened_at)
    sla.record_resolution(ticket, berlin(2026, 6, 15, 12, 0))
    assert ticket.resolution_minutes == 240
    sla.reopen(ticket, berlin(2026, 6, 16, 10, 0))
    # resolved Mon 12:00–16:30 (270) + Tue 07:30–10:00 (150)
    assert ticket.paused_minutes == 420
    assert ticket.resolved_at is None and ticket.resolution_minutes is None
    # 480 + 420 = 900: Mon 510, Tue 390 → 14:00
    assert ticket.resolution_due == berlin(2026, 6, 16, 14, 0)
    assert not ticket.resolution_breached
    sla.record_resolution(ticket, berlin(2026, 6, 16, 13, 0))
    assert ticket.resolution_minutes == 510 + 330 - 420
    assert not ticket.resolution_breached
    sla.reopen(ticket, berlin(2026, 6, 16, 13, 0))
    sla.reopen(ticket, berlin(2026, 6, 16, 14, 0))  # not resolved: no-op
    assert ticket.paused_minutes == 420


def test_reopen_after_a_late_resolution_stays_breached(calendar):
    ticket = incident(berlin(2026, 6, 15, 8, 0), Priority.P2)
    sla.start_clock(ticket, ticket.opened_at)
    sla.record_resolution(ticket, berlin(2026, 6, 16, 8, 0))
    assert ticket.resolution_breached
    sla.reopen(ticket, berlin(2026, 6, 16, 9, 0))
    assert ticket.paused_minutes == 60
    assert ticket.resolution_due == berlin(2026, 6, 16, 8, 0)  # 540 = Mon 510 + Tue 30
    assert ticket.resolution_breached


def test_retarget_after_priority_change(calendar):
    ticket = incident(berlin(2026, 6, 15, 8, 0), Priority.P3)
    sla.start_clock(ticket, ticket.opened_at)
    ticket.priority = Priority.P1
    sla.retarget(ticket, berlin(2026, 6, 15, 8, 10))
    assert ticket.response_due == berlin(2026, 6, 15, 8, 15)
    assert ticket.resolution_due == berlin(2026, 6, 15, 12, 0)
    assert not ticket.response_breached


def test_retarget_late_upgrade_breaches_and_downgrade_clears(calendar):
    ticket = incident(berlin(2026, 6, 15, 8, 0), Priority.P3)
    sla.start_clock(ticket, ticket.opened_at)
    ticket.priority = Priority.P1
    sla.retarget(ticket, berlin(2026, 6, 15, 9, 0))
    assert ticket.response_breached  # due 08:15 has passed
    ticket.priority = Priority.P3
    sla.retarget(ticket, berlin(2026, 6, 15, 9, 5))
    assert ticket.response_due == berlin(2026, 6, 15, 10, 0)
    assert not ticket.response_breached


def test_retarget_keeps_response_and_paused_time(calendar):
    ticket = incident(berlin(2026, 6, 15, 8, 0), Priority.P3)
    sla.start_clock(ticket, ticket.opened_at)
    sla.record_response(ticket, berlin(2026, 6, 15, 8, 5))
    sla.pause(ticket, berlin(2026, 6, 15, 9, 0))
    sla.resume(ticket, berlin(2026, 6, 15, 10, 30))
    assert ticket.paused_minutes == 90
    ticket.priority = Priority.P2
    sla.retarget(ticket, berlin(2026, 6, 15, 11, 0))
    assert ticket.response_due == berlin(2026, 6, 15, 10, 0)  # P3's, already met
    # 480 + 90 = 570: Mon 510 + Tue 60
    assert ticket.resolution_due == berlin(2026, 6, 16, 8, 30)


def test_retarget_after_service_change(calendar, round_the_clock):
    service = ServiceFactory()
    own = ServiceLevel.objects.create(name="Leitstelle", service=service, calendar=round_the_clock)
    ServiceLevelTarget.objects.create(
        service_level=own, priority=Priority.P3, response_minutes=60, resolution_minutes=600
    )
    ticket = incident(berlin(2026, 6, 12, 12, 0), Priority.P3)  # Friday
    sla.start_clock(ticket, ticket.opened_at)
    ticket.service = service
    sla.retarget(ticket, berlin(2026, 6, 12, 12, 30))
    assert ticket.service_level == own
    assert ticket.response_due == berlin(2026, 6, 12, 13, 0)
    assert ticket.resolution_due == berlin(2026, 6, 12, 22, 0)


def test_minutes_without_service_level_use_the_default_calendar(calendar):
    ServiceLevel.objects.all().delete()
    ticket = incident(berlin(2026, 6, 12, 12, 0), Priority.P3)
    sla.start_clock(ticket, ticket.opened_at)
    assert ticket.service_level is None
    sla.record_resolution(ticket, berlin(2026, 6, 15, 8, 0))
    assert (ticket.response_minutes, ticket.resolution_minutes) == (90, 90)
    assert not ticket.resolution_breached

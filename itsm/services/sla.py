"""The SLA clock: business-time arithmetic, priorities and service-level targets.

Business time
    A :class:`~itsm.models.BusinessCalendar` works during its weekly ``WorkingHours`` in its
    own time zone, except on public holidays of its region (``holidays`` package, default
    Germany / Baden-Württemberg) and on its ``ClosingDay`` dates, which are non-working all
    day. The calendar functions below take either a ``BusinessCalendar`` or a
    :class:`Schedule` built from one by :func:`schedule_for`; pass a schedule when you do many
    calculations on one calendar (a ``BusinessCalendar`` costs two queries per call unless
    ``working_hours`` and ``closing_days`` are prefetched).

    Working intervals are half-open ``[start, end)``: 16:30 on a day that closes at 16:30 is
    outside working time, 07:30 on a day that opens at 07:30 is inside. A due date that is
    reached exactly at the close of an interval *is* that close, not the next opening.

    Intervals are built as local datetimes for each calendar day and measured in real elapsed
    time, so due dates stay right across daylight-saving changes (a round-the-clock calendar
    has 23 business hours on the last Sunday of March). Minutes returned by
    :func:`business_minutes_between` are whole minutes, rounded down.

Default calendar (:func:`ensure_default_calendar`)
    Monday–Thursday 07:30–16:30, Friday 07:30–13:00 (Europe/Berlin, holidays DE-BW).

Default service level targets, in business minutes of that calendar
    ======== ======================== ==========================================
    priority response                 resolution
    ======== ======================== ==========================================
    P1       15                       240 (4 business hours)
    P2       30                       480 (8 business hours)
    P3       120 (2 business hours)   1440 (24 business hours, about 3 days)
    P4       480 (8 business hours)   2400 (40 business hours, about a week)
    ======== ======================== ==========================================

Priority matrix (:func:`priority_for`)
    ``settings.LANDKARTE_PRIORITY_MATRIX``, if set, is a nested dict
    ``{impact: {urgency: priority}}`` with the values of ``itsm.choices``; otherwise
    :data:`DEFAULT_PRIORITY_MATRIX`:

    ============== ============ ============== ===========
    impact \\ urg.  high         medium         low
    ============== ============ ============== ===========
    high           P1           P2             P3
    medium         P2           P3             P4
    low            P3           P4             P4
    ============== ============ ============== ===========

The clock
    The clock functions work on an incident-like object (attributes ``service``, ``priority``,
    ``opened_at``, ``service_level``, ``response_due``, ``resolution_due``, ``responded_at``,
    ``resolved_at``, ``paused_since``, ``paused_minutes``, ``response_minutes``,
    ``resolution_minutes``, ``response_breached``, ``resolution_breached``). They mutate it
    and never save; the caller saves in its transaction and writes the timeline.

    Only the resolution clock pauses (pending states, and the time an incident sat resolved
    before it was reopened). The resolution due date is always
    ``add_business_minutes(opened_at, target + paused_minutes)``, so a pause moves it by
    exactly the paused business time, and a pause outside working hours moves it not at all.
    Business minutes of an incident without a service level are measured on the default
    calendar (so KPIs get them); without any calendar they stay empty.
"""

import datetime
import functools
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field

import holidays
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from itsm.choices import Priority
from itsm.models import (
    BusinessCalendar,
    ServiceLevel,
    ServiceLevelTarget,
    WorkingHours,
)

__all__ = [
    "DEFAULT_CALENDAR_NAME",
    "DEFAULT_PRIORITY_MATRIX",
    "DEFAULT_SERVICE_LEVEL_NAME",
    "DEFAULT_TARGETS",
    "DEFAULT_WORKING_HOURS",
    "Schedule",
    "add_business_minutes",
    "business_minutes_between",
    "ensure_default_calendar",
    "is_working_time",
    "pause",
    "priority_for",
    "record_resolution",
    "record_response",
    "refresh_breaches",
    "reopen",
    "resume",
    "retarget",
    "schedule_for",
    "service_level_for",
    "start_clock",
]

UTC = datetime.UTC
MINUTE = datetime.timedelta(minutes=1)
MINUTES_PER_DAY = 24 * 60

DEFAULT_CALENDAR_NAME = "Standard"
DEFAULT_SERVICE_LEVEL_NAME = "Standard"

# weekday (0 = Monday) → working intervals
DEFAULT_WORKING_HOURS: dict[int, list[tuple[datetime.time, datetime.time]]] = {
    **{weekday: [(datetime.time(7, 30), datetime.time(16, 30))] for weekday in range(4)},
    4: [(datetime.time(7, 30), datetime.time(13, 0))],
}

# priority → (response, resolution) in business minutes
DEFAULT_TARGETS: dict[str, tuple[int, int]] = {
    Priority.P1: (15, 240),
    Priority.P2: (30, 480),
    Priority.P3: (120, 1440),
    Priority.P4: (480, 2400),
}

# impact → urgency → priority (values of itsm.choices.Impact, Urgency and Priority)
DEFAULT_PRIORITY_MATRIX: dict[str, dict[str, str]] = {
    "high":   {"high": "p1", "medium": "p2", "low": "p3"},
    "medium": {"high": "p2", "medium": "p3", "low": "p4"},
    "low":    {"high": "p3", "medium": "p4", "low": "p4"},
}  # fmt: skip

# A calendar whose every day is closed would make the due-date search run forever.
MAX_IDLE_DAYS = 3 * 366


# --------------------------------------------------------------------------------------------
# Business calendar arithmetic


@functools.cache
def _public_holidays(country: str, subdivision: str, year: int) -> frozenset[datetime.date]:
    # Holidays depend only on these three values, so a process-wide cache is safe; building
    # them is by far the most expensive step of a calculation.
    return frozenset(
        holidays.country_holidays(country, subdiv=subdivision or None, years=year).keys()
    )


@dataclass
class Schedule:
    """A calendar loaded into memory: what the arithmetic needs, without further queries."""

    zone: zoneinfo.ZoneInfo
    country: str
    subdivision: str
    # weekday → sorted, non-overlapping (start, end) in minutes after local midnight
    weekly: dict[int, list[tuple[int, int]]]
    closing_days: frozenset[datetime.date]
    _day_cache: dict[datetime.date, list[tuple[datetime.datetime, datetime.datetime]]] = field(
        default_factory=dict, repr=False
    )

    def is_working_day(self, day: datetime.date) -> bool:
        return (
            bool(self.weekly.get(day.weekday()))
            and day not in self.closing_days
            and day not in _public_holidays(self.country, self.subdivision, day.year)
        )

    def intervals(self, day: datetime.date) -> list[tuple[datetime.datetime, datetime.datetime]]:
        """Working intervals of a local calendar day as UTC datetimes."""
        cached = self._day_cache.get(day)
        if cached is None:
            cached = []
            if self.is_working_day(day):
                cached = [
                    (self._instant(day, start), self._instant(day, end))
                    for start, end in self.weekly[day.weekday()]
                ]
            self._day_cache[day] = cached
        return cached

    def _instant(self, day: datetime.date, minute_of_day: int) -> datetime.datetime:
        # Built per day from the local wall clock: a fixed offset would put every interval after
        # a daylight-saving change an hour off.
        day = day + datetime.timedelta(days=minute_of_day // MINUTES_PER_DAY)
        hour, minute = divmod(minute_of_day % MINUTES_PER_DAY, 60)
        local = datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.zone)
        return local.astimezone(UTC)

    def local_date(self, dt: datetime.datetime) -> datetime.date:
        return dt.astimezone(self.zone).date()

    def days_from(self, day: datetime.date) -> Iterator[datetime.date]:
        idle = 0
        while True:
            yield day
            idle = 0 if self.intervals(day) else idle + 1
            if idle > MAX_IDLE_DAYS:
                raise ValueError("The business calendar has no working time in the next years.")
            day += datetime.timedelta(days=1)


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _minute_of_day(value: datetime.time) -> int:
    return value.hour * 60 + value.minute


def schedule_for(calendar: "BusinessCalendar | Schedule") -> Schedule:
    """Load a calendar's working hours and closing days (uses prefetched rows if present)."""
    if isinstance(calendar, Schedule):
        return calendar
    weekly: dict[int, list[tuple[int, int]]] = {}
    for hours in calendar.working_hours.all():
        # an end of 00:00 is midnight at the end of the day
        end = _minute_of_day(hours.end) or MINUTES_PER_DAY
        weekly.setdefault(hours.weekday, []).append((_minute_of_day(hours.start), end))
    return Schedule(
        zone=zoneinfo.ZoneInfo(calendar.time_zone),
        country=calendar.holiday_country,
        subdivision=calendar.holiday_subdivision,
        weekly={weekday: _merge(intervals) for weekday, intervals in weekly.items()},
        closing_days=frozenset(day.date for day in calendar.closing_days.all()),
    )


def _require_aware(dt: datetime.datetime) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("SLA calculations need timezone-aware datetimes.")


def is_working_time(calendar: "BusinessCalendar | Schedule", dt: datetime.datetime) -> bool:
    """Whether ``dt`` lies inside a working interval (start inclusive, end exclusive)."""
    _require_aware(dt)
    schedule = schedule_for(calendar)
    instant = dt.astimezone(UTC)
    return any(start <= instant < end for start, end in schedule.intervals(schedule.local_date(dt)))


def add_business_minutes(
    calendar: "BusinessCalendar | Schedule", start: datetime.datetime, minutes: int
) -> datetime.datetime:
    """The earliest instant at which ``minutes`` business minutes have passed since ``start``.

    A start outside working time counts from the next working interval; a result that falls
    exactly on the close of an interval stays there. ``minutes == 0`` returns ``start``.
    The result is aware, in the calendar's time zone (in the repeated hour of an autumn night
    it has ``fold=1``, and PEP 495 makes such a datetime unequal to any datetime of another
    zone: compare in UTC there).
    """
    _require_aware(start)
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    schedule = schedule_for(calendar)
    remaining = datetime.timedelta(minutes=minutes)
    cursor = start.astimezone(UTC)
    if not remaining:
        return cursor.astimezone(schedule.zone)
    for day in schedule.days_from(schedule.local_date(start)):
        for interval_start, interval_end in schedule.intervals(day):
            if interval_end <= cursor:
                continue
            segment_start = max(interval_start, cursor)
            available = interval_end - segment_start
            if remaining <= available:
                return (segment_start + remaining).astimezone(schedule.zone)
            remaining -= available
            cursor = interval_end
    raise AssertionError("unreachable")  # days_from() is infinite or raises


def business_minutes_between(
    calendar: "BusinessCalendar | Schedule", start: datetime.datetime, end: datetime.datetime
) -> int:
    """Whole business minutes in ``[start, end)``; 0 if ``end <= start``."""
    _require_aware(start)
    _require_aware(end)
    if end <= start:
        return 0
    schedule = schedule_for(calendar)
    start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
    total = datetime.timedelta()
    day, last_day = schedule.local_date(start), schedule.local_date(end)
    while day <= last_day:
        for interval_start, interval_end in schedule.intervals(day):
            overlap = min(interval_end, end_utc) - max(interval_start, start_utc)
            if overlap > datetime.timedelta():
                total += overlap
        day += datetime.timedelta(days=1)
    return total // MINUTE


# --------------------------------------------------------------------------------------------
# Priority and service levels


def priority_for(impact: str, urgency: str) -> str:
    """The priority for an impact and an urgency, from the configured or the default matrix."""
    matrix = getattr(settings, "LANDKARTE_PRIORITY_MATRIX", None) or DEFAULT_PRIORITY_MATRIX
    try:
        return str(matrix[impact][urgency])
    except KeyError:
        raise ValueError(
            f"The priority matrix has no entry for impact {impact!r} and urgency {urgency!r}."
        ) from None


def service_level_for(service, priority: str):
    """``(service_level, target)`` for a service and priority: the service's own service level
    if it has a target for the priority, else the default one; ``(None, None)`` if neither."""
    scope = Q(service_level__service__isnull=True)
    if service is not None:
        scope |= Q(service_level__service=service)
    target = (
        ServiceLevelTarget.objects.select_related("service_level__calendar")
        .filter(scope, priority=priority)
        # the service's own level first, the default (NULL service) last
        .order_by(F("service_level__service").asc(nulls_last=True))
        .first()
    )
    if target is None:
        return None, None
    return target.service_level, target


def ensure_default_calendar() -> tuple[BusinessCalendar, ServiceLevel]:
    """Get or create the default calendar and the default service level with its targets.

    Existing rows are left as they are (an administrator may have tuned them); only missing
    pieces are added: working hours for a calendar that has none, targets for priorities
    that have none.
    """
    with transaction.atomic():
        calendar = BusinessCalendar.objects.filter(is_default=True).first()
        if calendar is None:
            calendar, _created = BusinessCalendar.objects.get_or_create(name=DEFAULT_CALENDAR_NAME)
            calendar.is_default = True
            calendar.save()
        if not calendar.working_hours.exists():
            for weekday, intervals in DEFAULT_WORKING_HOURS.items():
                for start, end in intervals:
                    WorkingHours.objects.create(
                        calendar=calendar, weekday=weekday, start=start, end=end
                    )
        service_level, _created = ServiceLevel.objects.get_or_create(
            service=None, defaults={"name": DEFAULT_SERVICE_LEVEL_NAME, "calendar": calendar}
        )
        for priority, (response, resolution) in DEFAULT_TARGETS.items():
            ServiceLevelTarget.objects.get_or_create(
                service_level=service_level,
                priority=priority,
                defaults={"response_minutes": response, "resolution_minutes": resolution},
            )
    return calendar, service_level


# --------------------------------------------------------------------------------------------
# The clock


def _schedule_of(incident) -> Schedule | None:
    if incident.service_level is not None:
        return schedule_for(incident.service_level.calendar)
    calendar = BusinessCalendar.objects.filter(is_default=True).first()
    return schedule_for(calendar) if calendar is not None else None


def _target_of(incident) -> ServiceLevelTarget | None:
    if incident.service_level is None:
        return None
    return incident.service_level.targets.filter(priority=incident.priority).first()


def _set_due_dates(incident, target, schedule: Schedule, *, response: bool) -> None:
    if response:
        incident.response_due = add_business_minutes(
            schedule, incident.opened_at, target.response_minutes
        )
    incident.resolution_due = add_business_minutes(
        schedule, incident.opened_at, target.resolution_minutes + incident.paused_minutes
    )


def start_clock(incident, now: datetime.datetime) -> None:
    """Pick the service level for the incident's service and priority and set both due dates.

    Without a matching service level the incident has no due dates.
    """
    service_level, target = service_level_for(incident.service, incident.priority)
    incident.service_level = service_level
    if target is None:
        incident.response_due = incident.resolution_due = None
        return
    _set_due_dates(incident, target, schedule_for(service_level.calendar), response=True)
    refresh_breaches(incident, now)


def retarget(incident, now: datetime.datetime) -> None:
    """Recompute the due dates after a change of priority or service, from ``opened_at`` and
    keeping the paused time. The response due date stays once the incident was responded to.

    Breach flags of the clocks still running are re-evaluated against the new due dates, so
    correcting a wrongly high priority also clears a breach it caused.
    """
    service_level, target = service_level_for(incident.service, incident.priority)
    incident.service_level = service_level
    responded = incident.responded_at is not None
    resolved = incident.resolved_at is not None
    if target is None:
        if not responded:
            incident.response_due = None
            incident.response_breached = False
        if not resolved:
            incident.resolution_due = None
            incident.resolution_breached = False
        return
    schedule = schedule_for(service_level.calendar)
    _set_due_dates(incident, target, schedule, response=not responded)
    if not responded:
        incident.response_breached = False
    if resolved:
        incident.resolution_breached = incident.resolved_at > incident.resolution_due
    elif incident.paused_since is None:
        incident.resolution_breached = False
    refresh_breaches(incident, now)


def pause(incident, now: datetime.datetime) -> None:
    """Stop the resolution clock (pending). No-op if it is already paused."""
    if incident.paused_since is not None:
        return
    # A breach that happened before the pause must not hide behind it.
    refresh_breaches(incident, now)
    incident.paused_since = now


def resume(incident, now: datetime.datetime) -> None:
    """Restart the resolution clock: the paused business time moves the resolution due date."""
    if incident.paused_since is None:
        return
    schedule = _schedule_of(incident)
    if schedule is not None:
        incident.paused_minutes += business_minutes_between(schedule, incident.paused_since, now)
    incident.paused_since = None
    target = _target_of(incident)
    if target is not None:
        _set_due_dates(incident, target, schedule, response=False)


def record_response(incident, now: datetime.datetime) -> None:
    """The first response (assignment to an agent, first public comment); later calls are
    ignored."""
    if incident.responded_at is not None:
        return
    incident.responded_at = now
    schedule = _schedule_of(incident)
    incident.response_minutes = (
        business_minutes_between(schedule, incident.opened_at, now) if schedule else None
    )
    incident.response_breached = incident.response_due is not None and now > incident.response_due


def record_resolution(incident, now: datetime.datetime) -> None:
    """Stop the clock for good (until a reopen). A resolution without an earlier response also
    counts as the response: the caller got an answer."""
    record_response(incident, now)
    resume(incident, now)
    incident.resolved_at = now
    schedule = _schedule_of(incident)
    incident.resolution_minutes = (
        max(
            0, business_minutes_between(schedule, incident.opened_at, now) - incident.paused_minutes
        )
        if schedule
        else None
    )
    incident.resolution_breached = (
        incident.resolution_due is not None and now > incident.resolution_due
    )


def reopen(incident, now: datetime.datetime) -> None:
    """Reopen a resolved incident.

    The time it sat resolved counts as paused: the caller had a solution and took that long to
    report that it does not work, which the team could not act on. The resolution due date
    moves by that business time, and the breach flag is re-evaluated against it (an incident
    resolved in time is, at the moment of reopening, still in time).
    """
    if incident.resolved_at is None:
        return
    schedule = _schedule_of(incident)
    if schedule is not None:
        incident.paused_minutes += business_minutes_between(schedule, incident.resolved_at, now)
    incident.resolved_at = None
    incident.resolution_minutes = None
    target = _target_of(incident)
    if target is not None:
        _set_due_dates(incident, target, schedule, response=False)
    incident.resolution_breached = (
        incident.resolution_due is not None and now > incident.resolution_due
    )


def refresh_breaches(incident, now: datetime.datetime) -> None:
    """Flag clocks whose due date has passed without a response or resolution. Flags are only
    ever set here, never cleared. A paused resolution clock is left alone: its due date is
    about to move."""
    if (
        incident.responded_at is None
        and incident.response_due is not None
        and now > incident.response_due
    ):
        incident.response_breached = True
    if (
        incident.resolved_at is None
        and incident.paused_since is None
        and incident.resolution_due is not None
        and now > incident.resolution_due
    ):
        incident.resolution_breached = True

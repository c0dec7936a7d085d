"""Time travel: the landscape as the registry recorded it on a past date, or as it is planned
to be on a future date.

Past moments come from django-simple-history: `Model.history.as_of(moment)` gives every record
as it was then, including records deleted since. Future moments take the current records that
are alive on that date by their lifecycle dates (after planned phase-outs and phase-ins) and
list the changes scheduled until then.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db.models import Model, Q
from django.utils import timezone

from cmdb.lifecycle import application_alive_q, interface_alive_q
from cmdb.models import Application, Interface, InterfaceConsumer, Vendor
from itsm.choices import ChangeState
from itsm.models import Change

SOURCE_HISTORY = "history"
SOURCE_PLAN = "plan"

SCHEDULED_CHANGE_STATES = [ChangeState.SCHEDULED, ChangeState.IMPLEMENTING]
IGNORED_FIELDS = {"created", "updated"}


@dataclass
class Snapshot:
    moment: datetime.datetime
    source: str
    """"history" (a past moment, as recorded) or "plan" (a future moment, by lifecycle dates)."""
    applications: list[Application] = field(default_factory=list)
    interfaces: list[Interface] = field(default_factory=list)
    links: list[InterfaceConsumer] = field(default_factory=list)
    """Interface consumers: the edges consumer → provider of the dependency graph."""
    vendors: list[Vendor] = field(default_factory=list)
    scheduled_changes: list[Change] = field(default_factory=list)
    """Future moments only: changes scheduled (or being implemented) between now and then."""


class ChangedRecord(NamedTuple):
    old: Model
    new: Model
    changed_fields: list[str]


@dataclass
class Diff:
    start: Snapshot
    end: Snapshot
    appeared: list[Model] = field(default_factory=list)
    disappeared: list[Model] = field(default_factory=list)
    changed: list[ChangedRecord] = field(default_factory=list)
    """Applications and interfaces together; tell them apart by type."""


def to_moment(moment: datetime.date | datetime.datetime) -> datetime.datetime:
    """An aware datetime. A date means the end of that day (what had been recorded by then)."""
    if not isinstance(moment, datetime.datetime):
        moment = datetime.datetime.combine(moment + datetime.timedelta(days=1), datetime.time.min)
        moment -= datetime.timedelta(microseconds=1)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _is_future(moment: datetime.datetime) -> bool:
    return moment > timezone.now()


def is_recorded_moment(moment: datetime.date | datetime.datetime) -> bool:
    """True when `moment` lies in the past (the landscape comes from history, not the plan)."""
    return not _is_future(to_moment(moment))


def _day(moment: datetime.datetime) -> datetime.date:
    return timezone.localdate(moment)


def _alive_interfaces(day: datetime.date):
    return Interface.objects.filter(interface_alive_q(day), application_alive_q(day, "provider__"))


def applications_queryset_as_of(moment: datetime.date | datetime.datetime | None):
    """The applications at `moment` as a queryset that can be filtered, sorted and paged:
    for a past moment the records as recorded then (history, deleted records included, which
    are historical instances), for a future moment (or none) the current records. Combine with
    the lifecycle filter (application_alive_q / the filterset's `as_of`) for what runs then."""
    if moment is None or not is_recorded_moment(moment):
        return Application.objects.all()
    return Application.history.as_of(to_moment(moment))


def applications_as_of(moment: datetime.date | datetime.datetime) -> list[Application]:
    moment = to_moment(moment)
    applications = applications_queryset_as_of(moment)
    if _is_future(moment):
        return list(applications.filter(application_alive_q(_day(moment))))
    return sorted(applications, key=lambda a: (a.name, a.pk))


def interfaces_as_of(moment: datetime.date | datetime.datetime) -> list[Interface]:
    moment = to_moment(moment)
    if _is_future(moment):
        return list(_alive_interfaces(_day(moment)))
    return sorted(Interface.history.as_of(moment), key=lambda i: (i.name, i.pk))


def _links_as_of(moment: datetime.datetime) -> list[InterfaceConsumer]:
    if _is_future(moment):
        day = _day(moment)
        return list(
            InterfaceConsumer.objects.filter(
                interface_alive_q(day, "interface__"),
                application_alive_q(day, "consumer__"),
                application_alive_q(day, "provider__"),
            ).order_by("pk")
        )
    return sorted(InterfaceConsumer.history.as_of(moment), key=lambda link: link.pk)


def _vendors_as_of(moment: datetime.datetime) -> list[Vendor]:
    if _is_future(moment):
        return list(Vendor.objects.all())
    return sorted(Vendor.history.as_of(moment), key=lambda v: (v.name, v.pk))


def scheduled_changes_until(moment: datetime.datetime) -> list[Change]:
    """Changes scheduled or being implemented whose planned window touches [now, moment]."""
    now = timezone.now()
    return list(
        Change.objects.filter(state__in=SCHEDULED_CHANGE_STATES)
        .filter(Q(planned_start__isnull=True) | Q(planned_start__lte=moment))
        .filter(Q(planned_end__isnull=True) | Q(planned_end__gte=now))
        .order_by("planned_start", "number")
    )


def landscape_as_of(moment: datetime.date | datetime.datetime) -> Snapshot:
    """The landscape at `moment`: recorded (past) or planned (future)."""
    moment = to_moment(moment)
    future = _is_future(moment)
    return Snapshot(
        moment=moment,
        source=SOURCE_PLAN if future else SOURCE_HISTORY,
        applications=applications_as_of(moment),
        interfaces=interfaces_as_of(moment),
        links=_links_as_of(moment),
        vendors=_vendors_as_of(moment),
        scheduled_changes=scheduled_changes_until(moment) if future else [],
    )


def changed_fields(old: Model, new: Model) -> list[str]:
    """Names of the concrete fields whose values differ (timestamps excluded)."""
    return [
        f.name
        for f in type(new)._meta.concrete_fields
        if f.name not in IGNORED_FIELDS and getattr(old, f.attname) != getattr(new, f.attname)
    ]


def _compare(before: list[Model], after: list[Model], diff: Diff) -> None:
    old = {obj.pk: obj for obj in before}
    new = {obj.pk: obj for obj in after}
    diff.appeared += [new[pk] for pk in new if pk not in old]
    diff.disappeared += [old[pk] for pk in old if pk not in new]
    for pk in new:
        if pk in old:
            fields = changed_fields(old[pk], new[pk])
            if fields:
                diff.changed.append(ChangedRecord(old[pk], new[pk], fields))


def _alive_on(snapshot: Snapshot) -> tuple[list[Application], list[Interface]]:
    """The snapshot's applications and interfaces alive by their lifecycle dates on its day
    (an interface also needs its provider alive)."""
    day = _day(snapshot.moment)
    apps = [app for app in snapshot.applications if app.is_alive(day)]
    alive_ids = {app.pk for app in apps}
    interfaces = [i for i in snapshot.interfaces if i.is_alive(day) and i.provider_id in alive_ids]
    return apps, interfaces


def landscape_diff(
    start: datetime.date | datetime.datetime, end: datetime.date | datetime.datetime
) -> Diff:
    """Applications and interfaces that appeared, disappeared or changed between two moments.

    Between two past moments the records are compared as recorded. When a moment lies in the
    future, both sides are compared by what is alive on their day (lifecycle dates), so that
    planned phase-ins appear and planned phase-outs disappear."""
    before, after = landscape_as_of(start), landscape_as_of(end)
    diff = Diff(start=before, end=after)
    if SOURCE_PLAN in (before.source, after.source):
        (apps_before, ifs_before), (apps_after, ifs_after) = _alive_on(before), _alive_on(after)
    else:
        apps_before, ifs_before = before.applications, before.interfaces
        apps_after, ifs_after = after.applications, after.interfaces
    _compare(apps_before, apps_after, diff)
    _compare(ifs_before, ifs_after, diff)
    return diff

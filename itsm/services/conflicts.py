"""Change conflicts: what else happens at the same time on the same or on connected
applications, and which freeze windows a change falls into.

Two changes conflict when their planned windows overlap (start_a < end_b and start_b < end_a:
windows that only touch do not overlap) and

- they touch the same application ("same_application", one conflict listing all shared
  applications), or
- an application of one is within `depth` steps of an application of the other in the
  dependency graph, in either direction ("dependent_application", one conflict per pair of
  applications, with one shortest path). Applications both changes touch are already reported
  as shared and are left out here.

A change conflicts with a freeze window when their periods overlap and the window applies to
everything or shares an application with the change, directly or through a service that an
affected application realises ("freeze_window").

Only changes that may still happen count: not cancelled, rejected or closed, and with a
planned window. The depth defaults to `settings.LANDKARTE_CHANGE_CONFLICT_DEPTH` (2).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cmdb.graph import LoadedGraph, dependencies, dependents
from cmdb.models import Application, Service
from itsm.choices import ChangeState
from itsm.models import Change, FreezeWindow

SAME_APPLICATION = "same_application"
DEPENDENT_APPLICATION = "dependent_application"
FREEZE_WINDOW = "freeze_window"

INACTIVE_STATES = [ChangeState.CANCELLED, ChangeState.REJECTED, ChangeState.CLOSED]


@dataclass
class Conflict:
    kind: str
    change: Change
    other: Change | FreezeWindow
    applications: list[Application] = field(default_factory=list)
    """For same_application: the shared ones; for dependent_application: [the change's
    application, the other change's application]; for freeze_window: the change's applications
    the window covers (all of them when it applies to everything)."""
    path: list[int] = field(default_factory=list)
    """For dependent_application: application ids from the change's application to the other
    change's application, both included (one shortest path)."""
    message: str = ""

    @property
    def application_ids(self) -> list[int]:
        return [app.pk for app in self.applications]


def conflict_depth(depth: int | None = None) -> int:
    return depth if depth is not None else getattr(settings, "LANDKARTE_CHANGE_CONFLICT_DEPTH", 2)


def overlaps(start_a, end_a, start_b, end_b) -> bool:
    return start_a < end_b and start_b < end_a


def _fmt(value: datetime.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def active_changes():
    """Changes that may still happen and have a planned window."""
    return Change.objects.exclude(state__in=INACTIVE_STATES).filter(
        planned_start__isnull=False, planned_end__isnull=False
    )


class _Neighbourhood:
    """Applications within `depth` steps of an application, in either direction, computed once
    per application within one call (a change set usually shares applications). With `graph`
    (a cmdb.graph.LoadedGraph) the walks run in memory: no query per application, for pages
    that show many changes; without it, one recursive CTE per application and direction."""

    def __init__(self, depth: int, graph: LoadedGraph | None = None):
        self.depth = depth
        self.dependents = graph.dependent_nodes if graph else dependents
        self.dependencies = graph.dependency_nodes if graph else dependencies
        self._cache: dict[int, dict[int, tuple[int, list[int], bool]]] = {}

    def of(self, app_id: int) -> dict[int, tuple[int, list[int], bool]]:
        """other app id → (depth, path from app_id to it, whether it depends on app_id)."""
        if app_id not in self._cache:
            found: dict[int, tuple[int, list[int], bool]] = {}
            for node in self.dependents(app_id, self.depth):
                found[node.application_id] = (node.depth, [app_id, *node.path], True)
            for node in self.dependencies(app_id, self.depth):
                known = found.get(node.application_id)
                # In a cycle both directions exist; the shorter one explains it better.
                if known is None or node.depth < known[0]:
                    found[node.application_id] = (node.depth, [app_id, *node.path], False)
            self._cache[app_id] = found
        return self._cache[app_id]


def _apps(change: Change) -> dict[int, Application]:
    return {app.pk: app for app in change.applications.all()}


def _pair_conflicts(
    change: Change, apps: dict, other: Change, other_apps: dict, near: _Neighbourhood
) -> list[Conflict]:
    shared = sorted(set(apps) & set(other_apps))
    conflicts = []
    if shared:
        names = ", ".join(str(apps[pk]) for pk in shared)
        conflicts.append(
            Conflict(
                kind=SAME_APPLICATION,
                change=change,
                other=other,
                applications=[apps[pk] for pk in shared],
                message=_("%(change)s and %(other)s both change %(apps)s at the same time.")
                % {"change": change.number, "other": other.number, "apps": names},
            )
        )
    for app_id in sorted(set(apps) - set(shared)):
        related = near.of(app_id)
        for other_id in sorted(set(other_apps) - set(shared)):
            if other_id not in related:
                continue
            steps, path, depends_on_it = related[other_id]
            params = {
                "change": change.number,
                "other": other.number,
                "app": apps[app_id],
                "other_app": other_apps[other_id],
                "steps": steps,
            }
            if depends_on_it:
                message = ngettext(
                    "%(other_app)s (changed by %(other)s) depends on %(app)s (changed by "
                    "%(change)s) within %(steps)d step, in the same period.",
                    "%(other_app)s (changed by %(other)s) depends on %(app)s (changed by "
                    "%(change)s) within %(steps)d steps, in the same period.",
                    steps,
                )
            else:
                message = ngettext(
                    "%(app)s (changed by %(change)s) depends on %(other_app)s (changed by "
                    "%(other)s) within %(steps)d step, in the same period.",
                    "%(app)s (changed by %(change)s) depends on %(other_app)s (changed by "
                    "%(other)s) within %(steps)d steps, in the same period.",
                    steps,
                )
            conflicts.append(
                Conflict(
                    kind=DEPENDENT_APPLICATION,
                    change=change,
                    other=other,
                    applications=[apps[app_id], other_apps[other_id]],
                    path=path,
                    message=message % params,
                )
            )
    return conflicts


class _FreezeIndex:
    """The freeze windows overlapping a period, each with the applications it covers among
    the ones asked about; a fixed number of queries however many windows there are."""

    def __init__(self, start, end, app_ids):
        self.windows = list(FreezeWindow.objects.filter(start__lt=end, end__gt=start))
        self.covered: dict[int, set[int]] = {w.pk: set() for w in self.windows}
        if not self.windows or not app_ids:
            return
        window_ids = list(self.covered)
        direct = FreezeWindow.applications.through.objects.filter(
            freezewindow_id__in=window_ids, application_id__in=app_ids
        ).values_list("freezewindow_id", "application_id")
        for window_id, app_id in direct:
            self.covered[window_id].add(app_id)
        window_services = list(
            FreezeWindow.services.through.objects.filter(
                freezewindow_id__in=window_ids
            ).values_list("freezewindow_id", "service_id")
        )
        if not window_services:
            return
        realised_by: dict[int, set[int]] = {}
        service_apps = Service.applications.through.objects.filter(
            service_id__in={service_id for _w, service_id in window_services},
            application_id__in=app_ids,
        ).values_list("service_id", "application_id")
        for service_id, app_id in service_apps:
            realised_by.setdefault(service_id, set()).add(app_id)
        for window_id, service_id in window_services:
            self.covered[window_id] |= realised_by.get(service_id, set())

    def conflicts(self, change: Change, apps: dict, start, end) -> list[Conflict]:
        conflicts = []
        for window in self.windows:
            if not overlaps(start, end, window.start, window.end):
                continue
            hit = (
                sorted(apps)
                if window.applies_to_all
                else sorted(self.covered[window.pk] & set(apps))
            )
            if not window.applies_to_all and not hit:
                continue
            conflicts.append(
                Conflict(
                    kind=FREEZE_WINDOW,
                    change=change,
                    other=window,
                    applications=[apps[pk] for pk in hit],
                    message=_(
                        "%(change)s is planned within the freeze window %(window)s "
                        "(%(start)s – %(end)s)."
                    )
                    % {
                        "change": change.number or change.title,
                        "window": window.name,
                        "start": _fmt(window.start),
                        "end": _fmt(window.end),
                    },
                )
            )
        return conflicts


def freeze_window_conflicts(change: Change, start=None, end=None) -> list[Conflict]:
    """The freeze windows a change falls into, for its planned window or for the one given
    (so that a window can be checked before it is saved)."""
    start = start or change.planned_start
    end = end or change.planned_end
    if start is None or end is None:
        return []
    apps = _apps(change)
    return _FreezeIndex(start, end, list(apps)).conflicts(change, apps, start, end)


def conflicts_for(change: Change, depth: int | None = None) -> list[Conflict]:
    """Everything `change` collides with: other active changes in overlapping windows on the
    same or connected applications, and freeze windows."""
    if not change.has_window:
        return []
    return _conflicts_of([change], _Neighbourhood(conflict_depth(depth)))[change.pk]


def conflicts_for_changes(
    changes,
    depth: int | None = None,
    graph: LoadedGraph | None = None,
    *,
    include_inactive: bool = False,
) -> dict[int, list[Conflict]]:
    """change pk → what conflicts_for() finds, for many changes at once: one query for the
    active changes overlapping the period they span, one for their applications, a few for
    freeze windows, and the dependency walks in memory when `graph` (a LoadedGraph) is given.
    Only changes that may still happen get conflicts, the others map to an empty list, unless
    `include_inactive` (then every change with a window gets what conflicts_for() gives it)."""
    changes = list(changes)
    targets = [
        change
        for change in changes
        if change.has_window and (include_inactive or change.state not in INACTIVE_STATES)
    ]
    result = {change.pk: [] for change in changes}
    if targets:
        result.update(_conflicts_of(targets, _Neighbourhood(conflict_depth(depth), graph)))
    return result


def _conflicts_of(targets: list[Change], near: _Neighbourhood) -> dict[int, list[Conflict]]:
    start = min(change.planned_start for change in targets)
    end = max(change.planned_end for change in targets)
    others = list(
        active_changes()
        .filter(planned_start__lt=end, planned_end__gt=start)
        .prefetch_related("applications")
        .order_by("planned_start", "pk")
    )
    apps = {other.pk: _apps(other) for other in others}
    for change in targets:
        if change.pk not in apps:  # not active (conflicts_for asks anyway), or saved since
            apps[change.pk] = _apps(change)
    index = _FreezeIndex(start, end, {app_id for change in targets for app_id in apps[change.pk]})
    result = {}
    for change in targets:
        found = []
        for other in others:
            if other.planned_start >= change.planned_end:
                break
            if other.pk == change.pk or other.planned_end <= change.planned_start:
                continue
            found += _pair_conflicts(change, apps[change.pk], other, apps[other.pk], near)
        result[change.pk] = found + index.conflicts(
            change, apps[change.pk], change.planned_start, change.planned_end
        )
    return result


def change_conflicts(start, end, depth: int | None = None) -> list[Conflict]:
    """All conflicts among the active changes whose window overlaps [start, end): each pair of
    changes once (the earlier change as `change`), then the freeze windows they fall into."""
    near = _Neighbourhood(conflict_depth(depth))
    changes = list(
        active_changes()
        .filter(planned_start__lt=end, planned_end__gt=start)
        .prefetch_related("applications")
        .order_by("planned_start", "pk")
    )
    apps = {change.pk: _apps(change) for change in changes}
    conflicts = []
    for i, change in enumerate(changes):
        for other in changes[i + 1 :]:
            # Sorted by start: no later change can overlap once one starts after this ends.
            if other.planned_start >= change.planned_end:
                break
            conflicts += _pair_conflicts(change, apps[change.pk], other, apps[other.pk], near)
    if changes:
        index = _FreezeIndex(
            min(c.planned_start for c in changes),
            max(c.planned_end for c in changes),
            {app_id for change_apps in apps.values() for app_id in change_apps},
        )
        for change in changes:
            conflicts += index.conflicts(
                change, apps[change.pk], change.planned_start, change.planned_end
            )
    return conflicts

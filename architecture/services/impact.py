"""Impact analysis: what is affected when an application, an IT component or a vendor fails.

The starting applications (depth 0) are the application itself, the applications using a
component, or the applications supplied by a vendor's group or using its products. Everything
that depends on them, transitively, is affected. One multi-source recursive CTE (the same
technique as cmdb.graph: `UNION` on (node, depth), minimum depth per node, one parent on a
shortest path) finds them; a second recursive CTE in the same statement, `UNION`-ed on the
node alone, counts what is reachable at all. For an unlimited depth the first statement uses a
bound of `FIRST_BOUND` levels; only when it did not reach everything (landscapes are shallow)
one more statement runs with the bound set to the number of reachable nodes. The number of
queries is therefore constant: it depends neither on the depth nor on the size of the result.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q

from cmdb.graph import _edges_sql
from cmdb.lifecycle import application_alive_q
from cmdb.models import Application, ApplicationComponent, ITComponent, OrgUnit, Service, Vendor
from itsm.choices import OPEN_INCIDENT_STATES, ChangeState
from itsm.models import Change, Incident

REASON_SELF = "self"
REASON_USES_COMPONENT = "uses component"
REASON_SUPPLIED_BY = "supplied by"

SCHEDULED_CHANGE_STATES = [ChangeState.SCHEDULED, ChangeState.IMPLEMENTING]

# Levels tried first for an unlimited depth; a deeper landscape costs one more statement.
FIRST_BOUND = 8


@dataclass(frozen=True)
class ImpactStart:
    application_id: int
    reason: str
    """"self", "uses component" or "supplied by"."""


@dataclass
class ImpactedApplication:
    application: Application
    depth: int
    path: list[Application]
    """One shortest path from a starting application (first) to this one (last); [application]
    for a starting application."""


@dataclass
class Impact:
    starts: list[ImpactStart] = field(default_factory=list)
    applications: list[ImpactedApplication] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    org_units: list[OrgUnit] = field(default_factory=list)
    open_incidents: list[Incident] = field(default_factory=list)
    scheduled_changes: list[Change] = field(default_factory=list)

    @property
    def application_ids(self) -> set[int]:
        return {item.application.pk for item in self.applications}


def _as_date(as_of) -> datetime.date | None:
    if isinstance(as_of, datetime.datetime):
        return as_of.date()
    return as_of


def vendor_group(vendor: Vendor) -> list[int]:
    """Ids of every vendor of the vendor's group: its ultimate parent (or itself) and all
    vendors with that ultimate parent."""
    top = vendor.ultimate_parent_id or vendor.pk
    return list(
        Vendor.objects.filter(Q(pk=top) | Q(ultimate_parent_id=top) | Q(pk=vendor.pk)).values_list(
            "pk", flat=True
        )
    )


def _starts(application, component, vendor, as_of) -> list[ImpactStart]:
    given = [x for x in (application, component, vendor) if x is not None]
    if len(given) != 1:
        raise ValueError("Give exactly one of application, component or vendor.")
    if application is not None:
        pk = application.pk if isinstance(application, Application) else int(application)
        return [ImpactStart(pk, REASON_SELF)]
    alive = application_alive_q(as_of, "application__") if as_of else Q()
    if component is not None:
        pk = component.pk if isinstance(component, ITComponent) else int(component)
        ids = (
            ApplicationComponent.objects.filter(alive, component_id=pk)
            .values_list("application_id", flat=True)
            .distinct()
        )
        return [ImpactStart(app_id, REASON_USES_COMPONENT) for app_id in sorted(set(ids))]
    if not isinstance(vendor, Vendor):
        vendor = Vendor.objects.get(pk=vendor)
    group = vendor_group(vendor)
    supplied = Application.objects.filter(vendor_id__in=group)
    if as_of:
        supplied = supplied.filter(application_alive_q(as_of))
    starts = [
        ImpactStart(pk, REASON_SUPPLIED_BY) for pk in sorted(supplied.values_list("pk", flat=True))
    ]
    using = set(
        ApplicationComponent.objects.filter(alive, component__vendor_id__in=group).values_list(
            "application_id", flat=True
        )
    )
    starts += [ImpactStart(pk, REASON_USES_COMPONENT) for pk in sorted(using)]
    return starts


def _walk_sql(seed_count: int, edge_sql: str) -> str:
    """Dependents of all seeds at once: edges walked backwards (provider → consumer)."""
    seeds = " UNION ALL ".join(["SELECT CAST(%s AS BIGINT)"] * seed_count)
    return f"""
        WITH RECURSIVE edges(consumer_id, provider_id) AS ({edge_sql}),
        seeds(node) AS ({seeds}),
        reach(node, depth) AS (
            SELECT node, 0 FROM seeds
            UNION
            SELECT e.consumer_id, r.depth + 1 FROM reach r
            JOIN edges e ON e.provider_id = r.node
            WHERE r.depth < %s
        ),
        reach_all(node) AS (
            SELECT node FROM seeds
            UNION
            SELECT e.consumer_id FROM reach_all r JOIN edges e ON e.provider_id = r.node
        ),
        best(node, depth) AS (SELECT node, MIN(depth) FROM reach GROUP BY node)
        SELECT b.node, b.depth, (
            SELECT MIN(p.node) FROM edges e JOIN best p ON p.node = e.provider_id
            WHERE e.consumer_id = b.node AND p.depth = b.depth - 1
        ), (SELECT COUNT(*) FROM reach_all)
        FROM best b
        ORDER BY b.depth, b.node
    """


def _dependents(seed_ids: list[int], depth: int | None, as_of) -> list[tuple[int, int, int]]:
    """(node, minimum depth, parent on a shortest path) for the seeds and their dependents."""
    if not seed_ids:
        return []
    edge_sql, edge_params = _edges_sql(as_of)
    sql = _walk_sql(len(seed_ids), edge_sql)
    bound = max(depth, 0) if depth is not None else FIRST_BOUND
    with connection.cursor() as cursor:
        cursor.execute(sql, [*edge_params, *seed_ids, bound])
        rows = cursor.fetchall()
        reachable = rows[0][3] if rows else 0
        if depth is None and len(rows) < reachable:
            # Deeper than the first bound: a path never needs more steps than there are nodes.
            cursor.execute(sql, [*edge_params, *seed_ids, reachable])
            rows = cursor.fetchall()
    return [(node, node_depth, parent) for node, node_depth, parent, _count in rows]


def impact_analysis(
    *,
    application: Application | int | None = None,
    component: ITComponent | int | None = None,
    vendor: Vendor | int | None = None,
    depth: int | None = None,
    as_of: datetime.date | datetime.datetime | None = None,
) -> Impact:
    """What is affected when the application, the component or the vendor (with its whole
    group) fails: the starting applications and everything depending on them up to `depth`
    levels (None: unlimited), optionally on the landscape alive on `as_of`, with the services
    they realise, the org units using those services, open incidents and scheduled changes."""
    as_of = _as_date(as_of)
    starts = _starts(application, component, vendor, as_of)
    seed_ids = sorted({start.application_id for start in starts})
    rows = _dependents(seed_ids, depth, as_of)
    ids = [node for node, _depth, _parent in rows]
    if not ids:
        return Impact(starts=starts)

    apps = Application.objects.in_bulk(ids)
    parents = {node: parent for node, _depth, parent in rows}
    affected = []
    for node, node_depth, _parent in rows:
        if node not in apps:
            continue
        path = [node]
        while parents.get(path[-1]) is not None:
            path.append(parents[path[-1]])
        path.reverse()
        affected.append(
            ImpactedApplication(
                application=apps[node], depth=node_depth, path=[apps[pk] for pk in path]
            )
        )

    services = list(Service.objects.filter(applications__in=ids).distinct().order_by("name"))
    org_units = list(
        OrgUnit.objects.filter(consumed_services__applications__in=ids).distinct().order_by("name")
    )
    open_incidents = list(
        Incident.objects.filter(applications__in=ids, state__in=OPEN_INCIDENT_STATES)
        .distinct()
        .order_by("number")
    )
    scheduled_changes = list(
        Change.objects.filter(applications__in=ids, state__in=SCHEDULED_CHANGE_STATES)
        .distinct()
        .order_by("planned_start", "number")
    )
    return Impact(
        starts=starts,
        applications=affected,
        services=services,
        org_units=org_units,
        open_incidents=open_incidents,
        scheduled_changes=scheduled_changes,
    )


def impact_links(impact: Impact) -> tuple[dict[int, list[Application]], dict[int, list[Service]]]:
    """How the affected things hang together: service id → the affected applications realising
    it, and org unit id → the affected services it uses. Two queries."""
    apps = {item.application.pk: item.application for item in impact.applications}
    services = {service.pk: service for service in impact.services}
    realised: dict[int, list[Application]] = defaultdict(list)
    for service_id, app_id in Service.applications.through.objects.filter(
        service__in=impact.services, application_id__in=list(apps)
    ).values_list("service_id", "application_id"):
        realised[service_id].append(apps[app_id])
    used: dict[int, list[Service]] = defaultdict(list)
    for unit_id, service_id in Service.consumer_org_units.through.objects.filter(
        service__in=impact.services, orgunit__in=impact.org_units
    ).values_list("orgunit_id", "service_id"):
        used[unit_id].append(services[service_id])
    return realised, used

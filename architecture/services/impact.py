"""Impact analysis: what is affected when an application, an IT component or a vendor fails.

The starting applications (depth 0) are the application itself, the applications using a
component, or the applications supplied by a vendor's group or using its products. Everything
that depends on them, transitively, is affected: one multi-start walk of the dependency graph
(`cmdb.graph.walk`, one statement whatever the depth: minimum depth per application and one
shortest path). The number of queries is constant: it depends neither on the depth nor on the
size of the result (the applications come in one query, not in batches).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import F, Q
from django.db.models.expressions import RawSQL

from cmdb import graph
from cmdb.lifecycle import application_alive_q
from cmdb.models import Application, ApplicationComponent, ITComponent, OrgUnit, Service, Vendor
from itsm.choices import OPEN_INCIDENT_STATES, ChangeState
from itsm.models import Change, Incident

REASON_SELF = "self"
REASON_USES_COMPONENT = "uses component"
REASON_SUPPLIED_BY = "supplied by"

SCHEDULED_CHANGE_STATES = [ChangeState.SCHEDULED, ChangeState.IMPLEMENTING]


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


def _id_relation(ids: list[int]) -> RawSQL:
    """The ids as a relation, `VALUES (1), (2), ...`, for `__in`: a plain list of 12,500 ids
    costs Django more to prepare, one by one, than the query costs the database."""
    return RawSQL("VALUES " + ", ".join(["(%s)"] * len(ids)), ids)


def _linked_to(queryset, relation: str, ids: RawSQL):
    """The rows of `queryset` linked through the many-to-many `relation` to any of the
    application `ids`, each once. `+ 0` keeps the ids a membership test: on the bare column
    SQLite seeks the link index once per id for every row (an impact can list every
    application of the city: 12,500 seeks for each open incident)."""
    return (
        queryset.alias(linked_application=F(relation) + 0)
        .filter(linked_application__in=ids)
        .distinct()
    )


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
    rows = graph.walk({start.application_id for start in starts}, depth, as_of)
    if not rows:
        return Impact(starts=starts)

    ids = _id_relation([node for node, _depth, _parent in rows])
    # One query (in_bulk would batch by 999 ids on SQLite: more queries for deeper walks).
    apps = {app.pk: app for app in Application.objects.filter(pk__in=ids)}
    paths: dict[int, list[Application]] = {}
    affected = []
    for node, node_depth, parent in rows:  # by depth: a parent's path is known before
        if node not in apps:  # a start given by an id that is no application
            continue
        paths[node] = [*paths[parent], apps[node]] if parent is not None else [apps[node]]
        affected.append(
            ImpactedApplication(application=apps[node], depth=node_depth, path=paths[node])
        )

    services = list(_linked_to(Service.objects.all(), "applications", ids).order_by("name"))
    org_units = list(
        _linked_to(OrgUnit.objects.all(), "consumed_services__applications", ids).order_by("name")
    )
    open_incidents = list(
        _linked_to(
            Incident.objects.filter(state__in=OPEN_INCIDENT_STATES), "applications", ids
        ).order_by("number")
    )
    scheduled_changes = list(
        _linked_to(
            Change.objects.filter(state__in=SCHEDULED_CHANGE_STATES), "applications", ids
        ).order_by("planned_start", "number")
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

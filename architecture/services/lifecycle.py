"""Lifecycle analysis: does an application's planned life outlast what it depends on?

An application depends on the IT components it uses in production and, transitively, on the
applications providing the interfaces it consumes. A conflict is a dependency whose end of
life lies before the application's own end of life (or at all, when the application has none:
it is planned to run for ever).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta

from cmdb import graph
from cmdb.choices import Environment
from cmdb.models import Application, ApplicationComponent, ITComponent

KIND_APPLICATION = "application"
KIND_COMPONENT = "component"

EOL_UNKNOWN = "unknown"
EOL_PASSED = "passed"
EOL_SOON = "soon"
EOL_SUPPORTED = "supported"


@dataclass
class LifecycleConflict:
    application: Application
    dependency: Application | ITComponent
    kind: str
    """"application" or "component"."""
    dependency_end_of_life: datetime.date
    application_end_of_life: datetime.date | None
    """None: the application has no end of life (it outlasts everything that ends)."""
    depth: int | None = None
    """Distance in the dependency graph for applications; None for components."""
    passed: bool = False
    """The dependency's end of life has already been reached on the analysis date."""


@dataclass
class LifecycleReport:
    application: Application
    on: datetime.date
    end_of_life: datetime.date | None
    earliest_component_end_of_life: datetime.date | None = None
    earliest_components: list[ITComponent] = field(default_factory=list)
    """The components reaching end of life on that earliest date."""
    earliest_dependency_end_of_life: datetime.date | None = None
    earliest_dependencies: list[Application] = field(default_factory=list)
    conflicts: list[LifecycleConflict] = field(default_factory=list)


def end_of_life_state(
    end_of_life: datetime.date | None, on: datetime.date, warning_months: int
) -> str:
    """Where an end-of-life date stands on `on`: "unknown" (no date), "passed" (reached on or
    before `on`), "soon" (within `warning_months`) or "supported"."""
    if end_of_life is None:
        return EOL_UNKNOWN
    if end_of_life <= on:
        return EOL_PASSED
    if end_of_life <= on + relativedelta(months=warning_months):
        return EOL_SOON
    return EOL_SUPPORTED


def _outlasts(own_end: datetime.date | None, dependency_end: datetime.date | None) -> bool:
    return dependency_end is not None and (own_end is None or dependency_end < own_end)


def _earliest(items, date_of):
    dated = [item for item in items if date_of(item) is not None]
    if not dated:
        return None, []
    first = min(date_of(item) for item in dated)
    return first, [item for item in dated if date_of(item) == first]


def _conflicts(app, components, dependencies, depths, on) -> list[LifecycleConflict]:
    own = app.end_of_life_date
    conflicts = [
        LifecycleConflict(
            application=app,
            dependency=component,
            kind=KIND_COMPONENT,
            dependency_end_of_life=component.end_of_life,
            application_end_of_life=own,
            passed=component.end_of_life <= on,
        )
        for component in components
        if _outlasts(own, component.end_of_life)
    ]
    conflicts += [
        LifecycleConflict(
            application=app,
            dependency=dep,
            kind=KIND_APPLICATION,
            dependency_end_of_life=dep.end_of_life_date,
            application_end_of_life=own,
            depth=depths.get(dep.pk),
            passed=dep.end_of_life_date <= on,
        )
        for dep in dependencies
        if _outlasts(own, dep.end_of_life_date)
    ]
    conflicts.sort(key=lambda c: (c.dependency_end_of_life, c.kind, str(c.dependency)))
    return conflicts


def lifecycle_analysis(
    application: Application, on: datetime.date | None = None
) -> LifecycleReport:
    """End-of-life dates `application` depends on and the ones its planned life outlasts."""
    on = on or datetime.date.today()
    components = list(
        {
            use.component.pk: use.component
            for use in ApplicationComponent.objects.filter(
                application=application, environment=Environment.PRODUCTION
            ).select_related("component")
        }.values()
    )
    depths = {node.application_id: node.depth for node in graph.dependencies(application, None)}
    dependencies = list(Application.objects.filter(pk__in=depths).order_by("name"))
    report = LifecycleReport(
        application=application, on=on, end_of_life=application.end_of_life_date
    )
    report.earliest_component_end_of_life, report.earliest_components = _earliest(
        components, lambda c: c.end_of_life
    )
    report.earliest_dependency_end_of_life, report.earliest_dependencies = _earliest(
        dependencies, lambda a: a.end_of_life_date
    )
    report.conflicts = _conflicts(application, components, dependencies, depths, on)
    return report


def lifecycle_conflicts(on: datetime.date | None = None) -> list[LifecycleConflict]:
    """Every conflict of the landscape, for applications not yet at end of life on `on`.
    Three queries: the graph, the applications, the production uses of dated components."""
    on = on or datetime.date.today()
    loaded = graph.LoadedGraph()
    apps = {app.pk: app for app in Application.objects.all()}
    components_of: dict[int, dict[int, ITComponent]] = {}
    for use in ApplicationComponent.objects.filter(
        environment=Environment.PRODUCTION, component__end_of_life__isnull=False
    ).select_related("component"):
        components_of.setdefault(use.application_id, {})[use.component_id] = use.component
    result = []
    for app in sorted(apps.values(), key=lambda a: (a.name, a.pk)):
        if app.end_of_life_date is not None and app.end_of_life_date <= on:
            continue
        depths = loaded.dependencies(app.pk)
        dependencies = [apps[pk] for pk in depths if pk in apps]
        components = list(components_of.get(app.pk, {}).values())
        result += _conflicts(app, components, dependencies, depths, on)
    return result

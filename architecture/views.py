"""The architecture pages: applications, impact analysis, governance findings, tech radar and
capability map. The pages read through the same services as GraphQL (cmdb.graph,
architecture.services, architecture.governance, sourcing's scoring); nothing here decides a
business rule. Pictures are laid out in architecture.pictures."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict

from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from architecture import pictures
from architecture.choices import STANDARD_RESTRICTIVENESS, StandardStatus
from architecture.forms import (
    DEPTH_CHOICES,
    ApplicationPageFilterSet,
    CapabilityMapForm,
    DateForm,
    FindingsFilterForm,
    ImpactForm,
    NeighbourhoodForm,
)
from architecture.governance import (
    RULES,
    SEVERITIES,
    SEVERITY_RANK,
    application_findings,
    at_least,
    run_rules,
    threshold,
)
from architecture.models import Capability, TechCategory
from architecture.services.capabilities import (
    TIME_CLASSES_WORST_FIRST,
    dominant_time_class,
    grade_counts,
    supporting_applications,
    time_class_counts,
)
from architecture.services.impact import (
    REASON_SELF,
    REASON_SUPPLIED_BY,
    REASON_USES_COMPONENT,
    impact_analysis,
    impact_links,
)
from architecture.services.lifecycle import (
    EOL_PASSED,
    EOL_SOON,
    EOL_SUPPORTED,
    EOL_UNKNOWN,
    end_of_life_state,
)
from architecture.services.radar import radar, status_on
from architecture.services.timetravel import applications_queryset_as_of, is_recorded_moment
from cmdb import graph
from cmdb.choices import LIFECYCLE_DATE_FIELDS, LifecyclePhase, TimeClass
from cmdb.models import (
    Application,
    ApplicationComponent,
    Interface,
    InterfaceConsumer,
    ITComponent,
    OrgUnit,
    Vendor,
)
from landkarte.pages import EVERY_STAFF, FilteredListPage, Page, is_htmx
from sourcing.services.scoring import application_grades, application_sovereignty

SEVERITY_BADGE = {
    "critical": "danger",
    "high": "danger",
    "medium": "warn",
    "low": "neutral",
    "info": "neutral",
}
TIME_BADGE = {
    TimeClass.INVEST: "ok",
    TimeClass.TOLERATE: "neutral",
    TimeClass.MIGRATE: "warn",
    TimeClass.ELIMINATE: "danger",
}
GRADE_BADGE = {"A": "ok", "B": "ok", "C": "neutral", "D": "warn", "E": "danger"}
STATUS_BADGE = {
    StandardStatus.APPROVED: "ok",
    StandardStatus.CANDIDATE: "neutral",
    StandardStatus.TOLERATED: "warn",
    StandardStatus.RETIRED: "danger",
    StandardStatus.PROHIBITED: "danger",
}
# The radar's rings from the centre out: least restrictive first.
RING_ORDER = sorted(STANDARD_RESTRICTIVENESS, key=STANDARD_RESTRICTIVENESS.get)


def _date_from(form) -> datetime.date | None:
    if form.is_valid():
        return form.cleaned_data.get("as_of")
    return None


def _landscape_note(as_of: datetime.date | None, reads_history: bool = False) -> str:
    """What an "as of" date shows: the recorded history (only pages that read it), or the
    current records filtered by their lifecycle dates."""
    if as_of is None:
        return ""
    if reads_history and is_recorded_moment(as_of):
        return _("The landscape as recorded on %(date)s.") % {"date": as_of.isoformat()}
    if reads_history or as_of > timezone.localdate():
        return _("The landscape as planned for %(date)s (by lifecycle dates).") % {
            "date": as_of.isoformat()
        }
    return _("The landscape on %(date)s by lifecycle dates.") % {"date": as_of.isoformat()}


def eol_state(end_of_life: datetime.date | None, on: datetime.date) -> tuple[str, str]:
    """(badge class, text) of a component's end of life on a date."""
    months = int(threshold("eol_warning_months"))
    state = end_of_life_state(end_of_life, on, months)
    return {
        EOL_UNKNOWN: ("neutral", _("no date known")),
        EOL_PASSED: ("danger", _("end of life passed")),
        EOL_SOON: ("warn", _("end of life within %(months)d months") % {"months": months}),
        EOL_SUPPORTED: ("ok", _("supported")),
    }[state]


# --- applications ----------------------------------------------------------------------------


class ApplicationListPage(FilteredListPage):
    model = Application
    roles = EVERY_STAFF
    filterset_class = ApplicationPageFilterSet
    template_name = "architecture/application_list.html"
    partial_template_name = "architecture/_application_table.html"
    title = gettext_lazy("Applications")
    export_name = "applications"
    default_sort = "name"
    sort_fields = {
        "name": ("name",),
        "acronym": ("acronym",),
        "org_unit": ("owner_org_unit__name",),
        "vendor": ("vendor__name",),
        "criticality": ("criticality",),
        "hosting": ("hosting",),
    }

    def as_of(self) -> datetime.date | None:
        if not hasattr(self, "_as_of"):
            self._as_of = _date_from(DateForm(self.request.GET))
        return self._as_of

    def base_queryset(self):
        return applications_queryset_as_of(self.as_of()).select_related("owner_org_unit", "vendor")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        as_of = self.as_of()
        on = as_of or timezone.localdate()
        rows = list(context["object_list"])
        recorded = as_of is not None and is_recorded_moment(as_of)
        if recorded:
            # Historical instances do not carry select_related objects: two queries.
            units = OrgUnit.objects.in_bulk({app.owner_org_unit_id for app in rows})
            vendors = Vendor.objects.in_bulk({app.vendor_id for app in rows if app.vendor_id})
            existing = set(
                Application.objects.filter(pk__in=[app.pk for app in rows]).values_list(
                    "pk", flat=True
                )
            )
        for app in rows:
            if recorded:
                app.owner_org_unit = units.get(app.owner_org_unit_id)
                app.vendor = vendors.get(app.vendor_id) if app.vendor_id else None
                app.exists = app.pk in existing
            else:
                app.exists = True
            phase = app.phase_on(on)
            app.phase_label = LifecyclePhase(phase).label if phase else ""
            time_class = app.time_class
            app.time_label = TimeClass(time_class).label if time_class else ""
            app.time_badge = TIME_BADGE.get(time_class, "neutral")
        context.update(
            rows=rows,
            as_of=as_of,
            landscape_note=_landscape_note(as_of, reads_history=True),
            page_fields=self.filterset.page_form_fields if self.filterset else [],
            partial_target="#application-table",
        )
        return context


def _timeline(app: Application, on: datetime.date) -> dict:
    """The lifecycle phases with their dates, and a small SVG timeline (text next to it)."""
    current = app.phase_on(on)
    phases = []
    for phase, field in LIFECYCLE_DATE_FIELDS:
        date = getattr(app, field)
        phases.append(
            {
                "label": LifecyclePhase(phase).label,
                "date": date,
                "reached": date is not None and date <= on,
                "current": phase == current,
            }
        )
    milestones = [(p["label"], p["date"], p["reached"]) for p in phases if p["date"]]
    return {"phases": phases, "svg": pictures.timeline_svg(milestones, on)}


def neighbourhood(app: Application, depth: int, as_of: datetime.date | None) -> dict:
    """The dependencies and dependents of `app` up to `depth`, as rows and a picture: two
    recursive queries and one for the applications."""
    providers = graph.dependencies(app, depth=depth, as_of=as_of)
    consumers = graph.dependents(app, depth=depth, as_of=as_of)
    ids = {app_id for node in providers + consumers for app_id in node.path}
    apps = Application.objects.select_related("owner_org_unit").in_bulk(ids)
    label = str(app)

    def rows(nodes):
        return [
            {
                "application": apps[node.application_id],
                "depth": node.depth,
                "path": [apps[pk] for pk in node.path if pk in apps],
            }
            for node in nodes
            if node.application_id in apps
        ]

    dependency_rows, dependent_rows = rows(providers), rows(consumers)
    columns = []
    for level in range(depth, 0, -1):
        nodes = [
            pictures.Node(f"c{r['application'].pk}", str(r["application"]))
            for r in dependent_rows
            if r["depth"] == level
        ]
        columns.append(pictures.Column(_("Dependents, level %(level)d") % {"level": level}, nodes))
    columns.append(pictures.Column(_("Application"), [pictures.Node("focus", label, kind="focus")]))
    for level in range(1, depth + 1):
        nodes = [
            pictures.Node(f"p{r['application'].pk}", str(r["application"]))
            for r in dependency_rows
            if r["depth"] == level
        ]
        columns.append(
            pictures.Column(_("Dependencies, level %(level)d") % {"level": level}, nodes)
        )
    edges = []
    for node in consumers:
        parent = node.path[-2] if len(node.path) > 1 else None
        edges.append((f"c{node.application_id}", f"c{parent}" if parent else "focus"))
    for node in providers:
        parent = node.path[-2] if len(node.path) > 1 else None
        edges.append((f"p{parent}" if parent else "focus", f"p{node.application_id}"))
    picture = pictures.columns_svg(
        columns,
        edges,
        _(
            "Dependency picture of %(application)s up to depth %(depth)d: "
            "%(dependents)d dependents on the left, %(dependencies)d dependencies on the right"
        )
        % {
            "application": label,
            "depth": depth,
            "dependents": len(dependent_rows),
            "dependencies": len(dependency_rows),
        },
    )
    return {
        "depth": depth,
        "dependencies": dependency_rows,
        "dependents": dependent_rows,
        "picture": picture,
    }


class ApplicationDetailPage(Page):
    roles = EVERY_STAFF
    template_name = "architecture/application_detail.html"
    neighbourhood_template_name = "architecture/_neighbourhood.html"

    def get_template_names(self):
        if is_htmx(self.request) and self.request.GET.get("fragment") == "neighbourhood":
            return [self.neighbourhood_template_name]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        app = get_object_or_404(
            Application.objects.select_related(
                "owner_org_unit", "owner_team", "vendor", "vendor__ultimate_parent"
            ),
            pk=self.kwargs["pk"],
        )
        form = NeighbourhoodForm(self.request.GET or None)
        depth, as_of = 1, None
        if form.is_bound and form.is_valid():
            depth = form.cleaned_data.get("depth") or 1
            as_of = form.cleaned_data.get("as_of")
        on = as_of or timezone.localdate()
        context.update(
            title=str(app),
            application=app,
            form=form,
            as_of=as_of,
            on=on,
            landscape_note=_landscape_note(as_of),
            neighbourhood=neighbourhood(app, depth, as_of),
            depth_choices=[value for value, _label in DEPTH_CHOICES],
        )
        if is_htmx(self.request) and self.request.GET.get("fragment") == "neighbourhood":
            return context
        phase = app.phase_on(on)
        time_class = app.time_class
        context.update(
            phase_label=LifecyclePhase(phase).label if phase else _("no lifecycle dates"),
            time_label=TimeClass(time_class).label if time_class else _("not rated"),
            time_badge=TIME_BADGE.get(time_class, "neutral"),
            timeline=_timeline(app, on),
        )
        uses = list(
            ApplicationComponent.objects.filter(application=app)
            .select_related("component", "component__vendor")
            .order_by("environment", "component__name", "component__version")
        )
        for use in uses:
            use.eol_badge, use.eol_text = eol_state(use.component.end_of_life, on)
        provided = list(
            Interface.objects.filter(provider=app)
            .prefetch_related(
                Prefetch(
                    "links",
                    queryset=InterfaceConsumer.objects.select_related("consumer").order_by(
                        "consumer__name"
                    ),
                )
            )
            .order_by("name")
        )
        consumed = list(
            InterfaceConsumer.objects.filter(consumer=app)
            .select_related("interface", "provider")
            .order_by("interface__name")
        )
        for interface in provided:
            interface.alive = interface.is_alive(on)
        for link in consumed:
            link.alive = link.interface.is_alive(on)
        findings = application_findings(app, on=on)
        current, effective, result = application_sovereignty(app)
        context.update(
            uses=uses,
            provided=provided,
            consumed=consumed,
            findings=[_finding_row(f) for f in findings],
            services=list(app.services.order_by("name")),
            capability_support=list(
                app.capability_support.select_related("capability").order_by("capability__code")
            ),
            sovereignty={
                "assessment": current,
                "result": result,
                "badge": GRADE_BADGE.get(result.grade, "neutral"),
                "gaps": list(effective.gaps),
            },
        )
        return context


# --- components ------------------------------------------------------------------------------


class ComponentDetailPage(Page):
    roles = EVERY_STAFF
    template_name = "architecture/component_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        component = get_object_or_404(
            ITComponent.objects.select_related("vendor"), pk=self.kwargs["pk"]
        )
        on = timezone.localdate()
        badge, text = eol_state(component.end_of_life, on)
        standard = status_on(component, on)
        uses = list(
            ApplicationComponent.objects.filter(component=component)
            .select_related("application", "application__owner_org_unit")
            .order_by("application__name", "environment")
        )
        context.update(
            title=str(component),
            component=component,
            eol_badge=badge,
            eol_text=text,
            standard=standard,
            standard_badge=STATUS_BADGE.get(standard.status, "neutral") if standard else "",
            uses=uses,
            impact_url=reverse("architecture:impact") + f"?component={component.pk}",
        )
        return context


# --- impact analysis -------------------------------------------------------------------------


class ImpactPage(Page):
    roles = EVERY_STAFF
    template_name = "architecture/impact.html"
    title = gettext_lazy("Impact analysis")

    def get(self, request, *args, **kwargs):
        asked = any(request.GET.get(name) for name in ("vendor", "component", "application"))
        asked = asked or "run" in request.GET
        form = ImpactForm(request.GET if asked else None)
        context = self.get_context_data(form=form, **kwargs)
        status = 200
        if form.is_bound:
            if form.is_valid():
                context.update(self.analyse(form.cleaned_data))
            else:
                status = 400
        return self.render_to_response(context, status=status)

    def analyse(self, data) -> dict:
        name = data["subject_name"]
        subject = data[name]
        as_of = data.get("as_of")
        impact = impact_analysis(**{name: subject}, depth=data.get("depth"), as_of=as_of)
        units = OrgUnit.objects.in_bulk({item.application.owner_org_unit_id
                                         for item in impact.applications})  # fmt: skip
        reasons = {start.application_id: start.reason for start in impact.starts}
        reason_labels = {
            REASON_SELF: _("the application itself"),
            REASON_USES_COMPONENT: _("uses the component"),
            REASON_SUPPLIED_BY: _("supplied by the vendor"),
        }
        rows = []
        for item in impact.applications:
            app = item.application
            app.owner_org_unit = units.get(app.owner_org_unit_id)
            rows.append(
                {
                    "application": app,
                    "depth": item.depth,
                    "path": item.path,
                    "reason": reason_labels.get(reasons.get(app.pk), "") if item.depth == 0 else "",
                }
            )
        realised, used = impact_links(impact)
        service_rows = [
            {"service": s, "applications": sorted(realised[s.pk], key=str)} for s in impact.services
        ]
        unit_rows = [
            {"org_unit": u, "services": sorted(used[u.pk], key=str)} for u in impact.org_units
        ]
        # The picture: subject → starting applications → dependents by depth → services →
        # offices.
        subject_node = pictures.Node("subject", str(subject), kind="subject")
        columns = [pictures.Column(_("Starting point"), [subject_node])]
        max_depth = max((item.depth for item in impact.applications), default=-1)
        for level in range(0, max_depth + 1):
            title = (
                _("Directly affected")
                if level == 0
                else _("Dependents, level %(level)d") % {"level": level}
            )
            nodes = [
                pictures.Node(f"a{r['application'].pk}", str(r["application"]),
                              kind="start" if level == 0 else "app")
                for r in rows
                if r["depth"] == level
            ]  # fmt: skip
            columns.append(pictures.Column(title, nodes))
        columns.append(
            pictures.Column(
                _("Services"),
                [pictures.Node(f"s{s.pk}", str(s), kind="service") for s in impact.services],
            )
        )
        columns.append(
            pictures.Column(
                _("Org units"),
                [pictures.Node(f"o{u.pk}", str(u), kind="org") for u in impact.org_units],
            )
        )
        edges = []
        for item in impact.applications:
            if item.depth == 0:
                if name != "application":
                    edges.append(("subject", f"a{item.application.pk}"))
            else:
                edges.append((f"a{item.path[-2].pk}", f"a{item.application.pk}"))
        for row in service_rows:
            for app in row["applications"]:
                edges.append((f"a{app.pk}", f"s{row['service'].pk}"))
        for row in unit_rows:
            for service in row["services"]:
                edges.append((f"s{service.pk}", f"o{row['org_unit'].pk}"))
        if name == "application":
            columns = columns[1:]
        picture = pictures.columns_svg(
            columns,
            edges,
            _(
                "Impact of %(subject)s: %(applications)d applications, %(services)d services "
                "and %(org_units)d org units affected"
            )
            % {
                "subject": subject,
                "applications": len(rows),
                "services": len(service_rows),
                "org_units": len(unit_rows),
            },
        )
        return {
            "impact": impact,
            "subject": subject,
            "rows": rows,
            "service_rows": service_rows,
            "unit_rows": unit_rows,
            "picture": picture,
            "landscape_note": _landscape_note(as_of),
        }


# --- governance findings ---------------------------------------------------------------------


FINDING_SUBJECT_KINDS = {
    "application": gettext_lazy("application"),
    "interface": gettext_lazy("interface"),
    "component": gettext_lazy("IT component"),
    "capability": gettext_lazy("capability"),
    "exception": gettext_lazy("standard exception"),
}


def _finding_row(finding) -> dict:
    url = None
    if finding.subject_kind == "application":
        url = reverse("architecture:application-detail", args=[finding.subject_id])
    elif finding.subject_kind == "component":
        url = reverse("architecture:component-detail", args=[finding.subject_id])
    elif finding.subject_kind == "capability":
        url = reverse("architecture:capabilities") + f"#capability-{finding.subject_id}"
    return {
        "finding": finding,
        "badge": SEVERITY_BADGE[finding.severity],
        "url": url,
        "kind": FINDING_SUBJECT_KINDS.get(finding.subject_kind, finding.subject_kind),
    }


class FindingsPage(Page):
    roles = EVERY_STAFF
    template_name = "architecture/findings.html"
    partial_template_name = "architecture/_findings_table.html"
    title = gettext_lazy("Governance findings")
    sort_keys = {
        "severity": lambda row: (SEVERITY_RANK[row["finding"].severity],),
        "rule": lambda row: (row["finding"].rule,),
        "subject": lambda row: (row["finding"].subject_name.lower(),),
        "org_unit": lambda row: (row["org_unit_name"].lower(),),
    }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = FindingsFilterForm(self.request.GET or None)
        data = form.cleaned_data if form.is_bound and form.is_valid() else {}
        as_of = data.get("as_of")
        rule = data.get("rule") or None
        unit = data.get("org_unit")
        application = data.get("application")
        rules = [rule] if rule else None
        if application is not None:
            findings = application_findings(application, on=as_of, rules=rules, org_unit=unit)
        else:
            findings = run_rules(on=as_of, rules=rules, org_unit=unit)
        # The counts per severity are shown whatever severity the list is narrowed to.
        counts = Counter(f.severity for f in findings)
        severity = data.get("severity") or None
        if severity and data.get("only_this_severity"):
            findings = [f for f in findings if f.severity == severity]
        else:
            findings = at_least(findings, severity)
        names = dict(
            OrgUnit.objects.filter(pk__in={f.org_unit_id for f in findings if f.org_unit_id})
            .values_list("pk", "name")
        )  # fmt: skip
        rows = []
        for finding in findings:
            row = _finding_row(finding)
            row["org_unit_name"] = names.get(finding.org_unit_id, "")
            rows.append(row)
        sort = self.request.GET.get("sort") or ""
        key = sort.lstrip("-")
        if key in self.sort_keys:
            rows.sort(key=self.sort_keys[key], reverse=sort.startswith("-"))
        paginator = Paginator(rows, 50)
        page = paginator.get_page(self.request.GET.get("page"))
        context.update(
            form=form,
            rows=page.object_list,
            page_obj=page,
            sort=sort,
            severity_counts=[
                {"severity": name, "count": counts.get(name, 0), "badge": SEVERITY_BADGE[name]}
                for name in reversed(SEVERITIES)
            ],
            total=sum(counts.values()),
            rules=[
                {"code": code, "severity": r.severity, "description": r.description}
                for code, r in RULES.items()
            ],
            as_of=as_of,
            landscape_note=_landscape_note(as_of),
        )
        return context


# --- tech radar ------------------------------------------------------------------------------


class RadarPage(Page):
    roles = EVERY_STAFF
    template_name = "architecture/radar.html"
    title = gettext_lazy("Tech radar")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = DateForm(self.request.GET or None)
        on = _date_from(form) or timezone.localdate()
        entries = radar(on)
        roots = list(TechCategory.objects.filter(level=0).order_by("code"))
        root_of_tree = {root.tree_id: root for root in roots}
        component_ids = [e.component.pk for e in entries if e.component is not None]
        categories_of: dict[int, list[TechCategory]] = defaultdict(list)
        links = (
            TechCategory.components.through.objects.filter(itcomponent_id__in=component_ids)
            .select_related("techcategory")
            .order_by("techcategory__code")
        )
        for link in links:
            categories_of[link.itcomponent_id].append(link.techcategory)
        sectors = [str(root.name) for root in roots]
        other = _("Uncategorised")
        rows = []
        for entry in entries:
            if entry.component is not None:
                found = categories_of.get(entry.component.pk, [])
                category = found[0] if found else None
            else:
                category = entry.category
            root = root_of_tree.get(category.tree_id) if category is not None else None
            if root is None and other not in sectors:
                sectors.append(other)
            rows.append(
                {
                    "entry": entry,
                    "subject": entry.component or entry.category,
                    "is_component": entry.component is not None,
                    "category": category,
                    "sector": root.name if root else other,
                    "sector_index": sectors.index(root.name if root else other),
                    "ring": RING_ORDER.index(entry.status),
                    "status_label": StandardStatus(entry.status).label,
                    "badge": STATUS_BADGE[entry.status],
                }
            )
        rows.sort(key=lambda r: (r["sector_index"], r["ring"], str(r["subject"]).lower()))
        for number, row in enumerate(rows, start=1):
            row["number"] = number
        rings = [StandardStatus(status).label for status in RING_ORDER]
        picture = pictures.radar_svg(
            sectors,
            rings,
            [
                pictures.Blip(
                    r["number"],
                    f"{r['number']}. {r['subject']}: {r['status_label']}",
                    r["sector_index"],
                    r["ring"],
                )
                for r in rows
            ],  # fmt: skip
            _("Tech radar on %(date)s: %(count)d technologies in %(sectors)d categories")
            % {"date": on.isoformat(), "count": len(rows), "sectors": len(sectors)},
        )
        ring_table = [
            {
                "label": label,
                "badge": STATUS_BADGE[status],
                "cells": [
                    [r for r in rows if r["ring"] == ring and r["sector_index"] == sector]
                    for sector in range(len(sectors))
                ],
            }
            for ring, (status, label) in enumerate(zip(RING_ORDER, rings, strict=True))
        ]
        context.update(
            form=form,
            on=on,
            rows=rows,
            sectors=sectors,
            ring_table=ring_table,
            picture=picture,
        )
        return context


# --- capability map --------------------------------------------------------------------------


class CapabilityMapPage(Page):
    roles = EVERY_STAFF
    template_name = "architecture/capabilities.html"
    title = gettext_lazy("Capability map")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = CapabilityMapForm(self.request.GET or None)
        data = form.cleaned_data if form.is_bound and form.is_valid() else {}
        as_of = data.get("as_of")
        on = as_of or timezone.localdate()
        colour = data.get("colour") or CapabilityMapForm.COLOUR_TIME
        support = supporting_applications(on)
        grades = {}
        if colour == CapabilityMapForm.COLOUR_GRADE:
            apps = {app.pk: app for apps in support.values() for app in apps}
            grades = application_grades(apps.values(), on=on)
        capabilities = list(Capability.objects.order_by("tree_id", "lft"))
        nodes = {}
        roots = []
        for capability in capabilities:
            apps = support.get(capability.pk, [])
            node = {"capability": capability, "children": [], "applications": apps}
            node.update(self.colouring(apps, colour, grades))
            nodes[capability.pk] = node
            parent = nodes.get(capability.parent_id)
            (parent["children"] if parent else roots).append(node)
        if colour == CapabilityMapForm.COLOUR_GRADE:
            legend = [
                {"badge": GRADE_BADGE[g], "label": _("grade %(grade)s") % {"grade": g}}
                for g in "ABCDE"
            ]
        else:
            legend = [
                {"badge": TIME_BADGE[t], "label": TimeClass(t).label}
                for t in reversed(TIME_CLASSES_WORST_FIRST)
            ]
        legend.append({"badge": "none", "label": _("no supporting application")})
        context.update(
            form=form,
            roots=roots,
            colour=colour,
            legend=legend,
            as_of=as_of,
            landscape_note=_landscape_note(as_of),
        )
        return context

    @staticmethod
    def colouring(apps, colour, grades) -> dict:
        """The box colour and the text saying the same: the most frequent TIME class (the
        worse one on a tie), or the worst sovereignty grade."""
        if not apps:
            return {"badge": "none", "summary": _("no supporting application"), "parts": []}
        if colour == CapabilityMapForm.COLOUR_GRADE:
            counts = grade_counts(apps, grades)
            worst = max(counts)
            for app in apps:
                app.tag = grades.get(app.pk, "")
                app.tag_badge = GRADE_BADGE.get(app.tag, "neutral")
            return {
                "badge": GRADE_BADGE.get(worst, "neutral"),
                "summary": _("worst grade %(grade)s") % {"grade": worst},
                "parts": [f"{grade}: {counts[grade]}" for grade in sorted(counts)],
            }
        counts = time_class_counts(apps)
        for app in apps:
            app.tag = TimeClass(app.time_class).label if app.time_class else _("not rated")
            app.tag_badge = TIME_BADGE.get(app.time_class, "neutral")
        dominant = dominant_time_class(counts)
        if dominant is None:
            return {"badge": "neutral", "summary": _("not rated"), "parts": []}
        parts = [
            f"{TimeClass(t).label}: {counts[t]}" for t in TIME_CLASSES_WORST_FIRST if counts.get(t)
        ]
        if counts.get(None):
            parts.append(f"{_('not rated')}: {counts[None]}")
        return {
            "badge": TIME_BADGE[dominant],
            "summary": _("mostly %(time_class)s") % {"time_class": TimeClass(dominant).label},
            "parts": parts,
        }

"""Governance rules: small named functions that check the landscape and return findings.

Each rule is `rule(context) -> list[Finding]`, registered with `@rule(code, severity=...,
description=...)` in `RULES`. A `GovernanceContext` loads what several rules share once (the
applications alive on the date, their production component uses, the dependency graph), so
that running every rule costs a bounded number of queries: it does not grow with the number of
applications, interfaces or capabilities: the sovereignty rules load the evidence of every
critical application together (`sourcing.services.scoring.BulkEvidence`), the tech-radar rule
the statuses and exceptions of every restricted component together (`radar.statuses_on`,
`radar.exempted`).

Thresholds come from `settings.LANDKARTE_GOVERNANCE` (a dict), each with a default:

- `eol_warning_months` (12): a used component reaching its end of life within this many
  months is a medium finding; past end of life a high one;
- `max_applications_per_capability` (3): a capability served by more active applications
  is a medium finding.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import cached_property

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from cmdb.choices import (
    Criticality,
    DataClassification,
    Environment,
    Hosting,
    LifecyclePhase,
    ProtectionNeed,
    TimeClass,
)
from cmdb.graph import LoadedGraph
from cmdb.lifecycle import application_alive_q, interface_alive_q, phase_q
from cmdb.models import Application, ApplicationComponent, Interface, ITComponent, OrgUnit

SEVERITIES = ["info", "low", "medium", "high", "critical"]
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}

DEFAULT_THRESHOLDS = {
    "eol_warning_months": 12,
    "max_applications_per_capability": 3,
}

CRITICAL = {Criticality.MISSION_CRITICAL, Criticality.BUSINESS_CRITICAL}
CONFIDENTIAL_NEEDS = {ProtectionNeed.HIGH, ProtectionNeed.VERY_HIGH}
CONFIDENTIAL_CLASSES = {DataClassification.CONFIDENTIAL, DataClassification.STRICTLY_CONFIDENTIAL}


def threshold(name: str):
    """A governance threshold from settings.LANDKARTE_GOVERNANCE, else its default."""
    return getattr(settings, "LANDKARTE_GOVERNANCE", {}).get(name, DEFAULT_THRESHOLDS[name])


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    subject_kind: str
    """application, interface, component, capability or exception"""
    subject_id: int
    subject_name: str
    message: str
    hint: str
    org_unit_id: int | None = None
    """The owning org unit of the subject, where there is one."""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str
    """The default (highest) severity of the rule's findings."""
    description: str
    function: Callable[[GovernanceContext], list[Finding]] = field(repr=False, compare=False)

    def __call__(self, context: GovernanceContext) -> list[Finding]:
        return self.function(context)


RULES: dict[str, Rule] = {}


def rule(code: str, *, severity: str, description: str):
    """Register a rule function under `code`."""
    if severity not in SEVERITY_RANK:
        raise ValueError(f"Unknown severity {severity!r}")

    def register(function):
        RULES[code] = Rule(code=code, severity=severity, description=description, function=function)
        return function

    return register


def _end(app: Application) -> datetime.date | None:
    """When an application stops being needed by others' reckoning: its end of life, else its
    phase-out; None lives forever."""
    return app.end_of_life_date or app.phase_out_date


def _leaves(app: Application) -> datetime.date | None:
    """When an application stops being a dependable provider: its phase-out, else its end of
    life; None lives forever."""
    return app.phase_out_date or app.end_of_life_date


class GovernanceContext:
    """Shared, lazily loaded data of one governance run on a date."""

    def __init__(self, on: datetime.date | None = None, thresholds: dict | None = None):
        self.on = on or timezone.localdate()
        configured = getattr(settings, "LANDKARTE_GOVERNANCE", {})
        self.thresholds = {**DEFAULT_THRESHOLDS, **configured, **(thresholds or {})}

    # --- applications and their uses --------------------------------------------------------

    @cached_property
    def applications(self) -> dict[int, Application]:
        """Applications alive on `on`, by id."""
        apps = Application.objects.filter(application_alive_q(self.on)).order_by("name", "pk")
        return {app.pk: app for app in apps}

    @cached_property
    def production_uses(self) -> list[ApplicationComponent]:
        """Production component uses of the alive applications, with their components."""
        return list(
            ApplicationComponent.objects.filter(
                application_alive_q(self.on, "application__"),
                environment=Environment.PRODUCTION,
            )
            .select_related("component", "component__vendor")
            .order_by("component_id", "application_id")
        )

    @cached_property
    def components(self) -> dict[int, ITComponent]:
        return {use.component_id: use.component for use in self.production_uses}

    @cached_property
    def users_of(self) -> dict[int, list[int]]:
        """Component id → ids of alive applications using it in production."""
        result: dict[int, list[int]] = defaultdict(list)
        for use in self.production_uses:
            result[use.component_id].append(use.application_id)
        return result

    @cached_property
    def graph(self) -> LoadedGraph:
        return LoadedGraph(as_of=self.on)

    def org_unit_of(self, application_id: int) -> int | None:
        app = self.applications.get(application_id)
        return app.owner_org_unit_id if app else None

    def app_finding(self, code: str, severity: str, app: Application, message: str, hint: str):
        return Finding(
            rule=code, severity=severity, subject_kind="application", subject_id=app.pk,
            subject_name=str(app), message=message, hint=hint, org_unit_id=app.owner_org_unit_id,
        )  # fmt: skip

    @cached_property
    def capability_applications(self) -> dict[int, list[int]]:
        """Capability id → ids of the applications supporting it (any lifecycle)."""
        from architecture.models import ApplicationCapability

        result: dict[int, list[int]] = defaultdict(list)
        rows = ApplicationCapability.objects.values_list("capability_id", "application_id")
        for capability_id, application_id in rows:
            result[capability_id].append(application_id)
        return result

    # --- sovereignty --------------------------------------------------------------------------

    @cached_property
    def critical_applications(self) -> list[Application]:
        return [app for app in self.applications.values() if app.criticality in CRITICAL]

    @cached_property
    def sovereignty_evidence(self):
        """Assessments, platforms and cloud services of the critical applications, loaded
        together (a fixed number of queries, not a few per application)."""
        from sourcing.services.scoring import BulkEvidence

        return BulkEvidence(self.critical_applications, on=self.on)

    @cached_property
    def current_assessments(self) -> dict[int, object]:
        """Critical application id → its current approved assessment (or None)."""
        evidence = self.sovereignty_evidence
        return {app.pk: evidence.current(app) for app in self.critical_applications}

    @cached_property
    def catalogue(self):
        from django.db.models import prefetch_related_objects

        from sourcing.services.catalogues import default_catalogue

        catalogue = default_catalogue()
        prefetch_related_objects([catalogue], "criteria")
        return catalogue


# --- the rules -------------------------------------------------------------------------------


def _restricted_component_ids(on: datetime.date) -> set[int]:
    """Components that may carry a retired or prohibited status on `on`: with such a standard
    of their own, or in a category below a category with one (two queries at most)."""
    from architecture.choices import StandardStatus
    from architecture.models import TechCategory, TechnologyStandard
    from architecture.services.radar import valid_on_q

    restricted = TechnologyStandard.objects.filter(
        valid_on_q(on), status__in=[StandardStatus.RETIRED, StandardStatus.PROHIBITED]
    ).select_related("category")
    ids: set[int] = set()
    subtree = Q()
    for standard in restricted:
        if standard.component_id:
            ids.add(standard.component_id)
        else:
            subtree |= Q(
                tree_id=standard.category.tree_id,
                lft__gte=standard.category.lft,
                rght__lte=standard.category.rght,
            )
    if subtree:
        ids |= set(
            TechCategory.components.through.objects.filter(
                techcategory__in=TechCategory.objects.filter(subtree)
            ).values_list("itcomponent_id", flat=True)
        )
    return ids


@rule(
    "retired_technology_in_use",
    severity="high",
    description=gettext_lazy(
        "An application uses (in production) a technology that is retired (medium) or "
        "prohibited (high) on the tech radar, without a valid exception."
    ),
)
def retired_technology_in_use(context: GovernanceContext) -> list[Finding]:
    from architecture.choices import StandardStatus
    from architecture.services.radar import exempted, statuses_on

    candidates = sorted(_restricted_component_ids(context.on) & set(context.users_of))
    standards = statuses_on(candidates, context.on)
    restricted = {
        component_id: standard
        for component_id, standard in standards.items()
        if standard is not None
        and standard.status in (StandardStatus.RETIRED, StandardStatus.PROHIBITED)
    }
    exceptions = exempted(
        (
            (app_id, standard.pk)
            for component_id, standard in restricted.items()
            for app_id in context.users_of[component_id]
        ),
        context.on,
    )
    findings = []
    for component_id, standard in restricted.items():
        component = context.components[component_id]
        prohibited = standard.status == StandardStatus.PROHIBITED
        for app_id in context.users_of[component_id]:
            app = context.applications[app_id]
            if (app_id, standard.pk) in exceptions:
                continue
            findings.append(
                context.app_finding(
                    "retired_technology_in_use",
                    "high" if prohibited else "medium",
                    app,
                    _(
                        "%(application)s uses %(component)s in production, which is "
                        "%(status)s on the tech radar (since %(since)s)."
                    )
                    % {
                        "application": app,
                        "component": component,
                        "status": standard.get_status_display(),
                        "since": format(standard.valid_from, "%Y-%m-%d"),
                    },
                    _(
                        "Plan the migration to an approved technology, or obtain a time-limited "
                        "standard exception based on an accepted architecture decision."
                    ),
                )
            )
    return findings


@rule(
    "component_end_of_life",
    severity="high",
    description=gettext_lazy(
        "A component used in production is past its end of life (high) or reaches it "
        "within eol_warning_months (default 12) (medium)."
    ),
)
def component_end_of_life(context: GovernanceContext) -> list[Finding]:
    from architecture.services.lifecycle import EOL_PASSED, EOL_SOON, end_of_life_state

    months = int(context.thresholds["eol_warning_months"])
    findings = []
    for component in context.components.values():
        eol = component.end_of_life
        state = end_of_life_state(eol, context.on, months)
        if state not in (EOL_PASSED, EOL_SOON):
            continue
        users = context.users_of[component.pk]
        past = state == EOL_PASSED
        used_by = ", ".join(str(context.applications[pk]) for pk in users[:5])
        if len(users) > 5:
            more = len(users) - 5
            used_by += " " + ngettext("and %(count)d more", "and %(count)d more", more) % {
                "count": more
            }
        values = {"component": component, "date": format(eol, "%Y-%m-%d"), "used_by": used_by}
        if past:
            message = (
                _(
                    "%(component)s reached its end of life on %(date)s; used in production by "
                    "%(used_by)s."
                )
                % values
            )
            hint = _("Upgrade to a supported release or replace the component.")
        else:
            message = (
                _(
                    "%(component)s reaches its end of life on %(date)s; used in production by "
                    "%(used_by)s."
                )
                % values
            )
            hint = _(
                "Upgrade to a supported release or replace the component before its end of "
                "life; plan the change now."
            )
        findings.append(
            Finding(
                rule="component_end_of_life",
                severity="high" if past else "medium",
                subject_kind="component",
                subject_id=component.pk,
                subject_name=str(component),
                message=message,
                hint=hint,
                org_unit_id=None,
            )
        )
    return sorted(findings, key=lambda f: f.subject_name)


@rule(
    "lifecycle_conflict",
    severity="medium",
    description=gettext_lazy(
        "An application depends (consumes an interface) on an application that is "
        "phased out or ends its life before the consumer does."
    ),
)
def lifecycle_conflict(context: GovernanceContext) -> list[Finding]:
    findings = []
    for app in context.applications.values():
        needed_until = _end(app)
        for provider_id in sorted(context.graph.providers.get(app.pk, ())):
            provider = context.applications.get(provider_id)
            if provider is None:
                continue
            leaves = _leaves(provider)
            if leaves is None or (needed_until is not None and leaves >= needed_until):
                continue
            values = {
                "application": app,
                "provider": provider,
                "leaves": format(leaves, "%Y-%m-%d"),
            }
            if needed_until:
                message = _(
                    "%(application)s depends on %(provider)s, which is phased out from "
                    "%(leaves)s, but %(application)s itself runs until %(until)s."
                ) % {**values, "until": format(needed_until, "%Y-%m-%d")}
            else:
                message = (
                    _(
                        "%(application)s depends on %(provider)s, which is phased out from "
                        "%(leaves)s, but %(application)s itself runs without an end date."
                    )
                    % values
                )
            findings.append(
                context.app_finding(
                    "lifecycle_conflict",
                    "medium",
                    app,
                    message,
                    _(
                        "Plan a replacement for what %(application)s uses from %(provider)s, "
                        "or align the lifecycle dates of both applications."
                    )
                    % values,
                )
            )
    return findings


@rule(
    "missing_owner",
    severity="low",
    description=gettext_lazy("An application or an interface without an owning team."),
)
def missing_owner(context: GovernanceContext) -> list[Finding]:
    findings = [
        context.app_finding(
            "missing_owner",
            "low",
            app,
            _("Application %(application)s has no owning team.") % {"application": app},
            _("Assign an owning team so that incidents, changes and reviews reach someone."),
        )
        for app in context.applications.values()
        if app.owner_team_id is None
    ]
    interfaces = (
        Interface.objects.filter(interface_alive_q(context.on), owner_team__isnull=True)
        .select_related("provider")
        .order_by("name", "pk")
    )
    for interface in interfaces:
        findings.append(
            Finding(
                rule="missing_owner",
                severity="low",
                subject_kind="interface",
                subject_id=interface.pk,
                subject_name=str(interface),
                message=_("Interface %(interface)s (provided by %(provider)s) has no owning team.")
                % {"interface": interface, "provider": interface.provider},
                hint=_("Assign an owning team, usually the team owning the providing application."),
                org_unit_id=interface.provider.owner_org_unit_id,
            )
        )
    return findings


@rule(
    "capability_overlap",
    severity="medium",
    description=gettext_lazy(
        "A capability served by more than max_applications_per_capability (default 3) "
        "active applications (phase-in or active; applications in phase-out do not count)."
    ),
)
def capability_overlap(context: GovernanceContext) -> list[Finding]:
    from architecture.models import ApplicationCapability

    limit = int(context.thresholds["max_applications_per_capability"])
    active = application_alive_q(context.on, "application__") & ~phase_q(
        LifecyclePhase.PHASE_OUT, context.on, "application__"
    )
    rows = (
        ApplicationCapability.objects.filter(active)
        .select_related("capability", "application")
        .order_by("capability__code", "application__name")
    )
    by_capability: dict[int, list] = defaultdict(list)
    capabilities = {}
    for row in rows:
        by_capability[row.capability_id].append(row.application)
        capabilities[row.capability_id] = row.capability
    findings = []
    for capability_id, apps in by_capability.items():
        if len(apps) <= limit:
            continue
        capability = capabilities[capability_id]
        findings.append(
            Finding(
                rule="capability_overlap",
                severity="medium",
                subject_kind="capability",
                subject_id=capability.pk,
                subject_name=str(capability),
                message=ngettext(
                    "Capability %(capability)s is served by %(count)d active application "
                    "(more than %(limit)d): %(applications)s.",
                    "Capability %(capability)s is served by %(count)d active applications "
                    "(more than %(limit)d): %(applications)s.",
                    len(apps),
                )
                % {
                    "capability": capability,
                    "count": len(apps),
                    "limit": limit,
                    "applications": ", ".join(str(app) for app in apps),
                },
                hint=_(
                    "Review the overlap: consolidate on fewer applications or record why "
                    "several are needed (e.g. different support levels)."
                ),
                org_unit_id=None,
            )
        )
    return findings


@rule(
    "critical_without_assessment",
    severity="medium",
    description=gettext_lazy(
        "A mission- or business-critical application without a current (approved, "
        "valid) sovereignty assessment."
    ),
)
def critical_without_assessment(context: GovernanceContext) -> list[Finding]:
    return [
        context.app_finding(
            "critical_without_assessment",
            "medium",
            app,
            _("%(application)s is %(criticality)s but has no current sovereignty assessment.")
            % {"application": app, "criticality": app.get_criticality_display()},
            _(
                "Have the application assessed against the sovereignty catalogue and the "
                "assessment approved (four-eyes principle)."
            ),
        )
        for app in context.critical_applications
        if context.current_assessments[app.pk] is None
    ]


@rule(
    "critical_knockout",
    severity="high",
    description=gettext_lazy(
        "A mission- or business-critical application whose effective sovereignty "
        "levels fail a knock-out criterion of its protection class (only applications with a "
        "current assessment; the others are found by critical_without_assessment)."
    ),
)
def critical_knockout(context: GovernanceContext) -> list[Finding]:
    from sourcing.services.scoring import protection_class_of, score_application

    findings = []
    for app in context.critical_applications:
        if context.current_assessments[app.pk] is None:
            continue
        protection_class = protection_class_of(app)
        result = score_application(
            app,
            catalogue=context.catalogue,
            protection_class=protection_class,
            evidence=context.sovereignty_evidence,
        )
        if not result.knockouts_failed:
            continue
        failed = ", ".join(
            _("%(code)s (level %(level)s, minimum %(minimum)s)")
            % {
                "code": k.code,
                "level": k.level if k.level is not None else _("none"),
                "minimum": k.minimum,
            }
            for k in result.knockouts_failed
        )
        findings.append(
            context.app_finding(
                "critical_knockout",
                "high",
                app,
                _(
                    "%(application)s fails knock-out criteria for protection class "
                    "%(protection_class)s: %(failed)s."
                )
                % {"application": app, "protection_class": protection_class, "failed": failed},
                _(
                    "Raise the levels (vendor, hosting or platform) or plan an exit; a failed "
                    "knock-out excludes this solution in a procurement of that protection class."
                ),
            )
        )
    return findings


@rule(
    "confidential_data_non_eu",
    severity="high",
    description=gettext_lazy(
        "An application on non-EU cloud hosting processing personal data with high or "
        "very high confidentiality, or an interface carrying confidential personal data objects "
        "to or from a non-EU-hosted application."
    ),
)
def confidential_data_non_eu(context: GovernanceContext) -> list[Finding]:
    findings = [
        context.app_finding(
            "confidential_data_non_eu",
            "high",
            app,
            _(
                "%(application)s processes personal data with %(confidentiality)s "
                "confidentiality on non-EU cloud hosting."
            )
            % {"application": app, "confidentiality": app.get_confidentiality_display()},
            _(
                "Move the application to EU or city hosting, or document a legal basis for the "
                "transfer (GDPR chapter V) with data protection and information security."
            ),
        )
        for app in context.applications.values()
        if app.hosting == Hosting.NON_EU_CLOUD
        and app.personal_data
        and app.confidentiality in CONFIDENTIAL_NEEDS
    ]
    non_eu = {pk for pk, app in context.applications.items() if app.hosting == Hosting.NON_EU_CLOUD}
    if not non_eu:
        return findings
    interfaces = (
        Interface.objects.filter(
            interface_alive_q(context.on),
            data_objects__personal_data=True,
            data_objects__classification__in=CONFIDENTIAL_CLASSES,
        )
        .filter(Q(provider_id__in=non_eu) | Q(links__consumer_id__in=non_eu))
        .select_related("provider", "owner_team")
        .distinct()
        .order_by("name", "pk")
    )
    interfaces = list(interfaces)
    if not interfaces:
        return findings
    # Consumers and data objects of the matching interfaces: two queries in all.
    from cmdb.models import InterfaceConsumer

    consumers: dict[int, list[int]] = defaultdict(list)
    for interface_id, consumer_id in InterfaceConsumer.objects.filter(
        interface__in=interfaces
    ).values_list("interface_id", "consumer_id"):
        consumers[interface_id].append(consumer_id)
    through = Interface.data_objects.through
    objects: dict[int, list[str]] = defaultdict(list)
    for interface_id, name in through.objects.filter(
        interface__in=interfaces,
        dataobject__personal_data=True,
        dataobject__classification__in=CONFIDENTIAL_CLASSES,
    ).values_list("interface_id", "dataobject__name"):
        objects[interface_id].append(name)
    for interface in interfaces:
        ends = [interface.provider_id, *consumers[interface.pk]]
        outside = [context.applications[pk] for pk in ends if pk in non_eu]
        if not outside:
            continue
        org_unit = (
            interface.owner_team.org_unit_id
            if interface.owner_team_id
            else interface.provider.owner_org_unit_id
        )
        findings.append(
            Finding(
                rule="confidential_data_non_eu",
                severity="high",
                subject_kind="interface",
                subject_id=interface.pk,
                subject_name=str(interface),
                message=_(
                    "Interface %(interface)s carries confidential personal data "
                    "(%(data_objects)s) to or from non-EU-hosted %(applications)s."
                )
                % {
                    "interface": interface,
                    "data_objects": ", ".join(sorted(objects[interface.pk])),
                    "applications": ", ".join(str(app) for app in outside),
                },
                hint=_(
                    "Stop the transfer of these data objects, pseudonymise them, or document "
                    "a legal basis for the transfer (GDPR chapter V)."
                ),
                org_unit_id=org_unit,
            )
        )
    return findings


@rule(
    "time_without_phase_out",
    severity="low",
    description=gettext_lazy(
        'An application classified TIME "migrate" or "eliminate" without a planned phase-out date.'
    ),
)
def time_without_phase_out(context: GovernanceContext) -> list[Finding]:
    return [
        context.app_finding(
            "time_without_phase_out",
            "low",
            app,
            _(
                '%(application)s is classified TIME "%(time_class)s" (functional fit '
                "%(functional_fit)s, technical fit %(technical_fit)s) but has no planned "
                "phase-out date."
            )
            % {
                "application": app,
                "time_class": TimeClass(app.time_class).label,
                "functional_fit": app.functional_fit,
                "technical_fit": app.technical_fit,
            },
            _("Plan the phase-out (set the phase-out date) or revisit the fit ratings."),
        )
        for app in context.applications.values()
        if app.time_class in (TimeClass.MIGRATE, TimeClass.ELIMINATE) and app.phase_out_date is None
    ]


@rule(
    "expired_exception",
    severity="medium",
    description=gettext_lazy(
        "A standard exception that has expired while the application still uses the "
        "standard's technology in production (and no other valid exception covers it)."
    ),
)
def expired_exception(context: GovernanceContext) -> list[Finding]:
    from architecture.models import StandardException, TechCategory
    from architecture.services.radar import valid_exception

    expired = (
        StandardException.objects.filter(
            expires_on__lt=context.on, application_id__in=list(context.applications)
        )
        .select_related("standard", "standard__component", "standard__category", "decision")
        .order_by("application_id", "standard_id", "-expires_on", "pk")
    )
    uses: dict[int, set[int]] = defaultdict(set)
    for use in context.production_uses:
        uses[use.application_id].add(use.component_id)
    # Components below the categories of category standards: one query.
    expired = list(expired)
    category_ids = {e.standard.category_id for e in expired if e.standard.category_id}
    in_category: dict[int, set[int]] = defaultdict(set)
    if category_ids:
        categories = list(TechCategory.objects.filter(pk__in=category_ids))
        rows = TechCategory.components.through.objects.select_related("techcategory")
        subtree = Q()
        for category in categories:
            subtree |= Q(
                techcategory__tree_id=category.tree_id,
                techcategory__lft__gte=category.lft,
                techcategory__rght__lte=category.rght,
            )
        for row in rows.filter(subtree):
            for category in categories:
                node = row.techcategory
                if (
                    node.tree_id == category.tree_id
                    and category.lft <= node.lft
                    and node.rght <= category.rght
                ):
                    in_category[category.pk].add(row.itcomponent_id)
    findings = []
    seen: set[tuple[int, int]] = set()
    for exception in expired:
        key = (exception.application_id, exception.standard_id)
        if key in seen:
            continue  # only the latest expired exception per application and standard
        seen.add(key)
        standard = exception.standard
        covered = (
            {standard.component_id}
            if standard.component_id
            else in_category.get(standard.category_id, set())
        )
        used = covered & uses[exception.application_id]
        if not used:
            continue
        app = context.applications[exception.application_id]
        if valid_exception(app, standard, context.on) is not None:
            continue
        findings.append(
            Finding(
                rule="expired_exception",
                severity="medium",
                subject_kind="exception",
                subject_id=exception.pk,
                subject_name=str(exception),
                message=_(
                    'The exception for %(application)s from the standard "%(standard)s" '
                    "expired on %(expired_on)s, but %(application)s still uses %(components)s "
                    "in production."
                )
                % {
                    "application": app,
                    "standard": standard,
                    "expired_on": format(exception.expires_on, "%Y-%m-%d"),
                    "components": ", ".join(str(context.components[pk]) for pk in sorted(used)),
                },
                hint=_(
                    "Finish the migration, or renew the exception with a new accepted "
                    "architecture decision and expiry date."
                ),
                org_unit_id=app.owner_org_unit_id,
            )
        )
    return findings


# --- running ---------------------------------------------------------------------------------


def _subtree_ids(org_unit) -> set[int]:
    from cmdb.filtersets import org_unit_subtree_q

    pk = org_unit.pk if isinstance(org_unit, OrgUnit) else int(org_unit)
    return set(OrgUnit.objects.filter(org_unit_subtree_q([pk], "")).values_list("pk", flat=True))


def _in_org_units(finding: Finding, units: set[int], context: GovernanceContext) -> bool:
    """A finding belongs to the org units when its owning org unit is one of them; a component
    or capability finding (no owner) when one of the applications involved is owned there."""
    if finding.org_unit_id is not None:
        return finding.org_unit_id in units
    if finding.subject_kind == "component":
        app_ids = context.users_of.get(finding.subject_id, [])
        return any(context.org_unit_of(pk) in units for pk in app_ids)
    if finding.subject_kind == "capability":
        return any(
            context.applications[pk].owner_org_unit_id in units
            for pk in context.capability_applications.get(finding.subject_id, [])
            if pk in context.applications
        )
    return False


def _severity_order(finding: Finding) -> tuple:
    return (
        -SEVERITY_RANK[finding.severity],
        finding.rule,
        finding.subject_name,
        finding.subject_id,
    )


def run_rules(
    *,
    on: datetime.date | None = None,
    rules: Iterable[str] | None = None,
    severity: str | None = None,
    org_unit: OrgUnit | int | None = None,
    thresholds: dict | None = None,
) -> list[Finding]:
    """Run the governance rules (all, or the codes in `rules`) on `on` (default today) and
    return their findings, most severe first; `severity` keeps findings at or above it,
    `org_unit` those owned by the org unit or below it."""
    return _run(GovernanceContext(on=on, thresholds=thresholds), rules, severity, org_unit)


def at_least(findings: Iterable[Finding], severity: str | None) -> list[Finding]:
    """The findings at or above `severity` (all of them for None)."""
    if severity is None:
        return list(findings)
    if severity not in SEVERITY_RANK:
        raise ValueError(f"Unknown severity {severity!r}")
    minimum = SEVERITY_RANK[severity]
    return [f for f in findings if SEVERITY_RANK[f.severity] >= minimum]


def _run(context, rules, severity, org_unit, keep=None) -> list[Finding]:
    codes = list(RULES) if rules is None else list(rules)
    unknown = [code for code in codes if code not in RULES]
    if unknown:
        raise ValueError(f"Unknown governance rule(s): {', '.join(unknown)}")
    if severity is not None and severity not in SEVERITY_RANK:
        raise ValueError(f"Unknown severity {severity!r}")
    findings = [f for code in codes for f in RULES[code](context) if keep is None or keep(f)]
    findings = at_least(findings, severity)
    if org_unit is not None:
        units = _subtree_ids(org_unit)
        findings = [f for f in findings if _in_org_units(f, units, context)]
    return sorted(findings, key=_severity_order)


# --- one application -------------------------------------------------------------------------


class ApplicationGovernanceContext(GovernanceContext):
    """A governance run around one application: the application and its neighbours (every
    end of the interfaces it provides or consumes, needed by the dependency and data-transfer
    rules), but only the application's own production uses and its own assessment. The number
    of queries does not grow with the landscape or with the number of neighbours."""

    def __init__(self, application, on=None, thresholds=None):
        super().__init__(on=on, thresholds=thresholds)
        self.application_id = (
            application.pk if isinstance(application, Application) else int(application)
        )

    @cached_property
    def interface_ids(self) -> set[int]:
        """Interfaces the application provides or consumes."""
        from cmdb.models import InterfaceConsumer

        pk = self.application_id
        provided = set(Interface.objects.filter(provider_id=pk).values_list("pk", flat=True))
        consumed = set(
            InterfaceConsumer.objects.filter(consumer_id=pk).values_list("interface_id", flat=True)
        )
        return provided | consumed

    @cached_property
    def applications(self) -> dict[int, Application]:
        from cmdb.models import InterfaceConsumer

        pk = self.application_id
        # Every end of every interface the application provides or consumes.
        neighbours = InterfaceConsumer.objects.filter(
            interface_id__in=Interface.objects.filter(
                Q(provider_id=pk) | Q(links__consumer_id=pk)
            ).values("pk")
        )
        ids = {pk}
        for consumer_id, provider_id in neighbours.values_list("consumer_id", "provider_id"):
            ids.update((consumer_id, provider_id))
        apps = Application.objects.filter(application_alive_q(self.on), pk__in=ids).order_by(
            "name", "pk"
        )
        return {app.pk: app for app in apps}

    @cached_property
    def production_uses(self) -> list[ApplicationComponent]:
        if self.application_id not in self.applications:
            return []
        return list(
            ApplicationComponent.objects.filter(
                application_id=self.application_id, environment=Environment.PRODUCTION
            )
            .select_related("component", "component__vendor")
            .order_by("component_id")
        )

    @cached_property
    def critical_applications(self) -> list[Application]:
        app = self.applications.get(self.application_id)
        return [app] if app is not None and app.criticality in CRITICAL else []

    def concerns(self, finding: Finding) -> bool:
        """Whether a finding of this run is about the application."""
        kind, subject = finding.subject_kind, finding.subject_id
        if kind == "application":
            return subject == self.application_id
        if kind == "interface":
            return subject in self.interface_ids
        if kind == "component":
            return subject in self.users_of
        if kind == "capability":
            return self.application_id in self.capability_applications.get(subject, [])
        # Exceptions: only the application's own production uses are loaded, so an expired
        # exception finding can only be the application's own.
        return kind == "exception"


def application_findings(
    application: Application | int,
    *,
    on: datetime.date | None = None,
    rules: Iterable[str] | None = None,
    severity: str | None = None,
    org_unit: OrgUnit | int | None = None,
    thresholds: dict | None = None,
) -> list[Finding]:
    """The findings of the governance rules (all, or `rules`) about one application on `on`:
    those whose subject is the application, an interface it provides or consumes, a component
    it uses in production, a capability it supports, or an exception it holds. Most severe
    first; `severity` and `org_unit` narrow them as in `run_rules`. A bounded number of
    queries."""
    context = ApplicationGovernanceContext(application, on=on, thresholds=thresholds)
    return _run(context, rules, severity, org_unit, keep=context.concerns)

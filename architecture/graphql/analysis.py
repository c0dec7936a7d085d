"""Impact analysis, lifecycle analysis and time travel in GraphQL (rules in
architecture.services)."""

import graphene
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from architecture.governance import RULES, run_rules
from architecture.services.impact import impact_analysis
from architecture.services.lifecycle import lifecycle_analysis, lifecycle_conflicts
from architecture.services.timetravel import landscape_as_of, landscape_diff
from cmdb.graphql.types import (
    ApplicationType,
    InterfaceType,
    ITComponentType,
    OrgUnitType,
    ServiceType,
)
from cmdb.models import Application, Interface, ITComponent, OrgUnit, Vendor
from itsm.graphql.types import ChangeType, IncidentType
from landkarte.graphql import (
    InstanceField,
    InstanceListField,
    register_rows,
    resolve_global_id,
    visible_pks,
)
from landkarte.roles import can_read


class ImpactStartType(graphene.ObjectType):
    application = InstanceField(ApplicationType, required=True)
    reason = graphene.String(required=True, description="self, uses component or supplied by")


class ImpactedApplicationType(graphene.ObjectType):
    application = InstanceField(ApplicationType, required=True)
    depth = graphene.Int(required=True, description="0 = a starting application")
    path = InstanceListField(ApplicationType, required=True)


class ImpactType(graphene.ObjectType):
    # The model instances in it (here and in its lists) are loaded for the query's selection,
    # one query per list level (InstanceField), whatever the depth of the analysis.
    starts = graphene.List(graphene.NonNull(ImpactStartType), required=True)
    applications = graphene.List(graphene.NonNull(ImpactedApplicationType), required=True)
    services = InstanceListField(ServiceType, required=True)
    org_units = InstanceListField(OrgUnitType, required=True)
    open_incidents = InstanceListField(IncidentType, required=True)
    scheduled_changes = InstanceListField(ChangeType, required=True)


class LifecycleConflictType(graphene.ObjectType):
    application = InstanceField(ApplicationType, required=True)
    kind = graphene.String(required=True, description="application or component")
    dependency_application = InstanceField(ApplicationType)
    dependency_component = InstanceField(ITComponentType)
    dependency_end_of_life = graphene.Date(required=True)
    application_end_of_life = graphene.Date(description="null: no end planned")
    depth = graphene.Int()
    passed = graphene.Boolean(required=True, description="the dependency has already ended")

    @staticmethod
    def from_conflict(c):
        is_app = c.kind == "application"
        return LifecycleConflictType(
            application=c.application, kind=c.kind,
            dependency_application=c.dependency if is_app else None,
            dependency_component=None if is_app else c.dependency,
            dependency_end_of_life=c.dependency_end_of_life,
            application_end_of_life=c.application_end_of_life, depth=c.depth, passed=c.passed,
        )  # fmt: skip


class LifecycleReportType(graphene.ObjectType):
    end_of_life = graphene.Date()
    earliest_component_end_of_life = graphene.Date()
    earliest_components = InstanceListField(ITComponentType, required=True)
    earliest_dependency_end_of_life = graphene.Date()
    earliest_dependencies = InstanceListField(ApplicationType, required=True)
    conflicts = graphene.List(graphene.NonNull(LifecycleConflictType), required=True)


class SnapshotType(graphene.ObjectType):
    moment = graphene.DateTime(required=True)
    source = graphene.String(
        required=True, description="history (as recorded then) or plan (lifecycle dates)"
    )
    applications = InstanceListField(ApplicationType, required=True)
    interfaces = InstanceListField(InterfaceType, required=True)
    scheduled_changes = InstanceListField(ChangeType, required=True)


class ChangedRecordType(graphene.ObjectType):
    kind = graphene.String(required=True, description="application or interface")
    name = graphene.String(required=True)
    before = graphene.JSONString(required=True)
    after = graphene.JSONString(required=True)
    changed_fields = graphene.List(graphene.NonNull(graphene.String), required=True)


class LandscapeDiffType(graphene.ObjectType):
    appeared_applications = InstanceListField(ApplicationType, required=True)
    disappeared_applications = InstanceListField(ApplicationType, required=True)
    appeared_interfaces = InstanceListField(InterfaceType, required=True)
    disappeared_interfaces = InstanceListField(InterfaceType, required=True)
    changed = graphene.List(graphene.NonNull(ChangedRecordType), required=True)


def _split(records, model):
    return [r for r in records if isinstance(r, model)]


class Query(graphene.ObjectType):
    impact_analysis = graphene.Field(
        ImpactType,
        application=graphene.ID(),
        component=graphene.ID(),
        vendor=graphene.ID(),
        depth=graphene.Int(description="levels of dependents to follow; null = all"),
        as_of=graphene.Date(description="only interfaces and applications alive then"),
        description="what is affected if an application, component or vendor goes away",
    )
    lifecycle_analysis = graphene.Field(
        LifecycleReportType, application=graphene.ID(required=True), on=graphene.Date()
    )
    lifecycle_conflicts = graphene.List(
        graphene.NonNull(LifecycleConflictType),
        required=True,
        on=graphene.Date(),
        first=graphene.Int(
            default_value=100, description="at most this many (up to the maximum page size)"
        ),
        offset=graphene.Int(default_value=0, description="skip this many"),
        description="conflicts in a stable order (application, then dependency); a city "
        "has thousands, so they come in pages",
    )
    landscape_as_of = graphene.Field(
        SnapshotType,
        at=graphene.DateTime(required=True),
        description="the landscape as recorded at a past moment (including records deleted "
        "since), or as planned for a future one",
    )
    landscape_diff = graphene.Field(
        LandscapeDiffType,
        from_=graphene.DateTime(required=True, name="from"),
        to=graphene.DateTime(required=True),
    )

    @staticmethod
    def resolve_impact_analysis(root, info, depth=None, as_of=None, **ids):
        if not can_read(info.context.user):
            return None
        given = {name: value for name, value in ids.items() if value}
        if len(given) != 1:
            raise ValidationError(_("Name exactly one of application, component or vendor."))
        ((name, global_id),) = given.items()
        model = {"application": Application, "component": ITComponent, "vendor": Vendor}[name]
        type_name = {"component": "ITComponentType"}.get(name, f"{model.__name__}Type")
        subject = resolve_global_id(model, global_id, name, type_name)
        impact = impact_analysis(**{name: subject}, depth=depth, as_of=as_of)
        # The instances are loaded again for the selection, by their ids (InstanceField), and
        # hidden ones (incidents) are left out there.
        ids = visible_pks(ApplicationType, impact.application_ids, info)
        starts = [
            ImpactStartType(application=s.application_id, reason=s.reason)
            for s in impact.starts
            if s.application_id in ids
        ]
        applications = [
            ImpactedApplicationType(application=i.application, depth=i.depth, path=i.path)
            for i in impact.applications
            if i.application.pk in ids
        ]
        register_rows(info, starts)
        register_rows(info, applications)
        return ImpactType(
            starts=starts, applications=applications,
            services=impact.services, org_units=impact.org_units,
            open_incidents=impact.open_incidents, scheduled_changes=impact.scheduled_changes,
        )  # fmt: skip

    @staticmethod
    def resolve_lifecycle_analysis(root, info, application, on=None):
        if not can_read(info.context.user):
            return None
        app = resolve_global_id(Application, application, "application", "ApplicationType")
        report = lifecycle_analysis(app, on=on)
        conflicts = [LifecycleConflictType.from_conflict(c) for c in report.conflicts]
        register_rows(info, conflicts)
        return LifecycleReportType(
            end_of_life=report.end_of_life,
            earliest_component_end_of_life=report.earliest_component_end_of_life,
            earliest_components=report.earliest_components,
            earliest_dependency_end_of_life=report.earliest_dependency_end_of_life,
            earliest_dependencies=report.earliest_dependencies,
            conflicts=conflicts,
        )

    @staticmethod
    def resolve_lifecycle_conflicts(root, info, on=None, first=100, offset=0):
        if not can_read(info.context.user):
            return []
        # An explicit null means the default; negative numbers mean nothing to skip or show.
        first = 100 if first is None else max(first, 0)
        offset = 0 if offset is None else max(offset, 0)
        page = lifecycle_conflicts(on=on)[offset : offset + first]
        conflicts = [LifecycleConflictType.from_conflict(c) for c in page]
        register_rows(info, conflicts)
        return conflicts

    @staticmethod
    def resolve_landscape_as_of(root, info, at):
        if not can_read(info.context.user):
            return None
        snapshot = landscape_as_of(at)
        return SnapshotType(
            moment=snapshot.moment, source=snapshot.source,
            applications=snapshot.applications, interfaces=snapshot.interfaces,
            scheduled_changes=snapshot.scheduled_changes,
        )  # fmt: skip

    @staticmethod
    def resolve_landscape_diff(root, info, from_, to):
        if not can_read(info.context.user):
            return None
        diff = landscape_diff(from_, to)

        def record(old, new, fields):
            # serializable_value gives foreign keys as ids, without a query per field.
            return ChangedRecordType(
                kind="application" if isinstance(new, Application) else "interface",
                name=str(new),
                before={f: str(old.serializable_value(f)) for f in fields},
                after={f: str(new.serializable_value(f)) for f in fields},
                changed_fields=list(fields),
            )

        return LandscapeDiffType(
            appeared_applications=_split(diff.appeared, Application),
            disappeared_applications=_split(diff.disappeared, Application),
            appeared_interfaces=_split(diff.appeared, Interface),
            disappeared_interfaces=_split(diff.disappeared, Interface),
            changed=[record(c.old, c.new, c.changed_fields) for c in diff.changed],
        )


class GovernanceFindingType(graphene.ObjectType):
    rule = graphene.String(required=True)
    severity = graphene.String(required=True, description="info, low, medium, high, critical")
    subject_kind = graphene.String(required=True)
    subject_id = graphene.Int(required=True)
    subject_name = graphene.String(required=True)
    message = graphene.String(required=True)
    hint = graphene.String(required=True)
    org_unit = InstanceField(OrgUnitType)


class GovernanceRuleType(graphene.ObjectType):
    code = graphene.String(required=True)
    severity = graphene.String(required=True)
    description = graphene.String(required=True)


class GovernanceQuery(graphene.ObjectType):
    governance_findings = graphene.List(
        graphene.NonNull(GovernanceFindingType),
        required=True,
        rule=graphene.List(graphene.NonNull(graphene.String)),
        severity=graphene.String(description="at least this severity"),
        org_unit=graphene.ID(description="subjects owned in this org unit and below"),
        as_of=graphene.Date(description="default: today"),
    )
    governance_rules = graphene.List(graphene.NonNull(GovernanceRuleType), required=True)

    @staticmethod
    def resolve_governance_findings(root, info, rule=None, severity=None, org_unit=None,
                                    as_of=None):  # fmt: skip
        if not can_read(info.context.user):
            return []
        unit = resolve_global_id(OrgUnit, org_unit, "orgUnit", "OrgUnitType") if org_unit else None
        try:
            findings = run_rules(on=as_of, rules=rule or None, severity=severity, org_unit=unit)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        answers = [
            GovernanceFindingType(
                rule=f.rule,
                severity=f.severity,
                subject_kind=f.subject_kind,
                subject_id=f.subject_id,
                subject_name=f.subject_name,
                message=f.message,
                hint=f.hint,
                org_unit=f.org_unit_id,  # loaded for the selection (InstanceField)
            )  # fmt: skip
            for f in findings
        ]
        register_rows(info, answers)
        return answers

    @staticmethod
    def resolve_governance_rules(root, info):
        if not can_read(info.context.user):
            return []
        return [
            GovernanceRuleType(code=code, severity=r.severity, description=str(r.description))
            for code, r in RULES.items()
        ]

import graphene
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from graphene import relay

from cmdb.models import Application, ITComponent, OrgUnit, Vendor
from landkarte.graphql import ConnectionField, resolve_global_id
from landkarte.roles import can_read
from sourcing.graphql.types import (
    AssessmentType,
    CriteriaCatalogueType,
    EffectiveLevelType,
    ProcurementCaseType,
    ScoreType,
    SovereigntyRiskType,
    SovereigntyType,
)
from sourcing.services import landscape, scoring


def subject_from_ids(vendor=None, component=None, application=None):
    given = [(n, v) for n, v in (("vendor", vendor), ("component", component),
                                 ("application", application)) if v]  # fmt: skip
    if len(given) != 1:
        raise ValidationError(_("Name exactly one of vendor, component or application."))
    name, global_id = given[0]
    model, type_name = {
        "vendor": (Vendor, "VendorType"),
        "component": (ITComponent, "ITComponentType"),
        "application": (Application, "ApplicationType"),
    }[name]
    return resolve_global_id(model, global_id, name, type_name)


def describe(source) -> str:
    return f"{source.role}: " + ", ".join(str(subject) for subject in source.subjects)


class Query(graphene.ObjectType):
    criteria_catalogues = ConnectionField(CriteriaCatalogueType)
    criteria_catalogue = relay.Node.Field(CriteriaCatalogueType)
    assessments = ConnectionField(AssessmentType)
    assessment = relay.Node.Field(AssessmentType)
    procurement_cases = ConnectionField(ProcurementCaseType)
    procurement_case = relay.Node.Field(ProcurementCaseType)
    sovereignty_risk = graphene.Field(
        SovereigntyRiskType,
        org_unit=graphene.ID(description="applications owned here and below (default: all)"),
        on=graphene.Date(description="default: today"),
        description="concentration and exposure of the landscape: vendor shares by ultimate "
        "parent weighted by protection class, HHI, non-EU exposure, exit readiness, blast "
        "radius and alerts",
    )
    sovereignty_risk_by_org_unit = graphene.List(
        graphene.NonNull(SovereigntyRiskType),
        required=True,
        level=graphene.Int(default_value=1, description="org-unit tree level (1: departments)"),
    )
    sovereignty = graphene.Field(
        SovereigntyType,
        vendor=graphene.ID(),
        component=graphene.ID(),
        application=graphene.ID(),
        protection_class=graphene.String(
            description="default for applications: the highest of their C/I/A protection needs"
        ),
        description="the current assessment and grade of a vendor, product or application",
    )

    @staticmethod
    def resolve_sovereignty(root, info, protection_class=None, **ids):
        if not can_read(info.context.user):
            return None
        subject = subject_from_ids(**ids)
        if not isinstance(subject, Application):
            current = scoring.current_assessment(subject)
            result = scoring.score_assessment(current, protection_class) if current else None
            return SovereigntyType(
                current_assessment=current,
                result=ScoreType.from_result(result) if result else None,
                effective_levels=[], gaps=[],
            )  # fmt: skip
        current, effective, result = scoring.application_sovereignty(subject)
        return SovereigntyType(
            current_assessment=current,
            result=ScoreType.from_result(result),
            effective_levels=[
                EffectiveLevelType(code=code, level=level, inherited=code in effective.inherited)
                for code, level in effective.levels.items()
            ],
            gaps=[describe(source) for source in effective.gaps],
        )

    @staticmethod
    def resolve_sovereignty_risk(root, info, org_unit=None, on=None):
        if not can_read(info.context.user):
            return None
        unit = resolve_global_id(OrgUnit, org_unit, "orgUnit", "OrgUnitType") if org_unit else None
        risk = SovereigntyRiskType.from_risk(landscape.sovereignty_risk(org_unit=unit, on=on))
        return SovereigntyRiskType.register(info, [risk])[0]

    @staticmethod
    def resolve_sovereignty_risk_by_org_unit(root, info, level=1):
        if not can_read(info.context.user):
            return []
        return SovereigntyRiskType.register(
            info,
            [
                SovereigntyRiskType.from_risk(entry.risk)
                for entry in landscape.sovereignty_risk_by_org_unit(level)
            ],
        )

import graphene
from graphene import relay

from itsm.services.requirements import requirement_visible_to
from landkarte.graphql import BaseNodeType, InstanceField, InstanceListField, register_rows
from sourcing.filtersets import (
    AssessmentFilterSet,
    CriteriaCatalogueFilterSet,
    ProcurementCaseFilterSet,
)
from sourcing.models import Answer, Assessment, CriteriaCatalogue, Criterion
from sourcing.procurement_models import ProcurementCandidate, ProcurementCase
from sourcing.services import procurement, scoring

ProtectionClassArgument = graphene.String(
    description="normal, high or very_high: also check that class's knock-out minima"
)


class CriterionType(BaseNodeType):
    class Meta:
        model = Criterion
        fields = (
            "id", "code", "position", "group", "name", "question", "answer_type", "weight",
            "is_floor",
        )  # fmt: skip
        interfaces = (relay.Node,)

    applies_to = graphene.List(graphene.NonNull(graphene.String), required=True)
    level_descriptions = graphene.List(graphene.NonNull(graphene.String), required=True)
    evidence_hints = graphene.List(graphene.NonNull(graphene.String), required=True)
    sources = graphene.List(graphene.NonNull(graphene.String), required=True)
    minimum_level = graphene.Int(
        protection_class=graphene.String(required=True),
        description="knock-out minimum for a protection class (null: none)",
    )
    field_reads = {"minimum_level": ("code", "catalogue__*")}

    @staticmethod
    def resolve_minimum_level(criterion, info, protection_class):
        return criterion.minimum_level(protection_class)


class CriteriaCatalogueType(BaseNodeType):
    class Meta:
        model = CriteriaCatalogue
        fields = ("id", "code", "version", "status", "title", "language", "published_at",
                  "criteria")  # fmt: skip
        filterset_class = CriteriaCatalogueFilterSet
        interfaces = (relay.Node,)

    scoring_rules = graphene.JSONString(description="the catalogue's scoring section")
    landscape_rules = graphene.JSONString(description="the catalogue's landscape section")
    field_reads = {"scoring_rules": ("scoring",), "landscape_rules": ("landscape",)}

    @staticmethod
    def resolve_scoring_rules(catalogue, info):
        return catalogue.scoring

    @staticmethod
    def resolve_landscape_rules(catalogue, info):
        return catalogue.landscape


class AnswerType(BaseNodeType):
    class Meta:
        model = Answer
        fields = ("id", "criterion", "level", "not_applicable", "evidence", "comment")
        interfaces = (relay.Node,)


class FailedKnockoutType(graphene.ObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    level = graphene.Int(description="null: unanswered")
    minimum = graphene.Int(required=True)


class GroupScoreType(graphene.ObjectType):
    group = graphene.String(required=True)
    score = graphene.Float(required=True)


class ScoreType(graphene.ObjectType):
    score = graphene.Float(required=True, description="0–100")
    grade = graphene.String(required=True, description="A–E")
    floor_level = graphene.Int(description="lowest level over the floor criteria")
    protection_class = graphene.String()
    knockouts_failed = graphene.List(graphene.NonNull(FailedKnockoutType), required=True)
    group_scores = graphene.List(graphene.NonNull(GroupScoreType), required=True)
    unanswered = graphene.List(graphene.NonNull(graphene.String), required=True)

    @staticmethod
    def from_result(result):
        return ScoreType(
            score=float(result.score), grade=result.grade, floor_level=result.floor_level,
            protection_class=result.protection_class,
            knockouts_failed=[
                FailedKnockoutType(code=k.code, name=k.name, level=k.level, minimum=k.minimum)
                for k in result.knockouts_failed
            ],
            group_scores=[GroupScoreType(group=g, score=float(s))
                          for g, s in result.group_scores.items()],
            unanswered=list(result.unanswered),
        )  # fmt: skip


class AssessmentType(BaseNodeType):
    class Meta:
        model = Assessment
        fields = (
            "id", "catalogue", "vendor", "component", "application", "assessor", "state",
            "valid_until", "submitted_at", "approved_at", "approved_by", "previous", "comment",
            "return_reason", "version", "answers", "created", "updated",
        )  # fmt: skip
        filterset_class = AssessmentFilterSet
        interfaces = (relay.Node,)

    result = graphene.Field(
        ScoreType, required=True, protection_class=ProtectionClassArgument,
        description="score, grade, floor level and failed knock-outs as the catalogue defines",
    )  # fmt: skip

    # score_assessment reads the answers with their criteria and the catalogue's criteria.
    field_reads = {
        "result": (
            "*",
            "answers__criterion__*",
            "catalogue__*",
            "catalogue__criteria__*",
        ),
    }

    @staticmethod
    def resolve_result(assessment, info, protection_class=None):
        return ScoreType.from_result(scoring.score_assessment(assessment, protection_class))


class EffectiveLevelType(graphene.ObjectType):
    code = graphene.String(required=True)
    level = graphene.Int(description="null: not applicable")
    inherited = graphene.Boolean(required=True, description="weakest link over providers")


class SovereigntyType(graphene.ObjectType):
    """Where a vendor, product or application stands: its current approved assessment and,
    for an application, the effective levels it inherits from vendor and platforms."""

    current_assessment = graphene.Field(AssessmentType)
    result = graphene.Field(ScoreType)
    effective_levels = graphene.List(graphene.NonNull(EffectiveLevelType), required=True)
    gaps = graphene.List(
        graphene.NonNull(graphene.String), required=True,
        description="parties without a current assessment (their levels count as 0)",
    )  # fmt: skip


class ProcurementCandidateType(BaseNodeType):
    class Meta:
        model = ProcurementCandidate
        fields = ("id", "case", "vendor", "component", "assessment", "offer_notes")
        interfaces = (relay.Node,)


class CandidateEvaluationType(graphene.ObjectType):
    rank = graphene.Int(required=True)
    candidate = graphene.Field(ProcurementCandidateType, required=True)
    assessment = graphene.Field(AssessmentType)
    result = graphene.Field(ScoreType)
    eligible = graphene.Boolean(required=True)
    reason = graphene.String(description="assessment_missing or knockout_failed")
    message = graphene.String(required=True)


class ProcurementCaseType(BaseNodeType):
    class Meta:
        model = ProcurementCase
        fields = (
            "id", "reference", "title", "description", "requirement", "org_unit",
            "protection_class", "state", "catalogue", "candidates", "awarded_candidate",
            "award_justification", "published_at", "evaluation_started_at", "awarded_at",
            "cancelled_at", "cancelled_reason", "version", "created", "updated",
        )  # fmt: skip
        filterset_class = ProcurementCaseFilterSet
        interfaces = (relay.Node,)

    ranking = graphene.JSONString(description="the ranking recorded at the award")
    evaluation = graphene.List(
        graphene.NonNull(CandidateEvaluationType), required=True,
        description="the candidates as the decision rule ranks them now: knock-out gate, "
        "then score",
    )  # fmt: skip

    @staticmethod
    def resolve_requirement(case, info):
        # Another office's requirement stays hidden from a requester, like node(id).
        requirement = case.requirement
        if requirement is None or not requirement_visible_to(info.context.user, requirement):
            return None
        return requirement

    @staticmethod
    def resolve_ranking(case, info):
        return case.ranking

    @staticmethod
    def resolve_evaluation(case, info):
        return [
            CandidateEvaluationType(
                rank=e.rank,
                candidate=e.candidate,
                assessment=e.assessment,
                result=ScoreType.from_result(e.result) if e.result else None,
                eligible=e.eligible,
                reason=e.reason,
                message=e.message,
            )  # fmt: skip
            for e in procurement.evaluate_case(case)
        ]


class VendorShareType(graphene.ObjectType):
    vendor = InstanceField("cmdb.graphql.types.VendorType", required=True)
    name = graphene.String(required=True)
    jurisdiction = graphene.String(required=True)
    is_eu = graphene.Boolean(required=True)
    weight = graphene.Float(required=True)
    share = graphene.Float(required=True, description="0–1, of the criticality weight")
    application_count = graphene.Int(required=True)


class JurisdictionShareType(graphene.ObjectType):
    jurisdiction = graphene.String(required=True)
    is_eu = graphene.Boolean(required=True)
    weight = graphene.Float(required=True)
    share = graphene.Float(required=True)
    application_count = graphene.Int(required=True)


class BlastRadiusType(graphene.ObjectType):
    kind = graphene.String(required=True, description="vendor or platform")
    name = graphene.String(required=True)
    critical_count = graphene.Int(required=True, description="critical applications that stop")
    critical_applications = InstanceListField("cmdb.graphql.types.ApplicationType", required=True)
    application_count = graphene.Int(required=True)


class AlertType(graphene.ObjectType):
    code = graphene.String(required=True)
    severity = graphene.String(required=True)
    message = graphene.String(required=True)
    subject_kind = graphene.String()
    subject_name = graphene.String()


class SovereigntyRiskType(graphene.ObjectType):
    # The vendors, applications and org units in it are loaded for the query's selection,
    # for all objects of a list at once (InstanceField): `register` registers the lists.
    catalogue = graphene.String(required=True)
    on = graphene.Date(required=True)
    org_unit = InstanceField("cmdb.graphql.types.OrgUnitType")
    application_count = graphene.Int(required=True)
    total_weight = graphene.Float(required=True)
    unattributed_count = graphene.Int(required=True, description="applications without vendor")
    unattributed_share = graphene.Float(required=True)
    vendor_shares = graphene.List(graphene.NonNull(VendorShareType), required=True)
    hhi_vendor = graphene.Float(required=True, description="0–10,000; above 1,800: concentrated")
    effective_number_of_vendors = graphene.Float()
    jurisdiction_shares = graphene.List(graphene.NonNull(JurisdictionShareType), required=True)
    hhi_jurisdiction = graphene.Float(required=True)
    non_eu_exposure_ratio = graphene.Float()
    exit_readiness = graphene.Float(description="share of very-high applications with EXT-02≥3")
    vendor_blast_radius = graphene.List(graphene.NonNull(BlastRadiusType), required=True)
    platform_blast_radius = graphene.List(graphene.NonNull(BlastRadiusType), required=True)
    alerts = graphene.List(graphene.NonNull(AlertType), required=True)

    @staticmethod
    def register(info, risks: list) -> list:
        """`risks` (SovereigntyRiskType) with their lists registered, across all of them: the
        instances in them load together."""
        register_rows(info, risks)
        register_rows(info, [share for risk in risks for share in risk.vendor_shares])
        register_rows(info, [b for risk in risks for b in risk.vendor_blast_radius])
        register_rows(info, [b for risk in risks for b in risk.platform_blast_radius])
        return risks

    @staticmethod
    def from_risk(risk):
        def radius(b):
            return BlastRadiusType(
                kind=b.kind, name=b.name, critical_count=b.critical_count,
                critical_applications=b.critical_application_ids,
                application_count=b.application_count,
            )  # fmt: skip

        return SovereigntyRiskType(
            catalogue=risk.catalogue, on=risk.on, org_unit=risk.org_unit_id,
            application_count=risk.application_count, total_weight=risk.total_weight,
            unattributed_count=risk.unattributed_count,
            unattributed_share=risk.unattributed_share,
            vendor_shares=[
                VendorShareType(vendor=s.vendor_id, name=s.name,
                                jurisdiction=s.jurisdiction, is_eu=s.is_eu, weight=s.weight,
                                share=s.share, application_count=s.application_count)
                for s in risk.vendor_shares
            ],
            hhi_vendor=risk.hhi_vendor,
            effective_number_of_vendors=risk.effective_number_of_vendors,
            jurisdiction_shares=[JurisdictionShareType(**vars(s))
                                 for s in risk.jurisdiction_shares],
            hhi_jurisdiction=risk.hhi_jurisdiction,
            non_eu_exposure_ratio=risk.non_eu_exposure_ratio,
            exit_readiness=risk.exit_readiness,
            vendor_blast_radius=[radius(b) for b in risk.vendor_blast_radius],
            platform_blast_radius=[radius(b) for b in risk.platform_blast_radius],
            alerts=[
                AlertType(code=a.code, severity=a.severity, message=a.message,
                          subject_kind=a.subject.kind if a.subject else None,
                          subject_name=a.subject.name if a.subject else None)
                for a in risk.alerts
            ],
        )  # fmt: skip

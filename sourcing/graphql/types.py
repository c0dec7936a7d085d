import graphene
from graphene import relay

from landkarte.graphql import BaseNodeType
from sourcing.filtersets import AssessmentFilterSet, CriteriaCatalogueFilterSet
from sourcing.models import Answer, Assessment, CriteriaCatalogue, Criterion
from sourcing.services import scoring

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

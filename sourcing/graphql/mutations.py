"""Sourcing mutations: thin wrappers around sourcing.services."""

import graphene

from landkarte.graphql import BaseMutation, resolve_global_id, ticket_arguments
from sourcing.graphql.queries import subject_from_ids
from sourcing.graphql.types import AnswerType, AssessmentType
from sourcing.models import Assessment, CriteriaCatalogue
from sourcing.services import assessments


def get_assessment(global_id):
    return resolve_global_id(Assessment, global_id, "id", "AssessmentType")


class AssessmentStart(BaseMutation):
    """A new draft assessment of one vendor, product (IT component) or application."""

    class Arguments:
        vendor = graphene.ID()
        component = graphene.ID()
        application = graphene.ID()
        catalogue = graphene.ID(description="default: the latest published catalogue")
        comment = graphene.String()

    assessment = graphene.Field(AssessmentType)

    @classmethod
    def perform(cls, info, catalogue=None, comment="", **ids):
        subject = subject_from_ids(**ids)
        kind = {"Vendor": "vendor", "ITComponent": "component", "Application": "application"}
        catalogue = (
            resolve_global_id(CriteriaCatalogue, catalogue, "catalogue", "CriteriaCatalogueType")
            if catalogue
            else None
        )
        assessment = assessments.start_assessment(
            user=info.context.user, catalogue=catalogue, comment=comment or "",
            **{kind[type(subject).__name__]: subject},
        )  # fmt: skip
        return {"assessment": assessment}


class AssessmentAnswer(BaseMutation):
    """Answer one criterion of a draft: a level 0–4, or not applicable where allowed."""

    Arguments = ticket_arguments(
        criterion=graphene.String(required=True, description="criterion code, e.g. JUR-01"),
        level=graphene.Int(), not_applicable=graphene.Boolean(), evidence=graphene.String(),
        comment=graphene.String(),
    )  # fmt: skip

    answer = graphene.Field(AnswerType)
    assessment = graphene.Field(AssessmentType)

    @classmethod
    def perform(cls, info, id, criterion, expected_version=None, **kwargs):
        answer = assessments.answer_criterion(
            get_assessment(id), user=info.context.user, criterion_code=criterion,
            expected_version=expected_version,
            **{k: v for k, v in kwargs.items() if v is not None},
        )  # fmt: skip
        return {"answer": answer, "assessment": answer.assessment}


class AssessmentMutation(BaseMutation):
    class Meta:
        abstract = True

    assessment = graphene.Field(AssessmentType)
    service_function = None

    @classmethod
    def perform(cls, info, id, expected_version=None, **kwargs):
        result = cls.service_function(
            get_assessment(id), user=info.context.user, expected_version=expected_version,
            **kwargs,
        )  # fmt: skip
        return {"assessment": result}


class AssessmentSubmit(AssessmentMutation):
    Arguments = ticket_arguments()
    service_function = staticmethod(assessments.submit_assessment)


class AssessmentApprove(AssessmentMutation):
    Arguments = ticket_arguments(valid_until=graphene.Date(description="default: one year"))
    service_function = staticmethod(assessments.approve_assessment)


class AssessmentReturn(AssessmentMutation):
    Arguments = ticket_arguments(reason=graphene.String(required=True))
    service_function = staticmethod(assessments.return_assessment)


class AssessmentReassess(AssessmentMutation):
    """A new draft with the previous answers; the old assessment stays as it is."""

    Arguments = ticket_arguments()
    service_function = staticmethod(assessments.reassess)


class Mutation(graphene.ObjectType):
    assessment_start = AssessmentStart.Field()
    assessment_answer = AssessmentAnswer.Field()
    assessment_submit = AssessmentSubmit.Field()
    assessment_approve = AssessmentApprove.Field()
    assessment_return = AssessmentReturn.Field()
    assessment_reassess = AssessmentReassess.Field()

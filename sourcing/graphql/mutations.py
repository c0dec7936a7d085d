"""Sourcing mutations: thin wrappers around sourcing.services."""

import graphene

from cmdb.models import ITComponent, OrgUnit, Vendor
from itsm.models import Requirement
from landkarte.graphql import BaseMutation, StepMutation, resolve_global_id, ticket_arguments
from sourcing.graphql.queries import subject_from_ids
from sourcing.graphql.types import AnswerType, AssessmentType, ProcurementCaseType
from sourcing.models import Assessment, CriteriaCatalogue
from sourcing.procurement_models import ProcurementCandidate
from sourcing.services import assessments, procurement


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


class AssessmentMutation(StepMutation):
    class Meta:
        abstract = True

    assessment = graphene.Field(AssessmentType)
    node_type = AssessmentType
    result_field = "assessment"


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


class ProcurementCaseOpen(BaseMutation):
    class Arguments:
        title = graphene.String(required=True)
        org_unit = graphene.ID(required=True)
        protection_class = graphene.String(required=True, description="normal, high, very_high")
        requirement = graphene.ID()
        description = graphene.String()

    procurement_case = graphene.Field(ProcurementCaseType)

    @classmethod
    def perform(cls, info, org_unit, requirement=None, **kwargs):
        case = procurement.open_case(
            user=info.context.user,
            org_unit=resolve_global_id(OrgUnit, org_unit, "org_unit", "OrgUnitType"),
            requirement=resolve_global_id(Requirement, requirement, "requirement",
                                          "RequirementType") if requirement else None,
            **kwargs,
        )  # fmt: skip
        return {"procurement_case": case}


class ProcurementCaseMutation(StepMutation):
    class Meta:
        abstract = True

    procurement_case = graphene.Field(ProcurementCaseType)
    node_type = ProcurementCaseType
    result_field = "procurement_case"

    @classmethod
    def result(cls, value):
        # Adding a candidate returns the candidate; the API answers with its case.
        return value.case if isinstance(value, ProcurementCandidate) else value


def get_candidate(global_id, field):
    return resolve_global_id(ProcurementCandidate, global_id, field, "ProcurementCandidateType")


class ProcurementCandidateAdd(ProcurementCaseMutation):
    Arguments = ticket_arguments(
        vendor=graphene.ID(), component=graphene.ID(), assessment=graphene.ID(),
        offer_notes=graphene.String(),
    )  # fmt: skip
    service_function = staticmethod(procurement.add_candidate)

    @classmethod
    def arguments(cls, info, vendor=None, component=None, assessment=None, offer_notes=""):
        return {
            "vendor": resolve_global_id(Vendor, vendor, "vendor", "VendorType") if vendor
            else None,
            "component": resolve_global_id(ITComponent, component, "component",
                                           "ITComponentType") if component else None,
            "assessment": get_assessment(assessment) if assessment else None,
            "offer_notes": offer_notes or "",
        }  # fmt: skip


class ProcurementCasePublish(ProcurementCaseMutation):
    Arguments = ticket_arguments()
    service_function = staticmethod(procurement.publish_case)


class ProcurementCaseStartEvaluation(ProcurementCaseMutation):
    Arguments = ticket_arguments()
    service_function = staticmethod(procurement.start_evaluation)


class ProcurementCaseAward(ProcurementCaseMutation):
    """Award to an eligible candidate; refused, naming the criteria, for a knocked-out one."""

    Arguments = ticket_arguments(
        candidate=graphene.ID(required=True), justification=graphene.String(required=True)
    )
    service_function = staticmethod(procurement.award_case)

    @classmethod
    def arguments(cls, info, candidate, justification):
        return {"candidate": get_candidate(candidate, "candidate"), "justification": justification}


class ProcurementCaseCancel(ProcurementCaseMutation):
    Arguments = ticket_arguments(reason=graphene.String(required=True))
    service_function = staticmethod(procurement.cancel_case)


class Mutation(graphene.ObjectType):
    procurement_case_open = ProcurementCaseOpen.Field()
    procurement_candidate_add = ProcurementCandidateAdd.Field()
    procurement_case_publish = ProcurementCasePublish.Field()
    procurement_case_start_evaluation = ProcurementCaseStartEvaluation.Field()
    procurement_case_award = ProcurementCaseAward.Field()
    procurement_case_cancel = ProcurementCaseCancel.Field()
    assessment_start = AssessmentStart.Field()
    assessment_answer = AssessmentAnswer.Field()
    assessment_submit = AssessmentSubmit.Field()
    assessment_approve = AssessmentApprove.Field()
    assessment_return = AssessmentReturn.Field()
    assessment_reassess = AssessmentReassess.Field()

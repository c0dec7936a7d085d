"""Architecture mutations: thin wrappers that decode input and call architecture.services."""

import graphene

from architecture.graphql.types import (
    ApplicationCapabilityType,
    ArchitectureDecisionType,
    CapabilityType,
    StandardExceptionType,
    TechnologyStandardType,
)
from architecture.models import ArchitectureDecision, Capability, TechCategory, TechnologyStandard
from architecture.services import capabilities, decisions
from cmdb.graphql.mutations import decode_list
from cmdb.models import Application, Interface, ITComponent
from landkarte.graphql import BaseMutation, resolve_global_id


def _decision(global_id, field="id"):
    return resolve_global_id(ArchitectureDecision, global_id, field, "ArchitectureDecisionType")


class ArchitectureDecisionRecordInput(graphene.InputObjectType):
    title = graphene.String(required=True)
    context = graphene.String()
    decision = graphene.String()
    consequences = graphene.String()
    status = graphene.String(description="proposed (default) or accepted")
    review_date = graphene.Date()
    applications = graphene.List(graphene.NonNull(graphene.ID))
    components = graphene.List(graphene.NonNull(graphene.ID))
    interfaces = graphene.List(graphene.NonNull(graphene.ID))


class ArchitectureDecisionRecord(BaseMutation):
    class Arguments:
        input = ArchitectureDecisionRecordInput(required=True)

    architecture_decision = graphene.Field(ArchitectureDecisionType)

    @classmethod
    def perform(cls, info, input):
        adr = decisions.record_decision(
            user=info.context.user,
            title=input.title,
            context=input.context or "",
            decision=input.decision or "",
            consequences=input.consequences or "",
            status=input.status or "proposed",
            review_date=input.review_date,
            applications=decode_list(
                input.applications, Application, "ApplicationType", "applications"
            ),
            components=decode_list(input.components, ITComponent, "ITComponentType", "components"),
            interfaces=decode_list(input.interfaces, Interface, "InterfaceType", "interfaces"),
        )
        return {"architecture_decision": adr}


class ArchitectureDecisionAccept(BaseMutation):
    class Arguments:
        id = graphene.ID(required=True)
        decided_at = graphene.Date()
        reason = graphene.String()

    architecture_decision = graphene.Field(ArchitectureDecisionType)

    @classmethod
    def perform(cls, info, id, decided_at=None, reason=""):
        adr = decisions.accept_decision(
            _decision(id), user=info.context.user, decided_at=decided_at, reason=reason or ""
        )
        return {"architecture_decision": adr}


class ArchitectureDecisionReject(BaseMutation):
    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String()

    architecture_decision = graphene.Field(ArchitectureDecisionType)

    @classmethod
    def perform(cls, info, id, reason=""):
        adr = decisions.reject_decision(_decision(id), user=info.context.user, reason=reason or "")
        return {"architecture_decision": adr}


class ArchitectureDecisionSupersede(BaseMutation):
    class Arguments:
        old = graphene.ID(required=True, description="the accepted decision being replaced")
        new = graphene.ID(required=True, description="the decision replacing it")
        reason = graphene.String()

    old = graphene.Field(ArchitectureDecisionType)
    new = graphene.Field(ArchitectureDecisionType)

    @classmethod
    def perform(cls, info, old, new, reason=""):
        old, new = decisions.supersede_decision(
            _decision(old, "old"), _decision(new, "new"), user=info.context.user,
            reason=reason or "",
        )  # fmt: skip
        return {"old": old, "new": new}


class TechnologyStandardSet(BaseMutation):
    class Arguments:
        component = graphene.ID()
        category = graphene.ID()
        status = graphene.String(required=True)
        valid_from = graphene.Date(required=True)
        rationale = graphene.String()
        decision = graphene.ID()

    technology_standard = graphene.Field(TechnologyStandardType)

    @classmethod
    def perform(cls, info, status, valid_from, component=None, category=None, rationale="",
                decision=None):  # fmt: skip
        standard = decisions.set_standard(
            user=info.context.user,
            component=resolve_global_id(ITComponent, component, "component", "ITComponentType"),
            category=resolve_global_id(TechCategory, category, "category", "TechCategoryType"),
            status=status,
            valid_from=valid_from,
            rationale=rationale or "",
            decision=_decision(decision, "decision"),
        )
        return {"technology_standard": standard}


class StandardExceptionGrant(BaseMutation):
    class Arguments:
        application = graphene.ID(required=True)
        standard = graphene.ID(required=True)
        decision = graphene.ID(required=True)
        reason = graphene.String(required=True)
        expires_on = graphene.Date(required=True)

    standard_exception = graphene.Field(StandardExceptionType)

    @classmethod
    def perform(cls, info, application, standard, decision, reason, expires_on):
        exception = decisions.grant_exception(
            user=info.context.user,
            application=resolve_global_id(
                Application, application, "application", "ApplicationType"
            ),
            standard=resolve_global_id(
                TechnologyStandard, standard, "standard", "TechnologyStandardType"
            ),
            decision=_decision(decision, "decision"),
            reason=reason,
            expires_on=expires_on,
        )
        return {"standard_exception": exception}


class CapabilityCreate(BaseMutation):
    class Arguments:
        name = graphene.String(required=True)
        code = graphene.String(required=True)
        parent = graphene.ID()
        description = graphene.String()

    capability = graphene.Field(CapabilityType)

    @classmethod
    def perform(cls, info, name, code, parent=None, description=""):
        capability = capabilities.create_capability(
            user=info.context.user,
            name=name,
            code=code,
            parent=resolve_global_id(Capability, parent, "parent", "CapabilityType"),
            description=description or "",
        )
        return {"capability": capability}


class CapabilitySupportSet(BaseMutation):
    class Arguments:
        application = graphene.ID(required=True)
        capability = graphene.ID(required=True)
        support_level = graphene.String(
            description="primary, secondary, partial; empty or null removes the link"
        )

    support = graphene.Field(ApplicationCapabilityType)
    capability = graphene.Field(CapabilityType)

    @classmethod
    def perform(cls, info, application, capability, support_level=None):
        capability = resolve_global_id(Capability, capability, "capability", "CapabilityType")
        link = capabilities.set_capability_support(
            user=info.context.user,
            application=resolve_global_id(
                Application, application, "application", "ApplicationType"
            ),
            capability=capability,
            support_level=support_level,
        )
        return {"support": link, "capability": capability}


class Mutation(graphene.ObjectType):
    architecture_decision_record = ArchitectureDecisionRecord.Field()
    architecture_decision_accept = ArchitectureDecisionAccept.Field()
    architecture_decision_reject = ArchitectureDecisionReject.Field()
    architecture_decision_supersede = ArchitectureDecisionSupersede.Field()
    technology_standard_set = TechnologyStandardSet.Field()
    standard_exception_grant = StandardExceptionGrant.Field()
    capability_create = CapabilityCreate.Field()
    capability_support_set = CapabilitySupportSet.Field()

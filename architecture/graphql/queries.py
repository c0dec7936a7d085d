import graphene
from graphene import relay
from query_optimizer import DjangoConnectionField

from architecture.graphql.types import (
    ArchitectureDecisionType,
    CapabilityType,
    RadarEntryType,
    StandardExceptionType,
    TechCategoryType,
    TechnologyStandardType,
)
from architecture.services.radar import radar
from landkarte.roles import can_read


class Query(graphene.ObjectType):
    capabilities = DjangoConnectionField(CapabilityType)
    capability = relay.Node.Field(CapabilityType)
    tech_categories = DjangoConnectionField(TechCategoryType)
    technology_standards = DjangoConnectionField(TechnologyStandardType)
    tech_radar = graphene.List(
        graphene.NonNull(RadarEntryType),
        required=True,
        on=graphene.Date(description="default: today"),
        description="the status of every component and category on a date",
    )
    architecture_decisions = DjangoConnectionField(ArchitectureDecisionType)
    architecture_decision = relay.Node.Field(ArchitectureDecisionType)
    standard_exceptions = DjangoConnectionField(StandardExceptionType)

    @staticmethod
    def resolve_tech_radar(root, info, on=None):
        if not can_read(info.context.user):
            return []
        return radar(on)

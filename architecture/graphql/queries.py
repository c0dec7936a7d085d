import graphene
from graphene import relay

from architecture.graphql.types import (
    ArchitectureDecisionType,
    CapabilityType,
    RadarEntryType,
    StandardExceptionType,
    TechCategoryType,
    TechnologyStandardType,
)
from architecture.services.radar import radar
from landkarte.graphql import ConnectionField, register_rows
from landkarte.roles import can_read


class Query(graphene.ObjectType):
    capabilities = ConnectionField(CapabilityType)
    capability = relay.Node.Field(CapabilityType)
    tech_categories = ConnectionField(TechCategoryType)
    technology_standards = ConnectionField(TechnologyStandardType)
    tech_radar = graphene.List(
        graphene.NonNull(RadarEntryType),
        required=True,
        on=graphene.Date(description="default: today"),
        description="the status of every component and category on a date",
    )
    architecture_decisions = ConnectionField(ArchitectureDecisionType)
    architecture_decision = relay.Node.Field(ArchitectureDecisionType)
    standard_exceptions = ConnectionField(StandardExceptionType)

    @staticmethod
    def resolve_tech_radar(root, info, on=None):
        if not can_read(info.context.user):
            return []
        entries = radar(on)
        register_rows(info, entries)  # their instances load together (InstanceField)
        return entries

import graphene
from graphene import relay

from architecture.filtersets import (
    ArchitectureDecisionFilterSet,
    CapabilityFilterSet,
    StandardExceptionFilterSet,
    TechCategoryFilterSet,
    TechnologyStandardFilterSet,
)
from architecture.models import (
    ApplicationCapability,
    ArchitectureDecision,
    Capability,
    StandardException,
    TechCategory,
    TechnologyStandard,
)
from cmdb.graphql.types import ITComponentType
from landkarte.graphql import BaseNodeType, InstanceField


class CapabilityType(BaseNodeType):
    class Meta:
        model = Capability
        fields = (
            "id", "name", "code", "description", "parent", "children", "support", "level",
            "created", "updated",
        )  # fmt: skip
        filterset_class = CapabilityFilterSet
        interfaces = (relay.Node,)


class ApplicationCapabilityType(BaseNodeType):
    class Meta:
        model = ApplicationCapability
        fields = ("id", "application", "capability", "support_level")
        interfaces = (relay.Node,)


class TechCategoryType(BaseNodeType):
    class Meta:
        model = TechCategory
        fields = (
            "id", "name", "code", "description", "parent", "children", "components",
            "standards", "level", "created", "updated",
        )  # fmt: skip
        filterset_class = TechCategoryFilterSet
        interfaces = (relay.Node,)


class ArchitectureDecisionType(BaseNodeType):
    class Meta:
        model = ArchitectureDecision
        fields = (
            "id", "number", "title", "status", "context", "decision", "consequences",
            "decided_at", "decided_by", "supersedes", "superseded_by", "review_date",
            "applications", "components", "interfaces", "standards", "exceptions", "created",
            "updated",
        )  # fmt: skip
        filterset_class = ArchitectureDecisionFilterSet
        interfaces = (relay.Node,)


class TechnologyStandardType(BaseNodeType):
    class Meta:
        model = TechnologyStandard
        fields = (
            "id", "component", "category", "status", "valid_from", "valid_until", "rationale",
            "decision", "exceptions", "created", "updated",
        )  # fmt: skip
        filterset_class = TechnologyStandardFilterSet
        interfaces = (relay.Node,)


class StandardExceptionType(BaseNodeType):
    class Meta:
        model = StandardException
        fields = (
            "id", "application", "standard", "decision", "reason", "expires_on", "created",
            "updated",
        )  # fmt: skip
        filterset_class = StandardExceptionFilterSet
        interfaces = (relay.Node,)

    is_expired = graphene.Boolean(required=True, on=graphene.Date())
    field_reads = {"is_expired": ("expires_on",)}

    @staticmethod
    def resolve_is_expired(exception, info, on=None):
        from django.utils import timezone

        return exception.expires_on < (on or timezone.localdate())


class RadarEntryType(graphene.ObjectType):
    """One blip on the tech radar: a component or a category with its status on a date."""

    # Loaded for the query's selection, for all entries at once (InstanceField).
    component = InstanceField(ITComponentType)
    category = InstanceField(TechCategoryType)
    status = graphene.String(required=True)
    standard = InstanceField(TechnologyStandardType, required=True)

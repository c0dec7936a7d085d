import datetime

import graphene
from django.contrib.auth import get_user_model
from graphene import relay

from cmdb import graph
from cmdb.choices import LIFECYCLE_DATE_FIELDS, LifecyclePhase, TimeClass
from cmdb.filtersets import (
    ApplicationFilterSet,
    DataObjectFilterSet,
    InterfaceFilterSet,
    ITComponentFilterSet,
    OrgUnitFilterSet,
    ServiceFilterSet,
    SoftwarePackageFilterSet,
    TeamFilterSet,
    VendorFilterSet,
)
from cmdb.models import (
    Application,
    ApplicationComponent,
    DataObject,
    Interface,
    InterfaceConsumer,
    ITComponent,
    OrgUnit,
    Responsibility,
    Service,
    SoftwarePackage,
    Team,
    Vendor,
)
from landkarte.graphql import (
    BaseNodeType,
    InstanceField,
    InstanceListField,
    batched,
    register_rows,
    request_graph,
    visible_pks,
)

LifecyclePhaseEnum = graphene.Enum.from_enum(LifecyclePhase, name="LifecyclePhase")
TimeClassEnum = graphene.Enum.from_enum(TimeClass, name="TimeClass")


class UserType(BaseNodeType):
    """A person: a member of teams, a business owner, a responsible for applications."""

    class Meta:
        model = get_user_model()
        fields = ("id", "username", "first_name", "last_name", "email", "teams")
        interfaces = (relay.Node,)

    full_name = graphene.String(required=True)
    field_reads = {"full_name": ("first_name", "last_name", "username")}

    @staticmethod
    def resolve_full_name(user, info):
        return user.get_full_name() or user.username


class OrgUnitType(BaseNodeType):
    class Meta:
        model = OrgUnit
        fields = (
            "id",
            "name",
            "code",
            "kind",
            "parent",
            "children",
            "teams",
            "applications",
            "level",
            "created",
            "updated",
        )
        filterset_class = OrgUnitFilterSet
        interfaces = (relay.Node,)


class TeamType(BaseNodeType):
    class Meta:
        model = Team
        fields = (
            "id",
            "name",
            "org_unit",
            "email",
            "members",
            "applications",
            "created",
            "updated",
        )
        filterset_class = TeamFilterSet
        interfaces = (relay.Node,)


class VendorType(BaseNodeType):
    class Meta:
        model = Vendor
        fields = (
            "id",
            "name",
            "country",
            "jurisdiction",
            "parent",
            "ultimate_parent",
            "subsidiaries",
            "website",
            "applications",
            "components",
            "created",
            "updated",
        )
        filterset_class = VendorFilterSet
        interfaces = (relay.Node,)

    is_eu = graphene.Boolean(required=True, description="jurisdiction is an EU member state")
    field_reads = {"is_eu": ("jurisdiction",)}

    @staticmethod
    def resolve_is_eu(vendor, info):
        return vendor.is_eu


class ITComponentType(BaseNodeType):
    class Meta:
        model = ITComponent
        fields = (
            "id",
            "name",
            "version",
            "vendor",
            "kind",
            "licence",
            "is_open_source",
            "release_date",
            "end_of_support",
            "end_of_life",
            "eol_product",
            "eol_cycle",
            "purl",
            "cpe",
            "uses",
            "created",
            "updated",
        )
        filterset_class = ITComponentFilterSet
        interfaces = (relay.Node,)

    is_end_of_life = graphene.Boolean(required=True, on=graphene.Date())
    field_reads = {"is_end_of_life": ("end_of_life",)}

    @staticmethod
    def resolve_is_end_of_life(component, info, on=None):
        return component.is_end_of_life(on)


class ApplicationComponentType(BaseNodeType):
    class Meta:
        model = ApplicationComponent
        fields = ("id", "application", "component", "environment")
        interfaces = (relay.Node,)


class ResponsibilityType(BaseNodeType):
    class Meta:
        model = Responsibility
        fields = ("id", "application", "role", "team", "person")
        interfaces = (relay.Node,)


class DataObjectType(BaseNodeType):
    class Meta:
        model = DataObject
        fields = (
            "id",
            "name",
            "description",
            "classification",
            "personal_data",
            "special_categories",
            "interfaces",
        )
        filterset_class = DataObjectFilterSet
        interfaces = (relay.Node,)


class InterfaceConsumerType(BaseNodeType):
    class Meta:
        model = InterfaceConsumer
        fields = ("id", "interface", "consumer", "provider")
        interfaces = (relay.Node,)


class InterfaceType(BaseNodeType):
    class Meta:
        model = Interface
        fields = (
            "id",
            "name",
            "description",
            "provider",
            "consumers",
            "direction",
            "protocol",
            "data_standard",
            "data_objects",
            "frequency",
            "personal_data",
            "owner_team",
            "active_from",
            "end_of_life",
            "created",
            "updated",
        )
        filterset_class = InterfaceFilterSet
        interfaces = (relay.Node,)


class ServiceType(BaseNodeType):
    class Meta:
        model = Service
        fields = (
            "id",
            "name",
            "code",
            "kind",
            "description",
            "owner_team",
            "applications",
            "consumer_org_units",
        )
        filterset_class = ServiceFilterSet
        interfaces = (relay.Node,)


class SoftwarePackageType(BaseNodeType):
    class Meta:
        model = SoftwarePackage
        fields = ("id", "application", "name", "version", "purl", "supplier", "licences")
        filterset_class = SoftwarePackageFilterSet
        interfaces = (relay.Node,)


class DependencyType(graphene.ObjectType):
    """An application reached through interfaces, with its distance and one shortest path."""

    application = InstanceField(lambda: ApplicationType, required=True)
    depth = graphene.Int(required=True, description="1 = direct")
    path = InstanceListField(
        lambda: ApplicationType,
        required=True,
        description="applications from the start (excluded) to this one (included)",
    )


def _graph_field(description):
    return graphene.List(
        graphene.NonNull(DependencyType),
        required=True,
        depth=graphene.Int(default_value=1, description="levels to follow; null = unlimited"),
        as_of=graphene.Date(description="only interfaces and applications alive on this date"),
        description=description,
    )


def _resolve_graph(forwards: bool, application, info, depth, as_of):
    """dependencies (forwards) or dependents of `application`; on a row of a list, for all rows
    at once: the walks run in the request's LoadedGraph (one query). The applications (and the
    paths) of all rows are loaded together, for what the query selects (InstanceField)."""

    def compute(rows):
        loaded = request_graph(info, as_of) if len(rows) > 1 else None
        if loaded is not None:
            walk = loaded.dependency_nodes if forwards else loaded.dependent_nodes
            nodes = {row.pk: walk(row.pk, depth) for row in rows}
        else:
            walk = graph.dependencies if forwards else graph.dependents
            nodes = {row.pk: walk(row, depth=depth, as_of=as_of) for row in rows}
        ids = {app_id for found in nodes.values() for node in found for app_id in node.path}
        visible = visible_pks(ApplicationType, ids, info)
        answers = {
            pk: [
                DependencyType(application=node.application_id, depth=node.depth, path=node.path)
                for node in found
                if node.application_id in visible
            ]
            for pk, found in nodes.items()
        }
        register_rows(info, [item for items in answers.values() for item in items])
        return answers

    key = ("dependencies" if forwards else "dependents", depth, as_of)
    return batched(info, application, key, compute)


class ApplicationType(BaseNodeType):
    class Meta:
        model = Application
        fields = (
            "id",
            "name",
            "acronym",
            "description",
            "kind",
            "owner_org_unit",
            "owner_team",
            "business_owner",
            "vendor",
            "criticality",
            "confidentiality",
            "integrity",
            "availability",
            "personal_data",
            "hosting",
            "user_count",
            "functional_fit",
            "technical_fit",
            "plan_date",
            "phase_in_date",
            "active_date",
            "phase_out_date",
            "end_of_life_date",
            "component_uses",
            "responsibilities",
            "provided_interfaces",
            "consumed_interfaces",
            "services",
            "software_packages",
            "created",
            "updated",
        )
        filterset_class = ApplicationFilterSet
        interfaces = (relay.Node,)

    time_class = graphene.Field(TimeClassEnum, description="TIME class from the two fits")
    lifecycle_phase = graphene.Field(
        LifecyclePhaseEnum, on=graphene.Date(description="default: today")
    )
    dependencies = _graph_field("applications this one depends on (providers it consumes)")
    dependents = _graph_field("applications that depend on this one (its consumers)")
    field_reads = {
        "time_class": ("functional_fit", "technical_fit"),
        "lifecycle_phase": tuple(field for _, field in LIFECYCLE_DATE_FIELDS),
        "dependencies": (),
        "dependents": (),
    }

    @staticmethod
    def resolve_time_class(application, info):
        return application.time_class

    @staticmethod
    def resolve_lifecycle_phase(application, info, on: datetime.date | None = None):
        return application.phase_on(on)

    @staticmethod
    def resolve_dependencies(application, info, depth=1, as_of=None):
        return _resolve_graph(True, application, info, depth, as_of)

    @staticmethod
    def resolve_dependents(application, info, depth=1, as_of=None):
        return _resolve_graph(False, application, info, depth, as_of)


class MeType(graphene.ObjectType):
    user = graphene.Field(UserType, required=True)
    roles = graphene.List(graphene.NonNull(graphene.String), required=True)
    is_admin = graphene.Boolean(required=True)

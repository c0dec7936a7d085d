import graphene
from graphene import relay
from query_optimizer import DjangoConnectionField

from cmdb.graphql.types import (
    ApplicationType,
    DataObjectType,
    InterfaceType,
    ITComponentType,
    MeType,
    OrgUnitType,
    ServiceType,
    SoftwarePackageType,
    TeamType,
    VendorType,
)
from landkarte.roles import can_read, role_names


class Query(graphene.ObjectType):
    node = relay.Node.Field()
    org_units = DjangoConnectionField(OrgUnitType)
    org_unit = relay.Node.Field(OrgUnitType)
    teams = DjangoConnectionField(TeamType)
    team = relay.Node.Field(TeamType)
    vendors = DjangoConnectionField(VendorType)
    vendor = relay.Node.Field(VendorType)
    it_components = DjangoConnectionField(ITComponentType)
    it_component = relay.Node.Field(ITComponentType)
    applications = DjangoConnectionField(ApplicationType)
    application = relay.Node.Field(ApplicationType)
    interfaces = DjangoConnectionField(InterfaceType)
    interface = relay.Node.Field(InterfaceType)
    data_objects = DjangoConnectionField(DataObjectType)
    services = DjangoConnectionField(ServiceType)
    service = relay.Node.Field(ServiceType)
    software_packages = DjangoConnectionField(SoftwarePackageType)
    me = graphene.Field(MeType, description="the signed-in user and their roles")

    @staticmethod
    def resolve_me(root, info):
        user = info.context.user
        if not can_read(user):
            return None
        return MeType(user=user, roles=sorted(role_names(user)), is_admin=user.is_superuser)

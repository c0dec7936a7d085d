import graphene
from graphene import relay

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
from landkarte.graphql import ConnectionField
from landkarte.roles import can_read, role_names


class Query(graphene.ObjectType):
    node = relay.Node.Field()
    org_units = ConnectionField(OrgUnitType)
    org_unit = relay.Node.Field(OrgUnitType)
    teams = ConnectionField(TeamType)
    team = relay.Node.Field(TeamType)
    vendors = ConnectionField(VendorType)
    vendor = relay.Node.Field(VendorType)
    it_components = ConnectionField(ITComponentType)
    it_component = relay.Node.Field(ITComponentType)
    applications = ConnectionField(ApplicationType)
    application = relay.Node.Field(ApplicationType)
    interfaces = ConnectionField(InterfaceType)
    interface = relay.Node.Field(InterfaceType)
    data_objects = ConnectionField(DataObjectType)
    services = ConnectionField(ServiceType)
    service = relay.Node.Field(ServiceType)
    software_packages = ConnectionField(SoftwarePackageType)
    me = graphene.Field(MeType, description="the signed-in user and their roles")

    @staticmethod
    def resolve_me(root, info):
        user = info.context.user
        if not can_read(user):
            return None
        return MeType(user=user, roles=sorted(role_names(user)), is_admin=user.is_superuser)

"""CMDB mutations: thin wrappers that decode input and call cmdb.services."""

import graphene

from cmdb import services
from cmdb.graphql.types import ApplicationType, InterfaceType
from cmdb.models import Application, DataObject, OrgUnit, Team, Vendor
from landkarte.graphql import BaseMutation, resolve_global_id

# Input fields that hold Relay IDs, with the model they point to.
APPLICATION_REFERENCES = {
    "owner_org_unit": (OrgUnit, "OrgUnitType"),
    "owner_team": (Team, "TeamType"),
    "vendor": (Vendor, "VendorType"),
}
INTERFACE_REFERENCES = {
    "provider": (Application, "ApplicationType"),
    "owner_team": (Team, "TeamType"),
}


def decode_references(data: dict, references: dict) -> dict:
    from django.core.exceptions import ValidationError

    decoded, errors = {}, {}
    for name, value in data.items():
        if name in references:
            model, type_name = references[name]
            try:
                value = resolve_global_id(model, value, name, type_name)
            except ValidationError as exc:
                errors.update(exc.error_dict)
                continue
        decoded[name] = value
    if errors:
        raise ValidationError(errors)
    return decoded


def decode_list(values, model, type_name: str, field: str) -> list:
    return [resolve_global_id(model, value, field, type_name) for value in values or []]


class ApplicationInputFields:
    name = graphene.String()
    acronym = graphene.String()
    description = graphene.String()
    kind = graphene.String(description="specialist_procedure, standard_software, …")
    owner_org_unit = graphene.ID()
    owner_team = graphene.ID()
    business_owner = graphene.String()
    vendor = graphene.ID()
    criticality = graphene.String()
    confidentiality = graphene.String()
    integrity = graphene.String()
    availability = graphene.String()
    personal_data = graphene.Boolean()
    hosting = graphene.String()
    user_count = graphene.Int()
    functional_fit = graphene.Int()
    technical_fit = graphene.Int()
    plan_date = graphene.Date()
    phase_in_date = graphene.Date()
    active_date = graphene.Date()
    phase_out_date = graphene.Date()
    end_of_life_date = graphene.Date()


class ApplicationCreateInput(ApplicationInputFields, graphene.InputObjectType):
    pass


class ApplicationUpdateInput(ApplicationInputFields, graphene.InputObjectType):
    pass


class ApplicationCreate(BaseMutation):
    class Arguments:
        input = ApplicationCreateInput(required=True)

    application = graphene.Field(ApplicationType)

    @classmethod
    def perform(cls, info, input):
        data = decode_references(dict(input), APPLICATION_REFERENCES)
        application = services.create_application(user=info.context.user, **data)
        return {"application": application}


class ApplicationUpdate(BaseMutation):
    class Arguments:
        id = graphene.ID(required=True)
        input = ApplicationUpdateInput(required=True)

    application = graphene.Field(ApplicationType)

    @classmethod
    def perform(cls, info, id, input):
        application = resolve_global_id(Application, id, "id", "ApplicationType")
        data = decode_references(dict(input), APPLICATION_REFERENCES)
        application = services.update_application(application, user=info.context.user, **data)
        return {"application": application}


class InterfaceCreateInput(graphene.InputObjectType):
    name = graphene.String()
    description = graphene.String()
    provider = graphene.ID()
    consumers = graphene.List(graphene.NonNull(graphene.ID))
    direction = graphene.String()
    protocol = graphene.String()
    data_standard = graphene.String()
    data_objects = graphene.List(graphene.NonNull(graphene.ID))
    frequency = graphene.String()
    personal_data = graphene.Boolean()
    owner_team = graphene.ID()
    active_from = graphene.Date()
    end_of_life = graphene.Date()


class InterfaceCreate(BaseMutation):
    class Arguments:
        input = InterfaceCreateInput(required=True)

    interface = graphene.Field(InterfaceType)

    @classmethod
    def perform(cls, info, input):
        data = dict(input)
        consumers = decode_list(
            data.pop("consumers", None), Application, "ApplicationType", "consumers"
        )
        data_objects = decode_list(
            data.pop("data_objects", None), DataObject, "DataObjectType", "data_objects"
        )
        data = decode_references(data, INTERFACE_REFERENCES)
        interface = services.create_interface(
            user=info.context.user, consumers=consumers, data_objects=data_objects, **data
        )
        return {"interface": interface}


class Mutation(graphene.ObjectType):
    application_create = ApplicationCreate.Field()
    application_update = ApplicationUpdate.Field()
    interface_create = InterfaceCreate.Field()

import graphene
from django.utils.translation import gettext as _
from graphene import relay
from graphql import GraphQLError

from cmdb.models import Application, ITComponent, OrgUnit, Service
from itsm.graphql.types import (
    ChangeTemplateType,
    ChangeType,
    ConflictType,
    FreezeWindowType,
    IncidentType,
    KpisType,
    ProblemType,
    RequirementType,
    ServiceLevelType,
)
from itsm.models import ChangeTemplate, FreezeWindow, ServiceLevel
from itsm.services.conflicts import change_conflicts
from itsm.services.incidents import sees_all_incidents
from itsm.services.kpis import compute_kpis
from itsm.services.problems import search_known_errors
from landkarte.graphql import ConnectionField, ModelListField, register_rows, resolve_global_id
from landkarte.roles import can_read


class Query(graphene.ObjectType):
    incidents = ConnectionField(IncidentType)
    incident = relay.Node.Field(IncidentType)
    problems = ConnectionField(ProblemType)
    problem = relay.Node.Field(ProblemType)
    requirements = ConnectionField(
        RequirementType, description='the backlog; orderBy: "-wsjf" ranks it'
    )
    requirement = relay.Node.Field(RequirementType)
    changes = ConnectionField(ChangeType)
    change = relay.Node.Field(ChangeType)
    change_templates = ModelListField(ChangeTemplateType)
    freeze_windows = ModelListField(FreezeWindowType)
    service_levels = ModelListField(ServiceLevelType)
    change_conflicts = graphene.List(
        graphene.NonNull(ConflictType),
        required=True,
        from_=graphene.DateTime(required=True, name="from"),
        to=graphene.DateTime(required=True),
        depth=graphene.Int(),
        description="conflicts among changes planned in [from, to), and with freeze windows",
    )
    kpis = graphene.Field(
        KpisType,
        from_=graphene.DateTime(required=True, name="from"),
        to=graphene.DateTime(required=True),
        org_unit=graphene.ID(description="callers' (or owners') org unit and its sub-units"),
        service=graphene.ID(),
    )
    known_errors = ModelListField(
        ProblemType,
        limit=100,
        text=graphene.String(),
        applications=graphene.List(graphene.NonNull(graphene.ID)),
        components=graphene.List(graphene.NonNull(graphene.ID)),
        description="the known error database: search by text, application or component",
    )

    @staticmethod
    def resolve_known_errors(root, info, text="", applications=None, components=None):
        apps = [
            resolve_global_id(Application, a, "applications", "ApplicationType")
            for a in applications or []
        ]
        comps = [
            resolve_global_id(ITComponent, c, "components", "ITComponentType")
            for c in components or []
        ]
        # The field narrows the rows to what the reader may see and takes the first 100.
        return search_known_errors(text=text or "", applications=apps, components=comps)

    @staticmethod
    def resolve_change_templates(root, info):
        return ChangeTemplate.objects.filter(active=True)

    @staticmethod
    def resolve_freeze_windows(root, info):
        return FreezeWindow.objects.all()

    @staticmethod
    def resolve_service_levels(root, info):
        return ServiceLevel.objects.all()

    @staticmethod
    def resolve_change_conflicts(root, info, from_, to, depth=None):
        if not can_read(info.context.user):
            return []
        found = [ConflictType.from_conflict(c) for c in change_conflicts(from_, to, depth)]
        register_rows(info, found)  # their changes and applications load together
        return found

    @staticmethod
    def resolve_kpis(root, info, from_, to, org_unit=None, service=None):
        if not can_read(info.context.user):
            return None
        if not sees_all_incidents(info.context.user):
            # The figures count every incident, also those the reader may not see.
            raise GraphQLError(
                _("The key figures are for IT staff and auditors."),
                extensions={"code": "permission_denied"},
            )
        unit = resolve_global_id(OrgUnit, org_unit, "orgUnit", "OrgUnitType") if org_unit else None
        svc = resolve_global_id(Service, service, "service", "ServiceType") if service else None
        return KpisType(**vars(compute_kpis(from_, to, org_unit=unit, service=svc)))

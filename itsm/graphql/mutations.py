"""ITSM mutations: one per transition, thin wrappers around itsm.services."""

import graphene
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cmdb.graphql.mutations import decode_list, decode_references
from cmdb.models import Application, ITComponent, OrgUnit, Service, Team
from itsm.choices import ProblemState
from itsm.graphql.types import (
    ChangeType,
    IncidentEventType,
    IncidentType,
    ProblemType,
    RequirementType,
)
from itsm.models import Change, ChangeTemplate, Incident, Problem
from itsm.services import changes, incidents, problems, requirements
from landkarte.graphql import BaseMutation, StepMutation, resolve_global_id, ticket_arguments

User = get_user_model()


def get_incident(global_id, info=None, field="id"):
    """The incident behind `global_id`; with `info`, one the user may see (others are "not
    found": nobody acts on, or learns about, an incident they cannot read)."""
    incident = resolve_global_id(Incident, global_id, field, "IncidentType")
    if info is not None and incident is not None:
        visible = IncidentType.filter_queryset(Incident.objects.filter(pk=incident.pk), info)
        if not visible.exists():
            raise ValidationError(
                {field: ValidationError(_("Incident not found."), code="not_found")}
            )
    return incident


def get_problem(global_id, field="id"):
    return resolve_global_id(Problem, global_id, field, "ProblemType")


# Input fields holding lists of IDs, with the model they point to.
LIST_REFERENCES = {
    "applications": (Application, "ApplicationType"),
    "components": (ITComponent, "ITComponentType"),
    "incidents": (Incident, "IncidentType"),
}


def decode_input(input, references: dict) -> dict:
    """Model instances for every ID in a mutation input (field errors for bad ones)."""
    data = dict(input)
    for name, (model, type_name) in LIST_REFERENCES.items():
        if name in data:
            data[name] = decode_list(data[name], model, type_name, name)
    return decode_references(data, references)


class IncidentCreateInput(graphene.InputObjectType):
    title = graphene.String(required=True)
    description = graphene.String()
    impact = graphene.String(required=True, description="high, medium, low")
    urgency = graphene.String(required=True, description="high, medium, low")
    category = graphene.String()
    caller = graphene.ID(description="default: the signed-in user")
    caller_name = graphene.String()
    caller_org_unit = graphene.ID()
    service = graphene.ID()
    applications = graphene.List(graphene.NonNull(graphene.ID))
    components = graphene.List(graphene.NonNull(graphene.ID))
    assigned_team = graphene.ID()
    is_major = graphene.Boolean()
    parent = graphene.ID()


class IncidentCreate(BaseMutation):
    class Arguments:
        input = IncidentCreateInput(required=True)

    incident = graphene.Field(IncidentType)

    @classmethod
    def perform(cls, info, input):
        input = dict(input)
        parent = input.pop("parent", None)
        data = decode_input(
            input,
            {
                "caller": (User, "UserType"),
                "caller_org_unit": (OrgUnit, "OrgUnitType"),
                "service": (Service, "ServiceType"),
                "assigned_team": (Team, "TeamType"),
            },
        )
        if parent is not None:
            data["parent"] = get_incident(parent, info, "parent")
        incident = incidents.open_incident(user=info.context.user, **data)
        return {"incident": incident}


class IncidentMutation(StepMutation):
    """A transition of one incident."""

    class Meta:
        abstract = True

    incident = graphene.Field(IncidentType)
    node_type = IncidentType
    result_field = "incident"


class IncidentAssign(IncidentMutation):
    Arguments = ticket_arguments(
        team=graphene.ID(required=True), assignee=graphene.ID(required=True),
        note=graphene.String(),
    )  # fmt: skip
    service_function = staticmethod(incidents.assign_incident)

    @classmethod
    def arguments(cls, info, team, assignee, note=""):
        return {
            "team": resolve_global_id(Team, team, "team", "TeamType"),
            "assignee": resolve_global_id(User, assignee, "assignee", "UserType"),
            "note": note or "",
        }


class IncidentStartWork(IncidentMutation):
    Arguments = ticket_arguments()
    service_function = staticmethod(incidents.start_work)


class IncidentSetPending(IncidentMutation):
    Arguments = ticket_arguments(reason=graphene.String(required=True), note=graphene.String())
    service_function = staticmethod(incidents.set_pending)


class IncidentResolve(IncidentMutation):
    Arguments = ticket_arguments(
        resolution_code=graphene.String(required=True),
        resolution_notes=graphene.String(required=True),
    )
    service_function = staticmethod(incidents.resolve_incident)


class IncidentReopen(IncidentMutation):
    Arguments = ticket_arguments(reason=graphene.String(required=True))
    service_function = staticmethod(incidents.reopen_incident)


class IncidentClose(IncidentMutation):
    Arguments = ticket_arguments()
    service_function = staticmethod(incidents.close_incident)


class IncidentCancel(IncidentMutation):
    Arguments = ticket_arguments(reason=graphene.String(required=True))
    service_function = staticmethod(incidents.cancel_incident)


class IncidentChangePriority(IncidentMutation):
    Arguments = ticket_arguments(
        impact=graphene.String(required=True), urgency=graphene.String(required=True),
        reason=graphene.String(required=True),
    )  # fmt: skip
    service_function = staticmethod(incidents.change_priority)


class IncidentLinkProblem(IncidentMutation):
    Arguments = ticket_arguments(problem=graphene.ID(description="null unlinks"))
    service_function = staticmethod(incidents.link_problem)

    @classmethod
    def arguments(cls, info, problem=None):
        return {"problem": get_problem(problem, "problem") if problem else None}


class IncidentComment(BaseMutation):
    """A public comment (the caller sees it); `incidentWorkNote` adds an internal note."""

    class Arguments:
        id = graphene.ID(required=True)
        text = graphene.String(required=True)

    event = graphene.Field(IncidentEventType)
    public = True

    @classmethod
    def perform(cls, info, id, text):
        event = incidents.add_comment(
            get_incident(id, info), user=info.context.user, text=text, public=cls.public
        )
        return {"event": event}


class IncidentWorkNote(IncidentComment):
    public = False


class ProblemCreateInput(graphene.InputObjectType):
    title = graphene.String(required=True)
    description = graphene.String()
    applications = graphene.List(graphene.NonNull(graphene.ID))
    components = graphene.List(graphene.NonNull(graphene.ID))
    incidents = graphene.List(graphene.NonNull(graphene.ID))
    assigned_team = graphene.ID()
    assignee = graphene.ID()


class ProblemCreate(BaseMutation):
    class Arguments:
        input = ProblemCreateInput(required=True)

    problem = graphene.Field(ProblemType)

    @classmethod
    def perform(cls, info, input):
        data = decode_input(
            input, {"assigned_team": (Team, "TeamType"), "assignee": (User, "UserType")}
        )
        return {"problem": problems.open_problem(user=info.context.user, **data)}


class ProblemMutation(BaseMutation):
    """One step of a problem's lifecycle; `to_state` is fixed by the subclass."""

    class Meta:
        abstract = True

    problem = graphene.Field(ProblemType)
    to_state = None

    @classmethod
    def perform(cls, info, id, expected_version=None, **kwargs):
        problem = problems.transition_problem(
            get_problem(id), user=info.context.user, to_state=cls.to_state,
            expected_version=expected_version, **kwargs,
        )  # fmt: skip
        return {"problem": problem}


class ProblemInvestigate(ProblemMutation):
    Arguments = ticket_arguments()
    to_state = ProblemState.INVESTIGATING


class ProblemMarkKnownError(ProblemMutation):
    """Record the workaround (required) and flag the problem as a known error."""

    Arguments = ticket_arguments(workaround=graphene.String(), root_cause=graphene.String())
    to_state = ProblemState.KNOWN_ERROR


class ProblemResolve(ProblemMutation):
    """Resolved once the root cause (required) is fixed, usually by a change."""

    Arguments = ticket_arguments(root_cause=graphene.String())
    to_state = ProblemState.RESOLVED


class ProblemClose(ProblemMutation):
    Arguments = ticket_arguments()
    to_state = ProblemState.CLOSED


class ProblemCancel(ProblemMutation):
    Arguments = ticket_arguments()
    to_state = ProblemState.CANCELLED


class IncidentMutations(graphene.ObjectType):
    incident_create = IncidentCreate.Field()
    incident_assign = IncidentAssign.Field()
    incident_start_work = IncidentStartWork.Field()
    incident_set_pending = IncidentSetPending.Field()
    incident_resolve = IncidentResolve.Field()
    incident_reopen = IncidentReopen.Field()
    incident_close = IncidentClose.Field()
    incident_cancel = IncidentCancel.Field()
    incident_change_priority = IncidentChangePriority.Field()
    incident_link_problem = IncidentLinkProblem.Field()
    incident_comment = IncidentComment.Field()
    incident_work_note = IncidentWorkNote.Field()
    problem_create = ProblemCreate.Field()
    problem_investigate = ProblemInvestigate.Field()
    problem_mark_known_error = ProblemMarkKnownError.Field()
    problem_resolve = ProblemResolve.Field()
    problem_close = ProblemClose.Field()
    problem_cancel = ProblemCancel.Field()


CHANGE_REFERENCES = {
    "template": (ChangeTemplate, "ChangeTemplateType"),
    "owner_team": (Team, "TeamType"),
    "assignee": (User, "UserType"),
}


class ChangeInputFields:
    title = graphene.String()
    description = graphene.String()
    change_type = graphene.String(description="standard, normal or emergency")
    template = graphene.ID()
    reason = graphene.String()
    implementation_plan = graphene.String()
    backout_plan = graphene.String()
    test_plan = graphene.String()
    owner_team = graphene.ID()
    assignee = graphene.ID()
    planned_start = graphene.DateTime()
    planned_end = graphene.DateTime()
    applications = graphene.List(graphene.NonNull(graphene.ID))
    components = graphene.List(graphene.NonNull(graphene.ID))


class ChangeCreateInput(ChangeInputFields, graphene.InputObjectType):
    pass


class ChangeUpdateInput(ChangeInputFields, graphene.InputObjectType):
    pass


def decode_change_input(input) -> dict:
    return decode_input(input, CHANGE_REFERENCES)


class ChangeCreate(BaseMutation):
    class Arguments:
        input = ChangeCreateInput(required=True)

    change = graphene.Field(ChangeType)

    @classmethod
    def perform(cls, info, input):
        change = changes.create_change(user=info.context.user, **decode_change_input(input))
        return {"change": change}


class ChangeMutation(StepMutation):
    """A step of one change."""

    class Meta:
        abstract = True

    change = graphene.Field(ChangeType)
    node_type = ChangeType
    result_field = "change"


class ChangeUpdate(ChangeMutation):
    Arguments = ticket_arguments(input=ChangeUpdateInput(required=True))
    service_function = staticmethod(changes.update_change)

    @classmethod
    def arguments(cls, info, input):
        return decode_change_input(input)


class ChangeSubmit(ChangeMutation):
    Arguments = ticket_arguments()
    service_function = staticmethod(changes.submit_for_assessment)


class ChangeAssess(ChangeMutation):
    Arguments = ticket_arguments()
    service_function = staticmethod(changes.assess_change)


class ChangeRequestAuthorization(ChangeMutation):
    Arguments = ticket_arguments(reason=graphene.String())
    service_function = staticmethod(changes.request_authorization)


class ChangeApprove(ChangeMutation):
    Arguments = ticket_arguments(
        role=graphene.String(description="change_manager or emergency_cab"),
        team=graphene.ID(description="approve on behalf of this owner team"),
        comment=graphene.String(),
    )  # fmt: skip
    service_function = staticmethod(changes.approve_change)

    @classmethod
    def arguments(cls, info, role=None, team=None, comment=""):
        team = resolve_global_id(Team, team, "team", "TeamType") if team else None
        return {"role": role, "team": team, "comment": comment or ""}


class ChangeReject(ChangeApprove):
    Arguments = ticket_arguments(
        role=graphene.String(), team=graphene.ID(), comment=graphene.String(required=True)
    )
    service_function = staticmethod(changes.reject_change)


class ChangeSchedule(ChangeMutation):
    Arguments = ticket_arguments(
        planned_start=graphene.DateTime(), planned_end=graphene.DateTime(),
        freeze_override_reason=graphene.String(
            description="emergency changes only: why the change cannot wait for the freeze"),
    )  # fmt: skip
    service_function = staticmethod(changes.schedule_change)


class ChangeStart(ChangeMutation):
    Arguments = ticket_arguments()
    service_function = staticmethod(changes.start_implementation)


class ChangeComplete(ChangeMutation):
    Arguments = ticket_arguments(
        outcome=graphene.String(required=True, description="successful, failed, rolled_back"),
        notes=graphene.String(),
    )
    service_function = staticmethod(changes.complete_implementation)


class ChangeClose(ChangeMutation):
    Arguments = ticket_arguments(review_notes=graphene.String(required=True))
    service_function = staticmethod(changes.close_change)


class ChangeCancel(ChangeMutation):
    Arguments = ticket_arguments(reason=graphene.String(required=True))
    service_function = staticmethod(changes.cancel_change)


class ChangeMutations(graphene.ObjectType):
    change_create = ChangeCreate.Field()
    change_update = ChangeUpdate.Field()
    change_submit = ChangeSubmit.Field()
    change_assess = ChangeAssess.Field()
    change_request_authorization = ChangeRequestAuthorization.Field()
    change_approve = ChangeApprove.Field()
    change_reject = ChangeReject.Field()
    change_schedule = ChangeSchedule.Field()
    change_start = ChangeStart.Field()
    change_complete = ChangeComplete.Field()
    change_close = ChangeClose.Field()
    change_cancel = ChangeCancel.Field()


class RequirementInputFields:
    title = graphene.String()
    description = graphene.String()
    kind = graphene.String(description="new_application, enhancement, infrastructure, "
                           "procurement, legal_obligation")  # fmt: skip
    applications = graphene.List(graphene.NonNull(graphene.ID))
    business_value = graphene.Int(description="1, 2, 3, 5, 8, 13 or 20")
    time_criticality = graphene.Int()
    risk_reduction = graphene.Int()
    job_size = graphene.Int()
    legal_basis = graphene.String()
    due_date = graphene.Date()


class RequirementSubmitInput(RequirementInputFields, graphene.InputObjectType):
    requesting_org_unit = graphene.ID(required=True)


class RequirementUpdateInput(RequirementInputFields, graphene.InputObjectType):
    pass


class RequirementSubmit(BaseMutation):
    class Arguments:
        input = RequirementSubmitInput(required=True)

    requirement = graphene.Field(RequirementType)

    # The input type is shared with RequirementUpdate, where every field is optional.
    required_fields = (
        "title", "kind", "business_value", "time_criticality", "risk_reduction", "job_size",
    )  # fmt: skip

    @classmethod
    def perform(cls, info, input):
        missing = [name for name in cls.required_fields if input.get(name) is None]
        if missing:
            raise ValidationError(
                {name: ValidationError(_("This field is required."), code="required")
                 for name in missing}
            )  # fmt: skip
        data = decode_input(input, {"requesting_org_unit": (OrgUnit, "OrgUnitType")})
        return {"requirement": requirements.submit_requirement(user=info.context.user, **data)}


class RequirementMutation(StepMutation):
    """A step of one requirement (only of a requirement the user may see)."""

    class Meta:
        abstract = True

    requirement = graphene.Field(RequirementType)
    node_type = RequirementType
    result_field = "requirement"


class RequirementUpdate(RequirementMutation):
    Arguments = ticket_arguments(input=RequirementUpdateInput(required=True))
    service_function = staticmethod(requirements.update_requirement)

    @classmethod
    def arguments(cls, info, input):
        return decode_input(input, {})


def requirement_step(name: str, function, **arguments):
    """A RequirementMutation subclass named `name` calling one service function."""
    return type(
        name,
        (RequirementMutation,),
        {
            "Arguments": ticket_arguments(**arguments),
            "service_function": staticmethod(function),
            "__doc__": function.__doc__,
        },
    )


def required_reason():
    return graphene.String(required=True)


class RequirementLinkChange(RequirementMutation):
    Arguments = ticket_arguments(change=graphene.ID(required=True))
    service_function = staticmethod(requirements.link_change)

    @classmethod
    def arguments(cls, info, change):
        return {"change": resolve_global_id(Change, change, "change", "ChangeType")}


class RequirementUnlinkChange(RequirementLinkChange):
    Arguments = ticket_arguments(change=graphene.ID(required=True))
    service_function = staticmethod(requirements.unlink_change)


class RequirementMutations(graphene.ObjectType):
    requirement_submit = RequirementSubmit.Field()
    requirement_update = RequirementUpdate.Field()
    requirement_review = requirement_step(
        "RequirementReview", requirements.review_requirement
    ).Field()
    requirement_approve = requirement_step(
        "RequirementApprove", requirements.approve_requirement, reason=graphene.String()
    ).Field()
    requirement_reject = requirement_step(
        "RequirementReject", requirements.reject_requirement, reason=required_reason()
    ).Field()
    requirement_return = requirement_step(
        "RequirementReturn", requirements.return_requirement, reason=required_reason()
    ).Field()
    requirement_withdraw = requirement_step(
        "RequirementWithdraw", requirements.withdraw_requirement, reason=required_reason()
    ).Field()
    requirement_plan = requirement_step(
        "RequirementPlan", requirements.plan_requirement, reason=graphene.String()
    ).Field()
    requirement_replan = requirement_step(
        "RequirementReplan", requirements.replan_requirement, reason=required_reason()
    ).Field()
    requirement_start_delivery = requirement_step(
        "RequirementStartDelivery", requirements.start_delivery
    ).Field()
    requirement_complete = requirement_step(
        "RequirementComplete", requirements.complete_requirement, note=graphene.String()
    ).Field()
    requirement_link_change = RequirementLinkChange.Field()
    requirement_unlink_change = RequirementUnlinkChange.Field()


class Mutation(IncidentMutations, ChangeMutations, RequirementMutations, graphene.ObjectType):
    pass

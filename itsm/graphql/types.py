import graphene
from graphene import relay
from graphql_relay import to_global_id

from itsm.filtersets import ChangeFilterSet, IncidentFilterSet, ProblemFilterSet
from itsm.models import (
    BusinessCalendar,
    Change,
    ChangeApproval,
    ChangeTemplate,
    FreezeWindow,
    Incident,
    IncidentEvent,
    Problem,
    Requirement,
    ServiceLevel,
    ServiceLevelTarget,
)
from itsm.requirement_filtersets import RequirementFilterSet
from itsm.services import changes as change_services
from itsm.services import conflicts
from itsm.services import incidents as incident_services
from itsm.services.incidents import visible_incident_events, visible_incidents
from itsm.services.requirements import visible_requirements
from landkarte.graphql import (
    BaseNodeType,
    InstanceField,
    InstanceListField,
    batched,
    register_rows,
    request_graph,
)


class IncidentEventType(BaseNodeType):
    class Meta:
        model = IncidentEvent
        fields = ("id", "kind", "author", "text", "is_public", "from_state", "to_state", "at")
        interfaces = (relay.Node,)

    @classmethod
    def filter_queryset(cls, queryset, info):
        return visible_incident_events(info.context.user, super().filter_queryset(queryset, info))


class IncidentType(BaseNodeType):
    class Meta:
        model = Incident
        fields = (
            "id", "number", "title", "description", "category", "state", "impact", "urgency",
            "priority", "caller", "caller_name", "caller_org_unit", "service", "applications",
            "components", "assigned_team", "assignee", "is_major", "parent", "children",
            "problem", "pending_reason", "resolution_code", "resolution_notes", "opened_at",
            "closed_at", "reopen_count", "reassignment_count", "service_level", "response_due",
            "resolution_due", "responded_at", "resolved_at", "paused_since", "paused_minutes",
            "response_minutes", "resolution_minutes", "response_breached",
            "resolution_breached", "version", "timeline", "created", "updated",
        )  # fmt: skip
        filterset_class = IncidentFilterSet
        interfaces = (relay.Node,)

    # resolve_parent checks the parent's caller (incident_visible_to).
    always_reads = ("caller_id",)

    @classmethod
    def filter_queryset(cls, queryset, info):
        return visible_incidents(info.context.user, super().filter_queryset(queryset, info))

    # Loaded for the query's selection, for all incidents of a list at once (InstanceListField).
    known_errors = InstanceListField(
        lambda: ProblemType, required=True,
        description="known errors on the affected applications and what they depend on",
    )  # fmt: skip
    related_open_incidents = InstanceListField(
        lambda: IncidentType, required=True,
        description="other open incidents on the affected applications and their dependencies",
    )  # fmt: skip

    @staticmethod
    def resolve_parent(incident, info):
        # A relation to an incident the reader may not see is null, like node(id).
        parent = incident.parent
        if parent is None or not incident_services.incident_visible_to(info.context.user, parent):
            return None
        return parent

    @staticmethod
    def resolve_known_errors(incident, info):
        return _related(incident, info)["known_errors"]

    @staticmethod
    def resolve_related_open_incidents(incident, info):
        return _related(incident, info)["open_incidents"]


def _related(incident, info) -> dict:
    """related_for(incident), narrowed to what the reader may see; on a row of a list, for all
    rows at once (related_for_many)."""

    def compute(rows):
        loaded = request_graph(info) if len(rows) > 1 else None
        if loaded is None:
            found = {}
            for row in rows:
                related = incident_services.related_for(row)
                found[row.pk] = {
                    "known_errors": ProblemType.filter_queryset(related["known_errors"], info),
                    "open_incidents": IncidentType.filter_queryset(related["open_incidents"], info),
                }
            return found
        return incident_services.related_for_many(
            rows,
            problems=ProblemType.filter_queryset(Problem.objects.all(), info),
            open_incidents=IncidentType.filter_queryset(Incident.objects.all(), info),
            loaded_graph=loaded,
        )

    return batched(info, incident, "related", compute)


class ProblemType(BaseNodeType):
    class Meta:
        model = Problem
        fields = (
            "id", "number", "title", "description", "state", "root_cause", "workaround",
            "is_known_error", "applications", "components", "changes", "assigned_team",
            "assignee", "opened_at", "resolved_at", "closed_at", "version", "incidents",
            "created", "updated",
        )  # fmt: skip
        filterset_class = ProblemFilterSet
        interfaces = (relay.Node,)


class ChangeTemplateType(BaseNodeType):
    class Meta:
        model = ChangeTemplate
        fields = ("id", "name", "description", "implementation_plan", "backout_plan",
                  "test_plan", "max_risk", "active")  # fmt: skip
        interfaces = (relay.Node,)


class ChangeApprovalType(BaseNodeType):
    class Meta:
        model = ChangeApproval
        fields = ("id", "approver", "role", "on_behalf_of_team", "decision", "comment",
                  "decided_at")  # fmt: skip
        interfaces = (relay.Node,)


class FreezeWindowType(BaseNodeType):
    class Meta:
        model = FreezeWindow
        fields = ("id", "name", "start", "end", "reason", "applies_to_all", "applications",
                  "services")  # fmt: skip
        interfaces = (relay.Node,)


class RiskFactorType(graphene.ObjectType):
    factor = graphene.String(required=True)
    value = graphene.String()
    points = graphene.Int(required=True)
    explanation = graphene.String()


class RequiredApprovalType(graphene.ObjectType):
    label = graphene.String(required=True)
    role = graphene.String()
    team = graphene.Field("cmdb.graphql.types.TeamType")
    satisfied = graphene.Boolean(required=True)
    approval = graphene.Field(ChangeApprovalType)


class ConflictType(graphene.ObjectType):
    # The changes, freeze windows and applications are loaded for the query's selection, for
    # all conflicts of a list at once (InstanceField): a resolver registers the list.
    kind = graphene.String(required=True, description="same_application, "
                           "dependent_application or freeze_window")  # fmt: skip
    change = InstanceField(lambda: ChangeType, required=True)
    other_change = InstanceField(lambda: ChangeType)
    freeze_window = InstanceField(FreezeWindowType)
    applications = InstanceListField("cmdb.graphql.types.ApplicationType", required=True)
    path = graphene.List(graphene.NonNull(graphene.ID), required=True,
                         description="application ids linking the two changes")  # fmt: skip
    message = graphene.String(required=True)

    @staticmethod
    def from_conflict(conflict):
        other = conflict.other
        return ConflictType(
            kind=conflict.kind, change=conflict.change,
            other_change=other if isinstance(other, Change) else None,
            freeze_window=other if isinstance(other, FreezeWindow) else None,
            applications=conflict.applications,
            path=[to_global_id("ApplicationType", pk) for pk in conflict.path],
            message=conflict.message,
        )  # fmt: skip


class ChangeType(BaseNodeType):
    class Meta:
        model = Change
        fields = (
            "id", "number", "title", "description", "change_type", "template", "reason",
            "implementation_plan", "backout_plan", "test_plan", "state", "requested_by",
            "owner_team", "assignee", "applications", "components", "planned_start",
            "planned_end", "actual_start", "actual_end", "risk", "risk_score", "outcome",
            "review_notes", "closed_at", "version", "freeze_override_reason", "approvals",
            "problems", "created", "updated",
        )  # fmt: skip
        filterset_class = ChangeFilterSet
        interfaces = (relay.Node,)

    risk_factors = graphene.List(graphene.NonNull(RiskFactorType), required=True)
    required_approvals = graphene.List(graphene.NonNull(RequiredApprovalType), required=True)
    conflicts = graphene.List(
        graphene.NonNull(ConflictType), required=True, depth=graphene.Int(
            description="how far dependencies count (default: the configured depth)")
    )  # fmt: skip

    @staticmethod
    def resolve_risk_factors(change, info):
        return [RiskFactorType(**{k: factor.get(k) for k in
                                  ("factor", "value", "points", "explanation")})
                for factor in change.risk_factors or []]  # fmt: skip

    @staticmethod
    def resolve_required_approvals(change, info):
        return [
            RequiredApprovalType(
                label=r.label, role=r.role, team=r.team, satisfied=r.satisfied, approval=r.approval
            )  # fmt: skip
            for r in change_services.required_approvals(change)
        ]

    # What the services read: required_approvals and conflicts use prefetched approvals and
    # applications (with their owner teams) instead of querying per change.
    field_reads = {
        "required_approvals": (
            "*",
            "approvals__*",
            "approvals__approver__*",
            "applications__owner_team__*",
        ),
        "conflicts": ("*", "applications__*"),
    }

    @staticmethod
    def resolve_conflicts(change, info, depth=None):
        def compute(rows):
            loaded = request_graph(info) if len(rows) > 1 else None
            if loaded is None:
                found = {row.pk: conflicts.conflicts_for(row, depth) for row in rows}
            else:
                found = conflicts.conflicts_for_changes(
                    rows, depth, graph=loaded, include_inactive=True
                )
            answers = {pk: [ConflictType.from_conflict(c) for c in cs] for pk, cs in found.items()}
            register_rows(info, [answer for items in answers.values() for answer in items])
            return answers

        return batched(info, change, ("conflicts", depth), compute)


class ServiceLevelTargetType(BaseNodeType):
    class Meta:
        model = ServiceLevelTarget
        fields = ("id", "priority", "response_minutes", "resolution_minutes")
        interfaces = (relay.Node,)


class BusinessCalendarType(BaseNodeType):
    class Meta:
        model = BusinessCalendar
        fields = ("id", "name", "time_zone", "holiday_country", "holiday_subdivision",
                  "is_default")  # fmt: skip
        interfaces = (relay.Node,)


class ServiceLevelType(BaseNodeType):
    class Meta:
        model = ServiceLevel
        fields = ("id", "name", "service", "calendar", "targets")
        interfaces = (relay.Node,)


class KpisType(graphene.ObjectType):
    start = graphene.DateTime(required=True)
    end = graphene.DateTime(required=True)
    incidents_opened = graphene.Int(required=True)
    incidents_resolved = graphene.Int(required=True)
    mtta_minutes = graphene.Float(description="mean time to respond, business minutes")
    mttr_minutes = graphene.Float(description="mean time to resolve, business minutes")
    sla_compliance = graphene.Float(description="% of resolved incidents within both targets")
    reopen_rate = graphene.Float(description="% of resolved incidents reopened")
    first_time_fix_rate = graphene.Float(description="% resolved without reassignment or reopening")
    backlog_size = graphene.Int(required=True)
    backlog_mean_age_days = graphene.Float()
    changes_completed = graphene.Int(required=True)
    change_success_rate = graphene.Float(description="% of completed changes that succeeded")
    changes_planned = graphene.Int(required=True)
    emergency_change_share = graphene.Float(description="% of planned changes that were "
                                            "emergency changes")  # fmt: skip


class RequirementType(BaseNodeType):
    class Meta:
        model = Requirement
        fields = (
            "id", "number", "title", "description", "kind", "state", "requesting_org_unit",
            "requested_by", "applications", "business_value", "time_criticality",
            "risk_reduction", "job_size", "wsjf", "legal_basis", "due_date", "changes",
            "decision_reason", "delivery_note", "submitted_at", "decided_at", "done_at",
            "version", "created", "updated",
        )  # fmt: skip
        filterset_class = RequirementFilterSet
        interfaces = (relay.Node,)

    wsjf = graphene.Float(
        required=True,
        description="(business value + time criticality + risk reduction) / job size",
    )
    # Relations to a requirement check who asked for it (requirement_visible_to).
    always_reads = ("requested_by_id", "requesting_org_unit_id")

    @staticmethod
    def resolve_wsjf(requirement, info):
        return float(requirement.wsjf)

    @classmethod
    def filter_queryset(cls, queryset, info):
        # Requesters see their office's requirements only, wherever the type appears.
        return visible_requirements(info.context.user, super().filter_queryset(queryset, info))

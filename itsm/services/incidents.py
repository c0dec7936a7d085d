"""Incident management: every state change and edit of an incident goes through here.

Each function checks who may act and what the target state requires, locks the incident row,
refuses a stale `expected_version` (someone else changed it since the caller read it), moves the
SLA clock, writes a timeline event and a history record naming the user and the reason.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cmdb import graph
from itsm.choices import (
    INCIDENT_TRANSITIONS,
    OPEN_INCIDENT_STATES,
    IncidentEventKind,
    IncidentState,
    PendingReason,
    ResolutionCode,
)
from itsm.models import Incident, IncidentEvent, Problem, next_number
from itsm.services import sla
from landkarte.roles import AUDITOR, SERVICE_DESK, can_read, has_role, require_role
from landkarte.services import field_error as error
from landkarte.services import history_reason, lock_for_update

# Anyone with a role except the auditor may report an incident and comment on their own.
REPORTER_ROLES = ("service_desk", "change_manager", "architect", "procurement", "requester")
# Superusers pass every role check.
AGENT_ROLES = (SERVICE_DESK,)
# Work notes are IT-internal: agents and change managers write them and comment on any incident.
WORK_NOTE_ROLES = (*AGENT_ROLES, "change_manager")
# IT staff and auditors follow every incident; everybody else only the ones they raised.
STAFF_ROLES = ("service_desk", "change_manager", "architect", "procurement", AUDITOR)


def _require_caller_or_agent(incident: Incident, user) -> None:
    """Reopening and closing: the service desk for any incident, a reporter for their own."""
    if has_role(user, *AGENT_ROLES):
        return
    require_role(user, *REPORTER_ROLES)
    if incident.caller_id != user.pk:
        raise PermissionDenied(_("Only the caller or the service desk may do this."))


def _lock(incident: Incident, expected_version: int | None) -> Incident:
    return lock_for_update(incident, expected_version)


def _save(incident: Incident, user, reason: str) -> None:
    incident.version += 1
    incident.full_clean(exclude=["applications", "components"])
    incident._history_user = user
    incident._change_reason = history_reason(reason)
    incident.save()


def _event(incident, kind, user, now, text="", is_public=False, **extra) -> IncidentEvent:
    return IncidentEvent.objects.create(
        incident=incident, kind=kind, author=user, text=text, is_public=is_public, at=now,
        from_state=extra.pop("from_state", ""), to_state=extra.pop("to_state", ""),
        data=extra,
    )  # fmt: skip


def _check_transition(incident: Incident, target: str) -> None:
    if target not in INCIDENT_TRANSITIONS[incident.state]:
        raise error(
            "state",
            _("An incident cannot go from %(from)s to %(to)s.")
            % {
                "from": IncidentState(incident.state).label,
                "to": IncidentState(target).label,
            },
            "invalid_transition",
        )


def _move(incident: Incident, target: str, user, now, text="", **extra) -> None:
    previous = incident.state
    incident.state = target
    _event(
        incident, IncidentEventKind.STATE_CHANGE, user, now, text=text, is_public=True,
        from_state=previous, to_state=target, **extra,
    )  # fmt: skip


@transaction.atomic
def open_incident(
    *, user, title: str, impact: str, urgency: str, description: str = "", category=None,
    caller=None, caller_name: str = "", caller_org_unit=None, service=None, applications=(),
    components=(), assigned_team=None, is_major: bool = False, parent=None, now=None,
) -> Incident:  # fmt: skip
    require_role(user, *REPORTER_ROLES)
    if caller is not None and caller != user and not has_role(user, *AGENT_ROLES):
        raise error("caller", _("Only the service desk reports for someone else."),
                    "permission_denied")  # fmt: skip
    now = now or timezone.now()
    incident = Incident(
        title=title, description=description, impact=impact, urgency=urgency,
        caller=caller if caller is not None else user, caller_name=caller_name,
        caller_org_unit=caller_org_unit, service=service, assigned_team=assigned_team,
        is_major=is_major, parent=parent, opened_at=now,
    )  # fmt: skip
    if category:
        incident.category = category
    if incident.caller_org_unit is None and incident.caller is not None:
        team = incident.caller.teams.select_related("org_unit").first()
        incident.caller_org_unit = team.org_unit if team else None
    errors = {}
    try:
        incident.priority = sla.priority_for(impact, urgency)
    except (KeyError, ValueError):
        incident.priority = ""
    try:
        incident.full_clean(exclude=["number", "priority", "applications", "components"])
    except ValidationError as exc:
        errors = exc.update_error_dict(errors)
    if parent is not None and parent.parent_id is not None:
        errors.setdefault("parent", []).append(
            ValidationError(_("A child incident cannot be a parent."), code="nested_parent")
        )
    if errors:
        raise ValidationError(errors)
    # The year of the number is the local year, as people read it (changes do the same).
    incident.number = next_number("INC", timezone.localtime(now).year)
    sla.start_clock(incident, now)
    incident._history_user = user
    incident._change_reason = "opened"
    incident.save()
    incident.applications.set(applications)
    incident.components.set(components)
    _event(incident, IncidentEventKind.CREATED, user, now, text=title, is_public=True)
    return incident


@transaction.atomic
def assign_incident(
    incident, *, user, team, assignee, expected_version=None, note: str = "", now=None
) -> Incident:
    """Assign to a team and an agent of that team. The first assignment is the response."""
    require_role(user, *AGENT_ROLES)
    now = now or timezone.now()
    incident = _lock(incident, expected_version)
    _check_transition(incident, IncidentState.ASSIGNED)
    if team is None:
        raise error("team", _("Choose the assignment group."), "required")
    if assignee is None:
        raise error("assignee", _("Choose the agent."), "required")
    if not team.members.filter(pk=assignee.pk).exists():
        raise error(
            "assignee",
            _("%(agent)s is not a member of %(team)s.") % {"agent": assignee, "team": team},
            "not_team_member",
        )
    if incident.assigned_team_id and incident.assigned_team_id != team.pk:
        incident.reassignment_count += 1
    previous = (incident.assigned_team_id, incident.assignee_id)
    incident.assigned_team, incident.assignee = team, assignee
    if incident.state == IncidentState.PENDING:
        sla.resume(incident, now)
        incident.pending_reason = ""
    if incident.state != IncidentState.ASSIGNED:
        _move(incident, IncidentState.ASSIGNED, user, now)
    sla.record_response(incident, now)
    _event(
        incident, IncidentEventKind.ASSIGNMENT, user, now, text=note,
        team=team.pk, assignee=assignee.pk, previous_team=previous[0],
        previous_assignee=previous[1],
    )  # fmt: skip
    _save(incident, user, f"assigned to {team} / {assignee}")
    return incident


@transaction.atomic
def start_work(incident, *, user, expected_version=None, now=None) -> Incident:
    require_role(user, *AGENT_ROLES)
    now = now or timezone.now()
    incident = _lock(incident, expected_version)
    if incident.state == IncidentState.RESOLVED:
        # Starting would drop the resolution without counting a reopen or moving the SLA
        # clock (a worker who had not seen the resolution): reopen_incident does that.
        raise error(
            "state",
            _("This incident has been resolved; reopen it with a reason instead."),
            "invalid_transition",
        )
    _check_transition(incident, IncidentState.IN_PROGRESS)
    if incident.assignee_id is None:
        raise error("assignee", _("Assign an agent first."), "required")
    if incident.state == IncidentState.PENDING:
        sla.resume(incident, now)
        incident.pending_reason = ""
    sla.record_response(incident, now)
    _move(incident, IncidentState.IN_PROGRESS, user, now)
    _save(incident, user, "work started")
    return incident


@transaction.atomic
def set_pending(
    incident, *, user, reason: str, note: str = "", expected_version=None, now=None
) -> Incident:
    """Wait for the caller, a vendor, a change or a problem fix: the resolution clock stops."""
    require_role(user, *AGENT_ROLES)
    now = now or timezone.now()
    incident = _lock(incident, expected_version)
    _check_transition(incident, IncidentState.PENDING)
    if not reason:
        raise error("reason", _("Say what the incident is waiting for."), "required")
    if reason not in PendingReason.values:
        raise error("reason", _("Unknown pending reason."), "invalid_choice")
    incident.pending_reason = reason
    sla.record_response(incident, now)
    sla.pause(incident, now)
    _move(incident, IncidentState.PENDING, user, now, text=note, reason=reason)
    _save(incident, user, f"pending: {reason}")
    return incident


@transaction.atomic
def resolve_incident(
    incident, *, user, resolution_code: str, resolution_notes: str, expected_version=None,
    now=None, _via_parent: bool = False,
) -> Incident:  # fmt: skip
    """Resolve; the children of a parent incident are resolved with its resolution."""
    require_role(user, *AGENT_ROLES)
    now = now or timezone.now()
    incident = _lock(incident, expected_version)
    if not _via_parent:
        # A child nobody picked up yet is still resolved through its parent.
        _check_transition(incident, IncidentState.RESOLVED)
    errors = {}
    if not resolution_code:
        errors["resolution_code"] = ValidationError(_("Choose a resolution code."), "required")
    elif resolution_code not in ResolutionCode.values:
        errors["resolution_code"] = ValidationError(_("Unknown resolution code."), "invalid_choice")
    if not (resolution_notes or "").strip():
        errors["resolution_notes"] = ValidationError(
            _("Describe how the incident was resolved."), "required"
        )
    if errors:
        raise ValidationError(errors)
    incident.resolution_code = resolution_code
    incident.resolution_notes = resolution_notes
    incident.pending_reason = ""
    sla.record_response(incident, now)
    sla.record_resolution(incident, now)
    _move(incident, IncidentState.RESOLVED, user, now, text=resolution_notes)
    _save(incident, user, f"resolved: {resolution_code}")
    for child in incident.children.filter(state__in=OPEN_INCIDENT_STATES):
        resolve_incident(
            child, user=user, resolution_code=resolution_code,
            resolution_notes=resolution_notes, now=now, _via_parent=True,
        )  # fmt: skip
    return incident


@transaction.atomic
def reopen_incident(incident, *, user, reason: str, expected_version=None, now=None):
    _require_caller_or_agent(incident, user)
    now = now or timezone.now()
    incident = _lock(incident, expected_version)
    if incident.state != IncidentState.RESOLVED:
        # Only a resolution can be reopened; an open incident resumes with start_work.
        raise error(
            "state",
            _("Only a resolved incident can be reopened; this one is %(state)s.")
            % {"state": IncidentState(incident.state).label},
            "invalid_transition",
        )
    if not (reason or "").strip():
        raise error("reason", _("Say why the incident is reopened."), "required")
    sla.reopen(incident, now)
    incident.reopen_count += 1
    incident.resolution_code = ""
    incident.resolution_notes = ""
    _move(incident, IncidentState.IN_PROGRESS, user, now, text=reason, reopened=True)
    _save(incident, user, "reopened")
    return incident


@transaction.atomic
def close_incident(incident, *, user, expected_version=None, now=None) -> Incident:
    _require_caller_or_agent(incident, user)
    now = now or timezone.now()
    incident = _lock(incident, expected_version)
    _check_transition(incident, IncidentState.CLOSED)
    incident.closed_at = now
    _move(incident, IncidentState.CLOSED, user, now)
    _save(incident, user, "closed")
    return incident


@transaction.atomic
def cancel_incident(incident, *, user, reason: str, expected_version=None, now=None):
    require_role(user, *AGENT_ROLES)
    now = now or timezone.now()
    incident = _lock(incident, expected_version)
    _check_transition(incident, IncidentState.CANCELLED)
    if not (reason or "").strip():
        raise error("reason", _("Say why the incident is cancelled."), "required")
    incident.closed_at = now
    incident.paused_since = None
    incident.pending_reason = ""
    _move(incident, IncidentState.CANCELLED, user, now, text=reason)
    _save(incident, user, "cancelled")
    return incident


@transaction.atomic
def change_priority(
    incident, *, user, impact: str, urgency: str, reason: str, expected_version=None, now=None
) -> Incident:
    require_role(user, *AGENT_ROLES)
    now = now or timezone.now()
    incident = _lock(incident, expected_version)
    if not incident.is_open:
        raise error("state", _("Only open incidents can be re-prioritised."), "invalid_state")
    if not (reason or "").strip():
        raise error("reason", _("Say why the priority changes."), "required")
    previous = incident.priority
    incident.impact, incident.urgency = impact, urgency
    incident.full_clean(exclude=["applications", "components", "priority"])
    incident.priority = sla.priority_for(impact, urgency)
    sla.retarget(incident, now)
    _event(
        incident, IncidentEventKind.PRIORITY_CHANGE, user, now, text=reason,
        previous=previous, priority=incident.priority,
    )  # fmt: skip
    _save(incident, user, f"priority {previous} -> {incident.priority}")
    return incident


@transaction.atomic
def add_comment(incident, *, user, text: str, public: bool = True, now=None) -> IncidentEvent:
    """A comment is visible to the caller; a work note (public=False) only to IT staff."""
    now = now or timezone.now()
    is_caller = incident.caller_id == getattr(user, "pk", None)
    if public:
        if is_caller and not has_role(user, *WORK_NOTE_ROLES):
            # Auditors change nothing, not even on an incident raised in their name.
            require_role(user, *REPORTER_ROLES)
        elif not is_caller:
            require_role(user, *WORK_NOTE_ROLES)
    else:
        require_role(user, *WORK_NOTE_ROLES)
    if not (text or "").strip():
        raise error("text", _("Write something."), "required")
    kind = IncidentEventKind.COMMENT if public else IncidentEventKind.WORK_NOTE
    return _event(incident, kind, user, now, text=text, is_public=public)


@transaction.atomic
def link_problem(incident, *, user, problem: Problem | None, expected_version=None, now=None):
    require_role(user, *AGENT_ROLES)
    now = now or timezone.now()
    incident = _lock(incident, expected_version)
    incident.problem = problem
    _event(
        incident, IncidentEventKind.LINK, user, now,
        text=problem.number if problem else "", problem=problem.pk if problem else None,
    )  # fmt: skip
    _save(incident, user, f"linked to {problem.number}" if problem else "problem unlinked")
    return incident


def business_days_later(calendar, start: datetime.datetime, days: int) -> datetime.datetime:
    """The same wall-clock time `days` business days after `start` (days with working time)."""
    moment = start.astimezone(ZoneInfo(calendar.time_zone))
    remaining = days
    while remaining > 0:
        moment += datetime.timedelta(days=1)
        day_start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        if sla.business_minutes_between(
            calendar, day_start, day_start + datetime.timedelta(days=1)
        ):
            remaining -= 1
    return moment


def close_resolved_incidents(*, user, business_days: int, now=None) -> list[str]:
    """Close incidents resolved more than `business_days` business days ago (run by cron)."""
    now = now or timezone.now()
    closed = []
    default_calendar, _default_level = sla.ensure_default_calendar()
    resolved = Incident.objects.filter(state=IncidentState.RESOLVED, resolved_at__lt=now)
    for incident in resolved.select_related("service_level__calendar"):
        calendar = incident.service_level.calendar if incident.service_level else default_calendar
        if business_days_later(calendar, incident.resolved_at, business_days) <= now:
            close_incident(incident, user=user, now=now)
            closed.append(incident.number)
    return closed


def related_for(incident: Incident) -> dict:
    """What helps an agent on this incident: known errors and other open incidents on its
    applications and on the applications they depend on (through interfaces)."""
    app_ids = set(incident.applications.values_list("pk", flat=True))
    depends_on = set()
    for app_id in app_ids:
        depends_on |= {node.application_id for node in graph.dependencies(app_id, depth=None)}
    scope = app_ids | depends_on
    component_ids = set(incident.components.values_list("pk", flat=True))
    known_errors = (
        Problem.objects.filter(is_known_error=True)
        .exclude(state__in=["closed", "cancelled"])
        .filter(Q(applications__in=scope) | Q(components__in=component_ids))
        .distinct()
    )
    open_incidents = (
        Incident.objects.filter(state__in=OPEN_INCIDENT_STATES, applications__in=scope)
        .exclude(pk=incident.pk)
        .distinct()
    )
    return {
        "known_errors": known_errors,
        "open_incidents": open_incidents,
        "dependency_application_ids": depends_on - app_ids,
    }


def related_for_many(
    incidents, *, problems=None, open_incidents=None, loaded_graph=None
) -> dict[int, dict]:
    """incident pk → what related_for() finds (known errors and other open incidents, as
    lists in the same order), for many incidents in a constant number of queries: their
    applications and components, the dependency walks in `loaded_graph` (a
    cmdb.graph.LoadedGraph; loaded here when not given), and one query each for the candidate
    problems and incidents. `problems` and `open_incidents` narrow the candidates (to what a
    reader may see, for instance)."""
    from cmdb.graph import LoadedGraph

    incidents = list(incidents)
    ids = [incident.pk for incident in incidents]
    apps_of = _related_ids(Incident.applications.through, "application_id", ids)
    components_of = _related_ids(Incident.components.through, "itcomponent_id", ids)
    loaded_graph = loaded_graph or LoadedGraph()
    scope_of = {}
    for pk in ids:
        app_ids = apps_of.get(pk, set())
        scope_of[pk] = app_ids | set(loaded_graph.dependencies(*app_ids, depth=None))
    all_scope = set().union(*scope_of.values()) if scope_of else set()
    all_components = set().union(*components_of.values()) if components_of else set()

    problems = Problem.objects.all() if problems is None else problems
    known_errors = list(
        problems.filter(is_known_error=True)
        .exclude(state__in=["closed", "cancelled"])
        .filter(Q(applications__in=all_scope) | Q(components__in=all_components))
        .distinct()
    )
    problem_ids = [problem.pk for problem in known_errors]
    problem_apps = _related_ids(Problem.applications.through, "application_id", problem_ids,
                                owner="problem_id")  # fmt: skip
    problem_components = _related_ids(Problem.components.through, "itcomponent_id", problem_ids,
                                      owner="problem_id")  # fmt: skip

    open_incidents = Incident.objects.all() if open_incidents is None else open_incidents
    candidates = list(
        open_incidents.filter(state__in=OPEN_INCIDENT_STATES, applications__in=all_scope).distinct()
    )
    candidate_apps = _related_ids(
        Incident.applications.through, "application_id", [c.pk for c in candidates]
    )

    result = {}
    for pk in ids:
        scope, components = scope_of[pk], components_of.get(pk, set())
        result[pk] = {
            "known_errors": [
                problem
                for problem in known_errors
                if problem_apps.get(problem.pk, set()) & scope
                or problem_components.get(problem.pk, set()) & components
            ],
            "open_incidents": [
                other
                for other in candidates
                if other.pk != pk and candidate_apps.get(other.pk, set()) & scope
            ],
            "dependency_application_ids": scope - apps_of.get(pk, set()),
        }
    return result


def _related_ids(through, column: str, owners: list[int], owner: str = "incident_id") -> dict:
    """owner pk → the set of `column` in the m2m table `through`, for the given owners."""
    found: dict[int, set[int]] = {}
    if owners:
        for owner_id, related_id in through.objects.filter(**{f"{owner}__in": owners}).values_list(
            owner, column
        ):
            found.setdefault(owner_id, set()).add(related_id)
    return found


def can_work_on(user) -> bool:
    return has_role(user, *AGENT_ROLES)


def visible_incidents(user, queryset=None):
    """The incidents `user` may see: IT staff and auditors all, requesters their own."""
    queryset = Incident.objects.all() if queryset is None else queryset
    if not can_read(user):
        return queryset.none()
    if not has_role(user, *STAFF_ROLES):
        queryset = queryset.filter(caller=user)
    return queryset


def visible_incident_events(user, queryset=None):
    """Work notes are internal: people outside IT see only the public timeline of the
    incidents they may see."""
    queryset = IncidentEvent.objects.all() if queryset is None else queryset
    if not can_read(user):
        return queryset.none()
    if not has_role(user, *STAFF_ROLES):
        queryset = queryset.filter(is_public=True, incident__caller=user)
    return queryset


def incident_visible_to(user, incident: Incident) -> bool:
    """One incident by the rule of `visible_incidents`, without a query (for relations)."""
    return sees_all_incidents(user) or (can_read(user) and incident.caller_id == user.pk)


def sees_all_incidents(user) -> bool:
    """IT staff and auditors: they may also read figures computed over every incident."""
    return can_read(user) and has_role(user, *STAFF_ROLES)


# --- reading for pages (appended) -------------------------------------------------------------


def can_write_work_notes(user) -> bool:
    """Whether `user` may add IT-internal work notes (the rule of `add_comment`)."""
    return has_role(user, *WORK_NOTE_ROLES)


def incident_actions(incident: Incident, user) -> list[str]:
    """The steps `user` may try on `incident` in its current state, from the transition table
    and the roles each function above requires (pages offer exactly these, in this order):
    take (assign to oneself), start, resume (from pending), assign, pending, resolve, reopen,
    close, priority, comment, link_problem, cancel. A step offered may still be refused for
    its inputs; the service says why."""
    if not user or not user.is_authenticated or not user.is_active:
        return []
    state = incident.state
    targets = INCIDENT_TRANSITIONS[state]
    agent = can_work_on(user)
    reporter = has_role(user, *REPORTER_ROLES, *AGENT_ROLES)
    own = incident.caller_id == user.pk
    # Resolved incidents go back to work by reopening them (with a reason), not by starting.
    startable = IncidentState.IN_PROGRESS in targets and state != IncidentState.RESOLVED
    offered = {
        "take": agent
        and IncidentState.ASSIGNED in targets
        and incident.assignee_id != user.pk
        and user.teams.exists(),
        "start": agent and startable and state != IncidentState.PENDING,
        "resume": agent and startable and state == IncidentState.PENDING,
        "assign": agent and IncidentState.ASSIGNED in targets,
        "pending": agent and IncidentState.PENDING in targets and state != IncidentState.PENDING,
        "resolve": agent and IncidentState.RESOLVED in targets,
        "reopen": (agent or (reporter and own)) and state == IncidentState.RESOLVED,
        "close": (agent or (reporter and own)) and IncidentState.CLOSED in targets,
        "priority": agent and incident.is_open,
        "comment": (reporter and own) or can_write_work_notes(user),
        "link_problem": agent,
        "cancel": agent and IncidentState.CANCELLED in targets,
    }
    return [name for name, allowed in offered.items() if allowed]

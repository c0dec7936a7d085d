"""Every change-management rule: the lifecycle of a change, its approvals and freeze windows.

Lifecycle (itsm.choices.CHANGE_TRANSITIONS)::

    draft → assessment → authorization → scheduled → implementing → review → closed
    normal:    submit_for_assessment, assess_change, request_authorization, approve_change
               (all required approvals), schedule_change, start_implementation,
               complete_implementation, close_change (post-implementation review)
    standard:  assess_change goes straight to scheduled when the template allows the
               assessed risk (else schedule_change later); no authorization; a successful
               standard change is closed by complete_implementation (nothing to review)
    emergency: like normal, but one "emergency_cab" approval by a change manager replaces
               the CAB, freeze windows are overridden with a recorded reason, and the change
               always stays in review until close_change
    reject_change (assessment, authorization) → rejected; cancel_change → cancelled;
    request_authorization from scheduled sends a change back (its approvals are withdrawn).

Who may do what (superusers may do everything):

- create, update, submit, assess, request authorization, schedule, start, complete, cancel:
  service_desk, change_manager, architect
- approve/reject in the role "change_manager" or "emergency_cab": change_manager
- approve/reject for a team: members of that team (an owner team of an affected application)
- close (post-implementation review): change_manager
- nobody but a superuser decides on a change they requested themselves (four eyes)

Every function but create_change locks the change row, takes optional `expected_version`
(the version the caller saw) and `now`, and raises PermissionDenied or
ValidationError({field: error}) with one of these codes: invalid_transition, invalid_state,
conflict, unknown, required, scope_required, template_required, template_inactive,
risk_exceeds_template, window_required, naive_datetime, window_order, approval_missing,
approval_not_required, ambiguous, invalid, invalid_choice, freeze_window, reason_required,
outcome_required, review_required. A refused call writes nothing. Each successful write
increments `version` and records the user and a reason in the history.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from cmdb.graph import LoadedGraph
from cmdb.models import Application, Team
from itsm.choices import (
    CHANGE_TRANSITIONS,
    ApprovalDecision,
    ChangeOutcome,
    ChangeRisk,
    ChangeState,
    ChangeType,
)
from itsm.models import Change, ChangeApproval
from itsm.models.numbering import next_number
from itsm.services.conflicts import freeze_window_conflicts
from itsm.services.risk import assess_risk, dependents_as_of, exceeds
from landkarte.roles import ARCHITECT, CHANGE_MANAGER, SERVICE_DESK, has_role, require_role
from landkarte.services import field_error as _error
from landkarte.services import history_reason, lock_for_update, save_with_history

EDIT_ROLES = (SERVICE_DESK, CHANGE_MANAGER, ARCHITECT)
# Members of an owning team decide for it; an auditor only if it also holds one of these.
DECIDER_ROLES = (SERVICE_DESK, CHANGE_MANAGER, ARCHITECT, "procurement", "requester")
AUDITOR = "auditor"

# Approval roles (ChangeApproval.role); both are held by change managers.
ROLE_CHANGE_MANAGER = "change_manager"
ROLE_EMERGENCY_CAB = "emergency_cab"
APPROVAL_ROLES = {ROLE_CHANGE_MANAGER, ROLE_EMERGENCY_CAB}

EDITABLE_STATES = {ChangeState.DRAFT, ChangeState.ASSESSMENT}

UPDATE_FIELDS = {
    "title", "description", "change_type", "template", "reason", "implementation_plan",
    "backout_plan", "test_plan", "owner_team", "assignee", "planned_start", "planned_end",
}  # fmt: skip
CREATE_FIELDS = UPDATE_FIELDS | {"requested_by"}

PLAN_FIELDS = ["implementation_plan", "backout_plan", "test_plan"]

__all__ = [
    "ChangeImpact",
    "RequiredApproval",
    "approve_change",
    "assess_change",
    "available_actions",
    "cancel_change",
    "change_impact",
    "changes_awaiting_approval",
    "close_change",
    "complete_implementation",
    "create_change",
    "decision_options",
    "reject_change",
    "request_authorization",
    "required_approvals",
    "schedule_change",
    "start_implementation",
    "submit_for_assessment",
    "update_change",
]


@dataclass
class RequiredApproval:
    """One approval a change needs: in a role, or on behalf of a team."""

    label: str
    role: str | None = None
    team: Team | None = None
    satisfied: bool = False
    approval: ChangeApproval | None = None
    """The latest decision given for this requirement, if any."""

    def matches(self, approval: ChangeApproval) -> bool:
        if self.team is not None:
            return approval.on_behalf_of_team_id == self.team.pk
        return approval.on_behalf_of_team_id is None and approval.role == self.role


# --- helpers ---------------------------------------------------------------------------------


def _now(now):
    return now or timezone.now()


def _signed_in(user) -> bool:
    return bool(user) and user.is_authenticated and user.is_active


def _require_user(user) -> None:
    if not _signed_in(user):
        raise PermissionDenied(_("Sign in to change changes."))


def _lock(change: Change, expected_version: int | None) -> Change:
    return lock_for_update(change, expected_version)


def _check_transition(change: Change, target: str) -> None:
    if target not in CHANGE_TRANSITIONS[change.state]:
        raise _error(
            "state",
            _("A change cannot go from %(from)s to %(to)s."),
            "invalid_transition",
            {"from": ChangeState(change.state).label, "to": ChangeState(target).label},
        )


def _save(change: Change, user, reason: str) -> None:
    # save_with_history shortens the reason; the full text lives on the change or approval.
    change.version += 1
    save_with_history(change, user, reason)


def _assign(change: Change, data: dict, allowed: set[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), code="unknown") for name in unknown}
        )
    for name, value in data.items():
        setattr(change, name, value)


def _apply_template(change: Change) -> None:
    """A standard change starts from its template's plans; what the requester wrote wins."""
    if change.template is None:
        return
    for name in PLAN_FIELDS:
        if not getattr(change, name):
            setattr(change, name, getattr(change.template, name))


def _template_errors(change: Change) -> dict:
    if (
        change.change_type == ChangeType.STANDARD
        and change.template is not None
        and not change.template.active
    ):
        return {
            "template": ValidationError(
                _("This template is no longer approved for standard changes."),
                code="template_inactive",
            )
        }
    return {}


def _validate(change: Change, errors: dict, exclude=None) -> None:
    """Model validation merged with the service's own errors, raised together."""
    try:
        change.full_clean(exclude=exclude)
    except ValidationError as exc:
        errors = {**exc.update_error_dict({}), **errors}
    if errors:
        raise ValidationError(errors)


def _set_scope(change: Change, applications, components) -> None:
    """Set the affected applications/components without a history record per M2M action: the
    save that follows records the new scope together with the other fields."""
    change.skip_history_when_saving = True
    try:
        if applications is not None:
            change.applications.set(applications)
        if components is not None:
            change.components.set(components)
    finally:
        del change.skip_history_when_saving


def _apply_risk(change: Change) -> None:
    assessment = assess_risk(change)
    change.risk = assessment.level
    change.risk_score = assessment.score
    change.risk_factors = assessment.factors


def _window_errors(change: Change) -> dict:
    if not change.has_window:
        return {
            "planned_start": ValidationError(
                _("Plan a start and an end before scheduling."), code="window_required"
            )
        }
    errors = {}
    for name in ("planned_start", "planned_end"):
        if timezone.is_naive(getattr(change, name)):
            errors[name] = ValidationError(
                _("Enter a date and time with a time zone."), code="naive_datetime"
            )
    if not errors and change.planned_end <= change.planned_start:
        errors["planned_end"] = ValidationError(
            _("The planned end must be after the planned start."), code="window_order"
        )
    return errors


def _standard_errors(change: Change) -> dict:
    """Why a standard change cannot be scheduled without authorization (empty: it can)."""
    if change.template is None:
        return {
            "template": ValidationError(
                _("A standard change needs a pre-approved template."), code="template_required"
            )
        }
    errors = _template_errors(change)
    if exceeds(change.risk, change.template.max_risk):
        errors["risk"] = ValidationError(
            _(
                "The assessed risk (%(risk)s) exceeds what the template %(template)s allows "
                "(%(max)s); authorise it as a normal change."
            ),
            code="risk_exceeds_template",
            params={
                "risk": ChangeRisk(change.risk).label if change.risk else _("not assessed"),
                "template": change.template.name,
                "max": ChangeRisk(change.template.max_risk).label,
            },
        )
    return errors


def _freeze_error(conflicts) -> ValidationError:
    names = ", ".join(str(conflict.other) for conflict in conflicts)
    return ValidationError(
        _(
            "The planned window falls into the freeze window %(windows)s; only emergency "
            "changes may be scheduled there."
        ),
        code="freeze_window",
        params={"windows": names},
    )


# --- approvals -------------------------------------------------------------------------------


def required_approvals(change: Change) -> list[RequiredApproval]:
    """Who must approve: a change manager for low and medium risk; for high risk also every
    team owning an affected application; the emergency CAB (one change manager) instead for
    an emergency change; nobody for a standard change (its template is the approval).
    Applications (with their owner teams) and approvals a caller prefetched are used without
    further queries, so lists can show the slots of many changes."""
    if change.change_type == ChangeType.STANDARD:
        return []
    if change.change_type == ChangeType.EMERGENCY:
        slots = [
            RequiredApproval(label=_("Emergency CAB (a change manager)"), role=ROLE_EMERGENCY_CAB)
        ]
    else:
        slots = [_change_manager_slot()]
        if change.risk == ChangeRisk.HIGH:
            teams = _owning_teams(change)
            slots += [
                RequiredApproval(label=_("Owning team %(team)s") % {"team": team}, team=team)
                for team in teams
            ]
    if "approvals" in getattr(change, "_prefetched_objects_cache", {}):
        approvals = sorted(change.approvals.all(), key=lambda a: (a.decided_at, a.pk))
    else:
        approvals = list(change.approvals.select_related("approver").order_by("decided_at", "pk"))
    for slot in slots:
        given = [approval for approval in approvals if slot.matches(approval)]
        if given:
            slot.approval = given[-1]
            slot.satisfied = slot.approval.decision == ApprovalDecision.APPROVED
    return slots


def _owning_teams(change: Change) -> list[Team]:
    if "applications" in getattr(change, "_prefetched_objects_cache", {}):
        teams = {
            app.owner_team_id: app.owner_team
            for app in change.applications.all()
            if app.owner_team_id is not None
        }
        return sorted(teams.values(), key=lambda team: (team.name, team.pk))
    return list(Team.objects.filter(applications__changes=change).distinct().order_by("name", "pk"))


def _change_manager_slot() -> RequiredApproval:
    return RequiredApproval(label=_("Change manager"), role=ROLE_CHANGE_MANAGER)


def _may_decide(user, slot: RequiredApproval, team_ids: set[int] | None = None) -> bool:
    """`team_ids`: the ids of the user's teams, when the caller asks about many slots."""
    if user.is_superuser:
        return True
    if slot.team is None:
        return has_role(user, CHANGE_MANAGER)
    # Auditors read everything and change nothing, not even as a member of an owning team.
    if has_role(user, AUDITOR) and not has_role(user, *DECIDER_ROLES):
        return False
    if team_ids is None:
        return slot.team.members.filter(pk=user.pk).exists()
    return slot.team.pk in team_ids


def _requested_by(change: Change, user) -> bool:
    """Four eyes: nobody but a superuser decides on a change they requested themselves."""
    return change.requested_by_id == user.pk and not user.is_superuser


def _resolve_slot(change: Change, user, role, team) -> RequiredApproval:
    """The requirement a decision is given for: the one named, or the only open one the user
    may decide."""
    if role is not None and team is not None:
        raise _error("role", _("Decide either in a role or for a team, not both."), "invalid")
    if role is not None and role not in APPROVAL_ROLES:
        raise _error(
            "role",
            _("%(value)s is not an approval role."),
            "invalid_choice",
            {"value": role},
        )
    required = required_approvals(change)
    if role is None and team is None:
        mine = [slot for slot in required if _may_decide(user, slot)]
        if not mine:
            raise PermissionDenied(_("You are not one of the approvers this change needs."))
        candidates = [slot for slot in mine if not slot.satisfied] or mine
        if len(candidates) > 1:
            raise _error(
                "role",
                _("You may decide for %(slots)s; say which one."),
                "ambiguous",
                {"slots": ", ".join(slot.label for slot in candidates)},
            )
        return candidates[0]
    team_id = team.pk if isinstance(team, Team) else team
    for slot in required:
        if (team_id is not None and slot.team is not None and slot.team.pk == team_id) or (
            role is not None and slot.role == role
        ):
            return slot
    field = "team" if team_id is not None else "role"
    raise _error(
        field, _("This change does not need an approval from them."), "approval_not_required"
    )


def _check_decider(change: Change, user, slot: RequiredApproval) -> None:
    if not _may_decide(user, slot):
        raise PermissionDenied(
            _("You may not decide for %(slot)s on this change.") % {"slot": slot.label}
        )
    if _requested_by(change, user):
        raise PermissionDenied(_("You cannot decide on a change you requested yourself."))


def _record_decision(change, user, slot, decision, comment, now) -> ChangeApproval:
    """One row per approver and requirement; deciding again replaces the earlier decision."""
    approval = ChangeApproval.objects.filter(
        change=change,
        approver=user,
        on_behalf_of_team=slot.team,
        role="" if slot.team is not None else slot.role,
    ).first() or ChangeApproval(
        change=change,
        approver=user,
        on_behalf_of_team=slot.team,
        role="" if slot.team is not None else slot.role,
    )
    approval.decision = decision
    approval.comment = comment
    approval.decided_at = now
    save_with_history(approval, user, history_reason(f"{decision} ({slot.label})"))
    return approval


# --- lifecycle -------------------------------------------------------------------------------


def create_change(*, user, applications=(), components=(), now=None, **fields) -> Change:
    """A new change in draft, numbered CHG-YYYY-NNNNNN; requested by `user` unless
    `requested_by` is given."""
    require_role(user, *EDIT_ROLES)
    now = _now(now)
    with transaction.atomic():
        change = Change(requested_by=user)
        _assign(change, fields, CREATE_FIELDS)
        _apply_template(change)
        # Validate before drawing a number so a refused change does not lock the counter.
        _validate(change, _template_errors(change), exclude=["number"])
        change.number = next_number("CHG", timezone.localtime(now).year)
        save_with_history(change, user, "created")
        # The scope is recorded by m2m history records carrying the same user and reason.
        if applications:
            change.applications.set(applications)
        if components:
            change.components.set(components)
    return change


def update_change(
    change: Change,
    *,
    user,
    expected_version=None,
    applications=None,
    components=None,
    now=None,
    **fields,
) -> Change:
    """Edit a change while it is a draft or in assessment; an assessed risk is recomputed."""
    require_role(user, *EDIT_ROLES)
    with transaction.atomic():
        change = _lock(change, expected_version)
        if change.state not in EDITABLE_STATES:
            raise _error(
                "state",
                _("A change can only be edited as a draft or in assessment, not %(state)s."),
                "invalid_state",
                {"state": change.get_state_display()},
            )
        template_id = change.template_id
        _assign(change, fields, UPDATE_FIELDS)
        if change.template_id != template_id:
            _apply_template(change)
        _validate(change, _template_errors(change))
        _set_scope(change, applications, components)
        if change.risk is not None or change.state == ChangeState.ASSESSMENT:
            _apply_risk(change)
        changed = sorted(fields) + [
            name
            for name, value in (("applications", applications), ("components", components))
            if value is not None
        ]
        _save(change, user, f"updated {', '.join(changed) or 'nothing'}")
    return change


def submit_for_assessment(change: Change, *, user, expected_version=None, now=None) -> Change:
    require_role(user, *EDIT_ROLES)
    with transaction.atomic():
        change = _lock(change, expected_version)
        _check_transition(change, ChangeState.ASSESSMENT)
        if not change.applications.exists() and not change.components.exists():
            raise _error(
                "applications",
                _("Name at least one affected application or component."),
                "scope_required",
            )
        change.state = ChangeState.ASSESSMENT
        _save(change, user, "submitted for assessment")
    return change


def assess_change(change: Change, *, user, expected_version=None, now=None) -> Change:
    """Compute and store the risk. A standard change within its template's risk, with a
    planned window outside freeze windows, is scheduled right away (it needs no CAB)."""
    require_role(user, *EDIT_ROLES)
    with transaction.atomic():
        change = _lock(change, expected_version)
        if change.state != ChangeState.ASSESSMENT:
            raise _error(
                "state",
                _("Only a change in assessment can be assessed."),
                "invalid_state",
            )
        _apply_risk(change)
        reason = f"risk assessed: {change.risk} ({change.risk_score})"
        if (
            change.change_type == ChangeType.STANDARD
            and not _standard_errors(change)
            and not _window_errors(change)
            and not freeze_window_conflicts(change)
        ):
            change.state = ChangeState.SCHEDULED
            reason += "; scheduled as a pre-approved standard change"
        _save(change, user, reason)
    return change


def request_authorization(
    change: Change, *, user, reason: str = "", expected_version=None, now=None
) -> Change:
    """Send a normal or emergency change to its approvers. From scheduled (scope or window
    changed) a reason is required and the earlier approvals are withdrawn."""
    require_role(user, *EDIT_ROLES)
    with transaction.atomic():
        change = _lock(change, expected_version)
        if change.change_type == ChangeType.STANDARD:
            raise _error(
                "state",
                _("Standard changes are pre-approved and skip authorization."),
                "invalid_transition",
            )
        _check_transition(change, ChangeState.AUTHORIZATION)
        errors = {
            name: ValidationError(_("This is needed for authorization."), code="required")
            for name in ("implementation_plan", "backout_plan")
            if not getattr(change, name).strip()
        }
        back_from_scheduled = change.state == ChangeState.SCHEDULED
        if back_from_scheduled and not reason.strip():
            errors["reason"] = ValidationError(
                _("Say why the change needs authorization again."), code="reason_required"
            )
        if errors:
            raise ValidationError(errors)
        save_reason = "authorization requested"
        if back_from_scheduled:
            # Approvals were given for the old scope or window; they must be given again.
            for approval in change.approvals.all():
                approval._history_user = user
                approval._change_reason = history_reason(f"withdrawn: {reason}")
                approval.delete()
            change.freeze_override_reason = ""
            save_reason = f"authorization requested again: {reason}"
        if change.risk is None:
            _apply_risk(change)
        change.state = ChangeState.AUTHORIZATION
        _save(change, user, save_reason)
    return change


def approve_change(
    change: Change,
    *,
    user,
    role: str | None = None,
    team=None,
    comment: str = "",
    expected_version=None,
    now=None,
) -> Change:
    """Approve in a role ("change_manager", "emergency_cab") or for a team (a Team or its id);
    with neither, the one open requirement the user may decide."""
    _require_user(user)
    now = _now(now)
    with transaction.atomic():
        change = _lock(change, expected_version)
        if change.state != ChangeState.AUTHORIZATION:
            raise _error(
                "state",
                _("Only a change awaiting authorization can be approved."),
                "invalid_state",
            )
        slot = _resolve_slot(change, user, role, team)
        _check_decider(change, user, slot)
        _record_decision(change, user, slot, ApprovalDecision.APPROVED, comment, now)
        _save(change, user, f"approved ({slot.label})")
    return change


def reject_change(
    change: Change,
    *,
    user,
    comment: str,
    role: str | None = None,
    team=None,
    expected_version=None,
    now=None,
) -> Change:
    """A required approver's rejection ends the change (state rejected). In assessment only a
    change manager may reject (role "change_manager")."""
    _require_user(user)
    now = _now(now)
    with transaction.atomic():
        change = _lock(change, expected_version)
        _check_transition(change, ChangeState.REJECTED)
        if not (comment or "").strip():
            raise _error("comment", _("Say why the change is rejected."), "required")
        if change.state == ChangeState.ASSESSMENT:
            if team is not None or role not in (None, ROLE_CHANGE_MANAGER):
                raise _error(
                    "team" if team is not None else "role",
                    _("In assessment only a change manager may reject a change."),
                    "approval_not_required",
                )
            slot = _change_manager_slot()
        else:
            slot = _resolve_slot(change, user, role, team)
        _check_decider(change, user, slot)
        _record_decision(change, user, slot, ApprovalDecision.REJECTED, comment, now)
        change.state = ChangeState.REJECTED
        _save(change, user, f"rejected ({slot.label}): {comment}")
    return change


def schedule_change(
    change: Change,
    *,
    user,
    planned_start=None,
    planned_end=None,
    freeze_override_reason: str | None = None,
    expected_version=None,
    now=None,
) -> Change:
    """Fix the window and schedule: a normal change with all required approvals, an emergency
    change with the emergency CAB's approval, a standard change straight from assessment.
    Freeze windows refuse normal and standard changes; an emergency change goes ahead with
    `freeze_override_reason` (or the one already recorded) stored on the change."""
    require_role(user, *EDIT_ROLES)
    with transaction.atomic():
        change = _lock(change, expected_version)
        _check_transition(change, ChangeState.SCHEDULED)
        if planned_start is not None:
            change.planned_start = planned_start
        if planned_end is not None:
            change.planned_end = planned_end
        errors = _window_errors(change)

        if change.change_type == ChangeType.STANDARD:
            if change.state != ChangeState.ASSESSMENT:
                raise _error(
                    "state",
                    _("A standard change is scheduled from assessment, not %(state)s."),
                    "invalid_transition",
                    {"state": change.get_state_display()},
                )
            errors.update(_standard_errors(change))
        elif change.state != ChangeState.AUTHORIZATION:
            errors["approvals"] = ValidationError(
                _("This change must be authorised before it is scheduled."),
                code="approval_missing",
            )
        else:
            missing = [slot.label for slot in required_approvals(change) if not slot.satisfied]
            if missing:
                errors["approvals"] = ValidationError(
                    _("Approvals missing: %(missing)s."),
                    code="approval_missing",
                    params={"missing": ", ".join(missing)},
                )

        window_ok = "planned_start" not in errors and "planned_end" not in errors
        freeze = freeze_window_conflicts(change) if window_ok else []
        note = ""
        if not freeze:
            # A reason given for a window that no longer hits a freeze would mislead later.
            change.freeze_override_reason = ""
        elif change.change_type != ChangeType.EMERGENCY:
            errors["planned_start"] = _freeze_error(freeze)
        else:
            override = (
                freeze_override_reason
                if freeze_override_reason is not None
                else change.freeze_override_reason
            ).strip()
            if not override:
                errors["freeze_override_reason"] = ValidationError(
                    _(
                        "The window falls into the freeze window %(windows)s; say why this "
                        "emergency change cannot wait."
                    ),
                    code="reason_required",
                    params={"windows": ", ".join(str(c.other) for c in freeze)},
                )
            change.freeze_override_reason = override
            note = f"; freeze window overridden ({', '.join(c.other.name for c in freeze)})"
        if errors:
            raise ValidationError(errors)
        change.state = ChangeState.SCHEDULED
        window = " – ".join(
            timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
            for value in (change.planned_start, change.planned_end)
        )
        _save(change, user, f"scheduled {window}{note}")
    return change


def start_implementation(change: Change, *, user, expected_version=None, now=None) -> Change:
    require_role(user, *EDIT_ROLES)
    now = _now(now)
    with transaction.atomic():
        change = _lock(change, expected_version)
        _check_transition(change, ChangeState.IMPLEMENTING)
        change.state = ChangeState.IMPLEMENTING
        change.actual_start = now
        _save(change, user, "implementation started")
    return change


def complete_implementation(
    change: Change, *, user, outcome: str, notes: str = "", expected_version=None, now=None
) -> Change:
    """Record the outcome; the change goes to review. A successful standard change is closed
    at once: routine work that went as planned has nothing to review. Emergency changes and
    every failure always stay in review."""
    require_role(user, *EDIT_ROLES)
    now = _now(now)
    with transaction.atomic():
        change = _lock(change, expected_version)
        _check_transition(change, ChangeState.REVIEW)
        if not outcome:
            raise _error("outcome", _("Record the outcome."), "outcome_required")
        if outcome not in ChangeOutcome.values:
            raise _error(
                "outcome",
                _("%(value)s is not an outcome."),
                "invalid_choice",
                {"value": outcome},
            )
        change.outcome = outcome
        change.actual_end = now
        change.implementation_notes = notes
        change.state = ChangeState.REVIEW
        _save(change, user, f"implementation completed: {outcome}")
        if change.change_type == ChangeType.STANDARD and outcome == ChangeOutcome.SUCCESSFUL:
            change.state = ChangeState.CLOSED
            change.closed_at = now
            change.review_notes = notes or _("Standard change completed as planned.")
            _save(change, user, "closed: standard change completed successfully")
    return change


def close_change(
    change: Change, *, user, review_notes: str, expected_version=None, now=None
) -> Change:
    """Close after the post-implementation review (a change manager's job)."""
    require_role(user, CHANGE_MANAGER)
    now = _now(now)
    with transaction.atomic():
        change = _lock(change, expected_version)
        _check_transition(change, ChangeState.CLOSED)
        if not (review_notes or "").strip():
            raise _error(
                "review_notes",
                _("Write the post-implementation review before closing."),
                "review_required",
            )
        change.review_notes = review_notes
        change.state = ChangeState.CLOSED
        change.closed_at = now
        _save(change, user, "closed after review")
    return change


def cancel_change(change: Change, *, user, reason: str, expected_version=None, now=None) -> Change:
    require_role(user, *EDIT_ROLES)
    with transaction.atomic():
        change = _lock(change, expected_version)
        _check_transition(change, ChangeState.CANCELLED)
        if not (reason or "").strip():
            raise _error("reason", _("Say why the change is cancelled."), "reason_required")
        change.cancellation_reason = reason
        change.state = ChangeState.CANCELLED
        _save(change, user, f"cancelled: {reason}")
    return change


# --- reading for pages (appended) -------------------------------------------------------------

# The steps a page may offer, in the order of the lifecycle.
ACTION_SUBMIT = "submit"
ACTION_ASSESS = "assess"
ACTION_REQUEST_AUTHORIZATION = "request_authorization"
ACTION_APPROVE = "approve"
ACTION_REJECT = "reject"
ACTION_SCHEDULE = "schedule"
ACTION_START = "start"
ACTION_COMPLETE = "complete"
ACTION_CLOSE = "close"
ACTION_CANCEL = "cancel"


def _team_ids(user) -> set[int]:
    return set(user.teams.values_list("pk", flat=True))


def changes_awaiting_approval(user, queryset=None) -> list[tuple[Change, list[RequiredApproval]]]:
    """The changes awaiting authorization on which `user` may give a still missing decision,
    each with those open requirements; never a change the user requested (four eyes; a
    superuser excepted). A fixed number of queries however many changes wait."""
    if not _signed_in(user):
        return []
    queryset = Change.objects.all() if queryset is None else queryset
    queryset = (
        queryset.filter(state=ChangeState.AUTHORIZATION)
        .select_related("requested_by", "assignee", "owner_team")
        .prefetch_related(
            Prefetch(
                "applications",
                queryset=Application.objects.select_related("owner_team").order_by("name"),
            ),
            Prefetch(
                "approvals",
                queryset=ChangeApproval.objects.select_related("approver", "on_behalf_of_team"),
            ),
        )
        .order_by("planned_start", "pk")
    )
    if not user.is_superuser:
        queryset = queryset.exclude(requested_by=user)
    team_ids = _team_ids(user)
    waiting = []
    for change in queryset:
        mine = [
            slot
            for slot in required_approvals(change)
            if not slot.satisfied and _may_decide(user, slot, team_ids)
        ]
        if mine:
            waiting.append((change, mine))
    return waiting


def decision_options(change: Change, user, slots=None) -> list[RequiredApproval]:
    """The requirements `user` may approve or reject on this change now (open ones first;
    decided ones may be decided again while the change awaits authorization). Empty when
    the user may not decide at all: wrong state, requested it themselves, not an approver.
    `slots`: required_approvals(change), if already computed."""
    if not _signed_in(user) or _requested_by(change, user):
        return []
    if change.state == ChangeState.ASSESSMENT:
        slots = [_change_manager_slot()]  # in assessment only a change manager may reject
    elif change.state == ChangeState.AUTHORIZATION:
        slots = required_approvals(change) if slots is None else slots
    else:
        return []
    asks_teams = not user.is_superuser and any(slot.team is not None for slot in slots)
    team_ids = _team_ids(user) if asks_teams else set()
    mine = [slot for slot in slots if _may_decide(user, slot, team_ids)]
    return sorted(mine, key=lambda slot: slot.satisfied)


def available_actions(change: Change, user, slots=None) -> list[str]:
    """The steps `user` may try on `change` in its current state (ACTION_* names, in lifecycle
    order), from the transition table and the roles each service function requires. A step
    offered may still be refused for its inputs (a missing plan, approvals, a freeze window);
    the service says why. `slots`: required_approvals(change), if already computed."""
    if not _signed_in(user):
        return []
    allowed = CHANGE_TRANSITIONS[change.state]
    editor = has_role(user, *EDIT_ROLES)
    standard = change.change_type == ChangeType.STANDARD
    actions = []
    if editor and ChangeState.ASSESSMENT in allowed:
        actions.append(ACTION_SUBMIT)
    if editor and change.state == ChangeState.ASSESSMENT:
        actions.append(ACTION_ASSESS)
    if editor and not standard and ChangeState.AUTHORIZATION in allowed:
        actions.append(ACTION_REQUEST_AUTHORIZATION)
    options = decision_options(change, user, slots)
    if options and change.state == ChangeState.AUTHORIZATION:
        actions.append(ACTION_APPROVE)
    if options and ChangeState.REJECTED in allowed:
        actions.append(ACTION_REJECT)
    # A standard change is scheduled from assessment, the others once authorised.
    schedule_from = ChangeState.ASSESSMENT if standard else ChangeState.AUTHORIZATION
    if editor and change.state == schedule_from:
        actions.append(ACTION_SCHEDULE)
    if editor and ChangeState.IMPLEMENTING in allowed:
        actions.append(ACTION_START)
    if editor and ChangeState.REVIEW in allowed:
        actions.append(ACTION_COMPLETE)
    if has_role(user, CHANGE_MANAGER) and ChangeState.CLOSED in allowed:
        actions.append(ACTION_CLOSE)
    if editor and ChangeState.CANCELLED in allowed:
        actions.append(ACTION_CANCEL)
    return actions


@dataclass
class ImpactedApplication:
    application: Application
    depth: int
    """Steps from the nearest affected application."""


@dataclass
class ChangeImpact:
    affected: list[Application]
    dependents: list[ImpactedApplication]
    """The nearest `limit` dependents (by steps, then id), listed by steps and name."""
    dependent_count: int
    """All dependents, however many are listed."""

    @property
    def more(self) -> int:
        return self.dependent_count - len(self.dependents)


def change_impact(change: Change, limit: int | None = None) -> ChangeImpact:
    """The affected applications and everything depending on them, transitively, in the
    dependency graph of the planned start date (as the risk's dependents factor counts them;
    the affected applications themselves are not dependents). Two queries (the graph, the
    listed dependents) besides the change's applications, which a caller may prefetch with
    their owner teams."""
    affected = list(change.applications.all())
    depths = {}
    if affected:
        graph = LoadedGraph(dependents_as_of(change))
        depths = graph.dependents(*[app.pk for app in affected])
    nearest = sorted(depths.items(), key=lambda item: (item[1], item[0]))[:limit]
    apps = Application.objects.select_related("owner_team").in_bulk([pk for pk, _d in nearest])
    dependents = [ImpactedApplication(apps[pk], depth) for pk, depth in nearest if pk in apps]
    dependents.sort(key=lambda row: (row.depth, row.application.name))
    return ChangeImpact(affected=affected, dependents=dependents, dependent_count=len(depths))

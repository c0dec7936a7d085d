"""The IT requirements backlog: submission, review, planning and delivery of requirements.

Who does what:

- An office submits: a user with the role ``requester`` submits for an org unit of one of
  their teams or for a unit below it, and that office (any requester whose teams sit at or
  above the requesting unit) may edit the requirement while it is still submitted, and
  withdraw it until delivery starts.
- Architects review and decide (superusers hold every role). Reviewers may submit for any org
  unit and edit a requirement until it is approved. Service desk and change managers see the
  backlog but do not decide on it: it is the architecture board's portfolio.
- Architects and change managers carry approved work through delivery (start, complete, link
  the changes that deliver it), because delivery happens through changes.

Every function locks the row, refuses a stale ``expected_version``, checks the transition
against REQUIREMENT_TRANSITIONS and records the user and the reason in the history.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cmdb.filtersets import org_unit_subtree_q
from cmdb.models import OrgUnit
from itsm.choices import ChangeOutcome, ChangeState
from itsm.models import Change, next_number
from itsm.models.requirement import BACKLOG_ORDERING, Requirement
from itsm.requirement_choices import (
    FINAL_REQUIREMENT_STATES,
    REQUIREMENT_TRANSITIONS,
    RequirementState,
)
from landkarte.roles import (
    ARCHITECT,
    AUDITOR,
    CHANGE_MANAGER,
    PROCUREMENT,
    REQUESTER,
    SERVICE_DESK,
    has_role,
    require_role,
)
from landkarte.services import field_error as error
from landkarte.services import history_reason, lock_for_update

REVIEWER_ROLES = (ARCHITECT,)
DELIVERY_ROLES = (ARCHITECT, CHANGE_MANAGER)
SUBMITTER_ROLES = (REQUESTER, *REVIEWER_ROLES)
READ_ALL_ROLES = (ARCHITECT, CHANGE_MANAGER, SERVICE_DESK, PROCUREMENT, AUDITOR)

EDITABLE_FIELDS = {
    "title", "description", "kind", "business_value", "time_criticality", "risk_reduction",
    "job_size", "legal_basis", "due_date", "applications",
}  # fmt: skip
# The requesting office edits only what it submitted; reviewers may refine it until approval.
REQUESTER_EDITABLE_STATES = {RequirementState.SUBMITTED}
REVIEWER_EDITABLE_STATES = {RequirementState.SUBMITTED, RequirementState.IN_REVIEW}
# Re-planning goes one step back: out of the plan, or delivery stopped.
REPLAN_TARGETS = {
    RequirementState.PLANNED: RequirementState.APPROVED,
    RequirementState.IN_DELIVERY: RequirementState.PLANNED,
}
# A delivering change is linked once the requirement is approved and before it is done.
LINKABLE_STATES = {
    RequirementState.APPROVED, RequirementState.PLANNED, RequirementState.IN_DELIVERY,
}  # fmt: skip


# --- who may act ----------------------------------------------------------------------------


def user_org_unit_ids(user) -> list[int]:
    """The org units of the teams the user is a member of: the offices they speak for."""
    if not user or not user.is_authenticated:
        return []
    return list(user.teams.values_list("org_unit_id", flat=True).distinct())


def _in_users_units(user, org_unit_id) -> bool:
    ids = user_org_unit_ids(user)
    return (
        bool(ids)
        and OrgUnit.objects.filter(pk=org_unit_id).filter(org_unit_subtree_q(ids, "")).exists()
    )


def is_reviewer(user) -> bool:
    return has_role(user, *REVIEWER_ROLES)


def is_requesting_office(user, requirement: Requirement) -> bool:
    """The person who submitted it, or a requester of the office it was submitted for."""
    if not has_role(user, REQUESTER):
        return False
    return requirement.requested_by_id == user.pk or _in_users_units(
        user, requirement.requesting_org_unit_id
    )


def _require_office_or_reviewer(user, requirement: Requirement) -> None:
    if not (is_reviewer(user) or is_requesting_office(user, requirement)):
        raise PermissionDenied(_("Only the requesting office or a reviewer may do this."))


# --- shared steps ---------------------------------------------------------------------------


def _lock(requirement: Requirement, expected_version: int | None) -> Requirement:
    return lock_for_update(requirement, expected_version)


def _check_transition(requirement: Requirement, target: str, sources=None) -> None:
    """`sources` narrows the table when the same target is reached by another action (e.g.
    "planned → approved" is re-planning, not an approval)."""
    allowed = target in REQUIREMENT_TRANSITIONS[requirement.state]
    if not allowed or (sources is not None and requirement.state not in sources):
        raise error(
            "state",
            _("A requirement cannot go from %(from)s to %(to)s.")
            % {
                "from": RequirementState(requirement.state).label,
                "to": RequirementState(target).label,
            },
            "invalid_transition",
        )


def _require_reason(reason: str, message: str) -> str:
    if not (reason or "").strip():
        raise error("reason", message, "required")
    return reason.strip()


def _save(requirement: Requirement, user, reason: str) -> None:
    requirement.version += 1
    requirement.full_clean(exclude=["applications", "changes"])
    requirement._history_user = user
    requirement._change_reason = history_reason(reason)
    requirement.save()


def _move(requirement: Requirement, target: str, user, reason: str = "") -> Requirement:
    previous = requirement.state
    requirement.state = target
    summary = f"{previous} -> {target}"
    _save(requirement, user, f"{summary}: {reason}" if reason else summary)
    return requirement


# --- submission and editing -----------------------------------------------------------------


@transaction.atomic
def submit_requirement(
    *, user, title: str, kind: str, requesting_org_unit, description: str = "",
    applications=(), business_value: int, time_criticality: int, risk_reduction: int,
    job_size: int, legal_basis: str = "", due_date=None, now=None,
) -> Requirement:  # fmt: skip
    require_role(user, *SUBMITTER_ROLES)
    now = now or timezone.now()
    requirement = Requirement(
        title=title, kind=kind, requesting_org_unit=requesting_org_unit,
        description=description, requested_by=user, business_value=business_value,
        time_criticality=time_criticality, risk_reduction=risk_reduction, job_size=job_size,
        legal_basis=legal_basis, due_date=due_date, state=RequirementState.SUBMITTED,
        submitted_at=now,
    )  # fmt: skip
    errors = {}
    try:
        requirement.full_clean(exclude=["number", "applications", "changes"])
    except ValidationError as exc:
        errors = exc.update_error_dict(errors)
    if (
        requesting_org_unit is not None
        and not is_reviewer(user)
        and not _in_users_units(user, requesting_org_unit.pk)
    ):
        errors.setdefault("requesting_org_unit", []).append(
            ValidationError(
                _("You can submit only for your own org unit or a unit below it."),
                code="not_your_org_unit",
            )
        )
    if errors:
        raise ValidationError(errors)
    requirement.number = next_number("REQ", timezone.localtime(now).year)
    requirement._history_user = user
    requirement._change_reason = "submitted"
    requirement.save()
    requirement.applications.set(applications)
    return requirement


@transaction.atomic
def update_requirement(requirement, *, user, expected_version=None, **fields) -> Requirement:
    """Edit the content and the WSJF inputs: by the requesting office while it is submitted,
    by reviewers until it is approved."""
    require_role(user, *SUBMITTER_ROLES)
    requirement = _lock(requirement, expected_version)
    if is_reviewer(user):
        editable_states = REVIEWER_EDITABLE_STATES
    elif is_requesting_office(user, requirement):
        editable_states = REQUESTER_EDITABLE_STATES
    else:
        raise PermissionDenied(_("Only the requesting office or a reviewer may edit this."))
    if requirement.state not in editable_states:
        raise error(
            "state",
            _("A requirement in state %(state)s can no longer be edited by you.")
            % {"state": RequirementState(requirement.state).label},
            "not_editable",
        )
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), code="unknown") for name in unknown}
        )
    applications = fields.pop("applications", None)
    for name, value in fields.items():
        setattr(requirement, name, value)
    changed = sorted([*fields, *(["applications"] if applications is not None else [])])
    _save(requirement, user, "updated " + ", ".join(changed))
    if applications is not None:
        requirement.applications.set(applications)
    return requirement


# --- review and decision --------------------------------------------------------------------


@transaction.atomic
def review_requirement(requirement, *, user, expected_version=None, now=None) -> Requirement:
    require_role(user, *REVIEWER_ROLES)
    requirement = _lock(requirement, expected_version)
    _check_transition(requirement, RequirementState.IN_REVIEW)
    return _move(requirement, RequirementState.IN_REVIEW, user)


@transaction.atomic
def approve_requirement(
    requirement, *, user, reason: str = "", expected_version=None, now=None
) -> Requirement:
    require_role(user, *REVIEWER_ROLES)
    now = now or timezone.now()
    requirement = _lock(requirement, expected_version)
    _check_transition(requirement, RequirementState.APPROVED, {RequirementState.IN_REVIEW})
    requirement.decision_reason = (reason or "").strip()
    requirement.decided_at = now
    return _move(requirement, RequirementState.APPROVED, user, requirement.decision_reason)


@transaction.atomic
def reject_requirement(
    requirement, *, user, reason: str, expected_version=None, now=None
) -> Requirement:
    require_role(user, *REVIEWER_ROLES)
    now = now or timezone.now()
    requirement = _lock(requirement, expected_version)
    _check_transition(requirement, RequirementState.REJECTED)
    requirement.decision_reason = _require_reason(
        reason, _("Tell the office why its requirement is rejected.")
    )
    requirement.decided_at = now
    return _move(requirement, RequirementState.REJECTED, user, requirement.decision_reason)


@transaction.atomic
def return_requirement(
    requirement, *, user, reason: str, expected_version=None, now=None
) -> Requirement:
    """Send it back to the office for more information; the office can then edit it."""
    require_role(user, *REVIEWER_ROLES)
    requirement = _lock(requirement, expected_version)
    _check_transition(requirement, RequirementState.SUBMITTED)
    requirement.decision_reason = _require_reason(reason, _("Say which information is missing."))
    return _move(requirement, RequirementState.SUBMITTED, user, requirement.decision_reason)


@transaction.atomic
def withdraw_requirement(
    requirement, *, user, reason: str, expected_version=None, now=None
) -> Requirement:
    require_role(user, *SUBMITTER_ROLES)
    requirement = _lock(requirement, expected_version)
    _require_office_or_reviewer(user, requirement)
    _check_transition(requirement, RequirementState.WITHDRAWN)
    requirement.decision_reason = _require_reason(
        reason, _("Say why the requirement is withdrawn.")
    )
    return _move(requirement, RequirementState.WITHDRAWN, user, requirement.decision_reason)


# --- planning and delivery ------------------------------------------------------------------


@transaction.atomic
def plan_requirement(
    requirement, *, user, reason: str = "", expected_version=None, now=None
) -> Requirement:
    require_role(user, *REVIEWER_ROLES)
    requirement = _lock(requirement, expected_version)
    _check_transition(requirement, RequirementState.PLANNED, {RequirementState.APPROVED})
    return _move(requirement, RequirementState.PLANNED, user, (reason or "").strip())


@transaction.atomic
def replan_requirement(
    requirement, *, user, reason: str, expected_version=None, now=None
) -> Requirement:
    """One step back: a planned requirement leaves the plan (→ approved), a requirement in
    delivery is stopped (→ planned)."""
    require_role(user, *REVIEWER_ROLES)
    requirement = _lock(requirement, expected_version)
    target = REPLAN_TARGETS.get(requirement.state)
    if target is None:
        raise error(
            "state",
            _("Only planned requirements or requirements in delivery can be re-planned."),
            "invalid_transition",
        )
    requirement.decision_reason = _require_reason(reason, _("Say why the plan changes."))
    return _move(requirement, target, user, requirement.decision_reason)


@transaction.atomic
def start_delivery(requirement, *, user, expected_version=None, now=None) -> Requirement:
    require_role(user, *DELIVERY_ROLES)
    requirement = _lock(requirement, expected_version)
    _check_transition(requirement, RequirementState.IN_DELIVERY)
    return _move(requirement, RequirementState.IN_DELIVERY, user)


def _delivered_by_change(requirement: Requirement) -> bool:
    return requirement.changes.filter(
        state=ChangeState.CLOSED, outcome=ChangeOutcome.SUCCESSFUL
    ).exists()


@transaction.atomic
def complete_requirement(
    requirement, *, user, note: str = "", expected_version=None, now=None
) -> Requirement:
    """Done needs evidence: a linked change closed as successful, or a note saying how it was
    delivered without one (e.g. a configuration or an organisational measure)."""
    require_role(user, *DELIVERY_ROLES)
    now = now or timezone.now()
    requirement = _lock(requirement, expected_version)
    _check_transition(requirement, RequirementState.DONE)
    note = (note or "").strip()
    if not note and not _delivered_by_change(requirement):
        raise error(
            "note",
            _(
                "Link a change that was closed as successful, or describe how the requirement "
                "was delivered without one."
            ),
            "delivery_evidence",
        )
    if note:
        requirement.delivery_note = note
    requirement.done_at = now
    return _move(requirement, RequirementState.DONE, user, note)


@transaction.atomic
def link_change(
    requirement, change: Change, *, user, expected_version=None, now=None
) -> Requirement:
    """Record that a change delivers (part of) the requirement."""
    require_role(user, *DELIVERY_ROLES)
    requirement = _lock(requirement, expected_version)
    if requirement.state not in LINKABLE_STATES:
        raise error(
            "state",
            _("Changes are linked to approved requirements that are not yet done."),
            "invalid_state",
        )
    if requirement.changes.filter(pk=change.pk).exists():
        return requirement
    requirement.changes.add(change)
    _save(requirement, user, f"linked {change.number}")
    return requirement


@transaction.atomic
def unlink_change(
    requirement, change: Change, *, user, expected_version=None, now=None
) -> Requirement:
    require_role(user, *DELIVERY_ROLES)
    requirement = _lock(requirement, expected_version)
    if requirement.state in FINAL_REQUIREMENT_STATES:
        raise error(
            "state", _("A closed requirement keeps its delivering changes."), "invalid_state"
        )
    if not requirement.changes.filter(pk=change.pk).exists():
        return requirement
    requirement.changes.remove(change)
    _save(requirement, user, f"unlinked {change.number}")
    return requirement


# --- reading --------------------------------------------------------------------------------


def visible_requirements(user, queryset=None):
    """IT staff and auditors see the whole backlog; a requester sees what their offices (and
    the units below them) submitted and what they submitted themselves; others see nothing."""
    queryset = Requirement.objects.all() if queryset is None else queryset
    if has_role(user, *READ_ALL_ROLES):
        return queryset
    if has_role(user, REQUESTER):
        scope = org_unit_subtree_q(user_org_unit_ids(user), "requesting_org_unit__")
        return queryset.filter(scope | Q(requested_by=user))
    return queryset.none()


def requirement_visible_to(user, requirement: Requirement) -> bool:
    """One requirement by the rule of `visible_requirements` (for relations): no query for
    readers of the whole backlog."""
    if has_role(user, *READ_ALL_ROLES):
        return True
    if not has_role(user, REQUESTER):
        return False
    return requirement.requested_by_id == user.pk or _in_users_units(
        user, requirement.requesting_org_unit_id
    )


def ranked_backlog(user, **filters):
    """The open requirements the user may see, highest WSJF first (ties: earlier due date,
    then number). `filters` are ORM lookups, e.g. ``kind="legal_obligation"``."""
    queryset = Requirement.objects.exclude(state__in=FINAL_REQUIREMENT_STATES).filter(**filters)
    return visible_requirements(user, queryset).order_by(*BACKLOG_ORDERING)


def requirement_actions(requirement: Requirement, user) -> list[str]:
    """The steps `user` may take on `requirement` in its current state, by the rules of the
    functions above (pages offer exactly these): review, approve, reject, return, withdraw,
    plan, replan, start_delivery, complete, update."""
    state = requirement.state
    targets = REQUIREMENT_TRANSITIONS[state]
    reviewer = is_reviewer(user)
    office = is_requesting_office(user, requirement)
    delivery = has_role(user, *DELIVERY_ROLES)
    offered = {
        "review": reviewer and RequirementState.IN_REVIEW in targets,
        "approve": reviewer and state == RequirementState.IN_REVIEW,
        "reject": reviewer and RequirementState.REJECTED in targets,
        "return": reviewer and RequirementState.SUBMITTED in targets,
        "withdraw": (reviewer or office) and RequirementState.WITHDRAWN in targets,
        "plan": reviewer and state == RequirementState.APPROVED,
        "replan": reviewer and state in REPLAN_TARGETS,
        "start_delivery": delivery and RequirementState.IN_DELIVERY in targets,
        "complete": delivery and RequirementState.DONE in targets,
        "update": (reviewer and state in REVIEWER_EDITABLE_STATES)
        or (office and state in REQUESTER_EDITABLE_STATES),
    }
    return [name for name, allowed in offered.items() if allowed]

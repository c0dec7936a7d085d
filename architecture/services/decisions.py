"""Architecture decisions (ADRs), technology standards and exceptions from them.

Only architects (and superusers) decide. Refusals raise ValidationError({field: error}) with one
of these codes: invalid_transition, invalid_status, self_supersede, decision_not_accepted,
expiry_past, subject_required, valid_from_order; missing roles raise PermissionDenied.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from architecture.choices import DECISION_TRANSITIONS, DecisionStatus
from architecture.models import ArchitectureDecision, StandardException, TechnologyStandard
from itsm.models import TicketCounter
from landkarte.roles import ARCHITECT, require_role
from landkarte.services import field_error as error
from landkarte.services import history_reason, save_with_history

DECISION_ROLES = (ARCHITECT,)
M2M_FIELDS = ["applications", "components", "interfaces"]


def next_decision_number() -> str:
    """ADR-0001, ADR-0002, … gap-free across years; the counter row is locked."""
    with transaction.atomic():
        TicketCounter.objects.get_or_create(prefix="ADR", year=0)
        counter = TicketCounter.objects.select_for_update().get(prefix="ADR", year=0)
        counter.last += 1
        counter.save(update_fields=["last"])
    return f"ADR-{counter.last:04d}"


def _save(decision: ArchitectureDecision, user, reason: str) -> None:
    decision.full_clean(exclude=M2M_FIELDS)
    decision._history_user = user
    decision._change_reason = history_reason(reason)
    decision.save()


def _lock(decision: ArchitectureDecision) -> ArchitectureDecision:
    return ArchitectureDecision.objects.select_for_update().get(pk=decision.pk)


def _check_transition(decision: ArchitectureDecision, target: str) -> None:
    if target not in DECISION_TRANSITIONS[decision.status]:
        raise error(
            "status",
            _("A decision cannot go from %(from)s to %(to)s.")
            % {
                "from": DecisionStatus(decision.status).label,
                "to": DecisionStatus(target).label,
            },
            "invalid_transition",
        )


@transaction.atomic
def record_decision(
    *, user, title: str, context: str, decision: str, consequences: str,
    status: str = DecisionStatus.PROPOSED, review_date=None, decided_at=None,
    applications=(), components=(), interfaces=(),
) -> ArchitectureDecision:  # fmt: skip
    """Record a new ADR, proposed (default) or directly accepted."""
    require_role(user, *DECISION_ROLES)
    if status not in (DecisionStatus.PROPOSED, DecisionStatus.ACCEPTED):
        raise error(
            "status", _("A new decision is proposed or accepted."), "invalid_status"
        )  # fmt: skip
    adr = ArchitectureDecision(
        title=title, context=context, decision=decision, consequences=consequences,
        status=status, review_date=review_date,
    )  # fmt: skip
    if status == DecisionStatus.ACCEPTED:
        adr.decided_at = decided_at or timezone.localdate()
        adr.decided_by = user
    adr.full_clean(exclude=["number", *M2M_FIELDS])
    adr.number = next_decision_number()
    _save(adr, user, f"recorded ({status})")
    adr.applications.set(applications)
    adr.components.set(components)
    adr.interfaces.set(interfaces)
    return adr


@transaction.atomic
def accept_decision(
    adr: ArchitectureDecision, *, user, decided_at: datetime.date | None = None, reason: str = ""
) -> ArchitectureDecision:
    require_role(user, *DECISION_ROLES)
    adr = _lock(adr)
    _check_transition(adr, DecisionStatus.ACCEPTED)
    adr.status = DecisionStatus.ACCEPTED
    adr.decided_at = decided_at or timezone.localdate()
    adr.decided_by = user
    _save(adr, user, reason or "accepted")
    return adr


@transaction.atomic
def reject_decision(adr: ArchitectureDecision, *, user, reason: str = "") -> ArchitectureDecision:
    require_role(user, *DECISION_ROLES)
    adr = _lock(adr)
    _check_transition(adr, DecisionStatus.REJECTED)
    adr.status = DecisionStatus.REJECTED
    adr.decided_at = timezone.localdate()
    adr.decided_by = user
    _save(adr, user, reason or "rejected")
    return adr


@transaction.atomic
def deprecate_decision(
    adr: ArchitectureDecision, *, user, reason: str = ""
) -> ArchitectureDecision:
    require_role(user, *DECISION_ROLES)
    adr = _lock(adr)
    _check_transition(adr, DecisionStatus.DEPRECATED)
    adr.status = DecisionStatus.DEPRECATED
    _save(adr, user, reason or "deprecated")
    return adr


@transaction.atomic
def supersede_decision(
    old: ArchitectureDecision, new: ArchitectureDecision, *, user, reason: str = ""
) -> tuple[ArchitectureDecision, ArchitectureDecision]:
    """The accepted decision `old` is replaced by `new` (proposed or accepted)."""
    require_role(user, *DECISION_ROLES)
    if old.pk == new.pk:
        raise error("new", _("A decision cannot supersede itself."), "self_supersede")
    old, new = _lock(old), _lock(new)
    _check_transition(old, DecisionStatus.SUPERSEDED)
    if new.status not in (DecisionStatus.PROPOSED, DecisionStatus.ACCEPTED):
        raise error(
            "new",
            _("Only a proposed or accepted decision can supersede another one."),
            "invalid_status",
        )
    old.status = DecisionStatus.SUPERSEDED
    _save(old, user, reason or f"superseded by {new.number}")
    new.supersedes = old
    _save(new, user, reason or f"supersedes {old.number}")
    return old, new


@transaction.atomic
def grant_exception(
    *, user, application, standard: TechnologyStandard, decision: ArchitectureDecision,
    reason: str, expires_on: datetime.date, today: datetime.date | None = None,
) -> StandardException:  # fmt: skip
    """Let one application deviate from a standard until `expires_on` (inclusive)."""
    require_role(user, *DECISION_ROLES)
    today = today or timezone.localdate()
    errors = {}
    if decision.status != DecisionStatus.ACCEPTED:
        errors["decision"] = ValidationError(
            _("An exception needs an accepted decision."), code="decision_not_accepted"
        )
    if expires_on is None or expires_on <= today:
        errors["expires_on"] = ValidationError(
            _("The expiry date must be in the future."), code="expiry_past"
        )
    if errors:
        raise ValidationError(errors)
    exception = StandardException(
        application=application, standard=standard, decision=decision, reason=reason,
        expires_on=expires_on,
    )  # fmt: skip
    save_with_history(exception, user, "exception granted")
    return exception


@transaction.atomic
def set_standard(
    *, user, component=None, category=None, status: str, valid_from: datetime.date,
    rationale: str = "", decision: ArchitectureDecision | None = None,
) -> TechnologyStandard:  # fmt: skip
    """Give a component or a category a status from `valid_from` on. The previous open-ended
    standard of the same subject ends where the new one starts."""
    require_role(user, *DECISION_ROLES)
    if (component is None) == (category is None):
        raise error(
            None, _("Choose either a component or a category."), "subject_required"
        )  # fmt: skip
    subject = {"component": component} if component is not None else {"category": category}
    previous = list(
        TechnologyStandard.objects.select_for_update().filter(valid_until__isnull=True, **subject)
    )
    for standard in previous:
        if valid_from is not None and standard.valid_from >= valid_from:
            raise error(
                "valid_from",
                _("The standard valid from %(date)s is still open; start after it.")
                % {"date": standard.valid_from.isoformat()},
                "valid_from_order",
            )
    new = TechnologyStandard(
        status=status, valid_from=valid_from, rationale=rationale, decision=decision, **subject
    )
    new.full_clean()
    for standard in previous:
        standard.valid_until = valid_from
        save_with_history(standard, user, f"closed: {status} from {valid_from.isoformat()}")
    save_with_history(new, user, f"standard set: {status}")
    return new

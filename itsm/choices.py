"""The ITSM vocabulary: states, their allowed transitions, and the classification scales."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Impact(models.TextChoices):
    HIGH = "high", _("high")
    MEDIUM = "medium", _("medium")
    LOW = "low", _("low")


class Urgency(models.TextChoices):
    HIGH = "high", _("high")
    MEDIUM = "medium", _("medium")
    LOW = "low", _("low")


class Priority(models.TextChoices):
    P1 = "p1", _("P1 critical")
    P2 = "p2", _("P2 high")
    P3 = "p3", _("P3 moderate")
    P4 = "p4", _("P4 low")


class IncidentState(models.TextChoices):
    NEW = "new", _("new")
    ASSIGNED = "assigned", _("assigned")
    IN_PROGRESS = "in_progress", _("in progress")
    PENDING = "pending", _("pending")
    RESOLVED = "resolved", _("resolved")
    CLOSED = "closed", _("closed")
    CANCELLED = "cancelled", _("cancelled")


OPEN_INCIDENT_STATES = [
    IncidentState.NEW,
    IncidentState.ASSIGNED,
    IncidentState.IN_PROGRESS,
    IncidentState.PENDING,
]

# state → states it may move to. Reopening a resolved incident goes back to in progress.
INCIDENT_TRANSITIONS: dict[str, set[str]] = {
    IncidentState.NEW: {IncidentState.ASSIGNED, IncidentState.CANCELLED},
    IncidentState.ASSIGNED: {
        IncidentState.ASSIGNED, IncidentState.IN_PROGRESS, IncidentState.PENDING,
        IncidentState.RESOLVED, IncidentState.CANCELLED,
    },
    IncidentState.IN_PROGRESS: {
        IncidentState.ASSIGNED, IncidentState.PENDING, IncidentState.RESOLVED,
        IncidentState.CANCELLED,
    },
    IncidentState.PENDING: {
        IncidentState.IN_PROGRESS, IncidentState.ASSIGNED, IncidentState.RESOLVED,
        IncidentState.CANCELLED,
    },
    IncidentState.RESOLVED: {IncidentState.CLOSED, IncidentState.IN_PROGRESS},
    IncidentState.CLOSED: set(),
    IncidentState.CANCELLED: set(),
}  # fmt: skip


class PendingReason(models.TextChoices):
    AWAITING_CALLER = "awaiting_caller", _("awaiting caller")
    AWAITING_VENDOR = "awaiting_vendor", _("awaiting vendor")
    AWAITING_CHANGE = "awaiting_change", _("awaiting change")
    AWAITING_PROBLEM = "awaiting_problem", _("awaiting problem fix")


class ResolutionCode(models.TextChoices):
    SOLVED_PERMANENTLY = "solved_permanently", _("solved (permanently)")
    SOLVED_WORKAROUND = "solved_workaround", _("solved (workaround)")
    NOT_REPRODUCIBLE = "not_reproducible", _("not reproducible")
    USER_INSTRUCTION = "user_instruction", _("user instructed")
    DUPLICATE = "duplicate", _("duplicate")
    RESOLVED_BY_PARENT = "resolved_by_parent", _("resolved by parent incident")
    RESOLVED_BY_CHANGE = "resolved_by_change", _("resolved by change")


class IncidentEventKind(models.TextChoices):
    CREATED = "created", pgettext_lazy("timeline event", "created")
    COMMENT = "comment", _("comment")
    WORK_NOTE = "work_note", _("work note")
    STATE_CHANGE = "state_change", _("status change")
    ASSIGNMENT = "assignment", _("assignment")
    PRIORITY_CHANGE = "priority_change", _("priority change")
    LINK = "link", _("link")
    SLA = "sla", _("SLA")


class ProblemState(models.TextChoices):
    NEW = "new", _("new")
    INVESTIGATING = "investigating", _("investigating")
    KNOWN_ERROR = "known_error", _("known error")
    RESOLVED = "resolved", _("resolved")
    CLOSED = "closed", _("closed")
    CANCELLED = "cancelled", _("cancelled")


PROBLEM_TRANSITIONS: dict[str, set[str]] = {
    ProblemState.NEW: {ProblemState.INVESTIGATING, ProblemState.CANCELLED},
    ProblemState.INVESTIGATING: {
        ProblemState.KNOWN_ERROR, ProblemState.RESOLVED, ProblemState.CANCELLED,
    },
    ProblemState.KNOWN_ERROR: {ProblemState.RESOLVED, ProblemState.CANCELLED},
    ProblemState.RESOLVED: {ProblemState.CLOSED, ProblemState.INVESTIGATING},
    ProblemState.CLOSED: set(),
    ProblemState.CANCELLED: set(),
}  # fmt: skip


class ChangeType(models.TextChoices):
    STANDARD = "standard", _("standard")
    NORMAL = "normal", _("normal")
    EMERGENCY = "emergency", _("emergency")


class ChangeState(models.TextChoices):
    DRAFT = "draft", _("draft")
    ASSESSMENT = "assessment", _("assessment")
    AUTHORIZATION = "authorization", _("authorization")
    SCHEDULED = "scheduled", _("scheduled")
    IMPLEMENTING = "implementing", _("implementing")
    REVIEW = "review", _("review")
    CLOSED = "closed", _("closed")
    REJECTED = "rejected", _("rejected")
    CANCELLED = "cancelled", _("cancelled")


class ChangeOutcome(models.TextChoices):
    SUCCESSFUL = "successful", _("successful")
    FAILED = "failed", _("failed")
    ROLLED_BACK = "rolled_back", _("rolled back")


class ChangeRisk(models.TextChoices):
    LOW = "low", _("low")
    MEDIUM = "medium", _("medium")
    HIGH = "high", _("high")


class ApprovalDecision(models.TextChoices):
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")


# Standard changes skip authorization (pre-approved template); normal and emergency changes
# are authorised (emergency ones by the emergency CAB). Scheduled changes may go back to
# authorization when their scope or window changes.
CHANGE_TRANSITIONS: dict[str, set[str]] = {
    ChangeState.DRAFT: {ChangeState.ASSESSMENT, ChangeState.CANCELLED},
    ChangeState.ASSESSMENT: {
        ChangeState.AUTHORIZATION, ChangeState.SCHEDULED, ChangeState.REJECTED,
        ChangeState.CANCELLED, ChangeState.DRAFT,
    },
    ChangeState.AUTHORIZATION: {
        ChangeState.SCHEDULED, ChangeState.REJECTED, ChangeState.CANCELLED,
    },
    ChangeState.SCHEDULED: {
        ChangeState.IMPLEMENTING, ChangeState.AUTHORIZATION, ChangeState.CANCELLED,
    },
    ChangeState.IMPLEMENTING: {ChangeState.REVIEW},
    ChangeState.REVIEW: {ChangeState.CLOSED},
    ChangeState.CLOSED: set(),
    ChangeState.REJECTED: set(),
    ChangeState.CANCELLED: set(),
}  # fmt: skip

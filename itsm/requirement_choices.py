"""The vocabulary of the IT requirements backlog: kinds, states, transitions and the WSJF scale.

Kept apart from itsm.choices so that the backlog can grow without touching the ticket
vocabulary that other modules depend on.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class RequirementKind(models.TextChoices):
    NEW_APPLICATION = "new_application", _("new application")
    ENHANCEMENT = "enhancement", _("enhancement")
    INFRASTRUCTURE = "infrastructure", _("infrastructure")
    PROCUREMENT = "procurement", _("procurement")
    LEGAL_OBLIGATION = "legal_obligation", _("legal obligation")


class RequirementState(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    IN_REVIEW = "in_review", _("in review")
    APPROVED = "approved", _("approved")
    PLANNED = "planned", _("planned")
    IN_DELIVERY = "in_delivery", _("in delivery")
    DONE = "done", _("done")
    REJECTED = "rejected", _("rejected")
    WITHDRAWN = "withdrawn", _("withdrawn")


FINAL_REQUIREMENT_STATES = [
    RequirementState.DONE,
    RequirementState.REJECTED,
    RequirementState.WITHDRAWN,
]
OPEN_REQUIREMENT_STATES = [s for s in RequirementState if s not in FINAL_REQUIREMENT_STATES]

# state → states it may move to. Reviewers return a requirement to "submitted" when they need
# more information; "planned → approved" takes it out of the plan again, and "in delivery →
# planned" stops delivery. Once delivery has started the office can no longer withdraw it.
REQUIREMENT_TRANSITIONS: dict[str, set[str]] = {
    RequirementState.SUBMITTED: {RequirementState.IN_REVIEW, RequirementState.WITHDRAWN},
    RequirementState.IN_REVIEW: {
        RequirementState.APPROVED, RequirementState.REJECTED, RequirementState.SUBMITTED,
        RequirementState.WITHDRAWN,
    },
    RequirementState.APPROVED: {
        RequirementState.PLANNED, RequirementState.REJECTED, RequirementState.WITHDRAWN,
    },
    RequirementState.PLANNED: {
        RequirementState.IN_DELIVERY, RequirementState.APPROVED, RequirementState.WITHDRAWN,
    },
    RequirementState.IN_DELIVERY: {RequirementState.DONE, RequirementState.PLANNED},
    RequirementState.DONE: set(),
    RequirementState.REJECTED: set(),
    RequirementState.WITHDRAWN: set(),
}  # fmt: skip

# SAFe's modified Fibonacci scale: the gaps grow with the size, so nobody argues about 6 vs 7
# and estimates stay relative.
WSJF_SCALE: tuple[int, ...] = (1, 2, 3, 5, 8, 13, 20)


def validate_wsjf_scale(value) -> None:
    if value not in WSJF_SCALE:
        raise ValidationError(
            _("Use one of %(scale)s."),
            code="not_on_scale",
            params={"scale": ", ".join(str(step) for step in WSJF_SCALE)},
        )

"""Choices of the architecture app."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SupportLevel(models.TextChoices):
    PRIMARY = "primary", _("primary")
    SECONDARY = "secondary", _("secondary")
    PARTIAL = "partial", _("partial")


class StandardStatus(models.TextChoices):
    CANDIDATE = "candidate", _("candidate")
    # The same English words mean other things in ITSM and sourcing; the radar has its own.
    APPROVED = "approved", pgettext_lazy("tech radar", "approved")
    TOLERATED = "tolerated", _("tolerated")
    RETIRED = "retired", pgettext_lazy("tech radar", "retired")
    PROHIBITED = "prohibited", _("prohibited")


# Higher is more restrictive: when several categories of a component carry a standard, the
# most restrictive status wins.
STANDARD_RESTRICTIVENESS = {
    StandardStatus.APPROVED: 0,
    StandardStatus.CANDIDATE: 1,
    StandardStatus.TOLERATED: 2,
    StandardStatus.RETIRED: 3,
    StandardStatus.PROHIBITED: 4,
}


class DecisionStatus(models.TextChoices):
    PROPOSED = "proposed", _("proposed")
    ACCEPTED = "accepted", _("accepted")
    REJECTED = "rejected", _("rejected")
    SUPERSEDED = "superseded", _("superseded")
    DEPRECATED = "deprecated", _("deprecated")


DECISION_TRANSITIONS = {
    DecisionStatus.PROPOSED: {DecisionStatus.ACCEPTED, DecisionStatus.REJECTED},
    DecisionStatus.ACCEPTED: {DecisionStatus.SUPERSEDED, DecisionStatus.DEPRECATED},
    DecisionStatus.REJECTED: set(),
    DecisionStatus.SUPERSEDED: set(),
    DecisionStatus.DEPRECATED: set(),
}

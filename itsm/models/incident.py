"""Incidents and their timeline."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from itsm.choices import (
    OPEN_INCIDENT_STATES,
    Impact,
    IncidentEventKind,
    IncidentState,
    PendingReason,
    Priority,
    ResolutionCode,
    Urgency,
)
from landkarte.models import BaseModel, TimeStampedModel

__all__ = ["Incident", "IncidentCategory", "IncidentEvent"]


class IncidentCategory(models.TextChoices):
    SOFTWARE = "software", _("software")
    HARDWARE = "hardware", _("hardware")
    NETWORK = "network", _("network")
    ACCESS = "access", _("access and accounts")
    DATA = "data", _("data")
    SECURITY = "security", _("security")
    INQUIRY = "inquiry", _("inquiry / help")
    OTHER = "other", _("other")


class Incident(BaseModel):
    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    category = models.CharField(
        _("category"), max_length=20, choices=IncidentCategory.choices,
        default=IncidentCategory.SOFTWARE,
    )  # fmt: skip
    state = models.CharField(
        _("state"), max_length=20, choices=IncidentState.choices, default=IncidentState.NEW,
        db_index=True,
    )  # fmt: skip
    impact = models.CharField(_("impact"), max_length=10, choices=Impact.choices)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices)
    priority = models.CharField(
        _("priority"), max_length=5, choices=Priority.choices, db_index=True
    )
    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="called_incidents", verbose_name=_("caller"),
    )  # fmt: skip
    caller_name = models.CharField(
        _("caller name"), max_length=200, blank=True,
        help_text=_("for callers without an account"),
    )  # fmt: skip
    caller_org_unit = models.ForeignKey(
        "cmdb.OrgUnit", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="incidents", verbose_name=_("caller's org unit"),
    )  # fmt: skip
    service = models.ForeignKey(
        "cmdb.Service", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="incidents", verbose_name=_("service"),
    )  # fmt: skip
    applications = models.ManyToManyField(
        "cmdb.Application", blank=True, related_name="incidents",
        verbose_name=_("affected applications"),
    )  # fmt: skip
    components = models.ManyToManyField(
        "cmdb.ITComponent", blank=True, related_name="incidents",
        verbose_name=_("affected components"),
    )  # fmt: skip
    assigned_team = models.ForeignKey(
        "cmdb.Team", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="incidents", verbose_name=_("assignment group"),
    )  # fmt: skip
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="assigned_incidents", verbose_name=_("assigned agent"),
    )  # fmt: skip
    is_major = models.BooleanField(_("major incident"), default=False)
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children",
        verbose_name=_("parent incident"),
    )  # fmt: skip
    problem = models.ForeignKey(
        "itsm.Problem", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="incidents", verbose_name=_("problem"),
    )  # fmt: skip
    pending_reason = models.CharField(
        _("pending reason"), max_length=30, choices=PendingReason.choices, blank=True
    )
    resolution_code = models.CharField(
        _("resolution code"), max_length=30, choices=ResolutionCode.choices, blank=True
    )
    resolution_notes = models.TextField(_("resolution notes"), blank=True)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("reopened"), default=0)
    reassignment_count = models.PositiveSmallIntegerField(_("reassignments"), default=0)
    # SLA clock, kept by itsm.services.sla (business minutes on the service level's calendar).
    service_level = models.ForeignKey(
        "itsm.ServiceLevel", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="incidents", verbose_name=_("service level"),
    )  # fmt: skip
    response_due = models.DateTimeField(_("response due"), null=True, blank=True, db_index=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True, db_index=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    paused_since = models.DateTimeField(_("paused since"), null=True, blank=True)
    paused_minutes = models.PositiveIntegerField(_("paused business minutes"), default=0)
    response_minutes = models.PositiveIntegerField(
        _("time to respond (business minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(
        _("time to resolve (business minutes)"), null=True, blank=True
    )
    response_breached = models.BooleanField(_("response breached"), default=False)
    resolution_breached = models.BooleanField(_("resolution breached"), default=False)
    # Optimistic concurrency: writers pass the version they read; a stale one is refused.
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")),
                name="incident_not_own_parent",
                violation_error_message=_("An incident cannot be its own parent."),
            ),
            models.CheckConstraint(
                condition=~Q(state="pending") | ~Q(pending_reason=""),
                name="incident_pending_needs_reason",
                violation_error_message=_("A pending incident needs a reason."),
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["resolved", "closed"])
                | (~Q(resolution_code="") & ~Q(resolution_notes="")),
                name="incident_resolved_needs_resolution",
                violation_error_message=_("A resolved incident needs a resolution."),
            ),
        ]
        indexes = [
            # A team's queue: its open incidents by SLA deadline.
            models.Index(fields=["assigned_team", "state", "resolution_due"]),
            # The service-desk queue across teams: open incidents of some priorities, by SLA
            # deadline (the states and priorities are equality lookups, the rows found are
            # sorted).
            models.Index(fields=["state", "priority", "resolution_due"], name="incident_queue_idx"),
            # The open incidents (a few percent of a year's) in SLA order: the queue reads the
            # first page of them without sorting. PostgreSQL otherwise walks the whole deadline
            # index, where the open incidents come last (54 ms instead of 0.2 at scale 50).
            models.Index(
                fields=["resolution_due"],
                condition=Q(state__in=OPEN_INCIDENT_STATES),
                name="incident_open_due_idx",
            ),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state in {"new", "assigned", "in_progress", "pending"}


class IncidentEvent(TimeStampedModel):
    """One entry of an incident's timeline. Comments are public (the caller sees them), work
    notes are internal. Append-only: the timeline is itself the record."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(_("kind"), max_length=20, choices=IncidentEventKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("author"),
    )  # fmt: skip
    text = models.TextField(_("text"), blank=True)
    is_public = models.BooleanField(_("visible to the caller"), default=False)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.incident.number} {self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"

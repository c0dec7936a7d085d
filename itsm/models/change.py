"""Change management: changes with their CAB approvals, standard-change templates and freeze
windows. Every rule (transitions, approvals, freeze windows) lives in itsm.services.changes;
the models only hold the data and the rules a single row can check on its own."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from itsm.choices import ApprovalDecision, ChangeOutcome, ChangeRisk, ChangeState, ChangeType
from landkarte.models import BaseModel

__all__ = ["ChangeTemplate", "Change", "ChangeApproval", "FreezeWindow"]


def _clean_aware(instance, names: list[str]) -> dict:
    """Naive datetimes would be read in the server's zone, silently shifting windows."""
    errors = {}
    for name in names:
        value = getattr(instance, name)
        if value is not None and timezone.is_naive(value):
            errors[name] = ValidationError(
                _("Enter a date and time with a time zone."), code="naive_datetime"
            )
    return errors


class ChangeTemplate(BaseModel):
    """A pre-approved standard change: routine work that needs no CAB as long as its risk
    stays within `max_risk`."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    implementation_plan = models.TextField(_("implementation plan"), blank=True)
    backout_plan = models.TextField(_("back-out plan"), blank=True)
    test_plan = models.TextField(_("test plan"), blank=True)
    max_risk = models.CharField(
        _("maximum risk"),
        max_length=10,
        choices=ChangeRisk.choices,
        default=ChangeRisk.LOW,
        help_text=_("A change assessed above this risk needs authorisation as a normal change."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("standard change template")
        verbose_name_plural = _("standard change templates")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Change(BaseModel):
    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    change_type = models.CharField(
        _("type"), max_length=20, choices=ChangeType.choices, default=ChangeType.NORMAL
    )
    template = models.ForeignKey(
        ChangeTemplate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="changes",
        verbose_name=_("template"),
    )
    reason = models.TextField(_("reason"), blank=True)
    implementation_plan = models.TextField(_("implementation plan"), blank=True)
    backout_plan = models.TextField(_("back-out plan"), blank=True)
    test_plan = models.TextField(_("test plan"), blank=True)
    state = models.CharField(
        _("state"),
        max_length=20,
        choices=ChangeState.choices,
        default=ChangeState.DRAFT,
        db_index=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="requested_changes",
        verbose_name=_("requested by"),
    )
    owner_team = models.ForeignKey(
        "cmdb.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_changes",
        verbose_name=_("owning team"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_changes",
        verbose_name=_("assignee"),
    )
    applications = models.ManyToManyField(
        "cmdb.Application",
        blank=True,
        related_name="changes",
        verbose_name=_("affected applications"),
    )
    components = models.ManyToManyField(
        "cmdb.ITComponent",
        blank=True,
        related_name="changes",
        verbose_name=_("affected components"),
    )
    planned_start = models.DateTimeField(_("planned start"), null=True, blank=True)
    planned_end = models.DateTimeField(_("planned end"), null=True, blank=True)
    actual_start = models.DateTimeField(_("actual start"), null=True, blank=True)
    actual_end = models.DateTimeField(_("actual end"), null=True, blank=True)
    risk = models.CharField(
        _("risk"), max_length=10, choices=ChangeRisk.choices, null=True, blank=True
    )
    risk_score = models.PositiveSmallIntegerField(
        _("risk score"), null=True, blank=True, help_text=_("0 (none) to 100 (highest)")
    )
    risk_factors = models.JSONField(
        _("risk factors"),
        default=list,
        blank=True,
        help_text=_("list of {factor, value, points, explanation}"),
    )
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=ChangeOutcome.choices, null=True, blank=True
    )
    implementation_notes = models.TextField(_("implementation notes"), blank=True)
    review_notes = models.TextField(_("post-implementation review"), blank=True)
    cancellation_reason = models.TextField(_("cancellation reason"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Optimistic concurrency: clients send the version they saw; a mismatch means someone
    # else wrote in between and the client must reload instead of overwriting.
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    freeze_override_reason = models.TextField(
        _("freeze window override reason"),
        blank=True,
        help_text=_("Why an emergency change is scheduled into a freeze window."),
    )

    # Scope changes matter to the CAB, so they are kept in the history as well.
    _history_m2m_fields = ["applications", "components"]

    DATETIME_FIELDS = ["planned_start", "planned_end", "actual_start", "actual_end", "closed_at"]

    class Meta:
        verbose_name = _("change")
        verbose_name_plural = _("changes")
        ordering = ["-created", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_start__isnull=True)
                | Q(planned_end__isnull=True)
                | Q(planned_end__gt=F("planned_start")),
                name="change_planned_window_in_order",
                violation_error_message=_("The planned end must be after the planned start."),
            ),
            models.CheckConstraint(
                condition=Q(actual_start__isnull=True)
                | Q(actual_end__isnull=True)
                | Q(actual_end__gte=F("actual_start")),
                name="change_actual_window_in_order",
                violation_error_message=_("The actual end cannot be before the actual start."),
            ),
        ]
        indexes = [models.Index(fields=["planned_start", "planned_end"])]

    def __str__(self):
        return f"{self.number} {self.title}".strip()

    def clean(self):
        super().clean()
        errors = _clean_aware(self, self.DATETIME_FIELDS)
        if self.change_type == ChangeType.STANDARD and self.template_id is None:
            errors["template"] = ValidationError(
                _("A standard change needs a pre-approved template."), code="template_required"
            )
        if (
            "planned_start" not in errors
            and "planned_end" not in errors
            and self.planned_start
            and self.planned_end
            and self.planned_end <= self.planned_start
        ):
            errors["planned_end"] = ValidationError(
                _("The planned end must be after the planned start."), code="window_order"
            )
        if errors:
            raise ValidationError(errors)

    @property
    def has_window(self) -> bool:
        return self.planned_start is not None and self.planned_end is not None


class ChangeApproval(BaseModel):
    """One decision on a change, given either in a role (change manager, emergency CAB) or on
    behalf of a team that owns an affected application."""

    change = models.ForeignKey(
        Change, on_delete=models.CASCADE, related_name="approvals", verbose_name=_("change")
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="change_approvals",
        verbose_name=_("approver"),
    )
    on_behalf_of_team = models.ForeignKey(
        "cmdb.Team",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="change_approvals",
        verbose_name=_("on behalf of team"),
    )
    role = models.CharField(
        _("role"),
        max_length=30,
        blank=True,
        help_text=_('e.g. "change_manager" or "emergency_cab"; empty for a team approval'),
    )
    decision = models.CharField(_("decision"), max_length=10, choices=ApprovalDecision.choices)
    comment = models.TextField(_("comment"), blank=True)
    decided_at = models.DateTimeField(_("decided at"))

    class Meta:
        verbose_name = _("change approval")
        verbose_name_plural = _("change approvals")
        ordering = ["decided_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(on_behalf_of_team__isnull=True) & ~Q(role=""))
                | (Q(on_behalf_of_team__isnull=False) & Q(role="")),
                name="changeapproval_role_xor_team",
                violation_error_message=_("An approval is given either in a role or for a team."),
            ),
            # Two partial constraints because NULL teams never collide in a plain unique index.
            models.UniqueConstraint(
                fields=["change", "approver", "role"],
                condition=Q(on_behalf_of_team__isnull=True),
                name="changeapproval_unique_role",
                violation_error_message=_("This approver has already decided in this role."),
            ),
            models.UniqueConstraint(
                fields=["change", "approver", "on_behalf_of_team"],
                condition=Q(on_behalf_of_team__isnull=False),
                name="changeapproval_unique_team",
                violation_error_message=_("This approver has already decided for this team."),
            ),
        ]

    def __str__(self):
        on_behalf = self.on_behalf_of_team or self.role
        return f"{self.change.number}: {self.get_decision_display()} ({on_behalf}, {self.approver})"


class FreezeWindow(BaseModel):
    """A period in which only emergency changes may be scheduled, for everything or for some
    applications and services."""

    name = models.CharField(_("name"), max_length=200)
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    reason = models.TextField(_("reason"), blank=True)
    applies_to_all = models.BooleanField(
        _("applies to everything"),
        default=False,
        help_text=_("Otherwise only to the applications and services listed."),
    )
    applications = models.ManyToManyField(
        "cmdb.Application",
        blank=True,
        related_name="freeze_windows",
        verbose_name=_("applications"),
    )
    services = models.ManyToManyField(
        "cmdb.Service", blank=True, related_name="freeze_windows", verbose_name=_("services")
    )

    _history_m2m_fields = ["applications", "services"]

    class Meta:
        verbose_name = _("freeze window")
        verbose_name_plural = _("freeze windows")
        ordering = ["start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="freezewindow_start_before_end",
                violation_error_message=_("A freeze window must end after it starts."),
            )
        ]
        indexes = [models.Index(fields=["start", "end"])]

    def __str__(self):
        start = timezone.localtime(self.start).strftime("%Y-%m-%d %H:%M") if self.start else ""
        end = timezone.localtime(self.end).strftime("%Y-%m-%d %H:%M") if self.end else ""
        return f"{self.name} ({start} – {end})"

    def clean(self):
        super().clean()
        errors = _clean_aware(self, ["start", "end"])
        if not errors and self.start and self.end and self.end <= self.start:
            errors["end"] = ValidationError(
                _("A freeze window must end after it starts."), code="window_order"
            )
        if errors:
            raise ValidationError(errors)

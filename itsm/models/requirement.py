"""The IT requirements backlog: what the offices ask IT for, ranked by WSJF.

All rules about who may do what and which state follows which live in
itsm.services.requirements; the model holds the data and what one row can check on its own.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from itsm.requirement_choices import RequirementKind, RequirementState, validate_wsjf_scale
from landkarte.models import BaseModel

__all__ = ["Requirement"]

# Highest WSJF first; at equal score the earlier deadline, and requirements without one after
# those with one (on every database: SQLite and PostgreSQL sort NULL at opposite ends).
BACKLOG_ORDERING = [F("wsjf").desc(), F("due_date").asc(nulls_last=True), "number"]

WSJF_INPUTS = ("business_value", "time_criticality", "risk_reduction", "job_size")

# Three places keep every distinct score distinct: with job sizes from the scale two different
# scores differ by at least 1/(20·13) ≈ 0.004, so rounding never creates a false tie.
WSJF_PLACES = Decimal("0.001")


def cost_of_delay(business_value, time_criticality, risk_reduction) -> int:
    return business_value + time_criticality + risk_reduction


def wsjf_score(business_value, time_criticality, risk_reduction, job_size) -> Decimal:
    """Weighted shortest job first: cost of delay divided by job size."""
    delay = Decimal(cost_of_delay(business_value, time_criticality, risk_reduction))
    return (delay / Decimal(job_size)).quantize(WSJF_PLACES, rounding=ROUND_HALF_UP)


def _positive(field: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__gt": 0}),
        name=f"requirement_{field}_positive",
        violation_error_code="not_on_scale",
        violation_error_message=_("WSJF inputs must be positive."),
    )


def _wsjf_input(verbose_name) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        verbose_name, validators=[validate_wsjf_scale], help_text=_("1, 2, 3, 5, 8, 13 or 20")
    )


class Requirement(BaseModel):
    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=30, choices=RequirementKind.choices)
    state = models.CharField(
        _("state"), max_length=20, choices=RequirementState.choices,
        default=RequirementState.SUBMITTED, db_index=True,
    )  # fmt: skip
    requesting_org_unit = models.ForeignKey(
        "cmdb.OrgUnit", on_delete=models.PROTECT, related_name="requirements",
        verbose_name=_("requesting org unit"),
    )  # fmt: skip
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
        related_name="requested_requirements", verbose_name=_("requested by"),
    )  # fmt: skip
    applications = models.ManyToManyField(
        "cmdb.Application", blank=True, related_name="requirements",
        verbose_name=_("affected applications"),
    )  # fmt: skip
    # Capabilities live in the architecture app, which depends on itsm: architecture adds the
    # requirement ↔ capability link from its side.
    business_value = _wsjf_input(_("business value"))
    time_criticality = _wsjf_input(_("time criticality"))
    risk_reduction = _wsjf_input(_("risk reduction / opportunity enablement"))
    job_size = _wsjf_input(_("job size"))
    # Stored (not computed on read) so that the backlog is ranked and paginated in SQL. No
    # default: a bulk insert that forgets it fails instead of ranking the row last.
    wsjf = models.DecimalField(
        _("WSJF"), max_digits=6, decimal_places=3, blank=True, editable=False,
        help_text=_("(business value + time criticality + risk reduction) / job size"),
    )  # fmt: skip
    legal_basis = models.TextField(_("legal basis"), blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    changes = models.ManyToManyField(
        "itsm.Change", blank=True, related_name="requirements",
        verbose_name=_("delivering changes"),
    )  # fmt: skip
    decision_reason = models.TextField(
        _("decision reason"), blank=True,
        help_text=_("The reason given with the latest decision (approval, rejection, return, "
                    "re-planning or withdrawal); earlier ones are in the history."),
    )  # fmt: skip
    delivery_note = models.TextField(
        _("delivery note"), blank=True,
        help_text=_("How it was delivered, required when no successful change delivered it."),
    )  # fmt: skip
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    # Optimistic concurrency: clients send the version they saw; a mismatch means someone
    # else wrote in between and the client must reload instead of overwriting.
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("requirement")
        verbose_name_plural = _("requirements")
        ordering = BACKLOG_ORDERING
        constraints = [_positive(field) for field in WSJF_INPUTS]

    def __str__(self):
        return f"{self.number} {self.title}".strip()

    @property
    def cost_of_delay(self) -> int:
        return cost_of_delay(self.business_value, self.time_criticality, self.risk_reduction)

    def compute_wsjf(self) -> None:
        # Invalid inputs are left to validation and the check constraints to report.
        values = [getattr(self, field) for field in WSJF_INPUTS]
        if all(isinstance(value, int) and value > 0 for value in values):
            self.wsjf = wsjf_score(*values)

    def clean(self):
        super().clean()
        self.compute_wsjf()
        # A legal obligation is only prioritised correctly when the deadline's source is known.
        if self.kind == RequirementKind.LEGAL_OBLIGATION and not self.legal_basis.strip():
            raise ValidationError(
                {
                    "legal_basis": ValidationError(
                        _("Name the law or regulation that obliges the city."), code="required"
                    )
                }
            )

    def save(self, *args, **kwargs):
        self.compute_wsjf()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and set(update_fields) & set(WSJF_INPUTS):
            kwargs["update_fields"] = {*update_fields, "wsjf"}
        super().save(*args, **kwargs)

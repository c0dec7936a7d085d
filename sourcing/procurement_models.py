"""Procurement cases: a tender in which candidates (vendors or products) are evaluated against
one frozen catalogue version and the award is refused to a candidate that fails a knock-out.

Imported at the end of sourcing/models.py so that the models belong to the sourcing app. The
rules that need more than one row (who may write, which state follows which, the knock-out
gate) live in sourcing.services.procurement; the check constraints below refuse the states
that would be inconsistent even when written from the admin or a shell.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cmdb.choices import ProtectionNeed
from landkarte.models import BaseModel

__all__ = [
    "CATALOGUE_FIXED_STATES",
    "OPEN_PROCUREMENT_STATES",
    "PROCUREMENT_TRANSITIONS",
    "ProcurementCandidate",
    "ProcurementCase",
    "ProcurementState",
]


class ProcurementState(models.TextChoices):
    PREPARATION = "preparation", _("preparation")
    PUBLISHED = "published", _("published")
    EVALUATION = "evaluation", _("evaluation")
    AWARDED = "awarded", _("awarded")
    CANCELLED = "cancelled", pgettext_lazy("procurement case", "cancelled")


PROCUREMENT_TRANSITIONS: dict[str, set[str]] = {
    ProcurementState.PREPARATION: {ProcurementState.PUBLISHED, ProcurementState.CANCELLED},
    ProcurementState.PUBLISHED: {ProcurementState.EVALUATION, ProcurementState.CANCELLED},
    ProcurementState.EVALUATION: {ProcurementState.AWARDED, ProcurementState.CANCELLED},
    ProcurementState.AWARDED: set(),
    ProcurementState.CANCELLED: set(),
}

# Candidates may still join or change their assessment until the award.
OPEN_PROCUREMENT_STATES = frozenset(
    {ProcurementState.PREPARATION, ProcurementState.PUBLISHED, ProcurementState.EVALUATION}
)
# From publication on, the criteria the bidders were told about must not change under them.
CATALOGUE_FIXED_STATES = frozenset(
    {ProcurementState.PUBLISHED, ProcurementState.EVALUATION, ProcurementState.AWARDED}
)


class ProcurementCase(BaseModel):
    """A tender (Vergabeverfahren), e.g. VG-2026-000001."""

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    requirement = models.ForeignKey(
        "itsm.Requirement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="procurement_cases",
        verbose_name=_("requirement"),
        help_text=_("the IT requirement this procurement serves"),
    )
    org_unit = models.ForeignKey(
        "cmdb.OrgUnit",
        on_delete=models.PROTECT,
        related_name="procurement_cases",
        verbose_name=_("org unit"),
    )
    protection_class = models.CharField(
        _("protection class"),
        max_length=10,
        choices=ProtectionNeed.choices,
        help_text=_("decides which knock-out profile of the catalogue applies"),
    )
    state = models.CharField(
        _("state"),
        max_length=20,
        choices=ProcurementState.choices,
        default=ProcurementState.PREPARATION,
        db_index=True,
    )
    catalogue = models.ForeignKey(
        "sourcing.CriteriaCatalogue",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="procurement_cases",
        verbose_name=_("catalogue"),
        help_text=_("the catalogue version candidates are evaluated against, fixed when published"),
    )
    awarded_candidate = models.ForeignKey(
        "sourcing.ProcurementCandidate",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("awarded candidate"),
    )
    award_justification = models.TextField(_("award justification"), blank=True)
    ranking = models.JSONField(
        _("ranking"),
        default=list,
        blank=True,
        help_text=_("the evaluation as recorded at the award, best first"),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    evaluation_started_at = models.DateTimeField(_("evaluation started at"), null=True, blank=True)
    awarded_at = models.DateTimeField(_("awarded at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_reason = models.TextField(_("reason for cancellation"), blank=True)
    # Optimistic concurrency: clients send the version they saw; a mismatch means someone
    # else wrote in between and the client must reload instead of overwriting.
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("procurement case")
        verbose_name_plural = _("procurement cases")
        ordering = ["-created", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state__in=CATALOGUE_FIXED_STATES)
                | Q(catalogue__isnull=False, published_at__isnull=False),
                name="procurementcase_published_has_catalogue",
                violation_error_message=_(
                    "A published procurement case needs its catalogue and publication date."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(state=ProcurementState.AWARDED)
                | (
                    Q(awarded_candidate__isnull=False, awarded_at__isnull=False)
                    & ~Q(award_justification="")
                ),
                name="procurementcase_awarded_is_justified",
                violation_error_message=_(
                    "An awarded procurement case needs the candidate, the date and the "
                    "justification."
                ),
            ),
            models.CheckConstraint(
                condition=Q(state=ProcurementState.AWARDED) | Q(awarded_candidate__isnull=True),
                name="procurementcase_candidate_only_when_awarded",
                violation_error_message=_("Only an awarded procurement case names a winner."),
            ),
            models.CheckConstraint(
                condition=~Q(state=ProcurementState.CANCELLED) | ~Q(cancelled_reason=""),
                name="procurementcase_cancelled_has_reason",
                violation_error_message=_("A cancelled procurement case needs a reason."),
            ),
        ]

    def __str__(self):
        return f"{self.reference} {self.title}".strip()

    def clean(self):
        super().clean()
        if self.awarded_candidate_id and self.awarded_candidate.case_id != self.pk:
            raise ValidationError(
                {
                    "awarded_candidate": ValidationError(
                        _("The awarded candidate must be a candidate of this case."),
                        code="wrong_case",
                    )
                }
            )


CANDIDATE_SUBJECTS = ("vendor", "component")


class ProcurementCandidate(BaseModel):
    """A bidder: a vendor, or a product (IT component) when products rather than companies are
    compared, with the assessment its evaluation rests on."""

    case = models.ForeignKey(
        ProcurementCase,
        on_delete=models.CASCADE,
        related_name="candidates",
        verbose_name=_("procurement case"),
    )
    vendor = models.ForeignKey(
        "cmdb.Vendor",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="procurement_candidacies",
        verbose_name=_("vendor"),
    )
    component = models.ForeignKey(
        "cmdb.ITComponent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="procurement_candidacies",
        verbose_name=_("IT component"),
    )
    assessment = models.ForeignKey(
        "sourcing.Assessment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="procurement_candidacies",
        verbose_name=_("assessment"),
        help_text=_("the sovereignty assessment used for the evaluation"),
    )
    offer_notes = models.TextField(_("offer notes"), blank=True)

    class Meta:
        verbose_name = _("procurement candidate")
        verbose_name_plural = _("procurement candidates")
        ordering = ["case", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(vendor__isnull=False, component__isnull=True)
                | Q(vendor__isnull=True, component__isnull=False),
                name="procurementcandidate_vendor_xor_component",
                violation_error_message=_("A candidate is exactly one vendor or IT component."),
            ),
            models.UniqueConstraint(
                fields=["case", "vendor"],
                condition=Q(vendor__isnull=False),
                name="procurementcandidate_unique_vendor",
                violation_error_code="duplicate",
                violation_error_message=_("This vendor is already a candidate in this case."),
            ),
            models.UniqueConstraint(
                fields=["case", "component"],
                condition=Q(component__isnull=False),
                name="procurementcandidate_unique_component",
                violation_error_code="duplicate",
                violation_error_message=_("This IT component is already a candidate in this case."),
            ),
        ]

    def __str__(self):
        return str(self.subject)

    @property
    def subject(self):
        return self.vendor or self.component

    def clean(self):
        super().clean()
        if (self.vendor_id is None) == (self.component_id is None):
            raise ValidationError(
                {
                    "__all__": ValidationError(
                        _("Name exactly one vendor or IT component."), code="subject_required"
                    )
                }
            )
        if self.assessment_id is not None:
            assessment = self.assessment
            if (assessment.vendor_id, assessment.component_id, assessment.application_id) != (
                self.vendor_id,
                self.component_id,
                None,
            ):
                raise ValidationError(
                    {
                        "assessment": ValidationError(
                            _("The assessment concerns %(subject)s, not this candidate."),
                            code="wrong_subject",
                            params={"subject": str(assessment.subject)},
                        )
                    }
                )

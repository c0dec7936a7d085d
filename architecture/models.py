"""The architecture registry: capabilities, technology standards (the tech radar), architecture
decisions (ADRs) and exceptions from standards."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey
from simple_history.models import HistoricalRecords

from architecture.choices import DecisionStatus, StandardStatus, SupportLevel
from landkarte.models import BaseModel, SerializedTreeMixin, TimeStampedModel

MPTT_FIELDS = ["lft", "rght", "tree_id", "level"]


class Capability(SerializedTreeMixin, MPTTModel, TimeStampedModel):
    """A business capability (what the city does), in a tree."""

    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=30, unique=True)
    description = models.TextField(_("description"), blank=True)
    parent = TreeForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
        verbose_name=_("parent"),
    )  # fmt: skip
    applications = models.ManyToManyField(
        "cmdb.Application", through="ApplicationCapability", blank=True,
        related_name="capabilities", verbose_name=_("applications"),
    )  # fmt: skip
    requirements = models.ManyToManyField(
        "itsm.Requirement", blank=True, related_name="capabilities",
        verbose_name=_("requirements"),
    )  # fmt: skip

    history = HistoricalRecords(excluded_fields=MPTT_FIELDS)

    class MPTTMeta:
        order_insertion_by = ["code"]

    class Meta:
        verbose_name = _("capability")
        verbose_name_plural = _("capabilities")

    def __str__(self):
        return f"{self.code} {self.name}"


class ApplicationCapability(BaseModel):
    application = models.ForeignKey(
        "cmdb.Application", on_delete=models.CASCADE, related_name="capability_support",
        verbose_name=_("application"),
    )  # fmt: skip
    capability = models.ForeignKey(
        Capability, on_delete=models.CASCADE, related_name="support",
        verbose_name=_("capability"),
    )  # fmt: skip
    support_level = models.CharField(
        _("support level"), max_length=20, choices=SupportLevel.choices,
        default=SupportLevel.PRIMARY,
    )  # fmt: skip

    class Meta:
        verbose_name = _("capability support")
        verbose_name_plural = _("capability support")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "capability"], name="applicationcapability_unique"
            )
        ]

    def __str__(self):
        return f"{self.application} → {self.capability} ({self.get_support_level_display()})"


class TechCategory(SerializedTreeMixin, MPTTModel, TimeStampedModel):
    """A technology category (databases › relational), in a tree."""

    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=30, unique=True)
    description = models.TextField(_("description"), blank=True)
    parent = TreeForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
        verbose_name=_("parent"),
    )  # fmt: skip
    components = models.ManyToManyField(
        "cmdb.ITComponent", blank=True, related_name="tech_categories",
        verbose_name=_("components"),
    )  # fmt: skip

    history = HistoricalRecords(excluded_fields=MPTT_FIELDS)

    class MPTTMeta:
        order_insertion_by = ["code"]

    class Meta:
        verbose_name = _("technology category")
        verbose_name_plural = _("technology categories")

    def __str__(self):
        return f"{self.code} {self.name}"


class ArchitectureDecision(BaseModel):
    """An architecture decision record (ADR)."""

    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=300)
    status = models.CharField(
        _("status"), max_length=20, choices=DecisionStatus.choices,
        default=DecisionStatus.PROPOSED, db_index=True,
    )  # fmt: skip
    context = models.TextField(_("context"), blank=True)
    decision = models.TextField(_("decision"), blank=True)
    consequences = models.TextField(_("consequences"), blank=True)
    decided_at = models.DateField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="architecture_decisions", verbose_name=_("decided by"),
    )  # fmt: skip
    supersedes = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by",
        verbose_name=_("supersedes"),
    )  # fmt: skip
    review_date = models.DateField(_("review date"), null=True, blank=True)
    applications = models.ManyToManyField(
        "cmdb.Application", blank=True, related_name="architecture_decisions",
        verbose_name=_("applications"),
    )  # fmt: skip
    components = models.ManyToManyField(
        "cmdb.ITComponent", blank=True, related_name="architecture_decisions",
        verbose_name=_("components"),
    )  # fmt: skip
    interfaces = models.ManyToManyField(
        "cmdb.Interface", blank=True, related_name="architecture_decisions",
        verbose_name=_("interfaces"),
    )  # fmt: skip

    class Meta:
        verbose_name = _("architecture decision")
        verbose_name_plural = _("architecture decisions")
        ordering = ["-number"]

    def __str__(self):
        return f"{self.number} {self.title}"


class TechnologyStandard(BaseModel):
    """A dated status of a component or a category: one blip on the tech radar."""

    component = models.ForeignKey(
        "cmdb.ITComponent", on_delete=models.CASCADE, null=True, blank=True,
        related_name="standards", verbose_name=_("component"),
    )  # fmt: skip
    category = models.ForeignKey(
        TechCategory, on_delete=models.CASCADE, null=True, blank=True, related_name="standards",
        verbose_name=_("category"),
    )  # fmt: skip
    status = models.CharField(
        _("status"), max_length=20, choices=StandardStatus.choices, db_index=True
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("exclusive; empty: open-ended")
    )
    rationale = models.TextField(_("rationale"), blank=True)
    decision = models.ForeignKey(
        ArchitectureDecision, on_delete=models.PROTECT, null=True, blank=True,
        related_name="standards", verbose_name=_("decision"),
    )  # fmt: skip

    class Meta:
        verbose_name = _("technology standard")
        verbose_name_plural = _("technology standards")
        ordering = ["-valid_from", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(component__isnull=False) & Q(category__isnull=True))
                | (Q(component__isnull=True) & Q(category__isnull=False)),
                name="technologystandard_component_xor_category",
                violation_error_message=_("Choose either a component or a category."),
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
                name="technologystandard_valid_range",
                violation_error_message=_("The end of validity must be after its start."),
            ),
        ]

    def __str__(self):
        return f"{self.component or self.category}: {self.get_status_display()}"

    @property
    def subject(self):
        return self.component or self.category

    def is_valid_on(self, on) -> bool:
        return self.valid_from <= on and (self.valid_until is None or on < self.valid_until)


class StandardException(BaseModel):
    """A waiver: one application may use a technology against a standard, until it expires."""

    application = models.ForeignKey(
        "cmdb.Application", on_delete=models.CASCADE, related_name="standard_exceptions",
        verbose_name=_("application"),
    )  # fmt: skip
    standard = models.ForeignKey(
        TechnologyStandard, on_delete=models.CASCADE, related_name="exceptions",
        verbose_name=_("standard"),
    )  # fmt: skip
    decision = models.ForeignKey(
        ArchitectureDecision, on_delete=models.PROTECT, related_name="exceptions",
        verbose_name=_("decision"),
    )  # fmt: skip
    reason = models.TextField(_("reason"))
    expires_on = models.DateField(_("expires on"), help_text=_("valid up to and including"))

    class Meta:
        verbose_name = _("standard exception")
        verbose_name_plural = _("standard exceptions")
        ordering = ["expires_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "standard", "decision"], name="standardexception_unique"
            )
        ]

    def __str__(self):
        return f"{self.application}: {self.standard} ({self.expires_on})"

"""Sovereignty criteria catalogues and the assessments made against them.

A catalogue version is frozen once published: assessments keep pointing at the exact weights,
floor criteria, knock-out profiles and grade bands they were scored with, so a new version
never changes an old score. The rules that need the database (who may write, state changes)
live in `sourcing.services`; the models refuse what would corrupt a published catalogue even
when written from the admin or a shell.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from cmdb.models import Application, ITComponent, Vendor
from landkarte.models import BaseModel
from sourcing.choices import (
    CATALOGUE_TRANSITIONS,
    COMPONENT_SCOPES,
    DEFAULT_COMPONENT_SCOPES,
    SCOPE_VENDOR,
    AssessmentState,
    CatalogueStatus,
    SubjectKind,
    application_scopes,
)

MIN_LEVEL = 0
MAX_LEVEL = 4
LEVELS = range(MIN_LEVEL, MAX_LEVEL + 1)


def version_key(version: str) -> tuple:
    """Sort key for version strings: numerically by their numbers, so 0.10.0 comes after
    0.9.0; the text breaks ties (1.0.0-rc1 vs 1.0.0) deterministically."""
    return tuple(int(part) for part in re.findall(r"\d+", version)), version


def _immutable(message) -> ValidationError:
    return ValidationError({"__all__": ValidationError(message, code="immutable")})


class CriteriaCatalogue(BaseModel):
    """One version of a criteria catalogue, e.g. sovcat-de-muni 0.1.0.

    The raw `meta`, `groups`, `scoring` and `landscape` sections of the source file are kept as
    they were, so that formulas (grade bands, profiles, inheritance rule) are read from the
    version an assessment was made against rather than from code.
    """

    code = models.CharField(_("code"), max_length=50)
    version = models.CharField(_("version"), max_length=30)
    status = models.CharField(
        _("status"), max_length=20, choices=CatalogueStatus.choices, default=CatalogueStatus.DRAFT
    )
    title = models.CharField(_("title"), max_length=200)
    language = models.CharField(_("language"), max_length=10, default="en")
    meta = models.JSONField(_("meta"), default=dict, blank=True)
    sources = models.JSONField(
        _("sources"), default=dict, blank=True, help_text=_("source key → {title, url}")
    )
    groups = models.JSONField(
        _("groups"), default=dict, blank=True, help_text=_("group code → title")
    )
    scoring = models.JSONField(_("scoring rules"), default=dict, blank=True)
    landscape = models.JSONField(_("landscape rules"), default=dict, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    # Loading the same (code, version) again compares this, not the file bytes, so a
    # reformatted file with the same content is still "the same version".
    checksum = models.CharField(_("checksum"), max_length=64, blank=True, editable=False)

    # Fields that may still change once the catalogue has left draft.
    MUTABLE_WHEN_FROZEN = {"status", "updated"}

    class Meta:
        verbose_name = _("criteria catalogue")
        verbose_name_plural = _("criteria catalogues")
        ordering = ["code", "-published_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "version"],
                name="criteriacatalogue_unique_code_version",
                violation_error_message=_("This catalogue version already exists."),
            ),
            models.CheckConstraint(
                condition=Q(status=CatalogueStatus.DRAFT) | Q(published_at__isnull=False),
                name="criteriacatalogue_published_has_date",
                violation_error_message=_("A published catalogue needs a publication date."),
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.version}"

    @property
    def is_frozen(self) -> bool:
        return self.status != CatalogueStatus.DRAFT

    @property
    def version_key(self) -> tuple:
        return version_key(self.version)

    @property
    def protection_classes(self) -> list[str]:
        return list(self.meta.get("protection_classes") or self.profiles.keys())

    @property
    def profiles(self) -> dict[str, dict[str, int]]:
        """Protection class → {criterion code: minimum level} (the knock-out gate)."""
        return self.scoring.get("profiles") or {}

    def _check_frozen(self) -> None:
        if self.pk is None:
            return
        stored = type(self)._default_manager.filter(pk=self.pk).first()
        if stored is None:
            return
        if self.status != stored.status and self.status not in CATALOGUE_TRANSITIONS.get(
            stored.status, set()
        ):
            raise ValidationError(
                {
                    "status": ValidationError(
                        _("A catalogue cannot go from %(from)s to %(to)s."),
                        code="invalid_transition",
                        params={
                            "from": CatalogueStatus(stored.status).label,
                            "to": CatalogueStatus(self.status).label,
                        },
                    )
                }
            )
        if stored.status == CatalogueStatus.DRAFT:
            return
        changed = [
            field.name
            for field in self._meta.concrete_fields
            if field.name not in self.MUTABLE_WHEN_FROZEN
            and getattr(stored, field.attname) != getattr(self, field.attname)
        ]
        if changed:
            raise _immutable(
                _(
                    "Catalogue %(catalogue)s is %(status)s and cannot be changed; "
                    "publish a new version instead."
                )
                % {"catalogue": stored, "status": stored.get_status_display()}
            )

    def clean(self):
        super().clean()
        self._check_frozen()

    def save(self, *args, **kwargs):
        self._check_frozen()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_frozen:
            raise _immutable(_("A published or retired catalogue cannot be deleted."))
        return super().delete(*args, **kwargs)


class Criterion(BaseModel):
    """One criterion of a catalogue version, with its 0–4 level descriptions."""

    catalogue = models.ForeignKey(
        CriteriaCatalogue,
        on_delete=models.CASCADE,
        related_name="criteria",
        verbose_name=_("catalogue"),
    )
    code = models.CharField(_("code"), max_length=20)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    group = models.CharField(_("group"), max_length=50)
    name = models.CharField(_("name"), max_length=300)
    question = models.TextField(_("question"))
    answer_type = models.CharField(_("answer type"), max_length=20, default="graded")
    applies_to = models.JSONField(
        _("applies to"),
        default=list,
        blank=True,
        help_text=_("vendor, software_product, saas, paas_iaas, on_premises"),
    )
    evidence_hints = models.JSONField(_("evidence hints"), default=list, blank=True)
    level_descriptions = models.JSONField(
        _("level descriptions"), default=list, help_text=_("five texts, for levels 0 to 4")
    )
    weight = models.PositiveSmallIntegerField(_("weight"))
    knockout = models.JSONField(_("knock-out"), default=dict, blank=True)
    maps_to = models.JSONField(_("maps to"), default=dict, blank=True)
    sources = models.JSONField(_("sources"), default=list, blank=True)
    is_floor = models.BooleanField(
        _("floor criterion"),
        default=False,
        help_text=_("counts towards the sovereignty floor (the lowest level)"),
    )

    class Meta:
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")
        ordering = ["catalogue", "position", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["catalogue", "code"],
                name="criterion_unique_code",
                violation_error_message=_("This criterion code already exists in the catalogue."),
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def applies(self, scopes) -> bool:
        return bool(set(self.applies_to) & set(scopes))

    def minimum_level(self, protection_class: str) -> int | None:
        """The knock-out minimum for a protection class, or None when the profile has none."""
        return self.catalogue.profiles.get(protection_class, {}).get(self.code)

    def level_description(self, level: int) -> str:
        return self.level_descriptions[level] if level in LEVELS else ""

    def _check_catalogue_draft(self) -> None:
        status = (
            CriteriaCatalogue._default_manager.filter(pk=self.catalogue_id)
            .values_list("status", flat=True)
            .first()
        )
        if status is not None and status != CatalogueStatus.DRAFT:
            raise _immutable(
                _("The criteria of a published or retired catalogue cannot be changed.")
            )

    def clean(self):
        super().clean()
        if not isinstance(self.level_descriptions, list) or len(self.level_descriptions) != len(
            LEVELS
        ):
            raise ValidationError(
                {
                    "level_descriptions": ValidationError(
                        _("Describe each level from %(min)s to %(max)s."),
                        code="invalid",
                        params={"min": MIN_LEVEL, "max": MAX_LEVEL},
                    )
                }
            )
        if self.catalogue_id:
            self._check_catalogue_draft()

    def save(self, *args, **kwargs):
        self._check_catalogue_draft()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._check_catalogue_draft()
        return super().delete(*args, **kwargs)


SUBJECT_FIELDS = ("vendor", "component", "application")


def exactly_one_subject() -> Q:
    condition = Q()
    for name in SUBJECT_FIELDS:
        only_this = Q(**{f"{name}__isnull": False})
        for other in SUBJECT_FIELDS:
            if other != name:
                only_this &= Q(**{f"{other}__isnull": True})
        condition |= only_this
    return condition


class Assessment(BaseModel):
    """An assessment of one vendor, IT component (product) or application against one
    catalogue version."""

    catalogue = models.ForeignKey(
        CriteriaCatalogue,
        on_delete=models.PROTECT,
        related_name="assessments",
        verbose_name=_("catalogue"),
    )
    vendor = models.ForeignKey(
        "cmdb.Vendor",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sovereignty_assessments",
        verbose_name=_("vendor"),
    )
    component = models.ForeignKey(
        "cmdb.ITComponent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sovereignty_assessments",
        verbose_name=_("IT component"),
    )
    application = models.ForeignKey(
        "cmdb.Application",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sovereignty_assessments",
        verbose_name=_("application"),
    )
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="sovereignty_assessments",
        verbose_name=_("assessor"),
    )
    state = models.CharField(
        _("state"), max_length=20, choices=AssessmentState.choices, default=AssessmentState.DRAFT
    )
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approved_sovereignty_assessments",
        verbose_name=_("approved by"),
    )
    previous = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reassessments",
        verbose_name=_("re-assesses"),
    )
    comment = models.TextField(_("comment"), blank=True)
    return_reason = models.TextField(
        _("return reason"), blank=True, help_text=_("why the approver sent it back")
    )
    # Optimistic concurrency: clients send the version they saw; a mismatch means someone
    # else wrote in between and the client must reload instead of overwriting.
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("sovereignty assessment")
        verbose_name_plural = _("sovereignty assessments")
        ordering = ["-created", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=exactly_one_subject(),
                name="assessment_exactly_one_subject",
                violation_error_message=_(
                    "An assessment concerns exactly one vendor, IT component or application."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(state__in=[AssessmentState.APPROVED, AssessmentState.SUPERSEDED])
                | Q(approved_at__isnull=False, valid_until__isnull=False),
                name="assessment_approved_has_date_and_validity",
                violation_error_message=_(
                    "An approved assessment needs an approval date and a validity date."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(previous=F("id")),
                name="assessment_not_own_previous",
                violation_error_message=_("An assessment cannot re-assess itself."),
            ),
        ]
        indexes = [models.Index(fields=["state", "valid_until"])]

    def __str__(self):
        return f"{self.subject} ({self.catalogue}, {self.get_state_display()})"

    @property
    def subject(self):
        return self.vendor or self.component or self.application

    @property
    def subject_kind(self) -> str | None:
        for name in SUBJECT_FIELDS:
            if getattr(self, f"{name}_id") is not None:
                return SubjectKind(name)
        return None

    def scopes(self) -> frozenset[str]:
        """The catalogue's applies_to values that describe this subject."""
        return subject_scopes(self.subject)

    def clean(self):
        super().clean()
        if sum(getattr(self, f"{name}_id") is not None for name in SUBJECT_FIELDS) != 1:
            raise ValidationError(
                {
                    "__all__": ValidationError(
                        _("Name exactly one vendor, IT component or application."),
                        code="subject_required",
                    )
                }
            )


def subject_scopes(subject) -> frozenset[str]:
    if isinstance(subject, Vendor):
        return frozenset({SCOPE_VENDOR})
    if isinstance(subject, ITComponent):
        return COMPONENT_SCOPES.get(subject.kind, DEFAULT_COMPONENT_SCOPES)
    if isinstance(subject, Application):
        return application_scopes(subject.kind, subject.hosting)
    raise TypeError(f"Not an assessable subject: {subject!r}")


class Answer(BaseModel):
    """The level given for one criterion. No level means unanswered, which scores 0."""

    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="answers", verbose_name=_("assessment")
    )
    criterion = models.ForeignKey(
        Criterion, on_delete=models.PROTECT, related_name="answers", verbose_name=_("criterion")
    )
    level = models.PositiveSmallIntegerField(
        _("level"),
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_LEVEL), MaxValueValidator(MAX_LEVEL)],
        help_text=_("0 (no sovereignty) to 4 (fully sovereign); empty: unanswered"),
    )
    not_applicable = models.BooleanField(_("not applicable"), default=False)
    evidence = models.TextField(_("evidence"), blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        ordering = ["assessment", "criterion__position", "criterion__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "criterion"],
                name="answer_unique_criterion",
                violation_error_message=_("This criterion is already answered."),
            ),
            models.CheckConstraint(
                condition=Q(level__isnull=True) | Q(level__gte=MIN_LEVEL, level__lte=MAX_LEVEL),
                name="answer_level_range",
                violation_error_message=_("The level must be between 0 and 4."),
            ),
            models.CheckConstraint(
                condition=Q(not_applicable=False) | Q(level__isnull=True),
                name="answer_not_applicable_has_no_level",
                violation_error_message=_("A criterion marked not applicable has no level."),
            ),
        ]

    def __str__(self):
        shown = _("n/a") if self.not_applicable else self.level
        return f"{self.criterion.code}: {shown}"

    def clean(self):
        super().clean()
        errors = {}
        if self.not_applicable and self.level is not None:
            errors["level"] = ValidationError(
                _("A criterion marked not applicable has no level."), code="invalid"
            )
        if self.assessment_id and self.criterion_id:
            if self.criterion.catalogue_id != self.assessment.catalogue_id:
                errors["criterion"] = ValidationError(
                    _("This criterion belongs to another catalogue than the assessment."),
                    code="wrong_catalogue",
                )
            elif self.not_applicable and self.criterion.applies(self.assessment.scopes()):
                errors["not_applicable"] = ValidationError(
                    _(
                        "%(code)s applies to this %(kind)s (%(applies_to)s); "
                        "give a level or leave it unanswered."
                    ),
                    code="not_applicable_refused",
                    params={
                        "code": self.criterion.code,
                        "kind": SubjectKind(self.assessment.subject_kind).label,
                        "applies_to": ", ".join(self.criterion.applies_to),
                    },
                )
        if errors:
            raise ValidationError(errors)


from sourcing.procurement_models import *  # noqa: E402, F401, F403

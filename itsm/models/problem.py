"""Problems; the known error database is the set of problems flagged as known errors."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from itsm.choices import ProblemState
from landkarte.models import BaseModel

__all__ = ["Problem"]


class Problem(BaseModel):
    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=ProblemState.choices, default=ProblemState.NEW,
        db_index=True,
    )  # fmt: skip
    root_cause = models.TextField(_("root cause"), blank=True)
    workaround = models.TextField(_("workaround"), blank=True)
    is_known_error = models.BooleanField(_("known error"), default=False, db_index=True)
    applications = models.ManyToManyField(
        "cmdb.Application", blank=True, related_name="problems",
        verbose_name=_("affected applications"),
    )  # fmt: skip
    components = models.ManyToManyField(
        "cmdb.ITComponent", blank=True, related_name="problems",
        verbose_name=_("affected components"),
    )  # fmt: skip
    changes = models.ManyToManyField(
        "itsm.Change", blank=True, related_name="problems", verbose_name=_("changes")
    )
    assigned_team = models.ForeignKey(
        "cmdb.Team", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="problems", verbose_name=_("assignment group"),
    )  # fmt: skip
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="assigned_problems", verbose_name=_("assignee"),
    )  # fmt: skip
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("problem")
        verbose_name_plural = _("problems")
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_known_error=False) | ~Q(workaround=""),
                name="problem_known_error_needs_workaround",
                violation_error_message=_("A known error needs a documented workaround."),
            ),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

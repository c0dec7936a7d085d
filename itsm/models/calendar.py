"""Business calendars and service levels: the configuration behind the SLA clock.

The arithmetic on these models (business minutes, due dates) lives in ``itsm.services.sla``.
"""

import datetime
import zoneinfo

import holidays
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from itsm.choices import Priority
from landkarte.models import BaseModel

__all__ = [
    "BusinessCalendar",
    "ClosingDay",
    "ServiceLevel",
    "ServiceLevelTarget",
    "WorkingHours",
]


class BusinessCalendar(BaseModel):
    """When the organisation works: weekly working hours, public holidays of a region (from the
    ``holidays`` package) and extra closing days, in one local time zone."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Berlin", help_text=_("IANA name")
    )
    holiday_country = models.CharField(
        _("holiday country"),
        max_length=3,
        default="DE",
        help_text=_("ISO 3166-1 code whose public holidays are non-working days"),
    )
    holiday_subdivision = models.CharField(
        _("holiday subdivision"),
        max_length=10,
        default="BW",
        blank=True,
        help_text=_("state or region, e.g. BW for Baden-Württemberg; empty for national only"),
    )
    is_default = models.BooleanField(_("default calendar"), default=False)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="itsm_businesscalendar_one_default",
            )
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        # A typo here would otherwise only surface as a crash in the SLA clock.
        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                {"time_zone": _("Unknown time zone “%(zone)s”.") % {"zone": self.time_zone}}
            ) from None
        try:
            holidays.country_holidays(self.holiday_country, subdiv=self.holiday_subdivision or None)
        except NotImplementedError:
            raise ValidationError(
                {
                    "holiday_subdivision": _(
                        "No public holidays known for country “%(country)s”, "
                        "subdivision “%(subdiv)s”."
                    )
                    % {"country": self.holiday_country, "subdiv": self.holiday_subdivision}
                }
            ) from None


class WorkingHours(BaseModel):
    """One working interval on one weekday. Several intervals per weekday express breaks.

    An end of 00:00 means midnight at the end of the day (24:00), so that round-the-clock
    calendars can be expressed.
    """

    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.CASCADE,
        related_name="working_hours",
        verbose_name=_("calendar"),
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=list(WEEKDAYS.items()))
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"), help_text=_("00:00 means midnight at the end of the day"))

    class Meta:
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        ordering = ["calendar", "weekday", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=models.F("end")) | Q(end=datetime.time(0, 0)),
                name="itsm_workinghours_start_before_end",
                violation_error_message=_("The start must be before the end."),
            ),
            models.CheckConstraint(
                condition=Q(weekday__lte=6), name="itsm_workinghours_weekday_range"
            ),
        ]

    def __str__(self):
        end = "24:00" if self.end == datetime.time(0, 0) else f"{self.end:%H:%M}"
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{end}"


class ClosingDay(BaseModel):
    """A day the organisation does not work although it is no public holiday (24 and 31
    December, a works outing)."""

    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.CASCADE,
        related_name="closing_days",
        verbose_name=_("calendar"),
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("closing day")
        verbose_name_plural = _("closing days")
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date"], name="itsm_closingday_unique_per_calendar"
            )
        ]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.name}".strip()


class ServiceLevel(BaseModel):
    """Response and resolution targets per priority, either for one service or, without a
    service, the default for everything else."""

    name = models.CharField(_("name"), max_length=100)
    service = models.OneToOneField(
        "cmdb.Service",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="service_level",
        verbose_name=_("service"),
        help_text=_("empty for the default service level"),
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        related_name="service_levels",
        verbose_name=_("calendar"),
    )

    class Meta:
        verbose_name = _("service level")
        verbose_name_plural = _("service levels")
        ordering = ["name"]
        constraints = [
            # NULLs never collide in a unique index, so "one row without a service" is a
            # partial unique index on a constant.
            models.UniqueConstraint(
                models.Value(True),
                condition=Q(service__isnull=True),
                name="itsm_servicelevel_one_default",
                violation_error_message=_("There is already a default service level."),
            )
        ]

    def __str__(self):
        return self.name


class ServiceLevelTarget(BaseModel):
    """Targets for one priority, in business minutes of the service level's calendar."""

    service_level = models.ForeignKey(
        ServiceLevel,
        on_delete=models.CASCADE,
        related_name="targets",
        verbose_name=_("service level"),
    )
    priority = models.CharField(_("priority"), max_length=2, choices=Priority.choices)
    response_minutes = models.PositiveIntegerField(
        _("response target (business minutes)"),
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution target (business minutes)"),
    )

    class Meta:
        verbose_name = _("service level target")
        verbose_name_plural = _("service level targets")
        ordering = ["service_level", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_level", "priority"],
                name="itsm_serviceleveltarget_unique_priority",
            ),
            models.CheckConstraint(
                condition=Q(response_minutes__gt=0) & Q(resolution_minutes__gt=0),
                name="itsm_serviceleveltarget_positive",
                violation_error_message=_("Targets must be positive."),
            ),
        ]

    def __str__(self):
        return (
            f"{self.service_level} {self.get_priority_display()}: "
            f"{self.response_minutes}/{self.resolution_minutes} min"
        )

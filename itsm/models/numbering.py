"""Ticket numbers like INC-2026-000123: gap-free per prefix and year, safe under concurrency."""

from django.db import models, transaction

__all__ = ["TicketCounter", "next_number"]


class TicketCounter(models.Model):
    prefix = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="ticketcounter_unique")
        ]

    def __str__(self):
        return f"{self.prefix}-{self.year}: {self.last}"


def next_number(prefix: str, year: int) -> str:
    """The next number for a prefix (INC, PRB, CHG, REQ) in a year. The counter row is locked,
    so two tickets opened at once never get the same number."""
    with transaction.atomic():
        TicketCounter.objects.get_or_create(prefix=prefix, year=year)
        counter = TicketCounter.objects.select_for_update().get(prefix=prefix, year=year)
        counter.last += 1
        counter.save(update_fields=["last"])
    return f"{prefix}-{year}-{counter.last:06d}"

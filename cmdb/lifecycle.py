"""Lifecycle phases on a date, as Python and as SQL conditions (Q objects) that agree."""

import datetime

from django.db.models import Q

from cmdb.choices import LIFECYCLE_DATE_FIELDS, LifecyclePhase


def phase_q(phase: str, on: datetime.date, prefix: str = "") -> Q:
    """Applications whose lifecycle phase on `on` is `phase` (dates are stored in order)."""
    fields = [field for _phase, field in LIFECYCLE_DATE_FIELDS]
    index = [p for p, _field in LIFECYCLE_DATE_FIELDS].index(phase)
    condition = Q(**{f"{prefix}{fields[index]}__lte": on})
    for later in fields[index + 1 :]:
        condition &= Q(**{f"{prefix}{later}__isnull": True}) | Q(**{f"{prefix}{later}__gt": on})
    return condition


def no_lifecycle_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}{field}__isnull": True for _phase, field in LIFECYCLE_DATE_FIELDS})


def application_alive_q(on: datetime.date, prefix: str = "") -> Q:
    """Applications running on `on`: in phase-in, active or phase-out, or without any dates."""
    return (
        phase_q(LifecyclePhase.PHASE_IN, on, prefix)
        | phase_q(LifecyclePhase.ACTIVE, on, prefix)
        | phase_q(LifecyclePhase.PHASE_OUT, on, prefix)
        | no_lifecycle_q(prefix)
    )


def interface_alive_q(on: datetime.date, prefix: str = "") -> Q:
    return (
        Q(**{f"{prefix}active_from__isnull": True}) | Q(**{f"{prefix}active_from__lte": on})
    ) & (Q(**{f"{prefix}end_of_life__isnull": True}) | Q(**{f"{prefix}end_of_life__gt": on}))

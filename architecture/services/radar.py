"""The tech radar: which status a technology has on a date, and exceptions from it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from architecture.choices import STANDARD_RESTRICTIVENESS, DecisionStatus
from architecture.models import StandardException, TechCategory, TechnologyStandard


def _today() -> datetime.date:
    return timezone.localdate()


def valid_on_q(on: datetime.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}valid_from__lte": on}) & (
        Q(**{f"{prefix}valid_until__isnull": True}) | Q(**{f"{prefix}valid_until__gt": on})
    )


def _latest(standards) -> TechnologyStandard | None:
    """Of overlapping standards of one subject, the one that started last wins."""
    return max(standards, key=lambda s: (s.valid_from, s.pk), default=None)


def status_on(component, on: datetime.date | None = None) -> TechnologyStandard | None:
    """The standard valid on `on` (default today) for the component itself, else for its
    categories and their ancestors. The nearest category with a standard decides along each
    category's path to the root; when several categories of the component apply, the most
    restrictive status wins (prohibited > retired > tolerated > candidate > approved)."""
    on = on or _today()
    own = TechnologyStandard.objects.filter(valid_on_q(on), component=component)
    found = _latest(own)
    if found is not None:
        return found
    categories = list(TechCategory.objects.filter(components=component))
    if not categories:
        return None
    paths = [
        list(category.get_ancestors(ascending=True, include_self=True)) for category in categories
    ]
    ids = {node.pk for path in paths for node in path}
    by_category: dict[int, list[TechnologyStandard]] = {}
    for standard in TechnologyStandard.objects.filter(valid_on_q(on), category_id__in=ids):
        by_category.setdefault(standard.category_id, []).append(standard)
    candidates = []
    for path in paths:
        for node in path:  # nearest first
            if node.pk in by_category:
                candidates.append(_latest(by_category[node.pk]))
                break
    if not candidates:
        return None
    return max(
        candidates,
        key=lambda s: (STANDARD_RESTRICTIVENESS[s.status], s.valid_from, s.pk),
    )


@dataclass(frozen=True)
class RadarEntry:
    component: object | None
    category: TechCategory | None
    status: str
    standard: TechnologyStandard


def radar(on: datetime.date | None = None) -> list[RadarEntry]:
    """Every component and category with a standard valid on `on` (default today): one entry
    per subject (the latest valid standard), categories first, then components."""
    on = on or _today()
    latest: dict[tuple[str, int], TechnologyStandard] = {}
    standards = TechnologyStandard.objects.filter(valid_on_q(on)).select_related(
        "component", "category", "decision"
    )
    for standard in standards:
        key = (
            ("component", standard.component_id)
            if standard.component_id
            else ("category", standard.category_id)
        )
        current = latest.get(key)
        if current is None or (standard.valid_from, standard.pk) > (current.valid_from, current.pk):
            latest[key] = standard
    entries = [
        RadarEntry(
            component=standard.component,
            category=standard.category,
            status=standard.status,
            standard=standard,
        )  # fmt: skip
        for standard in latest.values()
    ]
    entries.sort(key=lambda e: (e.component is not None, str(e.component or e.category)))
    return entries


def valid_exception(application, standard, on: datetime.date | None = None):
    """An exception for the application from the standard that has not expired on `on`
    (default today) and rests on an accepted decision, or None."""
    on = on or _today()
    return (
        StandardException.objects.filter(
            application=application,
            standard=standard,
            expires_on__gte=on,
            decision__status=DecisionStatus.ACCEPTED,
        )
        .order_by("-expires_on", "pk")
        .first()
    )

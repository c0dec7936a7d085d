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
    return statuses_on([component.pk], on)[component.pk]


def statuses_on(
    component_ids, on: datetime.date | None = None
) -> dict[int, TechnologyStandard | None]:
    """`status_on` for many components at once, in three queries: the standards valid on
    `on`, the components' categories and the category tree."""
    on = on or _today()
    component_ids = list(component_ids)
    own: dict[int, list[TechnologyStandard]] = {}
    by_category: dict[int, list[TechnologyStandard]] = {}
    for standard in TechnologyStandard.objects.filter(valid_on_q(on)).filter(
        Q(component_id__in=component_ids) | Q(category__isnull=False)
    ):
        if standard.component_id:
            own.setdefault(standard.component_id, []).append(standard)
        else:
            by_category.setdefault(standard.category_id, []).append(standard)
    categories_of: dict[int, list[int]] = {}
    for component_id, category_id in TechCategory.components.through.objects.filter(
        itcomponent_id__in=component_ids
    ).values_list("itcomponent_id", "techcategory_id"):
        categories_of.setdefault(component_id, []).append(category_id)
    parents = dict(TechCategory.objects.values_list("pk", "parent_id")) if categories_of else {}

    def nearest(category_id):
        while category_id is not None:  # the category, then its ancestors
            if category_id in by_category:
                return _latest(by_category[category_id])
            category_id = parents.get(category_id)
        return None

    result = {}
    for component_id in component_ids:
        found = _latest(own.get(component_id, []))
        if found is None:
            candidates = [nearest(c) for c in categories_of.get(component_id, [])]
            found = max(
                (c for c in candidates if c is not None),
                key=lambda s: (STANDARD_RESTRICTIVENESS[s.status], s.valid_from, s.pk),
                default=None,
            )
        result[component_id] = found
    return result


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


def exempted(pairs, on: datetime.date | None = None) -> set[tuple[int, int]]:
    """The (application id, standard id) pairs among `pairs` that hold a valid exception
    (see `valid_exception`), in one query."""
    on = on or _today()
    pairs = set(pairs)
    if not pairs:
        return set()
    found = StandardException.objects.filter(
        application_id__in={app for app, _ in pairs},
        standard_id__in={standard for _, standard in pairs},
        expires_on__gte=on,
        decision__status=DecisionStatus.ACCEPTED,
    ).values_list("application_id", "standard_id")
    return set(found) & pairs

"""Loading, publishing and retiring criteria catalogues.

A catalogue file (YAML, see sourcing/data/sovereignty_criteria.yaml) becomes one
CriteriaCatalogue row per (meta.id, meta.version) with its criteria. Loading a version that
exists is a no-op when the content is the same and refused ("immutable") when it differs and
the version is published: a new weight or threshold needs a new version, so that assessments
keep the rules they were scored with. A draft version may be reloaded with new content (no
assessment can point at a draft).

The row's status is the registry's own lifecycle (draft → published → retired); the file's
`meta.status` describes the document and is kept in `meta` as it was.

Errors are ValidationError({field: ValidationError(message, code)}) with the codes invalid,
immutable, invalid_transition; permission errors are PermissionDenied. Every write records
the user and a reason in the history.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import yaml
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from landkarte.roles import PROCUREMENT, require_role
from landkarte.services import field_error as _error
from landkarte.services import save_with_history
from sourcing.choices import CATALOGUE_TRANSITIONS, CatalogueStatus
from sourcing.models import LEVELS, CriteriaCatalogue, Criterion, version_key
from sourcing.services.scoring import grade_bands, inherited_codes

__all__ = [
    "SHIPPED_CATALOGUE",
    "default_catalogue",
    "load_catalogue",
    "parse_catalogue",
    "publish_catalogue",
    "retire_catalogue",
]

SHIPPED_CATALOGUE = Path(__file__).resolve().parent.parent / "data" / "sovereignty_criteria.yaml"

# Keeps a bulk insert under SQLite's 999 parameters (the history table has ~24 columns).
BATCH_SIZE = 30


def _jsonable(value):
    """YAML allows integer keys (levels 0..4); JSON columns store text keys. Converting before
    the checksum makes a freshly parsed file and a stored row compare equal."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _checksum(document: dict) -> str:
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_criterion(item, index: int, groups: dict, scopes: set | None, problems: list):
    where = item.get("id") if isinstance(item, dict) and item.get("id") else f"#{index + 1}"
    if not isinstance(item, dict):
        problems.append(f"criterion {where}: not a mapping")
        return None
    for key in ("id", "group", "name", "question", "levels", "weight"):
        if item.get(key) in (None, ""):
            problems.append(f"criterion {where}: {key} is missing")
    if groups and item.get("group") not in groups:
        problems.append(f"criterion {where}: unknown group {item.get('group')!r}")
    weight = item.get("weight")
    if weight is not None and (not _is_int(weight) or weight < 0):
        problems.append(f"criterion {where}: weight must be a whole number of 0 or more")
    levels = item.get("levels")
    if levels is not None and (
        not isinstance(levels, dict) or sorted(map(str, levels)) != [str(n) for n in LEVELS]
    ):
        problems.append(f"criterion {where}: levels must describe exactly 0, 1, 2, 3 and 4")
    applies_to = item.get("applies_to") or []
    if not isinstance(applies_to, list):
        problems.append(f"criterion {where}: applies_to must be a list")
    elif scopes is not None and set(applies_to) - scopes:
        unknown = ", ".join(sorted(set(applies_to) - scopes))
        problems.append(f"criterion {where}: unknown applies_to value(s) {unknown}")
    return item.get("id")


def parse_catalogue(path: str | Path) -> dict:
    """Read and check a catalogue file. Returns {code, version, title, language, meta,
    sources, groups, scoring, landscape, criteria: [Criterion field dicts], checksum}. Raises
    ValidationError (code "invalid") listing every problem found."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _error(
            "path", _("%(path)s is not valid YAML: %(error)s"), "invalid",
            {"path": path.name, "error": exc},
        ) from exc  # fmt: skip
    if not isinstance(document, dict):
        raise _error("path", _("%(path)s is not a catalogue."), "invalid", {"path": path.name})
    document = _jsonable(document)

    problems: list[str] = []
    meta = document.get("meta") or {}
    groups = document.get("groups") or {}
    scoring = document.get("scoring") or {}
    landscape = document.get("landscape") or {}
    items = document.get("criteria") or []
    if not meta.get("id") or not meta.get("version"):
        problems.append("meta.id and meta.version are required")
    if not isinstance(items, list) or not items:
        problems.append("criteria: a non-empty list is required")
        items = []
    scopes = set(meta["applies_to_values"]) if meta.get("applies_to_values") else None
    codes = [_check_criterion(item, i, groups, scopes, problems) for i, item in enumerate(items)]
    duplicates = sorted({code for code in codes if code and codes.count(code) > 1})
    if duplicates:
        problems.append(f"duplicate criterion ids: {', '.join(duplicates)}")
    known = {code for code in codes if code}

    floor = scoring.get("floor_criteria") or []
    if set(floor) - known:
        problems.append(f"floor_criteria: unknown {', '.join(sorted(set(floor) - known))}")
    classes = meta.get("protection_classes")
    for protection_class, minima in (scoring.get("profiles") or {}).items():
        if classes and protection_class not in classes:
            problems.append(f"profiles: unknown protection class {protection_class}")
        for code, minimum in (minima or {}).items():
            if code not in known:
                problems.append(f"profiles.{protection_class}: unknown criterion {code}")
            if not _is_int(minimum) or minimum not in LEVELS:
                problems.append(f"profiles.{protection_class}.{code}: level 0 to 4 expected")
    weights = sum(item.get("weight") or 0 for item in items if isinstance(item, dict))
    if "weights_sum" in scoring and scoring["weights_sum"] != weights:
        problems.append(f"weights add up to {weights}, not weights_sum {scoring['weights_sum']}")
    for check in (lambda: grade_bands(scoring), lambda: inherited_codes(landscape, known)):
        try:
            check()
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise _error(
            "path", _("%(path)s is not a valid catalogue: %(problems)s"), "invalid",
            {"path": path.name, "problems": "; ".join(problems)},
        )  # fmt: skip

    criteria = [
        {
            "code": item["id"],
            "position": position,
            "group": item["group"],
            "name": item["name"],
            "question": item["question"],
            "answer_type": item.get("answer_type") or "graded",
            "applies_to": item.get("applies_to") or [],
            "evidence_hints": item.get("evidence") or [],
            "level_descriptions": [item["levels"][str(level)] for level in LEVELS],
            "weight": item["weight"],
            "knockout": item.get("knockout") or {},
            "maps_to": item.get("maps_to") or {},
            "sources": item.get("sources") or [],
            "is_floor": item["id"] in floor,
        }
        for position, item in enumerate(items, start=1)
    ]
    return {
        "code": str(meta["id"]),
        "version": str(meta["version"]),
        "title": str(meta.get("title") or meta["id"]),
        "language": str(meta.get("language") or "en"),
        "meta": meta,
        "sources": document.get("sources") or {},
        "groups": groups,
        "scoring": scoring,
        "landscape": landscape,
        "criteria": criteria,
        "checksum": _checksum(document),
    }


CATALOGUE_FIELDS = ("title", "language", "meta", "sources", "groups", "scoring", "landscape")


def _fill(catalogue: CriteriaCatalogue, data: dict) -> None:
    for name in CATALOGUE_FIELDS:
        setattr(catalogue, name, data[name])
    catalogue.checksum = data["checksum"]


def _create_criteria(catalogue: CriteriaCatalogue, data: dict, user) -> None:
    criteria = [Criterion(catalogue=catalogue, **fields) for fields in data["criteria"]]
    bulk_create_with_history(
        criteria,
        Criterion,
        batch_size=BATCH_SIZE,
        default_user=user,
        default_change_reason=f"loaded {catalogue}",
    )


def _install(data: dict, *, user) -> CriteriaCatalogue:
    """Create the catalogue version, or find the one that exists; locked until commit."""
    existing = (
        CriteriaCatalogue.objects.select_for_update()
        .filter(code=data["code"], version=data["version"])
        .first()
    )
    if existing is not None:
        if existing.checksum == data["checksum"]:
            return existing
        if existing.is_frozen:
            raise _error(
                "version",
                _(
                    "Catalogue %(catalogue)s is %(status)s and differs from this file; "
                    "give the file a new version."
                ),
                "immutable",
                {"catalogue": str(existing), "status": existing.get_status_display()},
            )
        # A draft has no assessments (they need a published catalogue): replace its content.
        for criterion in existing.criteria.all():
            criterion._history_user = user
            criterion._change_reason = "replaced by a reloaded draft"
            criterion.delete()
        _fill(existing, data)
        save_with_history(existing, user, "reloaded draft")
        _create_criteria(existing, data, user)
        return existing
    catalogue = CriteriaCatalogue(code=data["code"], version=data["version"])
    _fill(catalogue, data)
    save_with_history(catalogue, user, "loaded")
    _create_criteria(catalogue, data, user)
    return catalogue


def load_catalogue(
    path: str | Path = SHIPPED_CATALOGUE, *, publish: bool = True, user=None
) -> CriteriaCatalogue:
    """Load a catalogue file as a new catalogue version and publish it (unless `publish` is
    false). An identical version already loaded is returned as it is (a draft is published
    when asked). `user` None means the system (a management command)."""
    if user is not None:
        require_role(user, PROCUREMENT)
    data = parse_catalogue(path)
    for attempt in range(2):
        try:
            with transaction.atomic():
                catalogue = _install(data, user=user)
                if publish and catalogue.status == CatalogueStatus.DRAFT:
                    _set_status(catalogue, CatalogueStatus.PUBLISHED, user)
            return catalogue
        except IntegrityError:
            # Two loads of the same new version raced; the second one now finds the first.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _set_status(catalogue: CriteriaCatalogue, status: str, user) -> None:
    if status not in CATALOGUE_TRANSITIONS[catalogue.status]:
        raise _error(
            "status",
            _("A catalogue cannot go from %(from)s to %(to)s."),
            "invalid_transition",
            {
                "from": CatalogueStatus(catalogue.status).label,
                "to": CatalogueStatus(status).label,
            },
        )
    catalogue.status = status
    if status == CatalogueStatus.PUBLISHED:
        catalogue.published_at = timezone.now()
    save_with_history(catalogue, user, status)


def _change_status(catalogue: CriteriaCatalogue, status: str, user) -> CriteriaCatalogue:
    require_role(user, PROCUREMENT)
    with transaction.atomic():
        catalogue = CriteriaCatalogue.objects.select_for_update().get(pk=catalogue.pk)
        _set_status(catalogue, status, user)
    return catalogue


def publish_catalogue(catalogue: CriteriaCatalogue, *, user) -> CriteriaCatalogue:
    """Draft → published: from now on its criteria and rules are frozen."""
    return _change_status(catalogue, CatalogueStatus.PUBLISHED, user)


def retire_catalogue(catalogue: CriteriaCatalogue, *, user) -> CriteriaCatalogue:
    """No new assessments against it; existing ones keep it."""
    return _change_status(catalogue, CatalogueStatus.RETIRED, user)


@functools.cache
def shipped_code() -> str:
    return parse_catalogue(SHIPPED_CATALOGUE)["code"]


def latest_published(code: str) -> CriteriaCatalogue | None:
    published = CriteriaCatalogue.objects.filter(code=code, status=CatalogueStatus.PUBLISHED)
    return max(published, key=lambda catalogue: version_key(catalogue.version), default=None)


def default_catalogue() -> CriteriaCatalogue:
    """The latest published version of the shipped catalogue, loading the shipped file when
    no version is published yet."""
    catalogue = latest_published(shipped_code())
    if catalogue is None:
        load_catalogue(SHIPPED_CATALOGUE)
        catalogue = latest_published(shipped_code())
    if catalogue is None:
        # The shipped version exists but was retired, and no newer one is published.
        raise CriteriaCatalogue.DoesNotExist(
            _("No published version of catalogue %(code)s.") % {"code": shipped_code()}
        )
    return catalogue

"""Scores, grades, floors and knock-outs, computed exactly as the catalogue's `scoring` section
says, and an application's effective levels from the catalogue's `landscape` section.

Everything that a catalogue version may change (weights, floor criteria, knock-out profiles,
grade bands, the inheritance rule, the value of missing evidence) is read from the catalogue
row an assessment points at, never from constants here, so that publishing a new version
changes no earlier score.

Formulas (scoring section of sovcat-de-muni 0.1.0):

- criterion points = weight × level / 4; an unanswered criterion has level 0;
- total score = 100 × Σ points / Σ weight over the applicable criteria; a criterion answered
  "not applicable" is left out of both sums. Without any applicable weight the score is 0;
- group scores: the same formula within one group (and within one EU-CSF objective, from
  `maps_to.eu_csf`, in `eu_csf_scores`);
- sovereignty floor = the lowest level over the applicable floor criteria (unanswered: 0);
  None when none of them applies;
- knock-outs for a protection class: every criterion of that class's profile whose level is
  below the profile minimum (unanswered counts as 0 and fails; not applicable never fails);
- grade: the band whose lower bound the score (rounded to one decimal, half up, so the shown
  score and the grade agree) reaches; the catch-all band ("below 35 or any knock-out
  failed", E) when no bound is reached or when a knock-out failed. Without a protection class
  no profile is checked and the grade follows from the score alone.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cmdb.choices import ApplicationKind, ComponentKind, Environment, ProtectionNeed
from cmdb.graph import dependencies
from cmdb.models import Application, ITComponent, Vendor
from sourcing.choices import AssessmentState
from sourcing.models import Assessment, CriteriaCatalogue, Criterion, subject_scopes

__all__ = [
    "BulkEvidence",
    "EffectiveLevels",
    "Evidence",
    "FailedKnockout",
    "LevelSource",
    "ScoreResult",
    "compute_score",
    "current_assessment",
    "effective_assessment",
    "effective_levels",
    "grade_bands",
    "inherited_codes",
    "protection_class_of",
    "score_application",
    "score_assessment",
]

ONE_DECIMAL = Decimal("0.1")


@dataclass(frozen=True)
class FailedKnockout:
    code: str
    name: str
    level: int | None
    """The level given; None when unanswered (which counts as 0)."""
    minimum: int


@dataclass(frozen=True)
class ScoreResult:
    score: float
    grade: str
    floor_level: int | None
    group_scores: dict[str, float]
    knockouts_failed: list[FailedKnockout]
    protection_class: str | None
    eu_csf_scores: dict[str, float] = field(default_factory=dict)
    unanswered: list[str] = field(default_factory=list)
    """Applicable criteria without a level: gaps in the evidence, scored 0."""


# --- the catalogue's rules -------------------------------------------------------------------

_RANGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(\d+(?:\.\d+)?)\s*$")
_BELOW = re.compile(r"^\s*below\b", re.IGNORECASE)
_KNOCKOUT = re.compile(r"knock[- ]?out", re.IGNORECASE)


@dataclass(frozen=True)
class GradeBands:
    bands: list[tuple[Decimal, str]]
    """(lower bound, grade), highest bound first."""
    fallback: str
    """The grade below every bound, and for a failed knock-out."""

    def grade(self, score: Decimal, knockout_failed: bool) -> str:
        if knockout_failed:
            return self.fallback
        for lower, grade in self.bands:
            if score >= lower:
                return grade
        return self.fallback


def grade_bands(scoring: Mapping) -> GradeBands:
    """Read `scoring.grade_bands`: "80-100" style ranges (a number alone is a lower bound)
    plus one catch-all band ("below 35 or any knock-out failed"). Raises ValueError when the
    bands cannot be read, so that a broken catalogue is refused when it is loaded."""
    spec = scoring.get("grade_bands")
    if not isinstance(spec, Mapping) or not spec:
        raise ValueError("scoring.grade_bands is missing")
    bands, fallback = [], None
    for grade, text in spec.items():
        if isinstance(text, int | float) and not isinstance(text, bool):
            bands.append((Decimal(str(text)), str(grade)))
            continue
        text = str(text)
        match = _RANGE.match(text)
        if match:
            bands.append((Decimal(match[1]), str(grade)))
        elif _BELOW.match(text) or _KNOCKOUT.search(text):
            if fallback is not None:
                raise ValueError(f"two catch-all grade bands: {fallback}, {grade}")
            fallback = str(grade)
        else:
            raise ValueError(f"cannot read grade band {grade}: {text!r}")
    if fallback is None:
        raise ValueError("no catch-all grade band (e.g. 'below 35 or any knock-out failed')")
    bands.sort(key=lambda band: band[0], reverse=True)
    return GradeBands(bands=bands, fallback=fallback)


_INHERITANCE_SUBJECT = re.compile(r"^\s*For\s+(.+?)\s+an application's effective level", re.I)
_CODE_RANGE = re.compile(r"^([A-Z]+-)(\d+)\.\.(\d+)$")


def inherited_codes(landscape: Mapping, codes: Collection[str]) -> set[str]:
    """The criterion codes (among `codes`) that an application inherits by the weakest-link
    rule. A catalogue may list them in `landscape.inherited_criteria` (patterns); otherwise
    they are read from the prose `landscape.inheritance_rule` ("For JUR-*, DAT-01, OPS-01..03
    and SUP-02 an application's effective level = ..."). Patterns: a code, `PREFIX-*`, or a
    range `OPS-01..03`. No rule: nothing is inherited. Raises ValueError for a rule that
    cannot be read."""
    patterns = landscape.get("inherited_criteria")
    if patterns is None:
        rule = landscape.get("inheritance_rule")
        if not rule:
            return set()
        match = _INHERITANCE_SUBJECT.match(str(rule))
        if not match:
            raise ValueError(f"cannot read landscape.inheritance_rule: {rule!r}")
        patterns = [part for part in re.split(r",\s*|\s+and\s+", match[1]) if part.strip()]
    found = set()
    for pattern in patterns:
        pattern = str(pattern).strip()
        if pattern.endswith("*"):
            found |= {code for code in codes if code.startswith(pattern[:-1])}
            continue
        match = _CODE_RANGE.match(pattern)
        if match:
            prefix, start, end = match[1], match[2], match[3]
            width = len(start)
            wanted = {f"{prefix}{n:0{width}d}" for n in range(int(start), int(end) + 1)}
            found |= wanted & set(codes)
        elif pattern in codes:
            found.add(pattern)
        else:
            raise ValueError(f"inheritance rule names an unknown criterion: {pattern!r}")
    return found


def missing_evidence_level(catalogue: CriteriaCatalogue) -> int:
    return int(catalogue.meta.get("missing_evidence", 0))


# --- scoring ---------------------------------------------------------------------------------


def _round(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        ONE_DECIMAL, rounding=ROUND_HALF_UP
    )


def _percent(points: Fraction, weight: int) -> Decimal:
    return _round(100 * points / weight) if weight else Decimal(0)


def compute_score(
    catalogue: CriteriaCatalogue,
    levels: Mapping[str, int | None],
    *,
    not_applicable: Collection[str] = (),
    protection_class: str | None = None,
    criteria: list[Criterion] | None = None,
) -> ScoreResult:
    """Score levels given per criterion code (None or missing: unanswered) against a
    catalogue. `criteria` may be passed when already loaded."""
    if criteria is None:
        criteria = list(catalogue.criteria.all())
    not_applicable = set(not_applicable)
    if protection_class is not None and protection_class not in catalogue.profiles:
        raise ValidationError(
            {
                "protection_class": ValidationError(
                    _("The catalogue has no knock-out profile for %(value)s."),
                    code="invalid_choice",
                    params={"value": protection_class},
                )
            }
        )

    points, weights = Fraction(0), 0
    group_points: dict[str, list] = {}
    csf_points: dict[str, list] = {}
    floor, unanswered = None, []
    for criterion in criteria:
        if criterion.code in not_applicable:
            continue
        level = levels.get(criterion.code)
        if level is None:
            unanswered.append(criterion.code)
        earned = Fraction(criterion.weight * (level or 0), 4)
        points += earned
        weights += criterion.weight
        for key, bucket in (
            (criterion.group, group_points),
            ((criterion.maps_to or {}).get("eu_csf"), csf_points),
        ):
            if key:
                sums = bucket.setdefault(key, [Fraction(0), 0])
                sums[0] += earned
                sums[1] += criterion.weight
        if criterion.is_floor:
            floor = (level or 0) if floor is None else min(floor, level or 0)

    failed = []
    if protection_class is not None:
        by_code = {criterion.code: criterion for criterion in criteria}
        for code, minimum in catalogue.profiles[protection_class].items():
            criterion = by_code.get(code)
            if criterion is None or code in not_applicable:
                continue
            level = levels.get(code)
            if (level or 0) < minimum:
                failed.append(
                    FailedKnockout(code=code, name=criterion.name, level=level, minimum=minimum)
                )
        failed.sort(key=lambda knockout: criterion_order(by_code[knockout.code]))

    score = _percent(points, weights)
    return ScoreResult(
        score=float(score),
        grade=grade_bands(catalogue.scoring).grade(score, knockout_failed=bool(failed)),
        floor_level=floor,
        group_scores={key: float(_percent(*sums)) for key, sums in group_points.items()},
        knockouts_failed=failed,
        protection_class=protection_class,
        eu_csf_scores={key: float(_percent(*sums)) for key, sums in sorted(csf_points.items())},
        unanswered=unanswered,
    )


def criterion_order(criterion: Criterion) -> tuple:
    return criterion.position, criterion.code


def _answers(assessment: Assessment) -> list:
    # Use answers a caller prefetched (e.g. for a list of assessments) instead of a new query.
    cache = getattr(assessment, "_prefetched_objects_cache", {})
    if "answers" in cache:
        return list(cache["answers"])
    return list(assessment.answers.select_related("criterion"))


def _answer_maps(assessment: Assessment) -> tuple[dict[str, int | None], set[str]]:
    levels, not_applicable = {}, set()
    for answer in _answers(assessment):
        if answer.not_applicable:
            not_applicable.add(answer.criterion.code)
        else:
            levels[answer.criterion.code] = answer.level
    return levels, not_applicable


def score_assessment(assessment: Assessment, protection_class: str | None = None) -> ScoreResult:
    """The score of an assessment against its own catalogue version."""
    levels, not_applicable = _answer_maps(assessment)
    return compute_score(
        assessment.catalogue,
        levels,
        not_applicable=not_applicable,
        protection_class=protection_class,
    )


# --- current assessments ---------------------------------------------------------------------

SUBJECT_FIELD = {Vendor: "vendor", ITComponent: "component", Application: "application"}


def current_assessment(subject, *, on: datetime.date | None = None) -> Assessment | None:
    """The approved assessment of a vendor, IT component or application that is still valid
    on `on` (default today): against the latest catalogue version the subject has one for,
    and among those the most recently approved."""
    on = on or timezone.localdate()
    name = SUBJECT_FIELD.get(type(subject))
    if name is None:
        raise TypeError(f"Not an assessable subject: {subject!r}")
    candidates = (
        Assessment.objects.filter(**{name: subject}, state=AssessmentState.APPROVED)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on))
        .select_related("catalogue")
    )
    return pick_current(candidates, on=on)


# --- effective levels of an application ------------------------------------------------------


@dataclass(frozen=True)
class LevelSource:
    """One party an application's effective level is taken from."""

    role: str
    """application (its own assessment), vendor, platform or cloud_service."""
    subjects: tuple
    """The CMDB objects whose current assessments speak for this party."""
    assessments: tuple
    """Their current assessments; empty means no evidence (a gap)."""

    @property
    def is_gap(self) -> bool:
        return not self.assessments


@dataclass
class EffectiveLevels:
    catalogue: CriteriaCatalogue
    levels: dict[str, int | None]
    """Criterion code → effective level; None where no source finds the criterion
    applicable."""
    inherited: set[str]
    """Codes that follow the weakest-link rule."""
    sources: list[LevelSource]
    """Every party considered, the application itself first."""

    @property
    def gaps(self) -> list[LevelSource]:
        return [source for source in self.sources if source.is_gap]

    @property
    def not_applicable(self) -> set[str]:
        return {code for code, level in self.levels.items() if level is None}


class Evidence:
    """What effective levels are taken from: the current assessments of vendors, components
    and applications, the platforms an application uses directly and its cloud services in
    production. This one asks the database per question, which suits a single application;
    `BulkEvidence` answers the same questions for many applications from a fixed number of
    queries."""

    def __init__(self, on: datetime.date | None = None):
        self.on = on

    def current(self, subject) -> Assessment | None:
        return current_assessment(subject, on=self.on)

    def platforms(self, application: Application) -> list[Application]:
        platform_ids = [node.application_id for node in dependencies(application, depth=1)]
        return list(
            Application.objects.filter(pk__in=platform_ids, kind=ApplicationKind.PLATFORM)
            .select_related("vendor")
            .order_by("pk")
        )

    def cloud_services(self, application: Application) -> list[ITComponent]:
        return list(
            ITComponent.objects.filter(
                kind=ComponentKind.CLOUD_SERVICE,
                uses__application=application,
                uses__environment=Environment.PRODUCTION,
            )
            .select_related("vendor")
            .distinct()
            .order_by("pk")
        )


class BulkEvidence(Evidence):
    """`Evidence` for many applications loaded at once (landscape risk, governance rules,
    capability map): direct platforms, cloud services and every party's current assessment
    with its answers, in about a dozen queries however many applications there are. Questions
    about applications outside the set fall back to single queries."""

    def __init__(self, applications, on: datetime.date | None = None):
        super().__init__(on)
        from cmdb.models import ApplicationComponent, InterfaceConsumer

        apps = list(applications)
        self.app_ids = {app.pk for app in apps}
        providers: dict[int, set[int]] = {}
        for consumer, provider in (
            InterfaceConsumer.objects.filter(consumer_id__in=self.app_ids)
            .values_list("consumer_id", "provider_id")
            .distinct()
        ):
            providers.setdefault(consumer, set()).add(provider)
        platforms = {
            platform.pk: platform
            for platform in Application.objects.filter(
                pk__in=set().union(*providers.values()), kind=ApplicationKind.PLATFORM
            ).select_related("vendor")
        }
        self._platforms = {
            app_id: [platforms[pk] for pk in sorted(ids) if pk in platforms]
            for app_id, ids in providers.items()
        }
        cloud: dict[int, dict[int, ITComponent]] = {}
        for use in ApplicationComponent.objects.filter(
            application_id__in=self.app_ids,
            environment=Environment.PRODUCTION,
            component__kind=ComponentKind.CLOUD_SERVICE,
        ).select_related("component__vendor"):
            cloud.setdefault(use.application_id, {})[use.component_id] = use.component
        self._cloud = {
            app_id: [components[pk] for pk in sorted(components)]
            for app_id, components in cloud.items()
        }
        subjects = {
            "application": self.app_ids | set(platforms),
            "vendor": {app.vendor_id for app in apps}
            | {platform.vendor_id for platform in platforms.values()}
            | {c.vendor_id for components in cloud.values() for c in components.values()},
            "component": {pk for components in cloud.values() for pk in components},
        }
        self._loaded = {name: ids - {None} for name, ids in subjects.items()}
        self._current = {
            name: current_assessments(name, ids, on=on) for name, ids in self._loaded.items()
        }

    def current(self, subject) -> Assessment | None:
        name = SUBJECT_FIELD.get(type(subject))
        if name in self._loaded and subject.pk in self._loaded[name]:
            return self._current[name].get(subject.pk)
        return super().current(subject)

    def platforms(self, application: Application) -> list[Application]:
        if application.pk in self.app_ids:
            return self._platforms.get(application.pk, [])
        return super().platforms(application)

    def cloud_services(self, application: Application) -> list[ITComponent]:
        if application.pk in self.app_ids:
            return self._cloud.get(application.pk, [])
        return super().cloud_services(application)


def _party(role: str, *subjects, evidence: Evidence) -> LevelSource:
    subjects = tuple(subject for subject in subjects if subject is not None)
    assessments = tuple(
        assessment
        for assessment in (evidence.current(subject) for subject in subjects)
        if assessment is not None
    )
    return LevelSource(role=role, subjects=subjects, assessments=assessments)


def _providers(application: Application, evidence: Evidence) -> list[LevelSource]:
    """The software vendor, then hosting/platform providers:

    - every application of kind "platform" that `application` depends on directly (it
      consumes one of the platform's interfaces). Only direct use counts: the demo city
      showed that in a connected landscape almost every application reaches every platform
      transitively, and the weakest platform would then set everyone's level;
    - every IT component of kind "cloud service" that it uses in production.

    Such a provider speaks through its vendor's assessment and its own (a platform or cloud
    service is assessed as PaaS/SaaS, so data-location and operations criteria, which a vendor
    assessment leaves not applicable, come from there); the lower level counts. Critical
    sub-processors are not modelled in the CMDB, so they are not part of the rule here.
    """
    parties = (
        [_party("vendor", application.vendor, evidence=evidence)] if application.vendor_id else []
    )
    parties += [
        _party("platform", platform.vendor, platform, evidence=evidence)
        for platform in evidence.platforms(application)
    ]
    parties += [
        _party("cloud_service", service.vendor, service, evidence=evidence)
        for service in evidence.cloud_services(application)
    ]
    return parties


def _level_in(assessment: Assessment, code: str, missing: int, cache: dict) -> int | None:
    """The level an assessment gives a criterion code: None if not applicable there; a code
    its catalogue version lacks, or an unanswered one, is missing evidence."""
    if assessment.pk not in cache:
        cache[assessment.pk] = _answer_maps(assessment)
    levels, not_applicable = cache[assessment.pk]
    if code in not_applicable:
        return None
    level = levels.get(code)
    return missing if level is None else level


def _party_level(party: LevelSource, code: str, missing: int, cache: dict) -> int | None:
    if party.is_gap:
        return missing
    levels = [_level_in(assessment, code, missing, cache) for assessment in party.assessments]
    levels = [level for level in levels if level is not None]
    return min(levels) if levels else None


def effective_assessment(
    application: Application, catalogue: CriteriaCatalogue, evidence: Evidence | None = None
) -> EffectiveLevels:
    """An application's effective level per criterion of `catalogue`, with its sources.

    For the criteria of the catalogue's inheritance rule (sovcat-de-muni: JUR-*, DAT-01,
    OPS-01..03, SUP-02) the level is the lowest over the parties of `_providers` and the
    application's own current assessment (weakest link; the application's own answer is the
    most specific evidence, so it can only lower the result). A party without any current
    assessment counts as missing evidence (the catalogue's `meta.missing_evidence`, 0) and is
    listed in `gaps`; a party whose assessment marks the criterion not applicable does not
    count. The application's own missing assessment is not a gap for inherited criteria.

    Every other criterion comes from the application's own current assessment: its level,
    missing evidence when unanswered, None when not applicable. Where no source says anything
    about a criterion (no assessment, or every source found it not applicable), it counts as
    missing evidence if it applies to the application's kind and hosting
    (sourcing.choices.application_scopes) and as not applicable (None) otherwise.
    Assessments against other catalogue versions are matched by criterion code. `evidence`
    (default: queried for this application alone) lets callers load it for many at once.
    """
    evidence = evidence or Evidence()
    criteria = list(catalogue.criteria.all())
    codes = [criterion.code for criterion in criteria]
    inherited = inherited_codes(catalogue.landscape, codes)
    missing = missing_evidence_level(catalogue)
    scopes = subject_scopes(application)
    own = _party("application", application, evidence=evidence)
    providers = _providers(application, evidence) if inherited else []
    cache: dict = {}
    levels: dict[str, int | None] = {}
    for criterion in criteria:
        code = criterion.code
        # Without evidence, the application's kind and hosting decide applicability.
        unknown = missing if criterion.applies(scopes) else None
        own_level = _party_level(own, code, missing, cache) if not own.is_gap else None
        if code not in inherited:
            levels[code] = unknown if own.is_gap else own_level
            continue
        found = [own_level] + [_party_level(party, code, missing, cache) for party in providers]
        found = [level for level in found if level is not None]
        levels[code] = min(found) if found else unknown
    return EffectiveLevels(
        catalogue=catalogue, levels=levels, inherited=inherited, sources=[own, *providers]
    )


def effective_levels(
    application: Application, catalogue: CriteriaCatalogue, evidence: Evidence | None = None
) -> dict:
    """Criterion code → effective level (None: not applicable); see effective_assessment."""
    return effective_assessment(application, catalogue, evidence).levels


PROTECTION_ORDER = [ProtectionNeed.NORMAL, ProtectionNeed.HIGH, ProtectionNeed.VERY_HIGH]


def protection_class_of(application: Application) -> str:
    """The highest of the application's confidentiality, integrity and availability needs
    (BSI maximum principle)."""
    needs = [application.confidentiality, application.integrity, application.availability]
    return max(needs, key=PROTECTION_ORDER.index)


def score_application(
    application: Application,
    catalogue: CriteriaCatalogue | None = None,
    protection_class: str | None = None,
    evidence: Evidence | None = None,
) -> ScoreResult:
    """Score an application's effective levels (default catalogue: the latest published
    version of the shipped one)."""
    if catalogue is None:
        from sourcing.services.catalogues import default_catalogue

        catalogue = default_catalogue()
    levels = effective_levels(application, catalogue, evidence)
    return compute_score(
        catalogue,
        levels,
        not_applicable={code for code, level in levels.items() if level is None},
        protection_class=protection_class,
    )


def application_sovereignty(
    application: Application,
    evidence: Evidence | None = None,
    default: CriteriaCatalogue | None = None,
):
    """An application's sovereignty as pages and GraphQL show it: (its current assessment or
    None, its effective levels against that assessment's catalogue or the default one, the
    score and grade for its protection class). `default` saves looking the default catalogue
    up again when scoring many applications."""
    from sourcing.services.catalogues import default_catalogue

    evidence = evidence or Evidence()
    current = evidence.current(application)
    catalogue = current.catalogue if current else (default or default_catalogue())
    effective = effective_assessment(application, catalogue, evidence)
    result = compute_score(
        catalogue,
        effective.levels,
        not_applicable=effective.not_applicable,
        protection_class=protection_class_of(application),
    )
    return current, effective, result


def application_grades(applications, on: datetime.date | None = None) -> dict[int, str]:
    """Application id → sovereignty grade (as `application_sovereignty`) for many
    applications, from one `BulkEvidence`: a fixed number of queries."""
    from django.db.models import prefetch_related_objects

    from sourcing.services.catalogues import default_catalogue

    applications = list(applications)
    evidence = BulkEvidence(applications, on=on)
    default = default_catalogue()
    prefetch_related_objects([default], "criteria")
    return {
        app.pk: application_sovereignty(app, evidence, default)[2].grade for app in applications
    }


# --- many subjects at once -------------------------------------------------------------------


def pick_current(assessments, *, on: datetime.date | None = None) -> Assessment | None:
    """The current assessment among already loaded assessments of one subject: approved,
    valid on `on` (default today), then the latest catalogue version, then the latest
    approval. `current_assessment` and `current_assessments` both pick by this rule."""
    on = on or timezone.localdate()
    valid = [
        assessment
        for assessment in assessments
        if assessment.state == AssessmentState.APPROVED
        and (assessment.valid_until is None or assessment.valid_until >= on)
    ]
    return max(
        valid,
        key=lambda assessment: (
            assessment.catalogue.version_key,
            assessment.approved_at,
            assessment.pk,
        ),
        default=None,
    )


def scorable_assessments(queryset=None):
    """Assessments with what `score_assessment` reads (catalogue, criteria, answers) loaded in
    a constant number of queries, for lists that show scores and grades."""
    from django.db.models import Prefetch

    from sourcing.models import Answer

    queryset = Assessment.objects.all() if queryset is None else queryset
    return queryset.select_related("catalogue").prefetch_related(
        Prefetch("answers", queryset=Answer.objects.select_related("criterion")),
        "catalogue__criteria",
    )


def current_assessments(
    field_name: str, subject_ids, *, on: datetime.date | None = None
) -> dict[int, Assessment]:
    """Subject id → its current assessment (see `current_assessment`) for many vendors, IT
    components or applications (`field_name`: vendor, component, application) at once, ready to
    be scored without further queries."""
    on = on or timezone.localdate()
    found: dict[int, list[Assessment]] = {}
    rows = scorable_assessments(
        Assessment.objects.filter(
            **{f"{field_name}_id__in": list(subject_ids)}, state=AssessmentState.APPROVED
        ).filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on))
    )
    for assessment in rows:
        found.setdefault(getattr(assessment, f"{field_name}_id"), []).append(assessment)
    return {subject_id: pick_current(items, on=on) for subject_id, items in found.items()}

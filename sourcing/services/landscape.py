"""Landscape risk: how concentrated and how exposed the city's application landscape is,
computed as the catalogue's `landscape` section says (sovcat-de-muni 0.1.0):

- scope: the applications alive on the day (cmdb.lifecycle.application_alive_q) owned by the
  org unit or a unit below it (all org units when none is given). Applications without a
  vendor cannot be attributed to a vendor group or a jurisdiction; they are counted apart
  (`unattributed_count`, `unattributed_share` of the total criticality weight) and left out
  of every share, HHI and ratio below, which are taken over the attributed applications only;
- criticality weight of an application = `landscape.criticality_weight` of its protection
  class, the highest of its confidentiality, integrity and availability needs
  (scoring.protection_class_of);
- vendor share s_v = Σ weight of the applications whose vendor's ULTIMATE parent is v (a
  subsidiary's applications count for its group) / Σ weight in scope;
- hhi_vendor = Σ (100 · s_v)² (0..10000); effective_number_of_vendors = 10000 / hhi_vendor;
- hhi_jurisdiction: the same, grouped by the jurisdiction (country of the ultimate parent);
- non_eu_exposure_ratio = share of the weight whose effective JUR-04 level is ≤ 1. Effective
  levels follow the inheritance rule (scoring.effective_levels): the weakest of vendor,
  platforms and cloud services. Missing evidence counts as the catalogue's missing-evidence
  level (0), so an application whose vendor has no current assessment counts as exposed; so
  does one where no source finds JUR-04 applicable (None), because nothing shows it is not;
- exit_readiness = share of the very_high applications with an effective EXT-02 level ≥ 3
  (None when there are none);
- blast radius: for each vendor group and each shared platform (an application of kind
  platform with at least `shared_platform_min_dependents` dependents, direct or transitive),
  the critical applications (mission or business critical) in scope that stop when it is cut
  off: those it serves directly or transitively (cmdb.graph.dependents over the interfaces
  alive on the day) and, for a vendor, the group's own applications. The group's and the
  platform's applications are taken from the whole city (a vendor cut off stops all of them);
  only the affected applications are restricted to the scope, including those without a
  vendor. Top 10 each, without entries that stop nothing;
- alerts: the catalogue's `suggested_alerts` implemented as rules whose thresholds are read
  from the text ("s_v > 0.25", "hhi_vendor > 1800"); a suggestion that is not there does not
  fire:
  * vendor_concentration: a vendor group with s_v above the threshold, shares taken over the
    critical applications only;
  * very_high_concentration: hhi_vendor above the threshold, over the very_high applications;
  * very_high_knockout: each very_high application in scope (with or without a vendor)
    failing a knock-out of the very_high profile with its effective levels (what
    scoring.score_application computes), naming the criteria and the owner for the risk
    register.

Everything is returned as dataclasses of plain values (ids, names, floats) for the API.
Effective levels cost a handful of queries per application (its assessments, its platforms);
the dependency graph is walked once per application that provides an alive interface, and
both are shared between the org units of sovereignty_risk_by_org_unit.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction

from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from cmdb.choices import EU_COUNTRIES, ApplicationKind, Criticality, ProtectionNeed
from cmdb.filtersets import org_unit_subtree_q
from cmdb.graph import LoadedGraph
from cmdb.lifecycle import application_alive_q, interface_alive_q
from cmdb.models import Application, InterfaceConsumer, OrgUnit, Vendor
from sourcing.models import CriteriaCatalogue
from sourcing.services.scoring import (
    BulkEvidence,
    compute_score,
    effective_levels,
    protection_class_of,
)

__all__ = [
    "Alert",
    "AlertSubject",
    "BlastRadius",
    "JurisdictionShare",
    "LandscapeRisk",
    "OrgUnitRisk",
    "VendorShare",
    "sovereignty_risk",
    "sovereignty_risk_by_org_unit",
]

CRITICAL = frozenset({Criticality.MISSION_CRITICAL, Criticality.BUSINESS_CRITICAL})
JURISDICTION_CODE = "JUR-04"
EXPOSED_AT_MOST = 1
EXIT_CODE = "EXT-02"
EXIT_READY_FROM = 3
TOP = 10
SHARED_PLATFORM_MIN_DEPENDENTS = 2

SEVERITY_CRITICAL = "critical"
SEVERITY_HIGH = "high"


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VendorShare:
    vendor_id: int
    """The ultimate parent."""
    name: str
    jurisdiction: str
    is_eu: bool
    weight: float
    share: float
    application_count: int


@dataclass(frozen=True)
class JurisdictionShare:
    jurisdiction: str
    is_eu: bool
    weight: float
    share: float
    application_count: int


@dataclass(frozen=True)
class BlastRadius:
    kind: str
    """vendor (an ultimate parent) or platform (an application)."""
    subject_id: int
    name: str
    critical_count: int
    critical_application_ids: list[int]
    application_count: int
    """vendor: the group's alive applications; platform: its alive dependents."""


@dataclass(frozen=True)
class AlertSubject:
    kind: str
    """vendor or application."""
    id: int
    name: str


@dataclass(frozen=True)
class Alert:
    code: str
    """vendor_concentration, very_high_concentration or very_high_knockout."""
    severity: str
    """critical or high."""
    message: str
    subject: AlertSubject | None
    """None for a rule about the whole scope."""


@dataclass(frozen=True)
class LandscapeRisk:
    catalogue_id: int
    catalogue: str
    on: datetime.date
    org_unit_id: int | None
    application_count: int
    """Alive applications in scope with a vendor: the base of every share."""
    total_weight: float
    unattributed_count: int
    """Alive applications in scope without a vendor, left out of the shares."""
    unattributed_weight: float
    unattributed_share: float
    """Their share of the weight of all alive applications in scope."""
    vendor_shares: list[VendorShare]
    """By ultimate parent, largest first."""
    hhi_vendor: float
    effective_number_of_vendors: float | None
    """None when nothing is in scope."""
    jurisdiction_shares: list[JurisdictionShare]
    hhi_jurisdiction: float
    non_eu_exposure_ratio: float | None
    exposed_weight: float
    exposed_application_ids: list[int]
    very_high_count: int
    exit_ready_count: int
    exit_readiness: float | None
    vendor_blast_radius: list[BlastRadius]
    platform_blast_radius: list[BlastRadius]
    alerts: list[Alert]


@dataclass(frozen=True)
class OrgUnitRisk:
    org_unit_id: int
    code: str
    name: str
    risk: LandscapeRisk


# --- the landscape on one day ----------------------------------------------------------------


class _Landscape:
    """The alive applications of the whole city on one day, with the dependency graph and
    effective levels computed at most once per application."""

    def __init__(self, catalogue: CriteriaCatalogue, on: datetime.date, min_dependents: int):
        self.catalogue, self.on, self.min_dependents = catalogue, on, min_dependents
        # effective_levels and compute_score list the criteria; loaded once here.
        prefetch_related_objects([catalogue], "criteria")
        self.criteria = list(catalogue.criteria.all())
        spec = catalogue.landscape.get("criticality_weight") or {}
        self.weights = {key: Fraction(str(value)) for key, value in spec.items()}
        self.apps = {
            app.pk: app
            for app in Application.objects.filter(application_alive_q(on))
            .select_related("vendor__ultimate_parent", "owner_org_unit", "owner_team")
            .order_by("pk")
        }
        # Only providers of an alive interface have dependents: the graph is not walked from
        # the others at all.
        self.providers = set(
            InterfaceConsumer.objects.filter(
                interface_alive_q(on, "interface__"),
                application_alive_q(on, "consumer__"),
                application_alive_q(on, "provider__"),
            ).values_list("provider_id", flat=True)
        )
        self._dependents: dict[int, frozenset[int]] = {}
        self._graph: LoadedGraph | None = None
        self._levels: dict[int, dict] = {}
        self._evidence: BulkEvidence | None = None

    def weight(self, app: Application) -> Fraction:
        protection_class = protection_class_of(app)
        if protection_class not in self.weights:
            raise ValueError(
                f"catalogue {self.catalogue}: landscape.criticality_weight has no weight "
                f"for {protection_class}"
            )
        return self.weights[protection_class]

    def dependents(self, app_id: int) -> frozenset[int]:
        if app_id not in self.providers:
            return frozenset()
        if app_id not in self._dependents:
            if self._graph is None:
                # One query for the whole graph instead of one recursive walk per provider.
                self._graph = LoadedGraph(as_of=self.on)
            self._dependents[app_id] = frozenset(self._graph.dependents(app_id))
        return self._dependents[app_id]

    def levels(self, app: Application) -> dict:
        if app.pk not in self._levels:
            if self._evidence is None:
                # Assessments, platforms and cloud services of every alive application at
                # once, instead of a dozen queries per application.
                self._evidence = BulkEvidence(self.apps.values(), on=self.on)
            self._levels[app.pk] = effective_levels(app, self.catalogue, self._evidence)
        return self._levels[app.pk]

    def scope(self, org_unit: OrgUnit | None) -> list[Application]:
        if org_unit is None:
            return list(self.apps.values())
        owned = set(
            Application.objects.filter(
                org_unit_subtree_q([org_unit.pk], "owner_org_unit__")
            ).values_list("pk", flat=True)
        )
        return [app for app in self.apps.values() if app.pk in owned]


# --- shares ----------------------------------------------------------------------------------


def _shares(apps: Iterable[Application], weight: Callable, key: Callable):
    """key → (weight, share, count); shares are exact fractions of the total weight."""
    sums: dict = defaultdict(lambda: [Fraction(0), 0])
    for app in apps:
        entry = sums[key(app)]
        entry[0] += weight(app)
        entry[1] += 1
    total = sum((entry[0] for entry in sums.values()), Fraction(0))
    return {
        group: (entry[0], entry[0] / total if total else Fraction(0), entry[1])
        for group, entry in sums.items()
    }


def _hhi(shares: dict) -> Fraction:
    return sum(((100 * share) ** 2 for _weight, share, _count in shares.values()), Fraction(0))


def _ratio(part, whole) -> float | None:
    return float(Fraction(part) / Fraction(whole)) if whole else None


def _vendor_key(app: Application) -> int:
    return app.vendor.group.pk


# --- blast radius ----------------------------------------------------------------------------


def _critical(ids: Iterable[int], scope_ids: set[int], landscape: _Landscape) -> list[int]:
    return sorted(
        app_id
        for app_id in ids
        if app_id in scope_ids and landscape.apps[app_id].criticality in CRITICAL
    )


def _top(entries: list[BlastRadius]) -> list[BlastRadius]:
    entries = [entry for entry in entries if entry.critical_count]
    entries.sort(key=lambda entry: (-entry.critical_count, entry.name, entry.subject_id))
    return entries[:TOP]


def _vendor_blast(landscape: _Landscape, scope_ids: set[int]) -> list[BlastRadius]:
    groups: dict[int, list[int]] = defaultdict(list)
    vendors: dict[int, Vendor] = {}
    for app in landscape.apps.values():
        if app.vendor_id is not None:
            group = app.vendor.group
            vendors[group.pk] = group
            groups[group.pk].append(app.pk)
    entries = []
    for group_id, app_ids in groups.items():
        affected = set(app_ids)
        for app_id in app_ids:
            affected |= landscape.dependents(app_id)
        critical = _critical(affected, scope_ids, landscape)
        entries.append(
            BlastRadius(
                kind="vendor",
                subject_id=group_id,
                name=vendors[group_id].name,
                critical_count=len(critical),
                critical_application_ids=critical,
                application_count=len(app_ids),
            )
        )
    return _top(entries)


def _platform_blast(landscape: _Landscape, scope_ids: set[int]) -> list[BlastRadius]:
    entries = []
    for app in landscape.apps.values():
        if app.kind != ApplicationKind.PLATFORM:
            continue
        served = landscape.dependents(app.pk)
        if len(served) < landscape.min_dependents:
            continue
        critical = _critical(served, scope_ids, landscape)
        entries.append(
            BlastRadius(
                kind="platform",
                subject_id=app.pk,
                name=str(app),
                critical_count=len(critical),
                critical_application_ids=critical,
                application_count=len(served),
            )
        )
    return _top(entries)


# --- alerts ----------------------------------------------------------------------------------

_SHARE_RULE = re.compile(r"\bs_v\s*>\s*(\d+(?:\.\d+)?)")
_HHI_RULE = re.compile(r"\bhhi_vendor\s*>\s*(\d+(?:\.\d+)?)")
_KNOCKOUT_RULE = re.compile(r"knock[- ]?out", re.IGNORECASE)


def _alert_rules(catalogue: CriteriaCatalogue) -> dict:
    """Rule name → threshold (True for the knock-out rule), from `suggested_alerts`."""
    rules: dict = {}
    for text in catalogue.landscape.get("suggested_alerts") or []:
        text = str(text)
        if match := _SHARE_RULE.search(text):
            rules["share"] = Fraction(match[1])
        elif match := _HHI_RULE.search(text):
            rules["hhi"] = Fraction(match[1])
        elif _KNOCKOUT_RULE.search(text):
            rules["knockout"] = True
    return rules


def _percent(value: Fraction) -> str:
    return f"{float(100 * value):.1f}"


def _concentration_alerts(attributed, landscape: _Landscape, threshold: Fraction) -> list[Alert]:
    critical = [app for app in attributed if app.criticality in CRITICAL]
    shares = _shares(critical, landscape.weight, _vendor_key)
    groups = {_vendor_key(app): app.vendor.group for app in critical}
    alerts = []
    for group_id, (_weight, share, _count) in sorted(
        shares.items(), key=lambda item: (-item[1][1], groups[item[0]].name)
    ):
        if share > threshold:
            vendor = groups[group_id]
            alerts.append(
                Alert(
                    code="vendor_concentration",
                    severity=SEVERITY_HIGH,
                    message=_(
                        "%(vendor)s carries %(share)s %% of the criticality weight of the "
                        "critical applications (alert above %(limit)s %%)."
                    )
                    % {
                        "vendor": vendor.name,
                        "share": _percent(share),
                        "limit": _percent(threshold),
                    },
                    subject=AlertSubject(kind="vendor", id=vendor.pk, name=vendor.name),
                )
            )
    return alerts


def _hhi_alerts(attributed, landscape: _Landscape, threshold: Fraction) -> list[Alert]:
    very_high = [app for app in attributed if protection_class_of(app) == ProtectionNeed.VERY_HIGH]
    hhi = _hhi(_shares(very_high, landscape.weight, _vendor_key))
    if hhi <= threshold:
        return []
    return [
        Alert(
            code="very_high_concentration",
            severity=SEVERITY_HIGH,
            message=_(
                "The applications with very high protection needs are concentrated on few "
                "vendors: HHI %(hhi)s (alert above %(limit)s)."
            )
            % {"hhi": f"{float(hhi):.0f}", "limit": f"{float(threshold):.0f}"},
            subject=None,
        )
    ]


def _knockout_alerts(scope, landscape: _Landscape) -> list[Alert]:
    if ProtectionNeed.VERY_HIGH not in landscape.catalogue.profiles:
        return []
    alerts = []
    for app in scope:
        if protection_class_of(app) != ProtectionNeed.VERY_HIGH:
            continue
        levels = landscape.levels(app)
        # The same score as scoring.score_application, from the levels already computed.
        result = compute_score(
            landscape.catalogue,
            levels,
            not_applicable={code for code, level in levels.items() if level is None},
            protection_class=ProtectionNeed.VERY_HIGH,
            criteria=landscape.criteria,
        )
        if not result.knockouts_failed:
            continue
        failed = ", ".join(
            _("%(code)s (level %(level)s, minimum %(minimum)s)")
            % {"code": item.code, "level": item.level or 0, "minimum": item.minimum}
            for item in result.knockouts_failed
        )
        owner = app.owner_team or app.owner_org_unit
        alerts.append(
            Alert(
                code="very_high_knockout",
                severity=SEVERITY_CRITICAL,
                message=_(
                    "%(application)s has very high protection needs and fails knock-out "
                    "criteria: %(failed)s. Owner: %(owner)s."
                )
                % {"application": str(app), "failed": failed, "owner": str(owner)},
                subject=AlertSubject(kind="application", id=app.pk, name=str(app)),
            )
        )
    return alerts


# --- the figures -----------------------------------------------------------------------------


def _risk(landscape: _Landscape, org_unit: OrgUnit | None) -> LandscapeRisk:
    scope = landscape.scope(org_unit)
    attributed = [app for app in scope if app.vendor_id is not None]
    unattributed = [app for app in scope if app.vendor_id is None]
    weight = landscape.weight

    total = sum((weight(app) for app in attributed), Fraction(0))
    unattributed_weight = sum((weight(app) for app in unattributed), Fraction(0))

    by_vendor = _shares(attributed, weight, _vendor_key)
    groups = {_vendor_key(app): app.vendor.group for app in attributed}
    vendor_shares = sorted(
        (
            VendorShare(
                vendor_id=group_id,
                name=groups[group_id].name,
                jurisdiction=groups[group_id].jurisdiction,
                is_eu=groups[group_id].jurisdiction in EU_COUNTRIES,
                weight=float(group_weight),
                share=float(share),
                application_count=count,
            )
            for group_id, (group_weight, share, count) in by_vendor.items()
        ),
        key=lambda entry: (-entry.share, entry.name),
    )
    hhi_vendor = _hhi(by_vendor)

    by_jurisdiction = _shares(attributed, weight, lambda app: app.vendor.jurisdiction)
    jurisdiction_shares = sorted(
        (
            JurisdictionShare(
                jurisdiction=code,
                is_eu=code in EU_COUNTRIES,
                weight=float(group_weight),
                share=float(share),
                application_count=count,
            )
            for code, (group_weight, share, count) in by_jurisdiction.items()
        ),
        key=lambda entry: (-entry.share, entry.jurisdiction),
    )

    exposed = []
    for app in attributed:
        level = landscape.levels(app).get(JURISDICTION_CODE)
        if level is None or level <= EXPOSED_AT_MOST:
            exposed.append(app)
    exposed_weight = sum((weight(app) for app in exposed), Fraction(0))

    very_high = [app for app in attributed if protection_class_of(app) == ProtectionNeed.VERY_HIGH]
    ready = [
        app for app in very_high if (landscape.levels(app).get(EXIT_CODE) or 0) >= EXIT_READY_FROM
    ]

    scope_ids = {app.pk for app in scope}
    rules = _alert_rules(landscape.catalogue)
    alerts = []
    if "share" in rules:
        alerts += _concentration_alerts(attributed, landscape, rules["share"])
    if "hhi" in rules:
        alerts += _hhi_alerts(attributed, landscape, rules["hhi"])
    if "knockout" in rules:
        alerts += _knockout_alerts(scope, landscape)

    return LandscapeRisk(
        catalogue_id=landscape.catalogue.pk,
        catalogue=str(landscape.catalogue),
        on=landscape.on,
        org_unit_id=org_unit.pk if org_unit else None,
        application_count=len(attributed),
        total_weight=float(total),
        unattributed_count=len(unattributed),
        unattributed_weight=float(unattributed_weight),
        unattributed_share=_ratio(unattributed_weight, total + unattributed_weight) or 0.0,
        vendor_shares=vendor_shares,
        hhi_vendor=float(hhi_vendor),
        effective_number_of_vendors=float(10000 / hhi_vendor) if hhi_vendor else None,
        jurisdiction_shares=jurisdiction_shares,
        hhi_jurisdiction=float(_hhi(by_jurisdiction)),
        non_eu_exposure_ratio=_ratio(exposed_weight, total),
        exposed_weight=float(exposed_weight),
        exposed_application_ids=sorted(app.pk for app in exposed),
        very_high_count=len(very_high),
        exit_ready_count=len(ready),
        exit_readiness=_ratio(len(ready), len(very_high)),
        vendor_blast_radius=_vendor_blast(landscape, scope_ids),
        platform_blast_radius=_platform_blast(landscape, scope_ids),
        alerts=alerts,
    )


def _landscape(catalogue, on, min_dependents) -> _Landscape:
    if catalogue is None:
        from sourcing.services.catalogues import default_catalogue

        catalogue = default_catalogue()
    return _Landscape(catalogue, on or timezone.localdate(), min_dependents)


def sovereignty_risk(
    *,
    org_unit: OrgUnit | None = None,
    catalogue: CriteriaCatalogue | None = None,
    on: datetime.date | None = None,
    shared_platform_min_dependents: int = SHARED_PLATFORM_MIN_DEPENDENTS,
) -> LandscapeRisk:
    """The landscape risk of an org unit and the units below it (None: the whole city) on a
    day (today), by the rules of a catalogue version (the latest published default one)."""
    landscape = _landscape(catalogue, on, shared_platform_min_dependents)
    return _risk(landscape, org_unit)


def sovereignty_risk_by_org_unit(
    level: int = 1,
    *,
    catalogue: CriteriaCatalogue | None = None,
    on: datetime.date | None = None,
    shared_platform_min_dependents: int = SHARED_PLATFORM_MIN_DEPENDENTS,
) -> list[OrgUnitRisk]:
    """The same figures for each org unit at one tree level (0: the city, 1: its departments),
    each over its own subtree, in tree order."""
    return _org_unit_risks(_landscape(catalogue, on, shared_platform_min_dependents), level)


def _org_unit_risks(landscape: _Landscape, level: int) -> list[OrgUnitRisk]:
    return [
        OrgUnitRisk(
            org_unit_id=unit.pk, code=unit.code, name=unit.name, risk=_risk(landscape, unit)
        )
        for unit in OrgUnit.objects.filter(level=level).order_by("tree_id", "lft")
    ]


def sovereignty_risk_with_org_units(
    *,
    org_unit: OrgUnit | None = None,
    level: int = 1,
    catalogue: CriteriaCatalogue | None = None,
    on: datetime.date | None = None,
    shared_platform_min_dependents: int = SHARED_PLATFORM_MIN_DEPENDENTS,
) -> tuple[LandscapeRisk, list[OrgUnitRisk]]:
    """`sovereignty_risk(org_unit=...)` and `sovereignty_risk_by_org_unit(level)` from one
    walk over the landscape (the effective levels and the graph are computed once), for a
    page that shows both."""
    landscape = _landscape(catalogue, on, shared_platform_min_dependents)
    return _risk(landscape, org_unit), _org_unit_risks(landscape, level)

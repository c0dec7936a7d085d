import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cmdb.choices import ApplicationKind, Criticality, OrgUnitKind
from cmdb.factories import ApplicationFactory, InterfaceFactory, OrgUnitFactory, VendorFactory
from sourcing.services.catalogues import load_catalogue
from sourcing.services.landscape import (
    BlastRadius,
    sovereignty_risk,
    sovereignty_risk_by_org_unit,
)
from tests.sourcing import approved_assessment

pytestmark = pytest.mark.django_db

MISSION = Criticality.MISSION_CRITICAL
BUSINESS = Criticality.BUSINESS_CRITICAL
OPERATIONAL = Criticality.BUSINESS_OPERATIONAL
ADMINISTRATIVE = Criticality.ADMINISTRATIVE


@pytest.fixture
def catalogue():
    return load_catalogue()


@pytest.fixture
def buyer(make_user):
    return make_user("buyer", "procurement")


@pytest.fixture
def approver(make_user):
    return make_user("approver", "procurement")


@pytest.fixture
def assess(buyer, approver, catalogue):
    def make(default=2, **subject_and_levels):
        subject = {
            key: subject_and_levels.pop(key)
            for key in ("vendor", "application")
            if key in subject_and_levels
        }
        return approved_assessment(
            assessor=buyer, approver=approver, levels=subject_and_levels, default=default,
            **subject,
        )  # fmt: skip

    return make


@pytest.fixture
def tree():
    city = OrgUnitFactory(code="CITY", name="Stadt", kind=OrgUnitKind.ADMINISTRATION)
    dept = OrgUnitFactory(code="D1", name="Dezernat 1", kind=OrgUnitKind.DEPARTMENT, parent=city)
    office = OrgUnitFactory(code="D1-A", name="Bauamt", parent=dept)
    other = OrgUnitFactory(code="D2", name="Dezernat 2", kind=OrgUnitKind.DEPARTMENT, parent=city)
    return {"city": city, "dept": dept, "office": office, "other": other}


@pytest.fixture
def landscape(tree, assess):
    """Five attributed applications in the office, weights 1/3/3/1/2 (total 10):

    app   protection          criticality      vendor (group)            weight
    a1    normal              business crit.   US Deutschland (US Corp)  1
    a2    very_high (C)       business crit.   DE GmbH                   3
    a3    very_high (A)       mission crit.    US Corp                   3
    a4    normal              administrative   FR SA                     1
    a5    high (I)            operational      DE2 GmbH                  2

    plus a6 without a vendor (unattributed, weight 1) and a7, retired (left out).

    Assessments: US Corp JUR-04 = 1 (else 2); US Deutschland none; DE GmbH 3 everywhere;
    DE2 GmbH JUR-04 = 2; FR SA JUR-04 = 4 (else 3). a2 is assessed 3 everywhere (EXT-02 = 3),
    a3 2 everywhere (EXT-02 = 2).
    """
    us = VendorFactory(name="US Corp", country="US")
    us_de = VendorFactory(name="US Deutschland GmbH", country="DE", parent=us)
    de = VendorFactory(name="DE GmbH", country="DE")
    de2 = VendorFactory(name="DE2 GmbH", country="DE")
    fr = VendorFactory(name="FR SA", country="FR")
    office = tree["office"]
    apps = {
        "a1": ApplicationFactory(name="a1", owner_org_unit=office, vendor=us_de,
                                 criticality=BUSINESS),
        "a2": ApplicationFactory(name="a2", owner_org_unit=office, vendor=de,
                                 criticality=BUSINESS, confidentiality="very_high"),
        "a3": ApplicationFactory(name="a3", owner_org_unit=office, vendor=us,
                                 criticality=MISSION, availability="very_high"),
        "a4": ApplicationFactory(name="a4", owner_org_unit=office, vendor=fr,
                                 criticality=ADMINISTRATIVE),
        "a5": ApplicationFactory(name="a5", owner_org_unit=office, vendor=de2,
                                 criticality=OPERATIONAL, integrity="high"),
        "a6": ApplicationFactory(name="a6", owner_org_unit=office, criticality=MISSION),
        "a7": ApplicationFactory(name="a7", owner_org_unit=office, vendor=us, retired=True,
                                 criticality=MISSION, availability="very_high"),
    }  # fmt: skip
    assess(vendor=us, **{"JUR-04": 1})
    assess(vendor=de, default=3)
    assess(vendor=de2, **{"JUR-04": 2})
    assess(vendor=fr, default=3, **{"JUR-04": 4})
    assess(application=apps["a2"], default=3)
    assess(application=apps["a3"], default=2)
    return {"apps": apps, "us": us, "us_de": us_de, "de": de, "de2": de2, "fr": fr}


def test_vendor_shares_by_ultimate_parent_and_hhi(landscape, tree):
    risk = sovereignty_risk()
    assert risk.application_count == 5
    assert risk.total_weight == 10
    shares = {entry.name: entry for entry in risk.vendor_shares}
    # The subsidiary's application counts for its US parent.
    assert "US Deutschland GmbH" not in shares
    assert [entry.name for entry in risk.vendor_shares] == [
        "US Corp", "DE GmbH", "DE2 GmbH", "FR SA",
    ]  # fmt: skip
    assert [entry.share for entry in risk.vendor_shares] == pytest.approx([0.4, 0.3, 0.2, 0.1])
    assert [entry.weight for entry in risk.vendor_shares] == [4, 3, 2, 1]
    assert shares["US Corp"].application_count == 2
    assert shares["US Corp"].vendor_id == landscape["us"].pk
    assert (shares["US Corp"].jurisdiction, shares["US Corp"].is_eu) == ("US", False)
    # 40² + 30² + 20² + 10²
    assert risk.hhi_vendor == pytest.approx(3000.0)
    assert risk.effective_number_of_vendors == pytest.approx(3.3333333)


def test_hhi_by_jurisdiction_of_the_ultimate_parent(landscape):
    risk = sovereignty_risk()
    assert [(e.jurisdiction, e.is_eu) for e in risk.jurisdiction_shares] == [
        ("DE", True), ("US", False), ("FR", True),
    ]  # fmt: skip
    assert [e.share for e in risk.jurisdiction_shares] == pytest.approx([0.5, 0.4, 0.1])
    # 50² + 40² + 10²
    assert risk.hhi_jurisdiction == pytest.approx(4200.0)


def test_unattributed_and_dead_applications(landscape):
    risk = sovereignty_risk()
    assert (risk.unattributed_count, risk.unattributed_weight) == (1, 1)
    assert risk.unattributed_share == pytest.approx(1 / 11)
    # a7 was retired in 2020: not in any figure.
    assert landscape["apps"]["a7"].pk not in risk.exposed_application_ids
    assert risk.very_high_count == 2
    # On a day when a7 was still running it counts (and a1..a6 without dates always do).
    past = sovereignty_risk(on=datetime.date(2012, 1, 1))
    assert past.application_count == 6
    assert past.very_high_count == 3


def test_non_eu_exposure(landscape):
    risk = sovereignty_risk()
    apps = landscape["apps"]
    # a1: its vendor (the subsidiary) has no assessment, level 0; a3: US Corp JUR-04 = 1.
    # a5 with DE2's level 2 is just above the line.
    assert risk.exposed_application_ids == sorted([apps["a1"].pk, apps["a3"].pk])
    assert risk.exposed_weight == 4
    assert risk.non_eu_exposure_ratio == pytest.approx(0.4)


def test_exit_readiness(landscape):
    risk = sovereignty_risk()
    assert (risk.very_high_count, risk.exit_ready_count) == (2, 1)
    assert risk.exit_readiness == pytest.approx(0.5)


def test_alerts_fire(landscape):
    risk = sovereignty_risk()
    apps = landscape["apps"]
    by_code = {}
    for alert in risk.alerts:
        by_code.setdefault(alert.code, []).append(alert)
    # Critical applications: a1 (1, US), a2 (3, DE), a3 (3, US), a6 (no vendor):
    # US Corp 4/7, DE GmbH 3/7, both above 25 %.
    concentration = by_code["vendor_concentration"]
    assert [(a.subject.kind, a.subject.name) for a in concentration] == [
        ("vendor", "US Corp"), ("vendor", "DE GmbH"),
    ]  # fmt: skip
    assert "57.1 %" in concentration[0].message
    assert concentration[0].severity == "high"
    # Very high: a2 (DE) and a3 (US), HHI 50² + 50² = 5000.
    (hhi,) = by_code["very_high_concentration"]
    assert hhi.subject is None and "5000" in hhi.message
    # a2 meets its profile, a3 does not.
    (knockout,) = by_code["very_high_knockout"]
    assert knockout.subject.id == apps["a3"].pk
    assert knockout.severity == "critical"
    assert "JUR-04 (level 1, minimum 3)" in knockout.message
    assert "EXT-02 (level 2, minimum 3)" in knockout.message
    assert str(apps["a3"].owner_org_unit) in knockout.message


def test_alerts_do_not_fire_on_a_spread_landscape(catalogue, tree):
    # Four critical applications of four vendors: 25 % each, not above.
    for _n in range(4):
        ApplicationFactory(
            owner_org_unit=tree["office"], criticality=MISSION, vendor=VendorFactory()
        )
    risk = sovereignty_risk()
    assert [entry.share for entry in risk.vendor_shares] == pytest.approx([0.25] * 4)
    assert risk.hhi_vendor == pytest.approx(2500.0)
    assert risk.alerts == []
    assert risk.exit_readiness is None
    # Nothing assessed: every application is exposed.
    assert risk.non_eu_exposure_ratio == 1.0


def test_very_high_concentration_threshold(catalogue, tree):
    # Six very-high applications of six vendors: HHI 6 · (100/6)² ≈ 1666.7, not above 1800.
    for _n in range(6):
        ApplicationFactory(
            owner_org_unit=tree["office"], integrity="very_high", vendor=VendorFactory()
        )
    risk = sovereignty_risk()
    assert risk.hhi_vendor == pytest.approx(10000 / 6)
    codes = {alert.code for alert in risk.alerts}
    assert "very_high_concentration" not in codes
    # Unassessed very-high applications fail their profile.
    assert [a.code for a in risk.alerts] == ["very_high_knockout"] * 6


def test_empty_scope(catalogue, tree):
    risk = sovereignty_risk(org_unit=tree["other"])
    assert (risk.application_count, risk.hhi_vendor, risk.hhi_jurisdiction) == (0, 0, 0)
    assert risk.effective_number_of_vendors is None
    assert risk.non_eu_exposure_ratio is None
    assert risk.exit_readiness is None
    assert risk.vendor_shares == [] and risk.alerts == []


def test_org_unit_subtree(landscape, tree):
    ApplicationFactory(owner_org_unit=tree["other"], vendor=landscape["fr"])
    dept = sovereignty_risk(org_unit=tree["dept"])
    assert dept.org_unit_id == tree["dept"].pk
    assert dept.application_count == 5  # the office's applications, below the department
    assert dept.hhi_vendor == pytest.approx(3000.0)
    other = sovereignty_risk(org_unit=tree["other"])
    assert other.application_count == 1
    assert other.hhi_vendor == pytest.approx(10000.0)
    assert other.effective_number_of_vendors == pytest.approx(1.0)
    assert sovereignty_risk(org_unit=tree["city"]).application_count == 6


def test_by_org_unit(landscape, tree):
    ApplicationFactory(owner_org_unit=tree["other"], vendor=landscape["fr"])
    entries = sovereignty_risk_by_org_unit(level=1)
    assert [(e.code, e.name) for e in entries] == [("D1", "Dezernat 1"), ("D2", "Dezernat 2")]
    first, second = entries
    assert first.org_unit_id == tree["dept"].pk
    assert first.risk.application_count == 5
    assert first.risk.hhi_vendor == pytest.approx(3000.0)
    assert second.risk.application_count == 1
    assert second.risk.vendor_shares[0].name == "FR SA"
    assert [e.code for e in sovereignty_risk_by_org_unit(level=0)] == ["CITY"]


@pytest.fixture
def graph(catalogue, tree):
    """A hyperscaler group (US parent, DE subsidiary) runs platform P; C1 and C3 use P, C2 uses
    C1; C4 is the parent's own application; X belongs to another vendor. C5 used P through an
    interface that has ended; platform Q serves only C6. C2 belongs to another department."""
    office, other = tree["office"], tree["other"]
    hyper = VendorFactory(name="Hyperscaler Inc", country="US")
    hyper_de = VendorFactory(name="Hyperscaler GmbH", country="DE", parent=hyper)
    fach = VendorFactory(name="Fach GmbH")
    solo = VendorFactory(name="Solo AG")

    def app(name, criticality, vendor, unit=office, kind=ApplicationKind.SPECIALIST_PROCEDURE):
        return ApplicationFactory(
            name=name, criticality=criticality, vendor=vendor, owner_org_unit=unit, kind=kind
        )

    apps = {
        "P": app("P", OPERATIONAL, hyper_de, kind=ApplicationKind.PLATFORM),
        "Q": app("Q", OPERATIONAL, fach, kind=ApplicationKind.PLATFORM),
        "C1": app("C1", MISSION, fach),
        "C2": app("C2", BUSINESS, fach, unit=other),
        "C3": app("C3", ADMINISTRATIVE, fach),
        "C4": app("C4", BUSINESS, hyper),
        "C5": app("C5", MISSION, fach),
        "C6": app("C6", BUSINESS, fach),
        "X": app("X", MISSION, solo),
    }
    InterfaceFactory(provider=apps["P"], consumers=[apps["C1"], apps["C3"]])
    InterfaceFactory(provider=apps["C1"], consumers=[apps["C2"]])
    InterfaceFactory(
        provider=apps["P"], consumers=[apps["C5"]],
        active_from=datetime.date(2015, 1, 1), end_of_life=datetime.date(2020, 1, 1),
    )  # fmt: skip
    InterfaceFactory(provider=apps["Q"], consumers=[apps["C6"]])
    return {"apps": apps, "hyper": hyper, "fach": fach, "solo": solo}


def ids(apps, *names):
    return sorted(apps[name].pk for name in names)


def test_blast_radius(graph):
    apps = graph["apps"]
    risk = sovereignty_risk()
    assert risk.vendor_blast_radius == [
        # Fach GmbH's own critical applications C1, C2, C5, C6 (Q's consumer C6 is its own).
        BlastRadius(
            kind="vendor", subject_id=graph["fach"].pk, name="Fach GmbH", critical_count=4,
            critical_application_ids=ids(apps, "C1", "C2", "C5", "C6"), application_count=6,
        ),
        # The group runs P (through the subsidiary) and C4: C4 itself, C1 and C2 through P;
        # C3 is not critical and C5's interface has ended.
        BlastRadius(
            kind="vendor", subject_id=graph["hyper"].pk, name="Hyperscaler Inc",
            critical_count=3, critical_application_ids=ids(apps, "C1", "C2", "C4"),
            application_count=2,
        ),
        BlastRadius(
            kind="vendor", subject_id=graph["solo"].pk, name="Solo AG", critical_count=1,
            critical_application_ids=ids(apps, "X"), application_count=1,
        ),
    ]  # fmt: skip
    # Q serves one application only: not a shared platform.
    assert risk.platform_blast_radius == [
        BlastRadius(
            kind="platform", subject_id=apps["P"].pk, name="P", critical_count=2,
            critical_application_ids=ids(apps, "C1", "C2"), application_count=3,
        )
    ]  # fmt: skip
    with_q = sovereignty_risk(shared_platform_min_dependents=1)
    assert [(b.name, b.critical_count) for b in with_q.platform_blast_radius] == [
        ("P", 2), ("Q", 1),
    ]  # fmt: skip


def test_blast_radius_counts_the_critical_applications_in_scope(graph, tree):
    apps = graph["apps"]
    office = sovereignty_risk(org_unit=tree["office"])
    (platform,) = office.platform_blast_radius
    assert platform.critical_application_ids == ids(apps, "C1")
    other = sovereignty_risk(org_unit=tree["other"])
    # Cutting off P or the hyperscaler stops C2 in the other department too.
    assert [(b.name, b.critical_application_ids) for b in other.vendor_blast_radius] == [
        ("Fach GmbH", ids(apps, "C2")), ("Hyperscaler Inc", ids(apps, "C2")),
    ]  # fmt: skip
    assert [b.critical_application_ids for b in other.platform_blast_radius] == [ids(apps, "C2")]


def test_queries_grow_linearly_with_a_small_constant(catalogue, tree, assess):
    vendors = [VendorFactory(), VendorFactory(country="US")]
    for vendor in vendors:
        assess(vendor=vendor)
    platform = ApplicationFactory(
        kind=ApplicationKind.PLATFORM, vendor=vendors[1], owner_org_unit=tree["office"]
    )

    def add(count):
        created = [
            ApplicationFactory(
                owner_org_unit=tree["office"], vendor=vendors[n % 2], availability="very_high"
            )
            for n in range(count)
        ]
        InterfaceFactory(provider=platform, consumers=created)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            sovereignty_risk()
        return len(captured)

    add(4)
    small = queries()
    add(8)
    large = queries()
    per_application = (large - small) / 8
    assert per_application <= 15, (small, large)

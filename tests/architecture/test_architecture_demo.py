"""The architecture demo: a capability map in three levels, technology categories, a tech
radar that differs by date, ten ADRs in every status, expired exceptions, idempotent, and a
finding for every governance rule.

The demo city, the sourcing demo (which brings the sovereignty assessments that the
knock-out rule needs) and the architecture demo are built once for the module inside a
transaction that is rolled back at the end; every test runs in its own savepoint inside it.
"""

import datetime
from collections import Counter

import pytest
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from architecture.choices import DecisionStatus, StandardStatus
from architecture.demo import build_architecture_demo
from architecture.models import (
    ApplicationCapability,
    ArchitectureDecision,
    Capability,
    StandardException,
    TechCategory,
    TechnologyStandard,
)
from architecture.services.radar import status_on
from cmdb.demo import build_demo_city
from cmdb.models import ITComponent


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        build_demo_city(seed=1, scale=1)
        try:
            from sourcing.demo import build_sourcing_demo
        except ImportError:  # pragma: no cover - the sourcing demo is optional
            build_sourcing_demo = None
        if build_sourcing_demo is not None:
            build_sourcing_demo(seed=1, scale=1)
        first = build_architecture_demo(seed=1, scale=1)
        second = build_architecture_demo(seed=1, scale=1)
        yield {"first": first, "second": second}
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def test_capability_map_has_about_sixty_capabilities_in_three_levels(demo):
    levels = Counter(Capability.objects.values_list("level", flat=True))
    assert set(levels) == {0, 1, 2}
    assert levels[0] == 9
    assert 55 <= sum(levels.values()) <= 75
    assert Capability.objects.filter(code="CAP-9", name="IT-Basisdienste").exists()
    assert Capability.objects.get(code="CAP-3.3.2").parent.code == "CAP-3.3"


def test_applications_support_leaf_capabilities(demo):
    support = ApplicationCapability.objects.values("capability").annotate(n=Count("application"))
    counts = [row["n"] for row in support]
    assert max(counts) > 3
    assert sum(1 for n in counts if n <= 2) >= 3
    assert not ApplicationCapability.objects.exclude(capability__level=2).exists()
    assert set(ApplicationCapability.objects.values_list("support_level", flat=True)) == {
        "primary",
        "secondary",
        "partial",
    }


def test_categories_hold_components(demo):
    windows = TechCategory.objects.get(code="TC-OS-WIN")
    assert windows.parent.code == "TC-OS"
    assert windows.components.filter(name="Microsoft Windows Server").count() >= 3
    assert TechCategory.objects.get(code="TC-DB").components.filter(name="PostgreSQL").exists()


def test_radar_has_every_status(demo):
    statuses = set(TechnologyStandard.objects.values_list("status", flat=True))
    assert set(StandardStatus.values) <= statuses
    assert TechnologyStandard.objects.filter(category__isnull=False).exists()


def test_radar_differs_between_today_and_next_year(demo):
    today = timezone.localdate()
    component = ITComponent.objects.get(external_id="demo:component:windows-server-2019")
    assert status_on(component, today).status == StandardStatus.TOLERATED
    next_year = datetime.date(today.year + 1, 6, 1)
    assert status_on(component, next_year).status == StandardStatus.RETIRED


def test_ten_decisions_in_various_statuses(demo):
    assert ArchitectureDecision.objects.count() == 10
    statuses = set(ArchitectureDecision.objects.values_list("status", flat=True))
    assert {
        DecisionStatus.ACCEPTED,
        DecisionStatus.PROPOSED,
        DecisionStatus.SUPERSEDED,
        DecisionStatus.REJECTED,
        DecisionStatus.DEPRECATED,
    } <= statuses
    postgres = ArchitectureDecision.objects.get(title="PostgreSQL als Standard-Datenbank")
    assert postgres.supersedes.status == DecisionStatus.SUPERSEDED


def test_expired_and_valid_exceptions(demo):
    today = timezone.localdate()
    assert StandardException.objects.filter(expires_on__lt=today).count() >= 2
    assert StandardException.objects.filter(expires_on__gte=today).exists()
    assert not StandardException.objects.exclude(decision__status=DecisionStatus.ACCEPTED).exists()


def test_second_run_creates_nothing(demo):
    assert sum(demo["first"]["created"].values()) > 0
    assert not any(demo["second"]["created"].values()), demo["second"]["created"]
    assert demo["first"]["total"] == demo["second"]["total"]


def test_every_governance_rule_has_a_finding(demo):
    governance = pytest.importorskip("architecture.governance")
    findings = Counter(finding.rule for finding in governance.run_rules())
    missing = [code for code in governance.RULES if not findings.get(code)]
    assert not missing, findings

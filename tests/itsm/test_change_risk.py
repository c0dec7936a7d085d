"""Change risk: each factor of the points table in itsm.services.risk, with exact scores."""

import datetime
import itertools
from zoneinfo import ZoneInfo

import pytest

from cmdb.choices import Criticality
from cmdb.factories import ApplicationFactory, InterfaceFactory, UserFactory
from itsm.choices import ChangeOutcome, ChangeRisk, ChangeState, ChangeType
from itsm.models import Change, ChangeTemplate
from itsm.services.risk import assess_risk

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
_numbers = itertools.count(1)


def make_change(*applications, change_type=ChangeType.NORMAL, **fields) -> Change:
    """A change straight in the database: risk only reads what it touches and its type."""
    if change_type == ChangeType.STANDARD and "template" not in fields:
        fields["template"] = ChangeTemplate.objects.get_or_create(name="Routine")[0]
    change = Change.objects.create(
        number=f"CHG-2026-{next(_numbers):06d}",
        title="Change",
        change_type=change_type,
        requested_by=UserFactory(),
        **fields,
    )
    change.applications.set(applications)
    return change


def closed_change(app, outcome) -> Change:
    return make_change(app, state=ChangeState.CLOSED, outcome=outcome)


def points(assessment) -> dict[str, int]:
    return {f["factor"]: f["points"] for f in assessment.factors}


def factor(assessment, name) -> dict:
    return next(f for f in assessment.factors if f["factor"] == name)


@pytest.mark.parametrize(
    ("criticality", "expected", "level"),
    [
        (Criticality.MISSION_CRITICAL, 35, ChangeRisk.MEDIUM),
        (Criticality.BUSINESS_CRITICAL, 25, ChangeRisk.LOW),
        (Criticality.BUSINESS_OPERATIONAL, 10, ChangeRisk.LOW),
        (Criticality.ADMINISTRATIVE, 0, ChangeRisk.LOW),
    ],
)
def test_criticality(criticality, expected, level):
    assessment = assess_risk(make_change(ApplicationFactory(criticality=criticality)))
    assert (assessment.score, assessment.level) == (expected, level)
    assert factor(assessment, "criticality")["value"] == criticality
    assert points(assessment) == {
        "criticality": expected,
        "dependents": 0,
        "change_type": 0,
        "failure_rate": 0,
    }


def test_the_highest_criticality_counts():
    apps = [
        ApplicationFactory(criticality=Criticality.ADMINISTRATIVE),
        ApplicationFactory(criticality=Criticality.BUSINESS_CRITICAL),
    ]
    assessment = assess_risk(make_change(*apps))
    assert factor(assessment, "criticality") == {
        "factor": "criticality",
        "value": "business_critical",
        "points": 25,
        "explanation": "Highest criticality among the affected applications: business critical.",
    }


def test_a_change_without_applications_scores_nothing():
    assessment = assess_risk(make_change())
    assert (assessment.score, assessment.level) == (0, ChangeRisk.LOW)
    assert factor(assessment, "criticality")["value"] is None


@pytest.fixture
def graph():
    """idp ← portal, forms; portal ← payment; payment ← accounting.

    The portal and the forms server consume the identity provider, payment consumes the
    portal, accounting consumes payment: four applications depend on idp, two on the portal.
    """
    apps = {
        name: ApplicationFactory(name=name)
        for name in ("idp", "portal", "forms", "payment", "accounting", "unrelated")
    }
    InterfaceFactory(provider=apps["idp"], consumers=[apps["portal"], apps["forms"]])
    InterfaceFactory(provider=apps["portal"], consumers=[apps["payment"]])
    InterfaceFactory(provider=apps["payment"], consumers=[apps["accounting"]])
    return apps


@pytest.mark.parametrize(
    ("touched", "count", "expected"),
    [
        (["idp"], 4, 20),  # transitive: portal, forms, payment, accounting
        (["portal"], 2, 10),
        (["accounting"], 0, 0),
        # Union over the affected applications, without counting them themselves.
        (["idp", "portal"], 3, 20),
        (["portal", "payment"], 1, 10),
        (["unrelated"], 0, 0),
    ],
)
def test_dependents_are_counted_transitively(graph, touched, count, expected):
    assessment = assess_risk(make_change(*(graph[name] for name in touched)))
    assert factor(assessment, "dependents")["value"] == count
    assert points(assessment)["dependents"] == expected
    assert assessment.score == 10 + expected  # business operational + dependents


@pytest.mark.parametrize(("consumers", "expected"), [(1, 10), (2, 10), (3, 20), (9, 20), (10, 25)])
def test_dependent_thresholds(consumers, expected):
    provider = ApplicationFactory()
    InterfaceFactory(provider=provider, consumers=[ApplicationFactory() for _ in range(consumers)])
    assert points(assess_risk(make_change(provider)))["dependents"] == expected


def test_dependents_are_counted_on_the_planned_date():
    provider = ApplicationFactory()
    InterfaceFactory(provider=provider, consumers=[ApplicationFactory()])
    InterfaceFactory(
        provider=provider,
        consumers=[ApplicationFactory()],
        active_from=datetime.date(2020, 1, 1),
        end_of_life=datetime.date(2026, 6, 30),
    )
    before = datetime.datetime(2026, 6, 1, 20, 0, tzinfo=BERLIN)
    after = datetime.datetime(2026, 7, 1, 20, 0, tzinfo=BERLIN)
    hour = datetime.timedelta(hours=1)
    early = make_change(provider, planned_start=before, planned_end=before + hour)
    late = make_change(provider, planned_start=after, planned_end=after + hour)
    assert factor(assess_risk(early), "dependents")["value"] == 2
    assert factor(assess_risk(late), "dependents")["value"] == 1


@pytest.mark.parametrize(
    ("change_type", "type_points", "score", "level"),
    [
        (ChangeType.NORMAL, 0, 25, ChangeRisk.LOW),
        (ChangeType.EMERGENCY, 20, 45, ChangeRisk.MEDIUM),
        (ChangeType.STANDARD, -15, 10, ChangeRisk.LOW),
    ],
)
def test_change_type(change_type, type_points, score, level):
    app = ApplicationFactory(criticality=Criticality.BUSINESS_CRITICAL)
    assessment = assess_risk(make_change(app, change_type=change_type))
    assert points(assessment)["change_type"] == type_points
    assert (assessment.score, assessment.level) == (score, level)


def test_score_is_clamped_to_0_and_100():
    admin_app = ApplicationFactory(criticality=Criticality.ADMINISTRATIVE)
    assert assess_risk(make_change(admin_app, change_type=ChangeType.STANDARD)).score == 0

    core = ApplicationFactory(criticality=Criticality.MISSION_CRITICAL)
    InterfaceFactory(provider=core, consumers=[ApplicationFactory() for _ in range(10)])
    closed_change(core, ChangeOutcome.FAILED)
    assessment = assess_risk(make_change(core, change_type=ChangeType.EMERGENCY))
    assert points(assessment) == {
        "criticality": 35,
        "dependents": 25,
        "change_type": 20,
        "failure_rate": 20,
    }
    assert (assessment.score, assessment.level) == (100, ChangeRisk.HIGH)


def test_levels_at_the_thresholds():
    core = ApplicationFactory(criticality=Criticality.MISSION_CRITICAL)
    InterfaceFactory(provider=core, consumers=[ApplicationFactory() for _ in range(3)])
    # 35 + 20 = 55: medium; one more failed change in two (10 points) makes 65: high.
    assert (assess_risk(make_change(core)).score, assess_risk(make_change(core)).level) == (
        55,
        ChangeRisk.MEDIUM,
    )
    closed_change(core, ChangeOutcome.FAILED)
    closed_change(core, ChangeOutcome.SUCCESSFUL)
    assessment = assess_risk(make_change(core))
    assert (assessment.score, assessment.level) == (65, ChangeRisk.HIGH)
    business = ApplicationFactory(criticality=Criticality.BUSINESS_OPERATIONAL)
    # 10 + 20 (emergency) = 30: the lowest medium score.
    emergency = assess_risk(make_change(business, change_type=ChangeType.EMERGENCY))
    assert (emergency.score, emergency.level) == (30, ChangeRisk.MEDIUM)


def test_failure_rate_of_earlier_changes_on_the_same_applications():
    app = ApplicationFactory(criticality=Criticality.ADMINISTRATIVE)
    other = ApplicationFactory()
    change = make_change(app)
    assert factor(assess_risk(change), "failure_rate")["value"] == 0.0

    closed_change(app, ChangeOutcome.FAILED)
    closed_change(app, ChangeOutcome.SUCCESSFUL)
    # Not counted: other applications, changes not closed, closed without an outcome.
    closed_change(other, ChangeOutcome.FAILED)
    make_change(app, state=ChangeState.REVIEW, outcome=ChangeOutcome.FAILED)
    make_change(app, state=ChangeState.CLOSED)
    make_change(app, state=ChangeState.CANCELLED)
    half = assess_risk(change)
    assert factor(half, "failure_rate") == {
        "factor": "failure_rate",
        "value": 0.5,
        "points": 10,
        "explanation": ("1 of 2 earlier changes on these applications failed or were rolled back."),
    }
    assert half.score == 10

    closed_change(app, ChangeOutcome.ROLLED_BACK)
    # 2 of 3: 13.33 points, rounded to 13.
    two_thirds = assess_risk(change)
    assert (factor(two_thirds, "failure_rate")["value"], two_thirds.score) == (0.667, 13)


def test_failure_rate_rounds_half_up():
    app = ApplicationFactory(criticality=Criticality.ADMINISTRATIVE)
    closed_change(app, ChangeOutcome.FAILED)
    for _ in range(7):
        closed_change(app, ChangeOutcome.SUCCESSFUL)
    # 1 of 8 × 20 = 2.5 → 3.
    assert points(assess_risk(make_change(app)))["failure_rate"] == 3


def test_the_change_itself_is_not_its_own_history():
    app = ApplicationFactory(criticality=Criticality.ADMINISTRATIVE)
    change = closed_change(app, ChangeOutcome.FAILED)
    assert points(assess_risk(change))["failure_rate"] == 0


def test_assessment_is_deterministic(graph):
    change = make_change(graph["idp"], graph["portal"], change_type=ChangeType.EMERGENCY)
    closed_change(graph["portal"], ChangeOutcome.FAILED)
    assert assess_risk(change) == assess_risk(change)

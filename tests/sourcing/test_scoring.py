import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cmdb.choices import ApplicationKind, ComponentKind, Environment, Hosting
from cmdb.factories import (
    ApplicationComponentFactory,
    ApplicationFactory,
    InterfaceFactory,
    ITComponentFactory,
    VendorFactory,
)
from sourcing.choices import AssessmentState, CatalogueStatus
from sourcing.models import Answer, Assessment, CriteriaCatalogue, Criterion
from sourcing.services.catalogues import load_catalogue
from sourcing.services.scoring import (
    BulkEvidence,
    FailedKnockout,
    application_grades,
    application_sovereignty,
    compute_score,
    current_assessment,
    effective_assessment,
    effective_levels,
    inherited_codes,
    protection_class_of,
    score_application,
    score_assessment,
)
from tests.sourcing import approved_assessment

pytestmark = pytest.mark.django_db

BANDS = {
    "A": "80-100",
    "B": "65-79",
    "C": "50-64",
    "D": "35-49",
    "E": "below 35 or any knock-out failed",
}


def small_catalogue(bands=BANDS, weights=(40, 30, 20, 10)) -> CriteriaCatalogue:
    """Four criteria in two groups; A-01 and A-02 form the floor; B-02 applies to SaaS only,
    so a vendor assessment may mark it not applicable."""
    catalogue = CriteriaCatalogue.objects.create(
        code="test-cat",
        version="1.0.0",
        title="Small test catalogue",
        scoring={
            "grade_bands": bands,
            "profiles": {
                "normal": {},
                "high": {"A-01": 3, "B-01": 2, "B-02": 4},
                "very_high": {"A-01": 4, "A-02": 1, "B-01": 2},
            },
        },
    )
    specs = [
        ("A-01", "g1", ["vendor"], True, "SOV-1"),
        ("A-02", "g1", ["vendor"], True, "SOV-1"),
        ("B-01", "g2", ["vendor"], False, "SOV-2"),
        ("B-02", "g2", ["saas"], False, "SOV-2"),
    ]
    for position, ((code, group, applies_to, is_floor, csf), weight) in enumerate(
        zip(specs, weights, strict=True)
    ):
        Criterion.objects.create(
            catalogue=catalogue, code=code, position=position, group=group, name=f"Name {code}",
            question="?", applies_to=applies_to, level_descriptions=["0", "1", "2", "3", "4"],
            weight=weight, is_floor=is_floor, maps_to={"eu_csf": csf},
        )  # fmt: skip
    catalogue.status = CatalogueStatus.PUBLISHED
    catalogue.published_at = timezone.now()
    catalogue.save()
    return catalogue


def hand_built(catalogue, user, **answers) -> Assessment:
    """answers: code → level, None (unanswered row) or "n/a"."""
    assessment = Assessment.objects.create(
        catalogue=catalogue, vendor=VendorFactory(), assessor=user
    )
    for code, value in answers.items():
        Answer.objects.create(
            assessment=assessment,
            criterion=catalogue.criteria.get(code=code),
            level=None if value == "n/a" else value,
            not_applicable=value == "n/a",
        )
    return assessment


@pytest.fixture
def buyer(make_user):
    return make_user("buyer", "procurement")


@pytest.fixture
def approver(make_user):
    return make_user("approver", "procurement")


def test_hand_computed_score_with_not_applicable_and_unanswered(buyer):
    catalogue = small_catalogue()
    # A-01 level 3, A-02 unanswered (row without level), B-01 level 4, B-02 not applicable.
    assessment = hand_built(catalogue, buyer, **{"A-01": 3, "A-02": None, "B-01": 4, "B-02": "n/a"})

    result = score_assessment(assessment)

    # points 40*3/4 + 0 + 20*4/4 = 50 of weight 40+30+20 = 90 → 55.555… → 55.6
    assert result.score == 55.6
    assert result.grade == "C"
    assert result.floor_level == 0  # A-02 unanswered counts as 0
    assert result.group_scores == {"g1": 42.9, "g2": 100.0}  # 30/70, 20/20
    assert result.eu_csf_scores == {"SOV-1": 42.9, "SOV-2": 100.0}
    assert result.knockouts_failed == []
    assert result.protection_class is None
    assert result.unanswered == ["A-02"]


def test_a_missing_answer_row_is_unanswered_too(buyer):
    catalogue = small_catalogue()
    assessment = hand_built(catalogue, buyer, **{"A-01": 3, "B-01": 4, "B-02": "n/a"})
    assert score_assessment(assessment).score == 55.6


def test_knock_outs_per_protection_class(buyer):
    catalogue = small_catalogue()
    assessment = hand_built(catalogue, buyer, **{"A-01": 3, "A-02": None, "B-01": 4, "B-02": "n/a"})

    high = score_assessment(assessment, "high")
    # A-01 3 ≥ 3, B-01 4 ≥ 2, B-02 (minimum 4) is not applicable and never fails.
    assert high.knockouts_failed == []
    assert (high.score, high.grade, high.protection_class) == (55.6, "C", "high")

    very_high = score_assessment(assessment, "very_high")
    assert very_high.knockouts_failed == [
        FailedKnockout(code="A-01", name="Name A-01", level=3, minimum=4),
        FailedKnockout(code="A-02", name="Name A-02", level=None, minimum=1),
    ]
    assert very_high.score == 55.6
    assert very_high.grade == "E"

    assert score_assessment(assessment, "normal").grade == "C"
    with pytest.raises(ValidationError) as raised:
        score_assessment(assessment, "extreme")
    assert raised.value.error_dict["protection_class"][0].code == "invalid_choice"


@pytest.mark.parametrize(
    "levels, score, grade",
    [
        ({"A-01": 4, "A-02": 4, "B-01": 4, "B-02": 4}, 100.0, "A"),
        ({"A-01": 4, "A-02": 4, "B-01": 2, "B-02": 0}, 80.0, "A"),  # 40+30+10
        ({"A-01": 4, "A-02": 2, "B-01": 2, "B-02": 0}, 65.0, "B"),  # 40+15+10
        ({"A-01": 4, "A-02": 1, "B-01": 2, "B-02": 1}, 60.0, "C"),  # 40+7.5+10+2.5
        ({"A-01": 2, "A-02": 1, "B-01": 2, "B-02": 1}, 40.0, "D"),  # 20+7.5+10+2.5
        ({"A-01": 1, "A-02": 1, "B-01": 2, "B-02": 1}, 30.0, "E"),  # 10+7.5+10+2.5
        ({"A-01": 3, "A-02": 1, "B-01": 3, "B-02": 0}, 52.5, "C"),  # 30+7.5+15
    ],
)
def test_grade_bands(levels, score, grade):
    catalogue = small_catalogue()
    result = compute_score(catalogue, levels)
    assert (result.score, result.grade) == (score, grade)
    assert result.floor_level == min(levels["A-01"], levels["A-02"])


def test_half_up_rounding_to_one_decimal():
    catalogue = small_catalogue(weights=(1, 1, 1, 5))
    # 100 × (1 × 1/4) / 3 = 8.333… → 8.3
    assert compute_score(catalogue, {"A-01": 1}, not_applicable={"B-02"}).score == 8.3
    # 100 × (1 × 2/4) / 8 = 6.25 → 6.3 (half up; round() would give 6.2)
    assert compute_score(catalogue, {"A-01": 2}).score == 6.3


def test_weights_and_bands_are_read_from_the_catalogue():
    catalogue = small_catalogue(
        bands={"A": "90-100", "B": "0-89", "F": "below 0 or any knock-out failed"},
        weights=(10, 10, 10, 70),
    )
    levels = {"A-01": 4, "A-02": 4, "B-01": 4, "B-02": 0}
    result = compute_score(catalogue, levels)
    assert (result.score, result.grade) == (30.0, "B")
    assert compute_score(catalogue, levels, protection_class="very_high").grade == "B"
    assert compute_score(catalogue, {"A-01": 0}, protection_class="very_high").grade == "F"


def test_floor_ignores_not_applicable_floor_criteria():
    catalogue = small_catalogue()
    result = compute_score(catalogue, {"A-01": 3, "A-02": 1}, not_applicable={"A-02"})
    assert result.floor_level == 3
    assert compute_score(catalogue, {}, not_applicable={"A-01", "A-02"}).floor_level is None


def test_inheritance_rule_is_read_from_the_shipped_catalogue():
    catalogue = load_catalogue()
    codes = set(catalogue.criteria.values_list("code", flat=True))
    assert inherited_codes(catalogue.landscape, codes) == {
        "JUR-01", "JUR-02", "JUR-03", "JUR-04", "JUR-05", "JUR-06", "JUR-07",
        "DAT-01", "OPS-01", "OPS-02", "OPS-03", "SUP-02",
    }  # fmt: skip


def test_saas_on_a_weak_platform_inherits_the_platforms_level(buyer, approver):
    catalogue = load_catalogue()
    saas_vendor = VendorFactory(country="DE")
    platform_vendor = VendorFactory(country="US")
    approved_assessment(
        assessor=buyer, approver=approver, vendor=saas_vendor, levels={"JUR-01": 4}, default=3
    )
    approved_assessment(
        assessor=buyer, approver=approver, vendor=platform_vendor, levels={"JUR-01": 1}, default=3
    )
    platform = ApplicationFactory(
        kind=ApplicationKind.PLATFORM, vendor=platform_vendor, hosting=Hosting.NON_EU_CLOUD
    )
    app = ApplicationFactory(
        kind=ApplicationKind.SAAS, vendor=saas_vendor, hosting=Hosting.EU_CLOUD
    )
    InterfaceFactory(provider=platform, consumers=[app])

    details = effective_assessment(app, catalogue)
    levels = details.levels

    assert levels["JUR-01"] == 1  # min(vendor 4, platform vendor 1)
    assert levels["JUR-02"] == 3
    # Not inherited, and the application has no assessment of its own: missing evidence.
    assert levels["TEC-01"] == 0
    # Vendor assessments leave DAT-01 not applicable; nobody assessed the SaaS's data
    # location, and it applies to SaaS: missing evidence, not "not applicable".
    assert levels["DAT-01"] == 0
    # SUP-03 (hardware provenance) applies to neither SaaS nor its vendors' assessments.
    assert levels["SUP-03"] is None
    assert [(s.role, s.is_gap) for s in details.sources] == [
        ("application", True), ("vendor", False), ("platform", False),
    ]  # fmt: skip
    assert effective_levels(app, catalogue) == levels


def test_the_applications_own_assessment_counts_and_supplies_other_criteria(buyer, approver):
    catalogue = load_catalogue()
    vendor = VendorFactory()
    approved_assessment(assessor=buyer, approver=approver, vendor=vendor, default=4)
    app = ApplicationFactory(kind=ApplicationKind.SAAS, vendor=vendor)
    approved_assessment(
        assessor=buyer,
        approver=approver,
        application=app,
        levels={"TEC-01": 3, "JUR-04": 2, "DAT-01": 3},
        default=4,
    )
    levels = effective_levels(app, catalogue)
    assert levels["TEC-01"] == 3
    assert levels["JUR-04"] == 2  # min(vendor 4, own 2)
    assert levels["JUR-01"] == 4
    assert levels["DAT-01"] == 3  # only the application's own assessment covers it


def test_production_cloud_services_are_platform_providers(buyer, approver):
    catalogue = load_catalogue()
    vendor = VendorFactory()
    approved_assessment(assessor=buyer, approver=approver, vendor=vendor, default=3)
    cloud_vendor = VendorFactory(country="US")
    approved_assessment(
        assessor=buyer, approver=approver, vendor=cloud_vendor, levels={"JUR-04": 0}, default=3
    )
    test_only_vendor = VendorFactory(country="CN")
    approved_assessment(assessor=buyer, approver=approver, vendor=test_only_vendor, default=0)
    app = ApplicationFactory(kind=ApplicationKind.STANDARD_SOFTWARE, vendor=vendor)
    ApplicationComponentFactory(
        application=app,
        component=ITComponentFactory(kind=ComponentKind.CLOUD_SERVICE, vendor=cloud_vendor),
    )
    ApplicationComponentFactory(
        application=app,
        environment=Environment.TEST,
        component=ITComponentFactory(kind=ComponentKind.CLOUD_SERVICE, vendor=test_only_vendor),
    )
    ApplicationComponentFactory(  # not a cloud service: not a platform provider
        application=app, component=ITComponentFactory(kind=ComponentKind.DATABASE)
    )
    levels = effective_levels(app, catalogue)
    assert levels["JUR-04"] == 0
    assert levels["JUR-01"] == 3


def test_an_unassessed_platform_is_a_gap_scored_as_missing_evidence(buyer, approver):
    catalogue = load_catalogue()
    vendor = VendorFactory()
    approved_assessment(assessor=buyer, approver=approver, vendor=vendor, default=4)
    platform = ApplicationFactory(kind=ApplicationKind.PLATFORM, vendor=VendorFactory())
    app = ApplicationFactory(kind=ApplicationKind.SAAS, vendor=vendor)
    InterfaceFactory(provider=platform, consumers=[app])
    details = effective_assessment(app, catalogue)
    assert details.levels["JUR-01"] == 0
    assert [source.role for source in details.gaps] == ["application", "platform"]


def test_only_platforms_used_directly_are_inherited(buyer, approver):
    """In a connected landscape every application reaches every platform transitively; the
    weakest one would set everybody's level. Only a platform an application uses counts."""
    catalogue = load_catalogue()
    vendor = VendorFactory()
    approved_assessment(assessor=buyer, approver=approver, vendor=vendor, default=4)
    platform = ApplicationFactory(kind=ApplicationKind.PLATFORM, vendor=VendorFactory())
    middle = ApplicationFactory()
    app = ApplicationFactory(kind=ApplicationKind.SAAS, vendor=vendor)
    # app → middle → platform: the platform is only a transitive dependency.
    InterfaceFactory(provider=middle, consumers=[app])
    InterfaceFactory(provider=platform, consumers=[middle])
    details = effective_assessment(app, catalogue)
    assert details.levels["JUR-01"] == 4
    assert [source.role for source in details.gaps] == ["application"]


def test_score_application_uses_effective_levels(buyer, approver):
    catalogue = load_catalogue()
    vendor = VendorFactory()
    approved_assessment(assessor=buyer, approver=approver, vendor=vendor, default=4)
    app = ApplicationFactory(kind=ApplicationKind.SAAS, vendor=vendor, confidentiality="very_high")
    assert protection_class_of(app) == "very_high"
    result = score_application(app, catalogue, protection_class_of(app))
    # Everything not inherited from the vendor is missing evidence.
    assert result.grade == "E"
    assert {k.code for k in result.knockouts_failed} >= {"EXT-01", "DAT-01", "TEC-02"}
    assert "JUR-01" not in {k.code for k in result.knockouts_failed}


def test_current_assessment_prefers_valid_approved_and_latest_version(buyer, approver, tmp_path):
    catalogue = load_catalogue()
    vendor = VendorFactory()
    assert current_assessment(vendor) is None
    first = approved_assessment(assessor=buyer, approver=approver, vendor=vendor, default=2)
    assert current_assessment(vendor) == first
    # Expired: no longer current.
    Assessment.objects.filter(pk=first.pk).update(
        valid_until=datetime.date.today() - datetime.timedelta(days=1)
    )
    assert current_assessment(vendor) is None
    assert current_assessment(vendor, on=datetime.date.today() - datetime.timedelta(days=2)) == (
        first
    )
    # A draft is never current.
    Assessment.objects.create(catalogue=catalogue, vendor=vendor, assessor=buyer)
    assert current_assessment(vendor) is None
    assert Assessment.objects.filter(vendor=vendor, state=AssessmentState.DRAFT).count() == 1


def _landscape_with_providers(buyer, approver, size: int) -> list:
    """`size` applications on two assessed vendors, each using a platform (assessed or not)
    and some a production cloud service; a few have an assessment of their own."""
    strong, weak = VendorFactory(country="DE"), VendorFactory(country="US")
    approved_assessment(assessor=buyer, approver=approver, vendor=strong, default=4)
    approved_assessment(
        assessor=buyer, approver=approver, vendor=weak, levels={"JUR-01": 1}, default=2
    )
    assessed_platform = ApplicationFactory(kind=ApplicationKind.PLATFORM, vendor=weak)
    approved_assessment(assessor=buyer, approver=approver, application=assessed_platform, default=3)
    bare_platform = ApplicationFactory(kind=ApplicationKind.PLATFORM, vendor=VendorFactory())
    cloud = ITComponentFactory(kind=ComponentKind.CLOUD_SERVICE, vendor=weak)
    apps = []
    for index in range(size):
        app = ApplicationFactory(
            kind=ApplicationKind.SAAS, vendor=strong if index % 2 else weak,
            hosting=Hosting.EU_CLOUD,
        )  # fmt: skip
        InterfaceFactory(
            provider=assessed_platform if index % 3 else bare_platform, consumers=[app]
        )
        if index % 4 == 0:
            ApplicationComponentFactory(
                application=app, component=cloud, environment=Environment.PRODUCTION
            )
        if index % 5 == 0:
            approved_assessment(assessor=buyer, approver=approver, application=app, default=1)
        apps.append(app)
    return apps


def test_bulk_evidence_gives_the_same_levels_as_one_application_at_a_time(buyer, approver):
    catalogue = load_catalogue()
    apps = _landscape_with_providers(buyer, approver, 12)
    evidence = BulkEvidence(apps)
    for app in apps:
        single = effective_assessment(app, catalogue)
        bulk = effective_assessment(app, catalogue, evidence)
        assert bulk.levels == single.levels
        assert [(s.role, s.subjects, s.assessments) for s in bulk.sources] == [
            (s.role, s.subjects, s.assessments) for s in single.sources
        ]
    assert application_grades(apps) == {
        app.pk: application_sovereignty(app)[2].grade for app in apps
    }
    # The landscape is varied enough that the comparison means something: every kind of
    # party occurs, with and without evidence.
    sources = [s for app in apps for s in effective_assessment(app, catalogue, evidence).sources]
    assert {(s.role, s.is_gap) for s in sources} >= {
        ("application", True), ("application", False), ("vendor", False),
        ("platform", True), ("platform", False), ("cloud_service", False),
    }  # fmt: skip


def test_bulk_grades_take_the_same_queries_for_few_and_many_applications(buyer, approver):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    few = _landscape_with_providers(buyer, approver, 3)
    many = few + _landscape_with_providers(buyer, approver, 20)
    load_catalogue()
    application_grades(few)  # the default catalogue's first lookup is cached per process
    with CaptureQueriesContext(connection) as small:
        application_grades(few)
    with CaptureQueriesContext(connection) as large:
        application_grades(many)
    assert len(large.captured_queries) == len(small.captured_queries)

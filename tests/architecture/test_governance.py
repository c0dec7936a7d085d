"""Governance rules: for each rule a case that must be found and a near miss that must not; the
command's exit status; filters; and a bounded number of queries."""

import datetime
import json
from io import StringIO

import pytest
from dateutil.relativedelta import relativedelta
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from architecture.choices import DecisionStatus, StandardStatus
from architecture.governance import RULES, Finding, run_rules
from architecture.models import (
    ApplicationCapability,
    ArchitectureDecision,
    Capability,
    StandardException,
    TechCategory,
    TechnologyStandard,
)
from cmdb.choices import (
    Criticality,
    DataClassification,
    Environment,
    Hosting,
    ProtectionNeed,
)
from cmdb.factories import (
    ApplicationComponentFactory,
    ApplicationFactory,
    DataObjectFactory,
    InterfaceFactory,
    ITComponentFactory,
    OrgUnitFactory,
    TeamFactory,
)
from tests.sourcing import approved_assessment

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
YEAR = datetime.timedelta(days=365)


def found(code, **kwargs) -> list[Finding]:
    return run_rules(rules=[code], on=kwargs.pop("on", TODAY), **kwargs)


def subjects(findings, kind="application") -> set[int]:
    return {f.subject_id for f in findings if f.subject_kind == kind}


_numbers = iter(range(1, 10_000))


def decision(status=DecisionStatus.ACCEPTED):
    return ArchitectureDecision.objects.create(
        number=f"ADR-T-{next(_numbers):04d}", title="Test decision", status=status
    )


def standard(status, component=None, category=None, since=TODAY - YEAR):
    return TechnologyStandard.objects.create(
        component=component, category=category, status=status, valid_from=since
    )


# --- 1. retired technology -------------------------------------------------------------------


def test_retired_and_prohibited_technology_in_use_are_found():
    retired_use = ApplicationComponentFactory()
    prohibited_use = ApplicationComponentFactory()
    standard(StandardStatus.RETIRED, component=retired_use.component)
    standard(StandardStatus.PROHIBITED, component=prohibited_use.component)

    findings = {f.subject_id: f for f in found("retired_technology_in_use")}

    assert findings[retired_use.application_id].severity == "medium"
    assert findings[prohibited_use.application_id].severity == "high"
    assert str(prohibited_use.component) in findings[prohibited_use.application_id].message
    assert findings[prohibited_use.application_id].hint
    assert (
        findings[retired_use.application_id].org_unit_id
        == retired_use.application.owner_org_unit_id
    )


def test_retired_status_of_a_parent_category_counts():
    databases = TechCategory.objects.create(name="Databases", code="DB")
    relational = TechCategory.objects.create(name="Relational", code="DB-REL", parent=databases)
    use = ApplicationComponentFactory()
    relational.components.add(use.component)
    standard(StandardStatus.RETIRED, category=databases)

    assert subjects(found("retired_technology_in_use")) == {use.application_id}


def test_retired_technology_near_misses():
    with_exception = ApplicationComponentFactory()
    old = standard(StandardStatus.PROHIBITED, component=with_exception.component)
    StandardException.objects.create(
        application=with_exception.application, standard=old, decision=decision(),
        reason="Migration running", expires_on=TODAY + datetime.timedelta(days=30),
    )  # fmt: skip
    approved = ApplicationComponentFactory()
    standard(StandardStatus.APPROVED, component=approved.component)
    # A newer approved standard of the component replaces the retired one.
    superseded = ApplicationComponentFactory()
    standard(StandardStatus.RETIRED, component=superseded.component, since=TODAY - 2 * YEAR)
    standard(StandardStatus.APPROVED, component=superseded.component)
    # Retired only in the future; used only in test.
    future = ApplicationComponentFactory()
    standard(StandardStatus.RETIRED, component=future.component, since=TODAY + YEAR)
    test_only = ApplicationComponentFactory(environment=Environment.TEST)
    standard(StandardStatus.PROHIBITED, component=test_only.component)
    # Used by an application that has ended its life.
    retired_app = ApplicationComponentFactory(application=ApplicationFactory(retired=True))
    standard(StandardStatus.PROHIBITED, component=retired_app.component)

    assert found("retired_technology_in_use") == []


def test_exception_on_a_proposed_decision_does_not_count():
    use = ApplicationComponentFactory()
    prohibited = standard(StandardStatus.PROHIBITED, component=use.component)
    StandardException.objects.create(
        application=use.application, standard=prohibited,
        decision=decision(DecisionStatus.PROPOSED), reason="Asked for",
        expires_on=TODAY + YEAR,
    )  # fmt: skip

    assert subjects(found("retired_technology_in_use")) == {use.application_id}


# --- 2. component end of life ----------------------------------------------------------------


def test_component_end_of_life():
    past = ApplicationComponentFactory(component=ITComponentFactory(end_of_life_passed=True))
    soon = ApplicationComponentFactory(
        component=ITComponentFactory(end_of_life=TODAY + relativedelta(months=11))
    )
    later = ApplicationComponentFactory(
        component=ITComponentFactory(end_of_life=TODAY + relativedelta(months=13))
    )
    unused = ITComponentFactory(end_of_life_passed=True)
    staging = ApplicationComponentFactory(
        component=ITComponentFactory(end_of_life_passed=True), environment=Environment.STAGING
    )

    findings = {f.subject_id: f for f in found("component_end_of_life")}

    assert findings[past.component_id].severity == "high"
    assert findings[soon.component_id].severity == "medium"
    assert str(past.application) in findings[past.component_id].message
    assert later.component_id not in findings
    assert unused.pk not in findings
    assert staging.component_id not in findings
    assert {f.subject_kind for f in findings.values()} == {"component"}


def test_end_of_life_warning_threshold_comes_from_settings(settings):
    later = ApplicationComponentFactory(
        component=ITComponentFactory(end_of_life=TODAY + relativedelta(months=13))
    )
    settings.LANDKARTE_GOVERNANCE = {"eol_warning_months": 18}

    assert subjects(found("component_end_of_life"), "component") == {later.component_id}


# --- 3. lifecycle conflict -------------------------------------------------------------------


def test_depending_on_an_application_phased_out_earlier_is_a_conflict():
    provider = ApplicationFactory(active_date=TODAY - 2 * YEAR, phase_out_date=TODAY + YEAR)
    forever = ApplicationFactory()  # no dates: lives forever
    long_lived = ApplicationFactory(
        active_date=TODAY - YEAR, phase_out_date=TODAY + 3 * YEAR,
        end_of_life_date=TODAY + 4 * YEAR,
    )  # fmt: skip
    InterfaceFactory(provider=provider, consumers=[forever, long_lived])

    findings = found("lifecycle_conflict")

    assert subjects(findings) == {forever.pk, long_lived.pk}
    assert all(str(provider) in f.message for f in findings)


def test_lifecycle_near_misses():
    # The consumer ends its life before the provider is phased out.
    provider = ApplicationFactory(active_date=TODAY - 2 * YEAR, phase_out_date=TODAY + 2 * YEAR)
    short_lived = ApplicationFactory(
        active_date=TODAY - YEAR, phase_out_date=TODAY + YEAR // 2,
        end_of_life_date=TODAY + YEAR,
    )  # fmt: skip
    InterfaceFactory(provider=provider, consumers=[short_lived])
    # A provider without dates lives forever.
    InterfaceFactory(provider=ApplicationFactory(), consumers=[ApplicationFactory()])

    assert found("lifecycle_conflict") == []


# --- 4. missing owner ------------------------------------------------------------------------


def test_application_and_interface_without_owner_team():
    team = TeamFactory()
    unowned_app = ApplicationFactory()
    owned_app = ApplicationFactory(owner_team=team)
    unowned_interface = InterfaceFactory(
        provider=owned_app, consumers=[ApplicationFactory(owner_team=team)]
    )
    InterfaceFactory(provider=owned_app, owner_team=team, consumers=[unowned_app])

    findings = found("missing_owner")

    assert subjects(findings) == {unowned_app.pk}
    assert subjects(findings, "interface") == {unowned_interface.pk}
    assert {f.severity for f in findings} == {"low"}
    assert owned_app.pk not in subjects(findings)


# --- 5. capability overlap -------------------------------------------------------------------


def _capability(code, apps):
    capability = Capability.objects.create(name=f"Capability {code}", code=code)
    for app in apps:
        ApplicationCapability.objects.create(application=app, capability=capability)
    return capability


def test_capability_served_by_more_than_three_active_applications():
    three = _capability("C3", ApplicationFactory.create_batch(3))
    four = _capability("C4", ApplicationFactory.create_batch(4))
    # Four, but one is in phase-out and one has ended its life: two active.
    _capability(
        "C4-OUT",
        [
            *ApplicationFactory.create_batch(2),
            ApplicationFactory(active_date=TODAY - 2 * YEAR, phase_out_date=TODAY - YEAR // 12),
            ApplicationFactory(retired=True),
        ],
    )

    findings = found("capability_overlap")

    assert subjects(findings, "capability") == {four.pk}
    assert three.pk not in subjects(findings, "capability")
    assert findings[0].severity == "medium"
    assert "4 active applications" in findings[0].message


def test_capability_limit_from_settings(settings):
    settings.LANDKARTE_GOVERNANCE = {"max_applications_per_capability": 2}
    three = _capability("C3", ApplicationFactory.create_batch(3))

    assert subjects(found("capability_overlap"), "capability") == {three.pk}


# --- 6. critical applications: sovereignty ---------------------------------------------------


@pytest.fixture
def assessors(make_user):
    return make_user("buyer", "procurement"), make_user("approver", "procurement")


def test_critical_application_without_current_assessment(assessors):
    buyer, approver = assessors
    missing = ApplicationFactory(criticality=Criticality.MISSION_CRITICAL)
    assessed = ApplicationFactory(criticality=Criticality.BUSINESS_CRITICAL)
    approved_assessment(assessor=buyer, approver=approver, application=assessed, default=3)
    ApplicationFactory(criticality=Criticality.ADMINISTRATIVE)

    findings = found("critical_without_assessment")

    assert subjects(findings) == {missing.pk}
    assert findings[0].severity == "medium"


def test_critical_application_failing_a_knockout(assessors):
    buyer, approver = assessors
    weak = ApplicationFactory(
        criticality=Criticality.MISSION_CRITICAL, confidentiality=ProtectionNeed.VERY_HIGH
    )
    approved_assessment(assessor=buyer, approver=approver, application=weak, default=0)
    strong = ApplicationFactory(
        criticality=Criticality.MISSION_CRITICAL, confidentiality=ProtectionNeed.VERY_HIGH
    )
    approved_assessment(assessor=buyer, approver=approver, application=strong, default=4)
    # Weak, but not critical: not this rule's business.
    minor = ApplicationFactory(
        criticality=Criticality.ADMINISTRATIVE, confidentiality=ProtectionNeed.VERY_HIGH
    )
    approved_assessment(assessor=buyer, approver=approver, application=minor, default=0)

    findings = found("critical_knockout")

    assert subjects(findings) == {weak.pk}
    assert findings[0].severity == "high"
    assert "very_high" in findings[0].message


# --- 7. confidential personal data on non-EU hosting -----------------------------------------


def test_confidential_personal_data_on_non_eu_cloud():
    flagged = ApplicationFactory(
        hosting=Hosting.NON_EU_CLOUD, personal_data=True, confidentiality=ProtectionNeed.HIGH
    )
    ApplicationFactory(
        hosting=Hosting.NON_EU_CLOUD, personal_data=True, confidentiality=ProtectionNeed.NORMAL
    )
    ApplicationFactory(
        hosting=Hosting.EU_CLOUD, personal_data=True, confidentiality=ProtectionNeed.VERY_HIGH
    )
    ApplicationFactory(hosting=Hosting.NON_EU_CLOUD, confidentiality=ProtectionNeed.VERY_HIGH)

    findings = found("confidential_data_non_eu")

    assert subjects(findings) == {flagged.pk}
    assert findings[0].severity == "high"


def test_interface_carrying_confidential_personal_data_to_non_eu_cloud():
    saas = ApplicationFactory(hosting=Hosting.NON_EU_CLOUD)
    local = ApplicationFactory()
    citizens = DataObjectFactory(
        classification=DataClassification.STRICTLY_CONFIDENTIAL, personal_data=True
    )
    statistics = DataObjectFactory(classification=DataClassification.INTERNAL)
    confidential_not_personal = DataObjectFactory(classification=DataClassification.CONFIDENTIAL)
    to_saas = InterfaceFactory(provider=local, consumers=[saas], data_objects=[citizens])
    InterfaceFactory(provider=local, consumers=[saas], data_objects=[statistics])
    InterfaceFactory(provider=saas, consumers=[local], data_objects=[confidential_not_personal])
    # Confidential personal data, but between applications in the city data centre.
    InterfaceFactory(provider=local, consumers=[ApplicationFactory()], data_objects=[citizens])

    findings = found("confidential_data_non_eu")

    assert subjects(findings, "interface") == {to_saas.pk}
    assert citizens.name in findings[0].message
    assert findings[0].org_unit_id == local.owner_org_unit_id


# --- 8. TIME without phase-out ---------------------------------------------------------------


def test_time_migrate_or_eliminate_without_phase_out():
    migrate = ApplicationFactory(functional_fit=3, technical_fit=1)
    eliminate = ApplicationFactory(functional_fit=1, technical_fit=2)
    ApplicationFactory(
        functional_fit=1, technical_fit=1, active_date=TODAY - YEAR,
        phase_out_date=TODAY + YEAR,
    )  # fmt: skip
    ApplicationFactory(functional_fit=4, technical_fit=4)  # invest
    ApplicationFactory(functional_fit=1, technical_fit=4)  # tolerate
    ApplicationFactory()  # no fits

    findings = found("time_without_phase_out")

    assert subjects(findings) == {migrate.pk, eliminate.pk}
    assert {f.severity for f in findings} == {"low"}


# --- 9. expired exceptions -------------------------------------------------------------------


def test_expired_exception_while_still_in_use():
    use = ApplicationComponentFactory()
    retired = standard(StandardStatus.RETIRED, component=use.component)
    expired = StandardException.objects.create(
        application=use.application, standard=retired, decision=decision(),
        reason="Until the upgrade", expires_on=TODAY - datetime.timedelta(days=1),
    )  # fmt: skip
    # Expired, but the application no longer uses the component.
    gone = ApplicationFactory()
    StandardException.objects.create(
        application=gone, standard=retired, decision=decision(), reason="Until the upgrade",
        expires_on=TODAY - datetime.timedelta(days=1),
    )  # fmt: skip

    findings = found("expired_exception")

    assert subjects(findings, "exception") == {expired.pk}
    assert findings[0].severity == "medium"
    assert findings[0].org_unit_id == use.application.owner_org_unit_id
    # Without a valid exception, the retired technology itself is found too.
    assert subjects(found("retired_technology_in_use")) == {use.application_id}


def test_renewed_or_valid_exception_is_not_flagged():
    use = ApplicationComponentFactory()
    retired = standard(StandardStatus.RETIRED, component=use.component)
    StandardException.objects.create(
        application=use.application, standard=retired, decision=decision(),
        reason="First waiver", expires_on=TODAY - YEAR,
    )  # fmt: skip
    StandardException.objects.create(
        application=use.application, standard=retired, decision=decision(),
        reason="Renewed", expires_on=TODAY + YEAR,
    )  # fmt: skip
    valid_only = ApplicationComponentFactory()
    other = standard(StandardStatus.RETIRED, component=valid_only.component)
    StandardException.objects.create(
        application=valid_only.application, standard=other, decision=decision(),
        reason="Waiver", expires_on=TODAY,  # valid up to and including today
    )  # fmt: skip

    assert found("expired_exception") == []
    assert found("retired_technology_in_use") == []


def test_expired_exception_from_a_category_standard():
    category = TechCategory.objects.create(name="Runtimes", code="RT")
    use = ApplicationComponentFactory()
    category.components.add(use.component)
    retired = standard(StandardStatus.RETIRED, category=category)
    expired = StandardException.objects.create(
        application=use.application, standard=retired, decision=decision(),
        reason="Until the upgrade", expires_on=TODAY - datetime.timedelta(days=1),
    )  # fmt: skip

    assert subjects(found("expired_exception"), "exception") == {expired.pk}


# --- running: filters, registry --------------------------------------------------------------


def test_registry_lists_every_rule_with_severity_and_description():
    assert set(RULES) == {
        "retired_technology_in_use", "component_end_of_life", "lifecycle_conflict",
        "missing_owner", "capability_overlap", "critical_without_assessment",
        "critical_knockout", "confidential_data_non_eu", "time_without_phase_out",
        "expired_exception",
    }  # fmt: skip
    assert all(r.description and r.severity in {"low", "medium", "high"} for r in RULES.values())


def test_filters_by_severity_org_unit_and_date():
    city = OrgUnitFactory(code="CITY")
    office = OrgUnitFactory(code="OFFICE", parent=city)
    elsewhere = OrgUnitFactory(code="ELSEWHERE")
    inside = ApplicationFactory(owner_org_unit=office)
    outside = ApplicationFactory(owner_org_unit=elsewhere)
    component = ITComponentFactory(end_of_life=TODAY + relativedelta(months=6))
    ApplicationComponentFactory(application=outside, component=component)

    everything = run_rules(on=TODAY)
    assert {inside.pk, outside.pk} <= subjects(everything)
    assert subjects(run_rules(on=TODAY, org_unit=city)) == {inside.pk}
    assert subjects(run_rules(on=TODAY, org_unit=elsewhere), "component") == {component.pk}
    assert subjects(run_rules(on=TODAY, org_unit=city), "component") == set()
    assert run_rules(on=TODAY, severity="medium") == [
        f for f in everything if f.rule == "component_end_of_life"
    ]
    # A year later the component is past its end of life.
    later = run_rules(on=TODAY + YEAR, rules=["component_end_of_life"])
    assert [f.severity for f in later] == ["high"]
    with pytest.raises(ValueError):
        run_rules(rules=["no_such_rule"])


# --- the command -----------------------------------------------------------------------------


def test_command_fails_on_a_high_finding():
    ApplicationComponentFactory(component=ITComponentFactory(end_of_life_passed=True))
    out = StringIO()

    with pytest.raises(CommandError) as error:
        call_command("governance_check", stdout=out)

    assert error.value.returncode == 1
    assert "[HIGH] component_end_of_life" in out.getvalue()
    # Only the ownership rule: low findings do not fail the default --fail-on high.
    call_command("governance_check", "--rule", "missing_owner", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command(
            "governance_check", "--rule", "missing_owner", "--fail-on", "low", stdout=StringIO()
        )


def test_command_passes_without_high_findings_and_writes_json():
    team = TeamFactory()
    app = ApplicationFactory(owner_team=team, owner_org_unit=team.org_unit)
    ApplicationComponentFactory(
        application=app, component=ITComponentFactory(end_of_life=TODAY + relativedelta(months=6))
    )
    out = StringIO()

    call_command(
        "governance_check", "--format", "json", "--as-of", TODAY.isoformat(),
        "--org-unit", team.org_unit.code, stdout=out,
    )  # fmt: skip

    findings = json.loads(out.getvalue())
    assert [(f["rule"], f["severity"]) for f in findings] == [("component_end_of_life", "medium")]
    with pytest.raises(CommandError):
        call_command("governance_check", "--org-unit", "NOPE", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("governance_check", "--rule", "nope", stdout=StringIO())


# --- queries ---------------------------------------------------------------------------------


CRITICALITIES = [Criticality.MISSION_CRITICAL, Criticality.ADMINISTRATIVE]


def _landscape(size: int, assessors):
    """`size` applications touching every rule, among them critical applications (every
    other one; every fourth assessed, failing a knock-out) and users of a prohibited
    component (every third one), so that every rule has more to find in a larger landscape."""
    buyer, approver = assessors
    org = OrgUnitFactory()
    capability = Capability.objects.create(name=f"Capability {size}", code=f"CAP-{size}")
    eol = ITComponentFactory(end_of_life_passed=True)
    prohibited = ITComponentFactory()
    standard(StandardStatus.PROHIBITED, component=prohibited)
    secret = DataObjectFactory(classification=DataClassification.CONFIDENTIAL, personal_data=True)
    apps = []
    for index in range(size):
        app = ApplicationFactory(
            owner_org_unit=org,
            hosting=Hosting.NON_EU_CLOUD if index % 2 else Hosting.CITY_DATA_CENTRE,
            personal_data=True, confidentiality=ProtectionNeed.HIGH,
            functional_fit=3, technical_fit=1,
            active_date=TODAY - 2 * YEAR,
            phase_out_date=TODAY + YEAR if index % 3 == 0 else None,
            criticality=CRITICALITIES[index % 2],
        )  # fmt: skip
        ApplicationComponentFactory(application=app, component=eol)
        ApplicationComponentFactory(application=app, component=ITComponentFactory())
        if index % 3 == 0:
            ApplicationComponentFactory(application=app, component=prohibited)
        if index % 4 == 0:
            approved_assessment(assessor=buyer, approver=approver, application=app, default=0)
        ApplicationCapability.objects.create(application=app, capability=capability)
        if apps:
            InterfaceFactory(provider=apps[-1], consumers=[app], data_objects=[secret])
        apps.append(app)
    return org


def _queries(size: int, assessors) -> tuple[int, list]:
    org = _landscape(size, assessors)
    with CaptureQueriesContext(connection) as context:
        findings = run_rules(on=TODAY, org_unit=org)
    assert {f.rule for f in findings} >= {
        "component_end_of_life", "lifecycle_conflict", "missing_owner", "capability_overlap",
        "confidential_data_non_eu", "time_without_phase_out", "retired_technology_in_use",
        "critical_without_assessment", "critical_knockout",
    }  # fmt: skip
    return len(context.captured_queries), findings


def test_query_count_does_not_grow_with_the_landscape(assessors):
    small, few = _queries(5, assessors)
    # The second landscape comes on top of the first (25 applications in all).
    large, many = _queries(20, assessors)

    for rule in ("retired_technology_in_use", "critical_without_assessment", "critical_knockout"):
        assert len([f for f in many if f.rule == rule]) > len([f for f in few if f.rule == rule])
    assert large == small, (small, large)
    assert small < 60

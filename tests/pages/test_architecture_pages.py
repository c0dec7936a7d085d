"""The architecture pages: access by role, filters, sorting, export links, the impact form's
errors, the dependency picture by depth, and query counts that do not grow with the
landscape."""

import datetime

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from architecture.choices import StandardStatus
from architecture.governance import application_findings, run_rules
from architecture.models import ApplicationCapability, Capability, TechCategory, TechnologyStandard
from cmdb.choices import Criticality, Environment, Hosting
from cmdb.factories import (
    ApplicationComponentFactory,
    ApplicationFactory,
    InterfaceFactory,
    ITComponentFactory,
    OrgUnitFactory,
    ServiceFactory,
    VendorFactory,
)
from cmdb.models import Interface
from sourcing.services.catalogues import default_catalogue

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def catalogue(db):
    # Loaded once before counting queries (the first call loads the shipped file).
    return default_catalogue()


@pytest.fixture
def architect_client(client, architect):
    client.force_login(architect)
    return client


def build_landscape(size: int, prefix: str = "L"):
    """A focus application supplied by a vendor, with `size` providers it consumes, `size`
    consumers (and a second level behind them), services realised by the consumers and used
    by offices, components with end-of-life dates, and `size` unrelated applications."""
    vendor = VendorFactory(name=f"{prefix} Vendor AG")
    unit = OrgUnitFactory(name=f"{prefix} Office")
    focus = ApplicationFactory(
        name=f"{prefix} Focus", vendor=vendor, owner_org_unit=unit, functional_fit=3,
        technical_fit=1, active_date=D(2020, 1, 1),
    )  # fmt: skip
    for index in range(size):
        provider = ApplicationFactory(name=f"{prefix} Provider {index}", owner_org_unit=unit)
        InterfaceFactory(name=f"{prefix} API {index}", provider=provider, consumers=[focus])
        consumer = ApplicationFactory(name=f"{prefix} Consumer {index}", owner_org_unit=unit)
        InterfaceFactory(name=f"{prefix} Feed {index}", provider=focus, consumers=[consumer])
        second = ApplicationFactory(name=f"{prefix} Second {index}", owner_org_unit=unit)
        InterfaceFactory(name=f"{prefix} Relay {index}", provider=consumer, consumers=[second])
        office = OrgUnitFactory(name=f"{prefix} Bürgeramt {index}")
        ServiceFactory(
            name=f"{prefix} Service {index}", applications=[consumer], consumer_org_units=[office]
        )
        component = ITComponentFactory(
            name=f"{prefix} Component {index}", end_of_life=D(2021, 1, 1) if index % 2 else None
        )
        ApplicationComponentFactory(
            application=focus, component=component, environment=Environment.PRODUCTION
        )
        ApplicationFactory(name=f"{prefix} Unrelated {index}", owner_org_unit=unit)
    return focus, vendor


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:2000]
    return len(queries), response


# --- access ----------------------------------------------------------------------------------

PAGES = ["applications", "impact", "findings", "radar", "capabilities"]


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_is_sent_to_sign_in(client, name):
    response = client.get(reverse(f"architecture:{name}"))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("name", PAGES)
def test_requester_is_refused(client, requester, name):
    client.force_login(requester)
    assert client.get(reverse(f"architecture:{name}")).status_code == 403


@pytest.mark.parametrize("role", ["auditor", "service_desk", "procurement"])
def test_reading_roles_open_the_pages(client, make_user, role, catalogue):
    client.force_login(make_user(f"u-{role}", role))
    app, _vendor = build_landscape(1)
    for name in PAGES:
        assert client.get(reverse(f"architecture:{name}")).status_code == 200
    assert client.get(reverse("architecture:application-detail", args=[app.pk])).status_code == 200


# --- applications ----------------------------------------------------------------------------


def test_application_list_filters_sorts_and_exports(architect_client):
    unit = OrgUnitFactory(name="Ordnungsamt")
    ApplicationFactory(name="Bravo", criticality=Criticality.MISSION_CRITICAL, owner_org_unit=unit)
    ApplicationFactory(name="Alpha", criticality=Criticality.MISSION_CRITICAL)
    ApplicationFactory(name="Charlie", criticality=Criticality.ADMINISTRATIVE)
    url = reverse("architecture:applications")
    response = architect_client.get(url, {"criticality": "mission_critical", "sort": "-name"})
    names = [app.name for app in response.context["rows"]]
    assert names == ["Bravo", "Alpha"]
    content = response.content.decode()
    assert "/exports/applications.csv?criticality=mission_critical" in content
    assert "/exports/applications.xlsx?criticality=mission_critical" in content
    response = architect_client.get(url, {"org_unit": unit.pk})
    assert [app.name for app in response.context["rows"]] == ["Bravo"]
    # The export link carries the same filter and gives the same rows.
    export = architect_client.get(
        reverse("importers:export", args=["applications", "csv"]), {"org_unit": unit.pk}
    )
    body = b"".join(export.streaming_content) if export.streaming else export.content
    assert "Bravo" in body.decode("utf-8-sig") and "Alpha" not in body.decode("utf-8-sig")


def test_application_list_as_of_keeps_only_what_runs_then(architect_client):
    ApplicationFactory(name="Old one", retired=True)
    ApplicationFactory(name="Planned", plan_date=D(2030, 1, 1), phase_in_date=D(2031, 1, 1))
    ApplicationFactory(name="Running", active=True)
    url = reverse("architecture:applications")
    future = architect_client.get(url, {"as_of": "2032-06-01"})
    assert {app.name for app in future.context["rows"]} == {"Planned", "Running"}
    assert "as planned for 2032-06-01" in future.content.decode()
    past = architect_client.get(url, {"as_of": "2000-01-01"})
    # Nothing had been recorded in 2000: history is empty then.
    assert list(past.context["rows"]) == []
    assert "as recorded on 2000-01-01" in past.content.decode()


def test_application_list_queries_do_not_grow(architect_client):
    build_landscape(1, "S")
    url = reverse("architecture:applications")
    small, _ = count_queries(architect_client, url)
    build_landscape(8, "B")
    large, response = count_queries(architect_client, url)
    assert len(response.context["rows"]) > 20
    assert small == large


# --- application page ------------------------------------------------------------------------


def test_application_page_shows_facts_components_interfaces_findings_grade(
    architect_client, catalogue
):
    focus, vendor = build_landscape(2)
    response = architect_client.get(reverse("architecture:application-detail", args=[focus.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "L Vendor AG" in content and "L Office" in content
    assert "L Component 1" in content and "end of life passed" in content
    assert "L API 0" in content and "L Feed 1" in content
    assert 'role="img"' in content and "Dependency picture of L Focus" in content
    # Depth 1 by default: the second level behind the consumers is not there yet.
    assert "L Second 0" not in content
    # Findings come from the rules about this application (TIME migrate without phase-out).
    assert "time_without_phase_out" in content
    assert "component_end_of_life" in content
    assert "Grade" in content and response.context["sovereignty"]["result"].grade
    assert "2020-01-01" in content  # lifecycle timeline


def test_application_page_widens_by_depth_and_htmx_fragment(architect_client, catalogue):
    focus, _vendor = build_landscape(2)
    url = reverse("architecture:application-detail", args=[focus.pk])
    response = architect_client.get(url, {"depth": 2})
    assert "L Second 0" in response.content.decode()
    assert {r["application"].name for r in response.context["neighbourhood"]["dependents"]} == {
        "L Consumer 0", "L Consumer 1", "L Second 0", "L Second 1",
    }  # fmt: skip
    fragment = architect_client.get(
        url, {"depth": 2, "fragment": "neighbourhood"}, headers={"HX-Request": "true"}
    )
    text = fragment.content.decode()
    assert "<h1" not in text and "L Second 1" in text


def test_application_findings_agree_with_the_full_run(catalogue):
    focus, _vendor = build_landscape(3)
    ApplicationFactory(name="Orphan", functional_fit=4, technical_fit=1)
    mine = {(f.rule, f.subject_kind, f.subject_id) for f in application_findings(focus)}
    interfaces = set(
        Interface.objects.filter(Q(provider=focus) | Q(links__consumer=focus)).values_list(
            "pk", flat=True
        )
    )
    components = set(focus.component_uses.values_list("component_id", flat=True))
    about_focus = {
        (f.rule, f.subject_kind, f.subject_id)
        for f in run_rules()
        if (f.subject_kind == "application" and f.subject_id == focus.pk)
        or (f.subject_kind == "component" and f.subject_id in components)
        or (f.subject_kind == "interface" and f.subject_id in interfaces)
    }  # fmt: skip
    assert mine == about_focus
    assert mine


def test_application_page_queries_do_not_grow(architect_client, catalogue):
    small_app, _ = build_landscape(1, "S")
    large_app, _ = build_landscape(8, "B")
    small, _ = count_queries(
        architect_client, reverse("architecture:application-detail", args=[small_app.pk])
    )
    large, response = count_queries(
        architect_client, reverse("architecture:application-detail", args=[large_app.pk])
    )
    assert len(response.context["neighbourhood"]["dependents"]) == 8
    assert small == large


def test_unknown_application_is_404(architect_client):
    assert architect_client.get("/applications/999999/").status_code == 404


# --- impact analysis -------------------------------------------------------------------------


def test_impact_by_vendor_lists_applications_services_and_offices(architect_client):
    focus, vendor = build_landscape(2)
    response = architect_client.get(reverse("architecture:impact"), {"vendor": vendor.pk})
    assert response.status_code == 200
    content = response.content.decode()
    names = {row["application"].name for row in response.context["rows"]}
    assert names == {"L Focus", "L Consumer 0", "L Consumer 1", "L Second 0", "L Second 1"}
    assert "L Service 0" in content and "L Bürgeramt 1" in content
    assert 'role="img"' in content and "Impact of L Vendor AG" in content


def test_impact_depth_limits_the_walk(architect_client):
    _focus, vendor = build_landscape(2)
    response = architect_client.get(
        reverse("architecture:impact"), {"vendor": vendor.pk, "depth": 1}
    )
    assert {row["depth"] for row in response.context["rows"]} == {0, 1}


def test_impact_form_refuses_two_subjects_and_keeps_input(architect_client):
    focus, vendor = build_landscape(1)
    response = architect_client.get(
        reverse("architecture:impact"), {"vendor": vendor.pk, "application": focus.pk, "run": 1}
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert '<div role="alert"><ul class="errorlist nonfield">' in content
    assert "Choose exactly one" in content
    assert f'<option value="{vendor.pk}" selected>' in content


def test_impact_form_shows_field_errors(architect_client):
    response = architect_client.get(
        reverse("architecture:impact"), {"application": "999999", "depth": "-3", "run": 1}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "application" in form.errors and "depth" in form.errors


def test_impact_page_queries_do_not_grow(architect_client):
    _small_app, small_vendor = build_landscape(1, "S")
    _large_app, large_vendor = build_landscape(8, "B")
    url = reverse("architecture:impact")
    small, _ = count_queries(architect_client, f"{url}?vendor={small_vendor.pk}")
    large, response = count_queries(architect_client, f"{url}?vendor={large_vendor.pk}")
    assert len(response.context["rows"]) == 17
    assert small == large


# --- governance findings ---------------------------------------------------------------------


def test_findings_filters_counts_and_sorting(architect_client, catalogue):
    unit = OrgUnitFactory(name="Kämmerei")
    ApplicationFactory(name="Zeta", functional_fit=4, technical_fit=1, owner_org_unit=unit)
    ApplicationFactory(
        name="Cloudy", hosting=Hosting.NON_EU_CLOUD, personal_data=True,
        confidentiality="high",
    )  # fmt: skip
    url = reverse("architecture:findings")
    response = architect_client.get(url)
    counts = {c["severity"]: c["count"] for c in response.context["severity_counts"]}
    assert counts["high"] >= 1 and counts["low"] >= 1
    high = architect_client.get(url, {"severity": "high"})
    assert {row["finding"].severity for row in high.context["rows"]} == {"high"}
    at_least_low = {
        r["finding"].severity
        for r in architect_client.get(url, {"severity": "low"}).context["rows"]
    }
    assert {"low", "high"} <= at_least_low
    only_low = architect_client.get(url, {"severity": "low", "only_this_severity": "on"})
    assert {row["finding"].severity for row in only_low.context["rows"]} == {"low"}
    by_rule = architect_client.get(url, {"rule": "time_without_phase_out"})
    assert [row["finding"].subject_name for row in by_rule.context["rows"]] == ["Zeta"]
    by_unit = architect_client.get(url, {"org_unit": unit.pk})
    assert {row["finding"].subject_name for row in by_unit.context["rows"]} == {"Zeta"}
    sorted_rows = architect_client.get(url, {"sort": "-subject"}).context["rows"]
    subjects = [row["finding"].subject_name.lower() for row in sorted_rows]
    assert subjects == sorted(subjects, reverse=True)
    fragment = architect_client.get(url, {"severity": "high"}, headers={"HX-Request": "true"})
    assert "<h1" not in fragment.content.decode() and "Cloudy" in fragment.content.decode()


def test_findings_for_one_application(architect_client, catalogue):
    focus, _vendor = build_landscape(2)
    response = architect_client.get(reverse("architecture:findings"), {"application": focus.pk})
    subjects = {row["finding"].subject_name for row in response.context["rows"]}
    assert "L Focus" in subjects
    assert not any(name.startswith("L Unrelated") for name in subjects)


def test_findings_queries_do_not_grow(architect_client, catalogue):
    build_landscape(1, "S")
    url = reverse("architecture:findings")
    small, first = count_queries(architect_client, url)
    build_landscape(8, "B")
    large, response = count_queries(architect_client, url)
    assert len(response.context["rows"]) > len(first.context["rows"])
    assert small == large


# --- radar and capability map ----------------------------------------------------------------


def test_radar_shows_standards_on_a_date(architect_client):
    root = TechCategory.objects.create(name="Databases", code="DB")
    component = ITComponentFactory(name="OldDB", version="5")
    root.components.add(component)
    TechnologyStandard.objects.create(
        component=component, status=StandardStatus.APPROVED, valid_from=D(2015, 1, 1),
        valid_until=D(2022, 1, 1),
    )  # fmt: skip
    TechnologyStandard.objects.create(
        component=component, status=StandardStatus.RETIRED, valid_from=D(2022, 1, 1)
    )
    url = reverse("architecture:radar")
    now = architect_client.get(url)
    assert [r["status_label"] for r in now.context["rows"]] == ["retired"]
    assert 'role="img"' in now.content.decode() and "Databases" in now.content.decode()
    then = architect_client.get(url, {"as_of": "2018-01-01"})
    assert [r["status_label"] for r in then.context["rows"]] == ["approved"]


def test_capability_map_colours_by_time_and_grade(architect_client, catalogue):
    root = Capability.objects.create(name="Citizen services", code="C1")
    child = Capability.objects.create(name="Registration", code="C1.1", parent=root)
    app = ApplicationFactory(name="Melde", functional_fit=1, technical_fit=1)
    ApplicationCapability.objects.create(application=app, capability=child)
    url = reverse("architecture:capabilities")
    response = architect_client.get(url)
    content = response.content.decode()
    assert "Citizen services" in content and "mostly eliminate" in content
    assert 'class="capability cap-danger level-2"' in content
    graded = architect_client.get(url, {"colour": "grade"})
    assert "worst grade" in graded.content.decode()
    # Without lifecycle dates an application runs on every date, 1990 included.
    before = architect_client.get(url, {"as_of": "1990-01-01"}).content.decode()
    assert "Melde" in before and "mostly eliminate" in before
    retired = ApplicationFactory(name="Gone", retired=True)
    ApplicationCapability.objects.create(application=retired, capability=root)
    assert "Gone" not in architect_client.get(url).content.decode()
    assert "Gone" in architect_client.get(url, {"as_of": "2012-01-01"}).content.decode()


def test_component_page(architect_client):
    focus, _vendor = build_landscape(2)
    component = focus.component_uses.select_related("component").first().component
    response = architect_client.get(reverse("architecture:component-detail", args=[component.pk]))
    assert response.status_code == 200
    assert "L Focus" in response.content.decode()


def test_capability_map_tie_goes_to_the_worse_time_class(architect_client):
    capability = Capability.objects.create(name="Permits", code="P1")
    for name, functional in (("Good", 4), ("Poor", 1)):  # invest and tolerate, one each
        app = ApplicationFactory(name=name, functional_fit=functional, technical_fit=4)
        ApplicationCapability.objects.create(application=app, capability=capability)
    content = architect_client.get(reverse("architecture:capabilities")).content.decode()
    assert "mostly tolerate" in content and "invest: 1" in content
    assert 'class="capability cap-neutral level-1"' in content


def test_component_end_of_life_states(architect_client, settings):
    settings.LANDKARTE_GOVERNANCE = {"eol_warning_months": 6}
    today = timezone.localdate()
    for end_of_life, text in (
        (today + datetime.timedelta(days=90), "end of life within 6 months"),
        (today + datetime.timedelta(days=400), "supported"),
        (today, "end of life passed"),
        (None, "no date known"),
    ):
        component = ITComponentFactory(end_of_life=end_of_life)
        url = reverse("architecture:component-detail", args=[component.pk])
        assert architect_client.get(url).context["eol_text"] == text

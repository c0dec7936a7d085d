"""An architect's main path through the architecture pages, in a real browser."""

import datetime
import re

from playwright.sync_api import expect

from architecture.choices import StandardStatus
from architecture.models import ApplicationCapability, Capability, TechCategory, TechnologyStandard
from cmdb.factories import (
    ApplicationFactory,
    InterfaceFactory,
    ITComponentFactory,
    OrgUnitFactory,
    ServiceFactory,
    VendorFactory,
)
from tests.e2e.conftest import assert_accessible, screenshot, sign_in


def build_city():
    vendor = VendorFactory(name="Kommunal Soft AG")
    unit = OrgUnitFactory(name="Ordnungsamt")
    focus = ApplicationFactory(
        name="Gewerbe", vendor=vendor, owner_org_unit=unit, functional_fit=3, technical_fit=1
    )
    portal = ApplicationFactory(name="Bürgerportal", owner_org_unit=unit)
    archive = ApplicationFactory(name="Archiv", owner_org_unit=unit)
    InterfaceFactory(name="Gewerbe API", provider=focus, consumers=[portal])
    InterfaceFactory(name="Portal Export", provider=portal, consumers=[archive])
    office = OrgUnitFactory(name="Bürgeramt Mitte")
    ServiceFactory(
        name="Gewerbeanmeldung online", applications=[portal], consumer_org_units=[office]
    )
    root = Capability.objects.create(name="Citizen services", code="C1")
    ApplicationCapability.objects.create(application=focus, capability=root)
    category = TechCategory.objects.create(name="Databases", code="DB")
    component = ITComponentFactory(name="PostgreSQL", version="16")
    category.components.add(component)
    TechnologyStandard.objects.create(
        component=component, status=StandardStatus.APPROVED, valid_from=datetime.date(2020, 1, 1)
    )
    return focus, vendor


def test_architect_runs_an_impact_analysis_and_widens_a_picture(make_user, new_page):
    make_user("architect", "architect")
    build_city()
    page = new_page("en")
    sign_in(page, "architect")

    # Impact analysis: pick the vendor and run.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Impact analysis").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Impact analysis")
    page.get_by_label("Vendor").select_option(label="Kommunal Soft AG")
    page.get_by_role("button", name="Run the analysis").click()
    expect(page.get_by_role("heading", name="Impact of Kommunal Soft AG")).to_be_visible()
    apps = page.get_by_test_id("affected-applications")
    for name in ("Gewerbe", "Bürgerportal", "Archiv"):
        expect(apps.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_test_id("affected-services")).to_contain_text("Gewerbeanmeldung online")
    expect(page.get_by_test_id("affected-org-units")).to_contain_text("Bürgeramt Mitte")
    picture = page.get_by_role("img", name="Impact of Kommunal Soft AG")
    expect(picture).to_be_visible()
    expect(picture).to_contain_text("Bürgeramt Mitte")
    assert_accessible(page)
    screenshot(page, "architecture-impact")

    # The application page: widen the dependency picture to depth 2.
    apps.get_by_role("link", name="Gewerbe", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gewerbe")
    dependents = page.get_by_test_id("dependents")
    expect(dependents).to_contain_text("Bürgerportal")
    expect(dependents).not_to_contain_text("Archiv")
    assert_accessible(page)
    screenshot(page, "architecture-application")
    page.get_by_label("Depth", exact=True).select_option("2")
    page.get_by_role("button", name="Widen or narrow").click()
    expect(page.get_by_test_id("dependents")).to_contain_text("Archiv")
    expect(
        page.get_by_role("img", name="Dependency picture of Gewerbe up to depth 2")
    ).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gewerbe")  # still the same page

    # Governance findings: filter by rule and severity.
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Governance findings"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Governance findings")
    table = page.locator("#findings-table table")
    expect(table).to_contain_text("Gewerbe")
    page.get_by_label("Rule").select_option("time_without_phase_out")
    expect(page).to_have_url(re.compile(r"rule=time_without_phase_out"))
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Gewerbe")
    page.get_by_label("Severity at least").select_option("high")
    expect(table).to_contain_text("No findings match these filters.")
    assert_accessible(page)
    screenshot(page, "architecture-findings")


def test_landscape_pages_are_accessible(make_user, new_page):
    make_user("architect", "architect")
    focus, _vendor = build_city()
    for language in ("en", "de"):
        page = new_page(language)
        sign_in(page, "architect")
        for name, url in (
            ("applications", "/applications/?as_of=2030-01-01"),
            ("radar", "/radar/"),
            ("capabilities", "/capabilities/"),
            ("capabilities-grade", "/capabilities/?colour=grade"),
            ("impact", f"/impact/?application={focus.pk}"),
            ("application", f"/applications/{focus.pk}/"),
            ("findings", "/governance/findings/"),
        ):
            page.goto(url)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            if language == "en":
                assert_accessible(page)
            screenshot(page, f"architecture-{name}", language)
        if language == "en":
            page.goto("/capabilities/")
            expect(page.locator("#capability-1, .capability").first).to_contain_text("Gewerbe")
            page.goto("/radar/")
            expect(page.get_by_test_id("radar-table")).to_contain_text("PostgreSQL 16")
            expect(page.get_by_role("img", name="Tech radar")).to_be_visible()

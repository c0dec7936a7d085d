"""Procurement users in the browser: assess a vendor criterion by criterion (draft, reload,
submit), a second procurement user approves, the scorecard shows the grade; the form's error
path; the procurement case's award gate; the landscape risk loading through htmx."""

import re

import pytest
from playwright.sync_api import expect

from cmdb.factories import ApplicationFactory, OrgUnitFactory, VendorFactory
from sourcing.models import Assessment
from sourcing.services.catalogues import load_catalogue
from sourcing.services.procurement import add_candidate, open_case, publish_case, start_evaluation
from tests.e2e.conftest import assert_accessible, screenshot, sign_in
from tests.sourcing import approved_assessment

pytestmark = pytest.mark.django_db(transaction=True)

# The criteria that apply to a vendor in sovcat-de-muni 0.1.0, in catalogue order.
VENDOR_CRITERIA = [
    "JUR-01", "JUR-02", "JUR-03", "JUR-04", "JUR-05", "JUR-06", "JUR-07", "TEC-04", "EXT-06",
]  # fmt: skip


@pytest.fixture
def buyers(make_user):
    load_catalogue()
    return make_user("buyer", "procurement"), make_user("approver", "procurement")


def choose(page, code: str, level: int) -> None:
    page.locator(f"#criterion-{code}").get_by_label(re.compile(rf"^{level} – ")).check()


def level_radio(page, code: str, level: int):
    return page.locator(f"#criterion-{code}").get_by_label(re.compile(rf"^{level} – "))


def test_procurement_assesses_a_vendor_and_a_second_user_approves(buyers, new_page):
    group = VendorFactory(name="Cloud Holding Corp", country="US")
    vendor = VendorFactory(name="Cloud Deutschland GmbH", country="DE", parent=group)
    ApplicationFactory(name="E-Akte", vendor=vendor)
    page = new_page("en")
    sign_in(page, "buyer")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Vendors").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vendors")
    assert_accessible(page)
    screenshot(page, "sourcing-vendors", "en")

    page.get_by_role("link", name="Cloud Deutschland GmbH").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cloud Deutschland GmbH")
    expect(page.get_by_role("link", name="Cloud Holding Corp").first).to_be_visible()
    expect(page.locator("#dependent-count")).to_contain_text("1 application depends")
    assert_accessible(page)
    screenshot(page, "sourcing-vendor", "en")

    page.get_by_role("button", name="Start an assessment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Assess Cloud Deutschland GmbH")
    expect(page.get_by_text("0 of 9 applicable criteria answered")).to_be_visible()

    # The first criteria, one after another, then save as draft midway.
    choose(page, "JUR-01", 3)
    page.get_by_label("Evidence for JUR-01").fill("Handelsregisterauszug HRB 4711")
    choose(page, "JUR-02", 4)
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("status")).to_contain_text("Draft saved.")
    page.reload()
    expect(level_radio(page, "JUR-01", 3)).to_be_checked()
    expect(level_radio(page, "JUR-02", 4)).to_be_checked()
    expect(page.get_by_label("Evidence for JUR-01")).to_have_value("Handelsregisterauszug HRB 4711")
    expect(page.get_by_text("2 of 9 applicable criteria answered")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "sourcing-assessment-form", "en")

    for code in VENDOR_CRITERIA[2:]:
        choose(page, code, 3)
    choose(page, "JUR-02", 3)
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_role("status")).to_contain_text("Assessment submitted for approval.")
    expect(page.locator("#assessment-state")).to_have_text("submitted")
    expect(page.get_by_text("Waiting for approval by a second procurement user")).to_be_visible()
    expect(page.locator("#approve-form")).to_have_count(0)
    scorecard = page.url

    second = new_page("en")
    sign_in(second, "approver")
    second.goto(scorecard)
    second.get_by_role("button", name="Approve").click()
    expect(second.get_by_role("status")).to_contain_text("Assessment approved.")
    expect(second.locator("#assessment-state")).to_have_text("approved")
    # Every applicable criterion at level 3: score 75, grade B.
    expect(second.locator("#grade-value")).to_have_text("B")
    expect(second.locator("#scorecard-kpis")).to_contain_text("75.0")
    expect(second.locator("#knockout-table")).to_contain_text("none failed")
    assert_accessible(second)
    screenshot(second, "sourcing-scorecard", "en")

    assessment = Assessment.objects.get()
    assert (assessment.state, assessment.approved_by.username) == ("approved", "approver")


def test_submitting_without_a_knockout_answer_shows_the_error_next_to_it(buyers, new_page):
    VendorFactory(name="Kommunal Software eG", country="DE")
    page = new_page("en")
    sign_in(page, "buyer")
    page.goto("/assessments/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sovereignty assessments")
    page.get_by_role("link", name="Start a new assessment").click()
    page.get_by_label(re.compile(r"^Vendor")).select_option(label="Kommunal Software eG")
    page.get_by_role("button", name="Start the assessment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Assess Kommunal Software eG")

    choose(page, "JUR-01", 2)
    page.get_by_label("Evidence for JUR-01").fill("Gesellschaftsvertrag")
    page.get_by_role("button", name="Submit for approval").click()

    alert = page.locator("#criterion-JUR-07 .errorlist")
    expect(alert).to_have_text("Answer this knock-out criterion before submitting.")
    expect(page.locator(".errorlist.nonfield")).to_contain_text("JUR-03, JUR-04, JUR-07")
    expect(level_radio(page, "JUR-01", 2)).to_be_checked()
    expect(page.get_by_label("Evidence for JUR-01")).to_have_value("Gesellschaftsvertrag")
    assert_accessible(page)
    screenshot(page, "sourcing-assessment-form-errors", "en")
    assert Assessment.objects.get().state == "draft"


@pytest.fixture
def case(buyers):
    buyer, approver = buyers
    strong = VendorFactory(name="Souverän Cloud GmbH", country="DE")
    weak = VendorFactory(name="Overseas Cloud Inc", country="US")
    for vendor, low in ((strong, 3), (weak, 0)):
        approved_assessment(
            assessor=buyer, approver=approver, vendor=vendor, default=3,
            levels={"JUR-03": low, "JUR-04": low},
        )  # fmt: skip
    unit = OrgUnitFactory(name="Hauptamt", parent=OrgUnitFactory(name="Stadt"))
    ApplicationFactory(name="E-Akte", vendor=weak, owner_org_unit=unit, confidentiality="high")
    case = open_case(user=buyer, title="E-Akte", org_unit=unit, protection_class="high")
    add_candidate(case, user=buyer, vendor=weak)
    add_candidate(case, user=buyer, vendor=strong)
    return start_evaluation(publish_case(case, user=buyer), user=buyer)


def test_award_gate_and_landscape_risk(case, new_page):
    page = new_page("en")
    sign_in(page, "buyer")
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Procurement cases"
    ).click()
    assert_accessible(page)
    screenshot(page, "sourcing-cases", "en")
    page.get_by_role("link", name=case.reference).click()
    rows = page.locator("#ranking-table tbody tr")
    expect(rows.nth(0)).to_contain_text("Souverän Cloud GmbH")
    expect(rows.nth(1)).to_contain_text("knocked out")
    expect(rows.nth(1)).to_contain_text("JUR-03 (level 0, minimum 2)")

    page.get_by_label("Candidate:").select_option(label="Overseas Cloud Inc")
    page.get_by_label("Justification:").fill("lowest price")
    page.get_by_role("button", name="Award the contract").click()
    expect(page.locator("#award-form .errorlist").first).to_contain_text("JUR-04")
    expect(page.get_by_label("Justification:")).to_have_value("lowest price")
    assert_accessible(page)
    screenshot(page, "sourcing-case", "en")

    page.get_by_label("Candidate:").select_option(label="Souverän Cloud GmbH")
    page.get_by_role("button", name="Award the contract").click()
    expect(page.locator("#case-state")).to_have_text("awarded")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Landscape risk").click()
    expect(page.locator("#kpi-hhi-vendor")).to_have_text("10000")
    expect(page.locator("#vendor-shares")).to_contain_text("Overseas Cloud Inc")
    assert_accessible(page)
    screenshot(page, "sourcing-risk", "en")


def test_sourcing_pages_in_german(case, new_page):
    page = new_page("de")
    sign_in(page, "buyer")
    assessment = Assessment.objects.filter(vendor__name="Souverän Cloud GmbH").get()
    vendor = assessment.vendor
    pages = [
        ("sourcing-vendors", "/vendors/"),
        ("sourcing-vendor", f"/vendors/{vendor.pk}/"),
        ("sourcing-assessments", "/assessments/"),
        ("sourcing-scorecard", f"/assessments/{assessment.pk}/"),
        ("sourcing-cases", "/procurement/"),
        ("sourcing-case", f"/procurement/{case.pk}/"),
    ]
    for name, url in pages:
        page.goto(url)
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        screenshot(page, name, "de")
    page.goto("/sovereignty/risk/")
    expect(page.locator("#kpi-hhi-vendor")).to_be_visible()
    screenshot(page, "sourcing-risk", "de")
    page.goto(f"/vendors/{vendor.pk}/")
    page.locator("form.inline-action button").click()
    expect(page.locator("form.assessment-form")).to_be_visible()
    screenshot(page, "sourcing-assessment-form", "de")

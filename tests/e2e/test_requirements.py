"""Main path of the requirements backlog: an office submits a requirement (a refusal first),
follows it in its list and on its page; the architecture board sees it in the WSJF backlog and
starts the review."""

import re

from playwright.sync_api import expect

from cmdb.factories import OrgUnitFactory, TeamFactory
from itsm.models import Requirement
from itsm.services import requirements as svc
from tests.e2e.conftest import assert_accessible, screenshot, sign_in


def test_requester_submits_and_reviewer_sees_it_in_the_backlog(make_user, new_page):
    city = OrgUnitFactory(code="LHS", name="Landeshauptstadt", kind="administration")
    office = OrgUnitFactory(code="A33", name="Bürgeramt", parent=city)
    requester = make_user("buergeramt", "requester")
    TeamFactory(name="Fachbetreuung Bürgeramt", org_unit=office, members=[requester])
    architect = make_user("architektin", "architect")
    # Something already in the backlog, ranked above ours.
    svc.submit_requirement(
        user=architect, title="Replace the e-mail archive", kind="infrastructure",
        requesting_org_unit=office, business_value=13, time_criticality=13, risk_reduction=13,
        job_size=2,
    )  # fmt: skip

    page = new_page("en")
    sign_in(page, "buergeramt")
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Submit a requirement"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Submit a requirement")
    assert_accessible(page)
    page.get_by_label("Title", exact=True).fill("Online appointment booking for ID cards")
    page.get_by_label("Kind").select_option("legal_obligation")
    expect(page.get_by_label("Requesting org unit")).to_have_value(str(office.pk))
    page.get_by_label("Description").fill("The OZG requires online booking.")
    page.get_by_label("Business value").select_option("8")
    page.get_by_label("Time criticality").select_option("13")
    page.get_by_label("Risk reduction / opportunity enablement").select_option("3")
    page.get_by_label("Job size").select_option("5")
    page.get_by_role("button", name="Submit requirement").click()
    # Refused: a legal obligation needs its legal basis; the error is next to that field.
    legal_basis = page.get_by_label("Legal basis")
    expect(legal_basis).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_legal_basis_error")).to_contain_text("Name the law or regulation")
    expect(page.get_by_label("Title", exact=True)).to_have_value(
        "Online appointment booking for ID cards"
    )
    expect(page.get_by_label("Job size")).to_have_value("5")
    assert Requirement.objects.count() == 1
    screenshot(page, "requirements-new-error", "en")
    legal_basis.fill("Onlinezugangsgesetz (OZG) § 1")
    page.get_by_role("button", name="Submit requirement").click()

    requirement = Requirement.objects.get(title="Online appointment booking for ID cards")
    expect(page).to_have_url(re.compile(f"/requirements/{requirement.number}/$"))
    expect(page.get_by_role("status")).to_contain_text(
        f"Requirement {requirement.number} submitted"
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("Online appointment booking")
    expect(page.get_by_test_id("wsjf")).to_contain_text("4.8")  # (8 + 13 + 3) / 5
    assert_accessible(page)
    screenshot(page, "requirements-detail", "en")

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Requirements", exact=True
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Requirements")
    row = page.get_by_role("row").filter(has_text=requirement.number)
    expect(row).to_contain_text("Bürgeramt")
    assert_accessible(page)
    screenshot(page, "requirements-list", "en")

    # The architecture board ranks the backlog by WSJF.
    board = new_page("en")
    sign_in(board, "architektin")
    board.get_by_role("navigation", name="Main").get_by_role("link", name="Backlog by WSJF").click()
    expect(board.get_by_role("heading", level=1)).to_have_text("Backlog by WSJF")
    rows = board.locator("table.backlog tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Replace the e-mail archive")
    expect(rows.nth(1)).to_contain_text(requirement.number)
    expect(rows.nth(1)).to_contain_text("4.800")
    assert_accessible(board)
    screenshot(board, "requirements-backlog", "en")
    rows.nth(1).get_by_role("link", name=requirement.number).click()
    board.get_by_role("button", name="Start the review").click()
    expect(board.get_by_test_id("state")).to_have_text("in review")
    expect(board.get_by_role("button", name="Approve")).to_be_visible()
    requirement.refresh_from_db()
    assert requirement.state == "in_review"

    # The same pages in German.
    german = new_page("de")
    sign_in(german, "architektin")
    german.goto("/requirements/backlog/")
    expect(german.locator("table.backlog tbody tr")).to_have_count(2)
    screenshot(german, "requirements-backlog", "de")
    german.goto(f"/requirements/{requirement.number}/")
    screenshot(german, "requirements-detail", "de")
    german_office = new_page("de")
    sign_in(german_office, "buergeramt")
    german_office.goto("/requirements/new/")
    screenshot(german_office, "requirements-new", "de")
    german_office.goto("/requirements/")
    expect(german_office.get_by_role("row").filter(has_text=requirement.number)).to_be_visible()
    screenshot(german_office, "requirements-list", "de")

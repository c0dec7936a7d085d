"""Browser: a change manager decides in the CAB, checks the change page and finds the conflict
in the change calendar; the change list; every page once in German."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, screenshot, sign_in
from tests.pages.test_change_pages import WEEK, build_scene


def test_change_manager_approves_in_the_cab_and_sees_the_conflict(make_user, new_page):
    desk = make_user("desk", "service_desk")
    make_user("change", "change_manager")
    scene = build_scene(desk)
    patch, upgrade = scene["patch"], scene["upgrade"]

    page = new_page("en")
    sign_in(page, "change")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="CAB").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change advisory board")
    item = page.get_by_role("article", name=re.compile(patch.number))
    expect(item).to_contain_text("1 conflict")
    assert_accessible(page)
    screenshot(page, "changes-cab", "en")

    approve = item.locator("form").filter(has=page.locator("input[name=action][value=approve]"))
    approve.get_by_label("Comment").fill("Approved in the CAB meeting.")
    approve.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text(f"{patch.number}: Approved.")
    expect(page.get_by_text("Nothing awaits your decision.")).to_be_visible()
    recent = page.get_by_role("table").filter(has_text="Approved in the CAB meeting.")
    recent.get_by_role("link", name=patch.number).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(patch.number)
    approvals = page.get_by_role("table").filter(has_text="Required from")
    expect(approvals).to_contain_text("approved")
    expect(approvals).to_contain_text("Approved in the CAB meeting.")
    conflicts = page.locator("table.conflicts")
    expect(conflicts).to_contain_text(upgrade.number)
    expect(conflicts).to_contain_text("Same application")
    assert_accessible(page)
    screenshot(page, "changes-detail", "en")

    page.get_by_role("link", name="Show in the change calendar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change calendar")
    expect(page.locator(".subtitle")).to_contain_text("Week from 2030-03-11 to 2030-03-17")
    entry = page.locator(".day-changes li").filter(has_text=patch.number)
    expect(entry).to_contain_text("Conflict")
    expect(page.locator(".freeze-band")).to_contain_text("Budget freeze")
    row = page.locator("table.calendar-list").get_by_role(
        "row", name=re.compile(f"^{patch.number} ")
    )
    expect(row).to_contain_text("Same application")
    assert_accessible(page)
    screenshot(page, "changes-calendar-week", "en")

    page.get_by_role("link", name="Month", exact=True).click()
    expect(page.locator(".subtitle")).to_contain_text("March 2030")
    expect(page.locator(".day-changes li").filter(has_text=patch.number)).to_contain_text(
        "Conflict"
    )
    assert_accessible(page)
    screenshot(page, "changes-calendar-month", "en")

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Changes", exact=True
    ).click()
    page.get_by_label("State").select_option("authorization")
    page.get_by_role("button", name="Apply filters").click()
    table = page.locator("table.change-list")
    expect(table).to_contain_text(patch.number)
    expect(table).not_to_contain_text(upgrade.number)
    expect(page.get_by_role("link", name="CSV")).to_have_attribute(
        "href", re.compile(r"/exports/changes\.csv\?.*state=authorization")
    )
    assert_accessible(page)
    screenshot(page, "changes-list", "en")


def test_change_pages_in_german(make_user, new_page):
    desk = make_user("desk", "service_desk")
    make_user("change", "change_manager")
    scene = build_scene(desk)
    page = new_page("de")
    sign_in(page, "change")
    for url, name in (
        ("/changes/", "changes-list"),
        (f"/changes/{scene['patch'].number}/", "changes-detail"),
        (f"/changes/calendar/?view=week&date={WEEK}", "changes-calendar-week"),
        (f"/changes/calendar/?view=month&date={WEEK}", "changes-calendar-month"),
        ("/cab/", "changes-cab"),
    ):
        page.goto(url)
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(page)
        screenshot(page, name, "de")

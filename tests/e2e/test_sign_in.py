from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, screenshot, sign_in


def test_sign_in_and_out_with_language_switch(make_user, new_page):
    make_user("desk", "service_desk")
    page = new_page("en")
    page.goto("/")
    # Anonymous visitors are sent to the sign-in page.
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Landkarte")
    assert_accessible(page)
    page.get_by_label("Username").fill("desk")
    page.get_by_label("Password").fill("wrong")
    page.locator("form.stacked button[type=submit]").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("desk")
    assert_accessible(page)
    sign_in(page, "desk")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "home")
    page.get_by_label("Language").select_option("de")
    page.get_by_role("button", name="Switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.get_by_role("button", name="Abmelden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bei Landkarte anmelden")

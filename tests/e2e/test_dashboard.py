"""An auditor opens home, narrows the dashboard to an org unit and a period, and reads the KPI
figures and charts (the landscape risk and the governance counts load after the page)."""

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from cmdb.factories import ApplicationFactory, OrgUnitFactory, VendorFactory
from itsm.models import Incident
from tests.e2e.conftest import assert_accessible, screenshot, sign_in


def make_incident(n, unit, days_ago, resolved=False):
    opened = timezone.now() - datetime.timedelta(days=days_ago)
    fields = {}
    if resolved:
        fields = {"state": "resolved", "resolved_at": opened + datetime.timedelta(hours=5),
                  "resolution_minutes": 300, "resolution_code": "solved_permanently",
                  "resolution_notes": "done"}  # fmt: skip
    return Incident.objects.create(
        number=f"INC-2026-{n:06d}", title=f"Incident {n}", impact="low", urgency="low",
        priority="p4", state=fields.pop("state", "assigned"), caller_org_unit=unit,
        opened_at=opened, responded_at=opened, response_minutes=20, **fields,
    )  # fmt: skip


def test_auditor_filters_the_dashboard(make_user, new_page):
    city = OrgUnitFactory(code="LHS", name="Landeshauptstadt", kind="administration")
    office = OrgUnitFactory(code="A33", name="Bürgeramt", parent=city)
    other = OrgUnitFactory(code="A32", name="Ordnungsamt", parent=city)
    ApplicationFactory(name="OK.EWO", owner_org_unit=office, vendor=VendorFactory(name="Dataport"))
    n = 0
    for days_ago in (3, 10, 40, 200):
        n += 1
        make_incident(n, office, days_ago, resolved=True)
    for days_ago in (5, 6):
        n += 1
        make_incident(n, other, days_ago)
    make_user("pruefer", "auditor")

    page = new_page("en")
    sign_in(page, "pruefer")
    expect(page.get_by_role("heading", level=1)).to_have_text("Home")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    # Default: the whole city, the last 90 days.
    opened = page.locator('[data-kpi="incidents_opened"] .value')
    expect(opened).to_have_text("5")
    expect(page.get_by_test_id("dashboard-sourcing")).to_be_visible()
    expect(page.get_by_test_id("dashboard-governance")).to_be_visible()

    page.get_by_label("Org unit (with the units below it)").select_option(str(office.pk))
    page.get_by_label("Period").select_option("365")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(
        re.compile(rf"org_unit={office.pk}.*period=365|period=365.*org_unit={office.pk}")
    )
    expect(page.get_by_test_id("dashboard-scope")).to_contain_text("Bürgeramt")
    expect(opened).to_have_text("4")
    expect(page.locator('[data-kpi="incidents_resolved"] .value')).to_have_text("4")
    expect(page.locator('[data-kpi="sla_compliance"] .value')).to_have_text("100.0 %")
    expect(page.locator('[data-kpi="mttr_minutes"] .value')).to_have_text("5 h 00 min")
    # The charts: weekly incidents, shares, vendor shares and findings per severity.
    expect(page.get_by_role("img", name="Incidents opened and resolved per week")).to_be_visible()
    expect(page.get_by_role("img", name="Shares in per cent")).to_be_visible()
    expect(page.get_by_test_id("dashboard-sourcing")).to_be_visible()
    expect(page.get_by_role("img", name="Governance findings per severity")).to_be_visible()
    expect(page.locator('[data-kpi="applications"] .value')).to_have_text("1")
    assert_accessible(page)
    screenshot(page, "dashboard-home", "en")

    # A period from – to: the last 7 days.
    today = timezone.localdate()
    page.get_by_label("Period").select_option("custom")
    page.get_by_label("From").fill((today - datetime.timedelta(days=7)).isoformat())
    page.get_by_label("To (inclusive)").fill(today.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(opened).to_have_text("1")
    expect(page.get_by_test_id("dashboard-governance")).to_be_visible()

    german = new_page("de")
    sign_in(german, "pruefer")
    german.goto(f"/?org_unit={office.pk}&period=365")
    expect(german.locator('[data-kpi="incidents_opened"] .value')).to_have_text("4")
    expect(german.get_by_test_id("dashboard-sourcing")).to_be_visible()
    expect(german.get_by_test_id("dashboard-governance")).to_be_visible()
    screenshot(german, "dashboard-home", "de")
    german.goto("/dashboard/")
    expect(german.get_by_test_id("dashboard-governance")).to_be_visible()
    assert_accessible(german)
    screenshot(german, "dashboard", "de")

"""The service desk in a real browser: an agent works an incident from the queue to resolved;
a new incident is reported with the application picker."""

import re

import pytest
from playwright.sync_api import expect

from cmdb.factories import ApplicationFactory, ResponsibilityFactory, TeamFactory
from itsm.services import incidents as svc
from itsm.services import problems as problem_svc
from itsm.services import sla
from tests.e2e.conftest import assert_accessible, screenshot, sign_in


@pytest.fixture
def desk_data(make_user):
    sla.ensure_default_calendar()
    agent = make_user("agent", "service_desk")
    team = TeamFactory(name="Application Operations", members=[agent])
    portal = ApplicationFactory(name="Serviceportal", acronym="SP")
    ApplicationFactory(name="Payroll")
    ResponsibilityFactory(application=portal, team=team)
    incident = svc.open_incident(
        user=agent, title="Portal login fails", impact="medium", urgency="high",
        applications=[portal],
    )  # fmt: skip
    svc.open_incident(user=agent, title="Printer offline", impact="low", urgency="low")
    problem = problem_svc.open_problem(user=agent, title="Certificate chain", applications=[portal])
    problem_svc.transition_problem(problem, user=agent, to_state="investigating")
    problem_svc.transition_problem(
        problem, user=agent, to_state="known_error", workaround="Use the backup URL"
    )
    return {"agent": agent, "team": team, "portal": portal, "incident": incident,
            "problem": problem}  # fmt: skip


def expect_state(page, label: str) -> None:
    expect(page.locator("#incident-state")).to_have_text(label)


def test_agent_works_an_incident_from_the_queue_to_resolved(new_page, desk_data):
    incident = desk_data["incident"]
    page = new_page("en")
    sign_in(page, "agent")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Incident queue")
    expect(page.get_by_role("link", name=incident.number)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "desk-queue")
    # Typing in the search updates the table in place (htmx) and the address keeps the filter.
    page.get_by_label("Number, title or description").press_sequentially("login", delay=20)
    expect(page.get_by_role("cell", name="Printer offline")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"search=login"))
    expect(page.get_by_role("heading", level=1)).to_have_count(1)

    page.get_by_role("link", name=incident.number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Portal login fails")
    expect_state(page, "new")
    # The known error on the affected application is offered with its workaround.
    expect(page.get_by_text("Use the backup URL")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "desk-incident")

    page.get_by_role("button", name="Assign to me").click()
    expect_state(page, "assigned")
    expect(page.locator("#incident-assignee")).to_have_text("agent")
    expect(page.locator("#timeline")).to_contain_text("Assignment: Application Operations")

    page.get_by_role("button", name="Start work").click()
    expect_state(page, "in progress")
    expect(page.locator("#timeline")).to_contain_text("assigned → in progress")

    pending = page.locator("details.action-pending")
    pending.locator("summary").click()
    pending.get_by_label("Waiting for").select_option("awaiting_caller")
    pending.get_by_label("Note").fill("Asked for a screenshot of the error")
    pending.get_by_role("button", name="Set pending").click()
    expect_state(page, "pending")
    expect(page.locator("#timeline")).to_contain_text("in progress → pending (awaiting caller)")
    expect(page.locator("#timeline")).to_contain_text("Asked for a screenshot of the error")
    expect(page.get_by_text("paused", exact=True)).to_be_visible()

    page.get_by_role("button", name="Resume work").click()
    expect_state(page, "in progress")
    expect(page.locator("#timeline")).to_contain_text("pending → in progress")

    resolve = page.locator("details.action-resolve")
    resolve.locator("summary").click()
    resolve.get_by_label("Resolution code").select_option("solved_permanently")
    # Notes forgotten first: the refusal is shown next to the field, the code kept.
    resolve.get_by_role("button", name="Resolve").click()
    resolve = page.locator("details.action-resolve")
    expect(resolve.get_by_text("Describe how the incident was resolved.")).to_be_visible()
    expect(resolve.get_by_label("Resolution code")).to_have_value("solved_permanently")
    resolve.get_by_label("Resolution notes").fill("Renewed the portal certificate")
    resolve.get_by_role("button", name="Resolve").click()
    expect_state(page, "resolved")
    expect(page.locator("#incident-resolution")).to_contain_text("Renewed the portal certificate")
    expect(page.locator("#timeline")).to_contain_text("in progress → resolved")
    expect(page.get_by_role("button", name="Close")).to_be_visible()
    assert_accessible(page)


def test_new_incident_with_the_application_picker(new_page, desk_data):
    page = new_page("en")
    sign_in(page, "agent")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New incident").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New incident")
    assert_accessible(page)
    page.get_by_label("Search applications").press_sequentially("servicep", delay=30)
    choice = page.get_by_label("Serviceportal (SP)")
    expect(choice).to_be_visible()
    expect(page.get_by_label("Payroll")).to_have_count(0)
    choice.check()
    page.get_by_label("Description").fill("The sign-in page shows error 500")
    page.get_by_label("Impact").select_option("high")
    page.get_by_label("Urgency").select_option("medium")
    screenshot(page, "desk-incident-new")
    page.get_by_role("button", name="Open incident").click()

    # The title was missing: the error sits next to it and everything else is kept.
    expect(page.locator("#id_title_error")).to_contain_text("This field is required.")
    expect(page.get_by_label("Description")).to_have_value("The sign-in page shows error 500")
    expect(page.get_by_label("Serviceportal (SP)")).to_be_checked()
    assert_accessible(page)
    page.get_by_label("Title").fill("Sign-in page broken")
    page.get_by_role("button", name="Open incident").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sign-in page broken")
    expect(page).to_have_url(re.compile(r"/incidents/INC-\d{4}-\d{6}/$"))
    expect(page.get_by_role("cell", name=re.compile("Serviceportal"))).to_be_visible()
    expect_state(page, "new")


def test_problems_and_known_errors(new_page, desk_data):
    page = new_page("en")
    sign_in(page, "agent")
    page.goto("/problems/")
    expect(page.get_by_role("link", name=desk_data["problem"].number)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "desk-problems")
    page.get_by_role("link", name=desk_data["problem"].number).click()
    expect(page.locator("#problem-workaround")).to_have_text("Use the backup URL")
    assert_accessible(page)
    screenshot(page, "desk-problem")
    page.goto("/known-errors/")
    page.get_by_label("Application").fill("servicep")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("cell", name="Use the backup URL")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "desk-known-errors")


def test_desk_pages_in_german(new_page, desk_data):
    page = new_page("de")
    sign_in(page, "agent")
    for path, name in (
        ("/incidents/", "desk-queue"),
        (f"/incidents/{desk_data['incident'].number}/", "desk-incident"),
        ("/incidents/new/", "desk-incident-new"),
        ("/problems/", "desk-problems"),
        ("/known-errors/", "desk-known-errors"),
    ):
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        screenshot(page, name, "de")

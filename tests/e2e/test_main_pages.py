"""Every main page on the demo city, as a user who may see them all: it renders completely,
axe-core finds no serious or critical WCAG 2.1 AA violation (English), and screenshots at
1366×768 are written in English and German to var/screenshots/{en,de}/."""

import time

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse
from playwright.sync_api import expect

from cmdb.models import Application, Vendor
from itsm.choices import IncidentState
from itsm.models import Change, Incident, Problem, Requirement
from sourcing.models import Assessment
from sourcing.procurement_models import ProcurementCase
from tests.e2e.conftest import accessibility_violations, screenshot, sign_in


def main_pages() -> list[tuple[str, str]]:
    """(screenshot name, URL) of every main page, details on representative demo objects."""
    incident = Incident.objects.filter(state=IncidentState.IN_PROGRESS).order_by("pk").first()
    # The application most others depend on: the richest neighbourhood picture.
    application = (
        Application.objects.annotate(consumers=Count("provider_links"))
        .order_by("-consumers", "pk")
        .first()
    )
    vendor = Vendor.objects.filter(components__isnull=False).order_by("pk").first()
    assessment = Assessment.objects.order_by("pk").first()
    case = ProcurementCase.objects.order_by("pk").first()
    requirement = Requirement.objects.order_by("pk").first()
    pages = [
        ("home", reverse("home")),
        ("desk-queue", reverse("itsm:queue")),
        ("desk-incident", reverse("itsm:incident-detail", args=[incident.number])),
        ("desk-incident-new", reverse("itsm:incident-new")),
        ("desk-problems", reverse("itsm:problems")),
        ("desk-problem", reverse("itsm:problem-detail", args=[Problem.objects.first().number])),
        ("desk-known-errors", reverse("itsm:known-errors")),
        ("changes-list", reverse("itsm:changes")),
        ("changes-change", reverse("itsm:change-detail", args=[Change.objects.first().number])),
        ("changes-calendar", reverse("itsm:change-calendar")),
        ("changes-cab", reverse("itsm:cab")),
        ("architecture-applications", reverse("architecture:applications")),
        ("architecture-application", reverse("architecture:application-detail", args=[application.pk])),  # noqa: E501
        ("architecture-impact", reverse("architecture:impact") + f"?vendor={vendor.pk}"),
        ("architecture-findings", reverse("architecture:findings")),
        ("architecture-radar", reverse("architecture:radar")),
        ("architecture-capabilities", reverse("architecture:capabilities")),
        ("sourcing-vendors", reverse("sourcing:vendors")),
        ("sourcing-vendor", reverse("sourcing:vendor-detail", args=[vendor.pk])),
        ("sourcing-assessments", reverse("sourcing:assessments")),
        ("sourcing-scorecard", reverse("sourcing:assessment-detail", args=[assessment.pk])),
        ("sourcing-cases", reverse("sourcing:cases")),
        ("sourcing-case", reverse("sourcing:case-detail", args=[case.pk])),
        ("sourcing-risk", reverse("sourcing:risk")),
        ("requirements-list", reverse("itsm:requirements")),
        ("requirements-backlog", reverse("itsm:backlog")),
        ("requirements-requirement", reverse("itsm:requirement-detail", args=[requirement.number])),
    ]  # fmt: skip
    return pages


@pytest.fixture
def demo_city(transactional_db):
    call_command("seed_demo", verbosity=0)


def visit(page, url: str) -> float:
    started = time.perf_counter()
    response = page.goto(url)
    # Slow sections arrive by htmx after the page: wait until nothing is loading any more.
    page.wait_for_load_state("networkidle")
    elapsed = time.perf_counter() - started
    assert response.status == 200, f"{url}: HTTP {response.status}"
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    return elapsed


def test_main_pages_render_accessibly_in_english_and_german(demo_city, new_page):
    english, german = new_page("en"), new_page("de")
    sign_in(english, "admin", "landkarte-demo")
    sign_in(german, "admin", "landkarte-demo")
    expect(german.locator("html")).to_have_attribute("lang", "de")

    problems, timings = {}, {}
    for name, url in main_pages():
        timings[name] = visit(english, url)
        violations = accessibility_violations(english)
        if violations:
            problems[name] = violations
        screenshot(english, name, "en")
        visit(german, url)
        expect(german.get_by_role("button", name="Abmelden")).to_be_visible()
        screenshot(german, name, "de")

    print("\npage load with htmx sections (s):")
    for name, seconds in sorted(timings.items(), key=lambda item: -item[1]):
        print(f"  {name:30s} {seconds:6.2f}")
    assert not problems, problems

"""The home page per role and the dashboard (KPIs, landscape risk, governance counts)."""

import datetime
import re
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from architecture.governance import run_rules
from cmdb.factories import (
    ApplicationComponentFactory,
    ApplicationFactory,
    ITComponentFactory,
    OrgUnitFactory,
    TeamFactory,
)
from itsm.models import Change, Incident
from itsm.services import requirements as requirement_service
from itsm.services.kpis import compute_kpis, incidents_per_week
from sourcing.services.landscape import sovereignty_risk

pytestmark = pytest.mark.django_db

_numbers = iter(range(1, 100_000))


def incident(unit=None, **fields):
    n = next(_numbers)
    now = timezone.now()
    values = {
        "title": f"Printer {n}", "impact": "low", "urgency": "low", "priority": "p4",
        "state": "assigned", "caller_org_unit": unit, "opened_at": now - datetime.timedelta(days=2),
        "resolution_due": now + datetime.timedelta(days=2),
        "response_due": now - datetime.timedelta(days=1), "responded_at": now,
    }  # fmt: skip
    values.update(fields)
    if values["state"] in ("resolved", "closed"):
        values.setdefault("resolution_code", "solved_permanently")
        values.setdefault("resolution_notes", "done")
    return Incident.objects.create(number=f"INC-2026-{n:06d}", **values)


@pytest.fixture
def units(db):
    city = OrgUnitFactory(code="LHS", kind="administration")
    office = OrgUnitFactory(code="A33", name="Bürgeramt", parent=city)
    other = OrgUnitFactory(code="A32", name="Ordnungsamt", parent=city)
    return {"city": city, "office": office, "other": other}


# --- access --------------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_sign_in(client):
    for url in ("/", "/dashboard/", "/dashboard/?section=sourcing"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_unknown_section_is_404(client, make_user):
    client.force_login(make_user("audit", "auditor"))
    assert client.get("/dashboard/?section=nothing").status_code == 404


def test_user_without_role_gets_403(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody"))
    assert client.get("/").status_code == 403


# --- role blocks ---------------------------------------------------------------------------------


def test_desk_agent_sees_their_counts(client, make_user, units):
    agent = make_user("agent", "service_desk")
    team = TeamFactory(org_unit=units["office"], members=[agent])
    now = timezone.now()
    incident(assignee=agent, assigned_team=team, title="Mine")
    incident(
        assigned_team=team, title="Team, due soon", resolution_due=now + datetime.timedelta(hours=1)
    )
    incident(title="Elsewhere, breached", resolution_due=now - datetime.timedelta(hours=1),
             state="in_progress")  # fmt: skip
    incident(assignee=agent, assigned_team=team, state="resolved", resolved_at=now)
    client.force_login(agent)
    response = client.get("/")
    block = response.context["blocks"][0]
    assert block["name"] == "desk"
    counts = [item["count"] for item in block["data"]["counts"]]
    assert counts == [1, 2, 1, 1]  # mine, my teams, due within 4 h, breached
    titles = [i.title for i in block["data"]["incidents"]]
    assert titles == ["Team, due soon", "Mine"]  # most urgent first
    content = response.content.decode()
    assert "Service desk: your work" in content and "Team, due soon" in content


def test_home_query_count_does_not_grow(client, make_user, units, django_assert_max_num_queries):
    agent = make_user("agent", "service_desk")
    team = TeamFactory(org_unit=units["office"], members=[agent])
    incident(assignee=agent, assigned_team=team)
    client.force_login(agent)
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    for _ in range(20):
        incident(assignee=agent, assigned_team=team, caller_org_unit=units["office"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/")
    assert len(response.context["blocks"][0]["data"]["incidents"]) == 10


def test_change_manager_sees_changes_awaiting_approval_and_this_week(client, make_user):
    manager = make_user("cm", "change_manager")
    now = timezone.now()
    Change.objects.create(number="CHG-2026-000001", title="Upgrade Keycloak", requested_by=manager,
                          change_type="normal", state="authorization",
                          planned_start=now + datetime.timedelta(days=30),
                          planned_end=now + datetime.timedelta(days=30, hours=2))  # fmt: skip
    Change.objects.create(number="CHG-2026-000002", title="Patch mail relay", requested_by=manager,
                          change_type="normal", state="scheduled", planned_start=now,
                          planned_end=now + datetime.timedelta(hours=1))  # fmt: skip
    client.force_login(manager)
    response = client.get("/")
    lists = {item["key"]: item for item in response.context["blocks"][0]["data"]["lists"]}
    assert [c.title for c in lists["awaiting"]["rows"]] == ["Upgrade Keycloak"]
    assert lists["awaiting"]["count"] == 1
    assert [c.title for c in lists["week"]["rows"]] == ["Patch mail relay"]
    assert lists["week"]["count"] == 1
    content = response.content.decode()
    assert 'href="/changes/CHG-2026-000001/"' in content and 'href="/cab/"' in content


def test_requester_sees_their_office_and_their_incidents(client, make_user, units):
    requester = make_user("buergeramt", "requester")
    TeamFactory(org_unit=units["office"], members=[requester])
    ours = requirement_service.submit_requirement(
        user=requester, title="Appointment booking", kind="enhancement",
        requesting_org_unit=units["office"], business_value=5, time_criticality=3,
        risk_reduction=2, job_size=5,
    )  # fmt: skip
    withdrawn = requirement_service.submit_requirement(
        user=requester, title="Fax gateway", kind="enhancement",
        requesting_org_unit=units["office"], business_value=1, time_criticality=1,
        risk_reduction=1, job_size=1,
    )  # fmt: skip
    requirement_service.withdraw_requirement(withdrawn, user=requester, reason="not needed")
    incident(caller=requester, title="My printer")
    incident(caller=requester, title="My old scanner", state="resolved",
             resolved_at=timezone.now())  # fmt: skip
    incident(title="Someone else's printer")
    client.force_login(requester)
    response = client.get("/")
    data = response.context["blocks"][0]["data"]
    assert [r.number for r in data["requirements"]] == [ours.number]
    assert [i.title for i in data["incidents"]] == ["My printer"]
    assert (data["requirement_count"], data["incident_count"]) == (1, 1)
    content = response.content.decode()
    assert f'href="/requirements/{ours.number}/"' in content
    assert 'href="/requirements/new/"' in content
    assert "Someone else" not in content and "Fax gateway" not in content


def test_procurement_block_counts(client, make_user):
    from cmdb.factories import VendorFactory
    from sourcing.services.assessments import start_assessment
    from sourcing.services.catalogues import load_catalogue
    from sourcing.services.procurement import cancel_case, open_case

    buyer = make_user("buyer", "procurement")
    load_catalogue()
    start_assessment(user=buyer, vendor=VendorFactory())
    case = open_case(user=buyer, title="Fachverfahren Bauantrag", org_unit=OrgUnitFactory(),
                     protection_class="high")  # fmt: skip
    cancelled = open_case(user=buyer, title="Cancelled tender", org_unit=OrgUnitFactory(),
                          protection_class="normal")  # fmt: skip
    cancel_case(cancelled, user=buyer, reason="no budget")
    client.force_login(buyer)
    response = client.get("/")
    data = response.context["blocks"][0]["data"]
    counts = data["counts"]
    assert [str(c["label"]) for c in counts] == [
        "Assessments in draft", "Assessments awaiting approval", "Open procurement cases",
    ]  # fmt: skip
    assert [c["count"] for c in counts] == [1, 0, 1]
    assert [c.reference for c in data["cases"]] == [case.reference]
    content = response.content.decode()
    assert f'href="/procurement/{case.pk}/"' in content  # the case's own page
    assert "Cancelled tender" not in content


def test_auditor_and_admin_see_the_dashboard_only(client, make_user, admin_user):
    client.force_login(make_user("audit", "auditor"))
    response = client.get("/")
    assert response.context["blocks"] == []
    assert "Service management key figures" in response.content.decode()
    client.force_login(admin_user)
    assert client.get("/").context["blocks"] == []


def test_architect_sees_end_of_life_applications(client, architect, units):
    old = ITComponentFactory(name="Tomcat", version="7", end_of_life_passed=True)
    app = ApplicationFactory(name="OK.EWO", owner_org_unit=units["office"])
    ApplicationComponentFactory(application=app, component=old)
    client.force_login(architect)
    home = client.get("/").content.decode()
    assert 'hx-get="/dashboard/?section=architect"' in home  # loaded after the page
    response = client.get("/dashboard/?section=architect")
    assert response.context["eol"]["application_count"] == 1
    assert response.context["eol"]["rows"][0]["application"] == "OK.EWO"
    high = next(s for s in response.context["severities"] if str(s["label"]) == "high")
    assert high["count"] == Counter(f.severity for f in run_rules())["high"]
    content = response.content.decode()
    assert f'<a href="/applications/{app.pk}/">OK.EWO</a>' in content
    assert 'href="/governance/findings/?severity=high&amp;only_this_severity=on"' in content


# --- dashboard -----------------------------------------------------------------------------------


def test_dashboard_figures_equal_compute_kpis_for_the_same_filter(client, make_user, units):
    tz = timezone.get_current_timezone()
    opened = datetime.datetime(2026, 3, 10, 9, tzinfo=tz)
    incident(units["office"], opened_at=opened, state="resolved",
             resolved_at=opened + datetime.timedelta(hours=3), resolution_minutes=180,
             response_minutes=15)  # fmt: skip
    incident(units["office"], opened_at=opened + datetime.timedelta(days=8), response_minutes=45)
    incident(units["other"], opened_at=opened, response_minutes=5)
    client.force_login(make_user("audit", "auditor"))
    params = {"org_unit": units["office"].pk, "period": "custom",
              "start": "2026-03-01", "end": "2026-03-31"}  # fmt: skip
    response = client.get("/", params)
    start = datetime.datetime(2026, 3, 1, tzinfo=tz)
    end = datetime.datetime(2026, 4, 1, tzinfo=tz)
    expected = compute_kpis(start, end, units["office"])
    assert response.context["itsm"]["kpis"] == expected
    assert expected.incidents_opened == 2 and expected.mtta_minutes == 30.0
    content = response.content.decode()
    assert re.search(r'data-kpi="incidents_opened">\s*<div class="value">\s*2\s*</div>', content)
    assert "30 min" in content  # MTTA
    weeks = response.context["itsm"]["weeks"]
    assert weeks == incidents_per_week(start, end, units["office"])
    assert [w.opened for w in weeks] == [0, 1, 1, 0, 0]
    # The whole city counts the other office too.
    response = client.get("/dashboard/", {**params, "org_unit": ""})
    assert response.context["itsm"]["kpis"] == compute_kpis(start, end, None)
    assert response.context["itsm"]["kpis"].incidents_opened == 3
    # The slow sections are loaded with the same filter.
    assert f"org_unit={units['office'].pk}" in content and "start=2026-03-01" in content


def test_relative_periods(client, make_user, units):
    incident(units["office"], opened_at=timezone.now() - datetime.timedelta(days=60))
    client.force_login(make_user("audit", "auditor"))
    assert client.get("/", {"period": "30"}).context["itsm"]["kpis"].incidents_opened == 0
    assert client.get("/", {"period": "90"}).context["itsm"]["kpis"].incidents_opened == 1


def test_invalid_filter_shows_errors_next_to_the_fields(client, make_user):
    client.force_login(make_user("audit", "auditor"))
    response = client.get("/", {"period": "custom", "start": "2026-03-10", "end": "2026-03-01"})
    assert response.status_code == 200
    form = response.context["filter_form"]
    assert "end" in form.errors
    assert "The last day must not be before the first day." in response.content.decode()
    assert "2026-03-10" in response.content.decode()  # input kept


def test_sourcing_and_governance_sections(client, make_user, units):
    ApplicationFactory(owner_org_unit=units["office"])
    client.force_login(make_user("audit", "auditor"))
    response = client.get("/dashboard/", {"section": "sourcing", "org_unit": units["office"].pk})
    risk = sovereignty_risk(org_unit=units["office"])
    assert response.context["sourcing"]["risk"].hhi_vendor == risk.hhi_vendor
    assert response.context["sourcing"]["alert_count"] == len(risk.alerts)
    assert 'data-kpi="hhi_vendor"' in response.content.decode()
    response = client.get("/dashboard/", {"section": "governance"})
    found = Counter(f.severity for f in run_rules())
    counts = {severity: n for severity, _label, n in response.context["governance"]["counts"]}
    assert counts == {s: found.get(s, 0) for s in ("critical", "high", "medium", "low", "info")}


def test_slow_sections_are_computed_afresh(client, make_user):
    """The sections that load after the page are not cached: a new finding shows at once."""
    from cmdb.factories import ApplicationComponentFactory, ITComponentFactory

    client.force_login(make_user("audit", "auditor"))
    before = client.get("/dashboard/", {"section": "governance"}).context["governance"]["total"]
    ApplicationComponentFactory(component=ITComponentFactory(end_of_life_passed=True))
    after = client.get("/dashboard/", {"section": "governance"}).context["governance"]["total"]
    assert after > before


def test_chart_coordinates_do_not_follow_the_german_number_format(client, make_user):
    """Django localises numbers in templates ("12,5" in German): SVG attributes must not be."""
    import re

    for days in (3, 10, 17, 40):
        incident(opened_at=timezone.now() - datetime.timedelta(days=days))
    client.force_login(make_user("audit", "auditor"))
    html = client.get("/", headers={"accept-language": "de"}).content.decode()
    assert 'lang="de"' in html
    svg = html[html.index('<svg class="chart week-chart"') : html.index("</svg>")]
    bars = re.findall(r'<rect class="bar-opened" x="([^"]+)" y="([^"]+)" width="([^"]+)"', svg)
    assert bars
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", value) for bar in bars for value in bar), bars

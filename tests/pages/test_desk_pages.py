"""The service desk pages: queue, incident page with its actions, new incident with the
application picker, my incidents, problems and known errors."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cmdb.factories import (
    ApplicationFactory,
    InterfaceFactory,
    ResponsibilityFactory,
    TeamFactory,
)
from itsm.models import Incident
from itsm.services import incidents as svc
from itsm.services import problems as problem_svc
from itsm.services import sla

pytestmark = pytest.mark.django_db


@pytest.fixture
def calendar(db):
    calendar, _level = sla.ensure_default_calendar()
    return calendar


@pytest.fixture
def desk(make_user):
    return make_user("desk", "service_desk")


@pytest.fixture
def agent(make_user):
    return make_user("agent", "service_desk")


@pytest.fixture
def team(desk, agent):
    return TeamFactory(name="Application Operations", members=[desk, agent])


@pytest.fixture
def portal(db):
    app = ApplicationFactory(name="Serviceportal", acronym="SP")
    ResponsibilityFactory(application=app, team=TeamFactory(name="Portal Ops"))
    return app


def open_incident(user, title="Portal login fails", apps=(), **kwargs):
    kwargs.setdefault("impact", "medium")
    kwargs.setdefault("urgency", "high")
    return svc.open_incident(user=user, title=title, applications=apps, **kwargs)


@pytest.fixture
def incident(calendar, desk, portal):
    return open_incident(desk, apps=[portal])


def detail_url(incident):
    return reverse("itsm:incident-detail", args=[incident.number])


def actions_on(response) -> list[str]:
    html = response.content.decode()
    return re.findall(r'name="action" value="([a-z_]+)"', html)


def post_action(client, incident, action, **fields):
    incident.refresh_from_db()
    data = {"action": action, f"{action}-expected_version": incident.version}
    data.update({f"{action}-{key}": value for key, value in fields.items()})
    return client.post(detail_url(incident), data)


# --- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["itsm:queue", "itsm:incident-new", "itsm:my-incidents", "itsm:problems",
             "itsm:known-errors", "itsm:application-search"],
)  # fmt: skip
def test_anonymous_is_sent_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_anonymous_incident_page_redirects(client, incident):
    response = client.get(detail_url(incident))
    assert response.status_code == 302 and "/login/" in response.url


@pytest.mark.parametrize("name", ["itsm:queue", "itsm:problems", "itsm:known-errors"])
def test_requester_may_not_open_staff_pages(client, requester, name):
    client.force_login(requester)
    assert client.get(reverse(name)).status_code == 403


def test_auditor_may_not_report_incidents(client, make_user):
    client.force_login(make_user("auditor", "auditor"))
    assert client.get(reverse("itsm:incident-new")).status_code == 403
    assert client.get(reverse("itsm:queue")).status_code == 200


def test_requester_sees_own_incidents_only(client, calendar, requester, desk):
    own = open_incident(requester, title="My printer is on fire")
    other = open_incident(desk, title="Someone else's incident")
    client.force_login(requester)
    page = client.get(reverse("itsm:my-incidents")).content.decode()
    assert own.number in page and other.number not in page
    assert client.get(detail_url(own)).status_code == 200
    assert client.get(detail_url(other)).status_code == 404


# --- queue -----------------------------------------------------------------------------------


def test_queue_defaults_to_open_incidents_by_resolution_due(client, calendar, desk, team):
    p1 = open_incident(desk, title="Everything down", impact="high", urgency="high")
    p4 = open_incident(desk, title="Cosmetic glitch", impact="low", urgency="low")
    done = open_incident(desk, title="Already done")
    svc.assign_incident(done, user=desk, team=team, assignee=desk)
    svc.resolve_incident(done, user=desk, resolution_code="duplicate", resolution_notes="dup")
    client.force_login(desk)
    response = client.get(reverse("itsm:queue"))
    html = response.content.decode()
    assert response.status_code == 200
    assert p1.number in html and p4.number in html and done.number not in html
    # Sorted by resolution due: the P1 is due first.
    assert html.index(p1.number) < html.index(p4.number)
    assert 'class="sla sla-' in html
    # The default is visible in the export links.
    assert "/exports/incidents.csv?open=true" in html


def test_queue_filters_search_sort_and_scope(client, calendar, desk, agent, team):
    mine = open_incident(desk, title="VPN drops every hour", impact="low", urgency="low")
    svc.assign_incident(mine, user=desk, team=team, assignee=desk)
    theirs = open_incident(desk, title="Printer offline", impact="high", urgency="high")
    svc.assign_incident(theirs, user=desk, team=team, assignee=agent)
    unassigned = open_incident(desk, title="Mail delayed")
    client.force_login(desk)
    queue = reverse("itsm:queue")

    html = client.get(queue, {"open": "true", "mine": "true"}).content.decode()
    assert mine.number in html and theirs.number not in html
    assert 'aria-current="page">Mine<' in html
    html = client.get(queue, {"open": "true", "my_teams": "true"}).content.decode()
    assert mine.number in html and theirs.number in html and unassigned.number not in html
    html = client.get(queue, {"open": "true", "search": "vpn"}).content.decode()
    assert mine.number in html and theirs.number not in html
    html = client.get(queue, {"open": "true", "priority": "p1"}).content.decode()
    assert theirs.number in html and mine.number not in html
    html = client.get(queue, {"open": "true", "team": team.pk}).content.decode()
    assert unassigned.number not in html and mine.number in html
    # The export carries the filters (not the sort or the page).
    assert f"/exports/incidents.xlsx?open=true&amp;team={team.pk}" in html
    html = client.get(queue, {"open": "true", "sort": "-priority"}).content.decode()
    assert html.index(mine.number) < html.index(theirs.number)
    html = client.get(queue, {"open": "true", "sort": "priority"}).content.decode()
    assert html.index(theirs.number) < html.index(mine.number)


def test_queue_answers_htmx_with_the_table_only(client, calendar, desk, incident):
    client.force_login(desk)
    response = client.get(reverse("itsm:queue"), {"open": "true"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="incident-table">')
    assert "<h1>" not in html and incident.number in html


def test_a_page_past_the_end_shows_the_last_page(client, calendar, desk, incident):
    # A bookmarked page 2 after the queue shrank, or a page that is no number.
    client.force_login(desk)
    for page in ("2", "999", "x"):
        response = client.get(reverse("itsm:queue"), {"open": "true", "page": page})
        assert response.status_code == 200
        assert response.context["page_obj"].number == 1
        assert incident.number in response.content.decode()


def count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params or {}).status_code == 200
    return len(queries.captured_queries)


def make_many(user, count, apps=()):
    for index in range(count):
        open_incident(user, title=f"Incident {index}", apps=apps)


def test_queue_query_count_does_not_grow_with_rows(
    client, calendar, desk, portal, django_assert_num_queries
):
    client.force_login(desk)
    make_many(desk, 5, apps=[portal])
    few = count_queries(client, reverse("itsm:queue"))
    make_many(desk, 35, apps=[portal, ApplicationFactory()])
    with django_assert_num_queries(few):
        response = client.get(reverse("itsm:queue"))
    assert response.content.decode().count('href="/incidents/INC-') == 40


# --- incident page and its actions -----------------------------------------------------------


def test_incident_page_shows_facts_applications_known_errors_and_related(
    client, calendar, desk, portal
):
    idp = ApplicationFactory(name="Keycloak")
    InterfaceFactory(provider=idp, consumers=[portal])
    known = problem_svc.open_problem(user=desk, title="Token expiry too short", applications=[idp])
    problem_svc.transition_problem(known, user=desk, to_state="investigating")
    problem_svc.transition_problem(
        known, user=desk, to_state="known_error", workaround="Sign in again"
    )
    other = open_incident(desk, title="Keycloak slow", apps=[idp])
    incident = open_incident(desk, apps=[portal])
    client.force_login(desk)
    html = client.get(detail_url(incident)).content.decode()
    assert '<dl class="facts">' in html
    assert "Serviceportal" in html and "Portal Ops" in html  # owner responsibilities
    assert known.number in html and "Sign in again" in html  # via the dependency on Keycloak
    assert other.number in html
    assert 'class="timeline"' in html and "Created" in html


def test_actions_follow_the_state(client, calendar, desk, incident, team, make_user):
    client.force_login(desk)
    offered = actions_on(client.get(detail_url(incident)))
    assert {"take", "assign", "cancel", "comment", "priority"} <= set(offered)
    assert "resolve" not in offered and "start" not in offered and "close" not in offered
    # An auditor sees the incident and no action; a forged post is refused.
    client.force_login(make_user("auditor", "auditor"))
    assert actions_on(client.get(detail_url(incident))) == []
    response = client.post(detail_url(incident), {"action": "cancel", "cancel-reason": "x"})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.state == "new"


def test_main_path_through_the_actions(client, calendar, desk, incident, team):
    client.force_login(desk)
    response = post_action(client, incident, "take", team=team.pk)
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.state == "assigned" and incident.assignee == desk
    assert "start" in actions_on(client.get(detail_url(incident)))

    post_action(client, incident, "start")
    incident.refresh_from_db()
    assert incident.state == "in_progress"

    # Pending without a reason: the service's refusal next to the field, the note kept.
    response = post_action(client, incident, "pending", note="Asked the caller for a log")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Say what the incident is waiting for." in html
    assert "Asked the caller for a log</textarea>" in html
    assert re.search(r"<details class=\"action-form action-pending\" open>", html)
    post_action(client, incident, "pending", reason="awaiting_caller", note="log please")
    incident.refresh_from_db()
    assert incident.state == "pending" and incident.paused_since is not None
    offered = actions_on(client.get(detail_url(incident)))
    assert "resume" in offered and "start" not in offered and "pending" not in offered

    post_action(client, incident, "resume")
    incident.refresh_from_db()
    assert incident.state == "in_progress"

    response = post_action(client, incident, "resolve", resolution_code="solved_permanently")
    assert response.status_code == 400
    assert "Describe how the incident was resolved." in response.content.decode()
    assert 'value="solved_permanently" selected' in response.content.decode()
    post_action(
        client, incident, "resolve", resolution_code="solved_permanently",
        resolution_notes="Certificate renewed",
    )  # fmt: skip
    incident.refresh_from_db()
    assert incident.state == "resolved"
    html = client.get(detail_url(incident)).content.decode()
    assert "Certificate renewed" in html
    assert set(actions_on(client.get(detail_url(incident)))) >= {"reopen", "close"}

    post_action(client, incident, "reopen", reason="Still failing")
    incident.refresh_from_db()
    assert incident.state == "in_progress" and incident.reopen_count == 1


def test_stale_form_is_refused_with_a_conflict(client, calendar, desk, incident, team):
    client.force_login(desk)
    stale = incident.version
    svc.assign_incident(incident, user=desk, team=team, assignee=desk)
    response = client.post(
        detail_url(incident),
        {"action": "cancel", "cancel-expected_version": stale, "cancel-reason": "dup"},
    )
    assert response.status_code == 400
    assert "Someone else changed this incident" in response.content.decode()
    incident.refresh_from_db()
    assert incident.state == "assigned"


def test_assign_to_a_non_member_is_refused_on_the_field(
    client, calendar, desk, incident, team, make_user
):
    outsider = make_user("outsider", "service_desk")
    TeamFactory(members=[outsider])
    client.force_login(desk)
    response = post_action(client, incident, "assign", team=team.pk, assignee=outsider.pk)
    assert response.status_code == 400
    assert "is not a member of" in response.content.decode()


def test_priority_comment_work_note_and_problem_link(client, calendar, desk, incident):
    problem = problem_svc.open_problem(user=desk, title="Portal certificate chain")
    client.force_login(desk)
    post_action(client, incident, "priority", impact="high", urgency="high", reason="Mayor")
    incident.refresh_from_db()
    assert incident.priority == "p1"
    post_action(client, incident, "comment", text="We are on it", visibility="public")
    post_action(client, incident, "comment", text="Check the proxy", visibility="work_note")
    post_action(client, incident, "link_problem", problem=problem.pk)
    incident.refresh_from_db()
    assert incident.problem == problem
    kinds = list(incident.timeline.values_list("kind", flat=True))
    assert {"priority_change", "comment", "work_note", "link"} <= set(kinds)


def test_requester_comments_publicly_and_never_sees_work_notes(client, calendar, requester, desk):
    incident = open_incident(requester, title="Cannot print")
    svc.add_comment(incident, user=desk, text="Internal: driver issue", public=False)
    client.force_login(requester)
    html = client.get(detail_url(incident)).content.decode()
    assert "Internal: driver issue" not in html
    assert 'value="work_note"' not in html
    assert set(actions_on(client.get(detail_url(incident)))) == {"comment"}
    response = post_action(client, incident, "comment", text="It still fails", visibility="public")
    assert response.status_code == 302
    assert "It still fails" in client.get(detail_url(incident)).content.decode()
    response = post_action(client, incident, "comment", text="sneaky", visibility="work_note")
    assert response.status_code == 400


def test_incident_page_query_count_does_not_grow(
    client, calendar, desk, portal, team, django_assert_num_queries
):
    incident = open_incident(desk, apps=[portal])
    client.force_login(desk)
    svc.add_comment(incident, user=desk, text="first", public=True)
    make_many(desk, 2, apps=[portal])
    few = count_queries(client, detail_url(incident))
    for index in range(15):
        svc.add_comment(incident, user=desk, text=f"note {index}", public=index % 2 == 0)
    svc.assign_incident(incident, user=desk, team=team, assignee=desk)
    make_many(desk, 15, apps=[portal])
    with django_assert_num_queries(few):
        html = client.get(detail_url(incident)).content.decode()
    assert "note 14" in html and html.count('<li class="event-') >= 17


# --- new incident ----------------------------------------------------------------------------


def test_new_incident_errors_keep_input_and_chosen_applications(client, calendar, desk, portal):
    client.force_login(desk)
    url = reverse("itsm:incident-new")
    response = client.post(
        url, {"description": "Since 9 am", "impact": "high", "urgency": "medium",
              "category": "software", "applications": [portal.pk]},
    )  # fmt: skip
    assert response.status_code == 400
    html = response.content.decode()
    # The error sits next to the title field.
    assert '<ul class="errorlist" id="id_title_error"><li>This field is required.</li></ul>' in html
    assert "Since 9 am</textarea>" in html
    assert re.search(rf'value="{portal.pk}" id="app-{portal.pk}" checked', html)
    assert not Incident.objects.exists()
    response = client.post(
        url, {"title": "Portal down", "description": "Since 9 am", "impact": "high",
              "urgency": "medium", "category": "software", "applications": [portal.pk]},
    )  # fmt: skip
    incident = Incident.objects.get()
    assert response.status_code == 302 and response.url == detail_url(incident)
    assert list(incident.applications.all()) == [portal]
    assert incident.caller == desk and incident.priority


def test_desk_reports_for_a_caller_requester_does_not(client, calendar, desk, requester):
    client.force_login(desk)
    assert 'name="caller"' in client.get(reverse("itsm:incident-new")).content.decode()
    client.post(
        reverse("itsm:incident-new"),
        {"title": "Phone", "impact": "low", "urgency": "low", "category": "hardware",
         "caller": requester.pk},
    )  # fmt: skip
    assert Incident.objects.get().caller == requester
    client.force_login(requester)
    html = client.get(reverse("itsm:incident-new")).content.decode()
    assert 'name="caller"' not in html
    client.post(
        reverse("itsm:incident-new"),
        {"title": "Mine", "impact": "low", "urgency": "low", "category": "hardware",
         "caller": desk.pk},
    )  # fmt: skip
    assert Incident.objects.get(title="Mine").caller == requester


def test_application_search_lists_chosen_first_then_matches(client, desk, portal):
    ApplicationFactory(name="Portal analytics")
    ApplicationFactory(name="Payroll")
    client.force_login(desk)
    url = reverse("itsm:application-search")
    html = client.get(url, {"q": "portal"}).content.decode()
    assert "Serviceportal" in html and "Portal analytics" in html and "Payroll" not in html
    html = client.get(url, {"q": "pay", "applications": [portal.pk]}).content.decode()
    assert html.index("Serviceportal") < html.index("Payroll")
    assert f'id="app-{portal.pk}" checked' in html
    html = client.get(url, {"q": "zzz"}).content.decode()
    assert "No application matches" in html


# --- problems and known errors ---------------------------------------------------------------


@pytest.fixture
def problem(calendar, desk, portal):
    return problem_svc.open_problem(user=desk, title="Certificate chain", applications=[portal])


def test_problem_list_filters_and_export(client, desk, problem):
    other = problem_svc.open_problem(user=desk, title="Disk full")
    client.force_login(desk)
    html = client.get(reverse("itsm:problems"), {"search": "certificate"}).content.decode()
    assert problem.number in html and other.number not in html
    assert "/exports/problems.csv?search=certificate" in html


def test_problem_actions(client, desk, problem, incident):
    problem_svc.link_incident(problem, incident, user=desk)
    client.force_login(desk)
    url = reverse("itsm:problem-detail", args=[problem.number])
    html = client.get(url).content.decode()
    assert incident.number in html
    assert set(actions_on(client.get(url))) == {"investigate", "edit", "cancel"}
    client.post(url, {"action": "investigate", "investigate-expected_version": problem.version})
    problem.refresh_from_db()
    assert problem.state == "investigating"
    response = client.post(
        url, {"action": "known_error", "known_error-expected_version": problem.version,
              "known_error-root_cause": "Old intermediate"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "Document the workaround first." in response.content.decode()
    assert "Old intermediate</textarea>" in response.content.decode()
    client.post(
        url, {"action": "known_error", "known_error-expected_version": problem.version,
              "known_error-workaround": "Use the backup URL"},
    )  # fmt: skip
    problem.refresh_from_db()
    assert problem.state == "known_error" and problem.is_known_error


def test_known_errors_searchable_by_application(client, desk, problem, calendar):
    for p, to in ((problem, "investigating"), (problem, "known_error")):
        problem_svc.transition_problem(p, user=desk, to_state=to, workaround="Use the backup URL")
    unrelated = problem_svc.open_problem(user=desk, title="Printer queue")
    problem_svc.transition_problem(unrelated, user=desk, to_state="investigating")
    problem_svc.transition_problem(
        unrelated, user=desk, to_state="known_error", workaround="Restart spooler"
    )
    client.force_login(desk)
    url = reverse("itsm:known-errors")
    html = client.get(url).content.decode()
    assert problem.number in html and unrelated.number in html
    html = client.get(url, {"application": "servicepor"}).content.decode()
    assert problem.number in html and "Use the backup URL" in html
    assert unrelated.number not in html
    html = client.get(url, {"text": "spooler"}).content.decode()
    assert unrelated.number in html and problem.number not in html


def test_problem_and_known_error_lists_query_count(
    client, desk, calendar, django_assert_num_queries
):
    def make(count):
        for index in range(count):
            p = problem_svc.open_problem(
                user=desk, title=f"Problem {index}", applications=[ApplicationFactory()]
            )
            problem_svc.transition_problem(p, user=desk, to_state="investigating")
            problem_svc.transition_problem(p, user=desk, to_state="known_error", workaround="w")

    client.force_login(desk)
    make(3)
    few = {
        name: count_queries(client, reverse(name))
        for name in ("itsm:problems", "itsm:known-errors")
    }
    make(20)
    for name, count in few.items():
        with django_assert_num_queries(count):
            html = client.get(reverse(name)).content.decode()
        assert html.count('href="/problems/PRB-') == 23

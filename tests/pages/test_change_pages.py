"""The change pages: list, change page with its steps, calendar and CAB, through the Django
test client; plus the set-wise read functions they use."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from cmdb.choices import Criticality
from cmdb.factories import ApplicationFactory, InterfaceFactory, TeamFactory
from itsm.choices import ApprovalDecision, ChangeState
from itsm.models import Change, ChangeApproval, FreezeWindow
from itsm.services import changes as svc
from itsm.services import conflicts as conflict_svc

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
WHEN = datetime.datetime(2030, 3, 12, 20, 0, tzinfo=BERLIN)  # a Tuesday
WEEK = "2030-03-12"

PLANS = {
    "reason": "Vendor advisory",
    "implementation_plan": "Install the patch on both nodes.",
    "backout_plan": "Restore the VM snapshot.",
    "test_plan": "Log in and search a record.",
}


# --- data ------------------------------------------------------------------------------------


def make_change(user, applications, title="Apply security patch", start=WHEN, hours=3, **fields):
    return svc.create_change(
        user=user,
        applications=applications,
        title=title,
        planned_start=start,
        planned_end=start + datetime.timedelta(hours=hours) if start else None,
        **PLANS | fields,
    )


def to_authorization(change, user):
    change = svc.submit_for_assessment(change, user=user)
    change = svc.assess_change(change, user=user)
    return svc.request_authorization(change, user=user)


def build_scene(desk):
    """Meldewesen (with a dependent portal) changed twice in overlapping windows; the patch
    awaits authorization, the database upgrade is in assessment; a freeze on Thursday."""
    core = ApplicationFactory(name="Fachverfahren Meldewesen")
    portal = ApplicationFactory(name="Serviceportal")
    InterfaceFactory(provider=core, consumers=[portal])
    patch = to_authorization(make_change(desk, [core], "Patch Meldewesen"), desk)
    upgrade = make_change(
        desk, [core], "Upgrade Meldewesen database", start=WHEN + datetime.timedelta(hours=1)
    )
    upgrade = svc.submit_for_assessment(upgrade, user=desk)
    freeze = FreezeWindow.objects.create(
        name="Budget freeze",
        start=datetime.datetime(2030, 3, 14, 0, 0, tzinfo=BERLIN),
        end=datetime.datetime(2030, 3, 15, 0, 0, tzinfo=BERLIN),
        applies_to_all=True,
    )
    return {"core": core, "portal": portal, "patch": patch, "upgrade": upgrade, "freeze": freeze}


@pytest.fixture
def desk(make_user):
    return make_user("desk", "service_desk")


@pytest.fixture
def manager(make_user):
    return make_user("change", "change_manager")


@pytest.fixture
def scene(desk):
    return build_scene(desk)


def signed_in(client, user):
    client.force_login(user)
    return client


def detail_url(change):
    return reverse("itsm:change-detail", args=[change.number])


def form_errors(html: str) -> str:
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S))


# --- access ----------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, scene):
    for url in (
        reverse("itsm:changes"),
        reverse("itsm:change-calendar"),
        reverse("itsm:cab"),
        detail_url(scene["patch"]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_roles_without_access_are_refused(client, make_user, desk, scene):
    signed_in(client, make_user("citizen", "requester"))
    for url in (
        reverse("itsm:changes"),
        reverse("itsm:change-calendar"),
        reverse("itsm:cab"),
        detail_url(scene["patch"]),
    ):
        assert client.get(url).status_code == 403
    # The service desk works on changes but does not sit in the CAB.
    signed_in(client, desk)
    assert client.get(reverse("itsm:changes")).status_code == 200
    assert client.get(reverse("itsm:cab")).status_code == 403


def test_unknown_change_number_is_not_found(client, manager):
    signed_in(client, manager)
    assert client.get(reverse("itsm:change-detail", args=["CHG-1999-000001"])).status_code == 404


# --- list ------------------------------------------------------------------------------------


def test_change_list_filters_sorts_and_exports(client, manager, scene):
    signed_in(client, manager)
    response = client.get(reverse("itsm:changes"), {"state": "authorization", "sort": "-risk"})
    html = response.content.decode()
    assert response.status_code == 200
    assert scene["patch"].number in html
    assert scene["upgrade"].number not in html
    # The export links carry the same filters (the sort is the page's own).
    assert "/exports/changes.csv?state=authorization" in html
    assert "/exports/changes.xlsx?state=authorization" in html
    assert 'aria-sort="descending"' in html
    # The application picker offers the affected application with its global id.
    assert "Fachverfahren Meldewesen</option>" in html


def test_change_list_filters_by_application_and_search(client, manager, scene, desk):
    other = make_change(desk, [ApplicationFactory(name="Kita-Portal")], "Kita release")
    signed_in(client, manager)
    from graphql_relay import to_global_id

    response = client.get(
        reverse("itsm:changes"),
        {"application": to_global_id("ApplicationType", scene["core"].pk)},
    )
    html = response.content.decode()
    assert scene["patch"].number in html and other.number not in html
    response = client.get(reverse("itsm:changes"), {"search": "Kita"})
    html = response.content.decode()
    assert other.number in html and scene["patch"].number not in html


def test_change_list_sorts_by_planned_start(client, manager, desk):
    app = ApplicationFactory()
    late = make_change(desk, [app], "Late", start=WHEN + datetime.timedelta(days=3))
    early = make_change(desk, [app], "Early", start=WHEN)
    signed_in(client, manager)
    html = client.get(reverse("itsm:changes"), {"sort": "planned_start"}).content.decode()
    assert html.index(early.number) < html.index(late.number)
    html = client.get(reverse("itsm:changes"), {"sort": "-planned_start"}).content.decode()
    assert html.index(late.number) < html.index(early.number)


def test_change_list_answers_htmx_with_the_table_alone(client, manager, scene):
    signed_in(client, manager)
    response = client.get(reverse("itsm:changes"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert scene["patch"].number in html
    assert "<h1>" not in html


def test_change_list_query_count_does_not_grow(
    client, manager, desk, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    app = ApplicationFactory()
    make_change(desk, [app], "First")
    signed_in(client, manager)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("itsm:changes")).status_code == 200
    for index in range(15):
        make_change(desk, [app, ApplicationFactory()], f"Change {index}", assignee=desk)
    with django_assert_max_num_queries(len(few)):
        assert client.get(reverse("itsm:changes")).status_code == 200


# --- change page -----------------------------------------------------------------------------


def test_change_page_shows_facts_risk_impact_approvals_conflicts_history(client, manager, scene):
    signed_in(client, manager)
    html = client.get(detail_url(scene["patch"])).content.decode()
    assert "Patch Meldewesen" in html
    assert "Vendor advisory" in html and "Restore the VM snapshot." in html
    assert "2030-03-12 20:00" in html
    # Risk with its factors.
    assert "Criticality" in html and "Dependent applications" in html
    assert "Failure rate of earlier changes" in html
    # Impact: the portal depends on Meldewesen.
    assert "Serviceportal" in html
    assert "1 application depends on the affected ones" in html
    # Approvals: a change manager is required, no decision yet.
    assert "Change manager" in html and ">open<" in html
    # Conflicts: the database upgrade on the same application at the same time.
    assert scene["upgrade"].number in html and "Same application" in html
    # History.
    assert "authorization requested" in html and "submitted for assessment" in html


def offered(html: str) -> set[str]:
    return set(re.findall(r'name="action" value="([a-z_]+)"', html))


def test_steps_offered_follow_state_and_roles(client, manager, desk, scene):
    signed_in(client, manager)
    html = client.get(detail_url(scene["patch"])).content.decode()
    assert offered(html) == {"approve", "reject", "schedule", "cancel"}
    assert 'name="approve-expected_version"' in html
    # The requester (service desk) may not decide on it: four eyes.
    signed_in(client, desk)
    html = client.get(detail_url(scene["patch"])).content.decode()
    assert offered(html) == {"schedule", "cancel"}
    html = client.get(detail_url(scene["upgrade"])).content.decode()
    assert offered(html) == {"assess", "request_authorization", "cancel"}


def test_approve_on_the_change_page(client, manager, scene):
    signed_in(client, manager)
    patch = scene["patch"]
    response = client.post(
        detail_url(patch),
        {
            "action": "approve",
            "approve-expected_version": patch.version,
            "approve-slot": "role:change_manager",
            "approve-comment": "Fine with the back-out plan.",
        },
        follow=True,
    )
    assert response.status_code == 200
    approval = ChangeApproval.objects.get(change=patch)
    assert (approval.approver, approval.decision) == (manager, ApprovalDecision.APPROVED)
    assert approval.comment == "Fine with the back-out plan."
    assert f"{patch.number}: Approved." in response.content.decode()


def test_refusal_is_shown_next_to_the_field_with_input_kept(client, desk, scene):
    signed_in(client, desk)
    patch = scene["patch"]
    response = client.post(
        detail_url(patch),
        {
            "action": "cancel",
            "cancel-expected_version": patch.version,
            "cancel-reason": "   ",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Say why the change is cancelled." in form_errors(html)
    patch.refresh_from_db()
    assert patch.state == ChangeState.AUTHORIZATION


def test_schedule_refusal_keeps_the_window_entered(client, desk, scene):
    signed_in(client, desk)
    patch = scene["patch"]
    response = client.post(
        detail_url(patch),
        {
            "action": "schedule",
            "schedule-expected_version": patch.version,
            "schedule-planned_start": "2030-03-12T22:00",
            "schedule-planned_end": "2030-03-12T21:00",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The planned end must be after the planned start." in html
    assert 'value="2030-03-12T22:00"' in html and 'value="2030-03-12T21:00"' in html
    # The step's form is open so that the user sees the error.
    assert re.search(r'id="step-schedule" open', html)


def test_missing_approval_is_a_refusal_above_the_form(client, desk, scene):
    signed_in(client, desk)
    patch = scene["patch"]
    response = client.post(
        detail_url(patch),
        {"action": "schedule", "schedule-expected_version": patch.version},
    )
    assert response.status_code == 400
    assert "Approvals missing: Change manager." in response.content.decode()


def test_stale_form_is_refused_as_a_conflict(client, desk, scene):
    signed_in(client, desk)
    patch = scene["patch"]
    response = client.post(
        detail_url(patch),
        {
            "action": "cancel",
            "cancel-expected_version": patch.version - 1,
            "cancel-reason": "Not needed any more",
        },
    )
    assert response.status_code == 400
    assert "Someone else changed this change" in response.content.decode()
    patch.refresh_from_db()
    assert patch.state == ChangeState.AUTHORIZATION


def test_a_step_the_user_may_not_take_is_refused_not_crashed(client, desk, scene):
    signed_in(client, desk)
    patch = scene["patch"]
    response = client.post(
        detail_url(patch),
        {"action": "approve", "approve-expected_version": patch.version, "approve-comment": "ok"},
    )
    assert response.status_code == 403
    assert "You are not one of the approvers this change needs." in response.content.decode()
    assert not ChangeApproval.objects.exists()


def test_four_eyes_refusal_on_the_page(client, manager):
    own = to_authorization(make_change(manager, [ApplicationFactory()], "Own"), manager)
    signed_in(client, manager)
    html = client.get(detail_url(own)).content.decode()
    assert "approve" not in offered(html)
    response = client.post(
        detail_url(own),
        {
            "action": "approve",
            "approve-expected_version": own.version,
            "approve-slot": "role:change_manager",
        },
    )
    assert response.status_code == 403
    assert "You cannot decide on a change you requested yourself." in response.content.decode()
    assert not ChangeApproval.objects.exists()


def test_whole_lifecycle_through_the_page(client, desk, manager, scene):
    patch = scene["patch"]
    svc.cancel_change(scene["upgrade"], user=desk, reason="Merged into the patch")

    def step(user, action, **fields):
        patch.refresh_from_db()
        signed_in(client, user)
        data = {"action": action, f"{action}-expected_version": patch.version}
        data.update({f"{action}-{name}": value for name, value in fields.items()})
        response = client.post(detail_url(patch), data)
        assert response.status_code == 302, form_errors(response.content.decode())

    step(manager, "approve", comment="ok")
    step(desk, "schedule", planned_start="2030-03-12T20:00", planned_end="2030-03-12T23:00")
    step(desk, "start")
    step(desk, "complete", outcome="successful", notes="Went well")
    step(manager, "close", review_notes="No incidents afterwards.")
    patch.refresh_from_db()
    assert patch.state == ChangeState.CLOSED
    assert patch.review_notes == "No incidents afterwards."


def test_change_page_query_count_does_not_grow(
    client, manager, desk, make_user, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Few: a high-risk change (a change manager and one owning team must approve) on one
    # application, with one conflicting change.
    team = TeamFactory(members=[manager])
    critical = ApplicationFactory(criticality=Criticality.MISSION_CRITICAL, owner_team=team)
    for _ in range(10):
        InterfaceFactory(provider=critical, consumers=[ApplicationFactory()])
    few = to_authorization(make_change(desk, [critical], "Small change"), desk)
    assert few.risk == "high"
    make_change(desk, [critical], "Overlapping small")
    signed_in(client, manager)
    with CaptureQueriesContext(connection) as baseline:
        assert client.get(detail_url(few)).status_code == 200

    # Many applications and dependents, owning teams, conflicts, decisions and history.
    apps = [
        ApplicationFactory(criticality=Criticality.MISSION_CRITICAL, owner_team=team)
        for _ in range(6)
    ]
    for app in apps:
        InterfaceFactory(provider=app, consumers=[ApplicationFactory() for _ in range(3)])
    big = to_authorization(make_change(desk, apps, "Big change"), desk)
    for index in range(6):
        make_change(desk, [apps[index]], f"Overlapping {index}")
    svc.approve_change(big, user=make_user("change2", "change_manager"), role="change_manager")
    assert big.risk == "high"
    with django_assert_max_num_queries(len(baseline)):
        html = client.get(detail_url(big)).content.decode()
    assert "Owning team" in html and "Overlapping 5" in html and "18 applications depend" in html


# --- calendar --------------------------------------------------------------------------------


def test_week_calendar_shows_changes_freeze_and_conflicts(client, manager, scene):
    signed_in(client, manager)
    response = client.get(reverse("itsm:change-calendar"), {"view": "week", "date": WEEK})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Week from 2030-03-11 to 2030-03-17" in html
    assert scene["patch"].number in html and scene["upgrade"].number in html
    assert "Freeze: Budget freeze" in html
    # Both changes are marked as conflicting, with text (not colour alone).
    assert html.count('class="conflict-flag"') == 2
    assert "2 changes in this period" in html and "2 with conflicts" in html
    assert '<th scope="col">Monday</th>' in html
    assert "date=2030-03-04" in html and "date=2030-03-18" in html  # previous, next


def test_month_calendar_and_navigation(client, manager, scene):
    signed_in(client, manager)
    html = client.get(
        reverse("itsm:change-calendar"), {"view": "month", "date": WEEK}
    ).content.decode()
    assert "March 2030" in html
    assert scene["patch"].number in html
    assert "date=2030-02-01" in html and "date=2030-04-01" in html
    # An empty month says so.
    html = client.get(
        reverse("itsm:change-calendar"), {"view": "month", "date": "2030-06-01"}
    ).content.decode()
    assert "No change is planned in this period." in html
    # Bad input falls back to this week instead of failing.
    response = client.get(reverse("itsm:change-calendar"), {"date": "x"})
    monday = timezone.localdate() - datetime.timedelta(days=timezone.localdate().weekday())
    assert response.status_code == 200
    assert f"Week from {monday.isoformat()}" in response.content.decode()


def test_freeze_window_conflict_is_marked(client, manager, desk, scene):
    during = make_change(
        desk,
        [ApplicationFactory()],
        "Thursday release",
        start=datetime.datetime(2030, 3, 14, 10, 0, tzinfo=BERLIN),
    )
    signed_in(client, manager)
    html = client.get(
        reverse("itsm:change-calendar"), {"view": "week", "date": WEEK}
    ).content.decode()
    row = html[html.index(f">{during.number}</a></td>") :]
    row = row[: row.index("</tr>")]
    assert "Freeze window" in row and "Budget freeze" in row


def test_calendar_query_count_does_not_grow(client, manager, desk, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    build_scene(desk)
    # The baseline already has every kind of conflict, so that only the number of rows grows.
    make_change(
        desk, [ApplicationFactory()], "In the freeze", start=WHEN + datetime.timedelta(days=2)
    )
    signed_in(client, manager)
    params = {"view": "month", "date": WEEK}
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("itsm:change-calendar"), params).status_code == 200
    hub = ApplicationFactory()
    for index in range(12):
        app = ApplicationFactory()
        InterfaceFactory(provider=hub, consumers=[app])
        make_change(desk, [app], f"Release {index}", start=WHEN + datetime.timedelta(days=index))
        make_change(desk, [hub], f"Hub {index}", start=WHEN + datetime.timedelta(days=index))
    FreezeWindow.objects.create(
        name="Second freeze", start=WHEN, end=WHEN + datetime.timedelta(days=2)
    ).applications.add(hub)
    with django_assert_max_num_queries(len(few)):
        html = client.get(reverse("itsm:change-calendar"), params).content.decode()
    assert "Hub 11" in html and "Second freeze" in html


# --- CAB -------------------------------------------------------------------------------------


def cab_items(html: str) -> list[str]:
    """The numbers of the changes listed as awaiting a decision."""
    return re.findall(r'<h3 id="cab-\d+"><a href="[^"]+">([^<]+)</a>', html)


def test_cab_lists_what_awaits_my_decision_and_approves(client, manager, scene):
    signed_in(client, manager)
    html = client.get(reverse("itsm:cab")).content.decode()
    patch = scene["patch"]
    assert cab_items(html) == [patch.number]
    assert "1 conflict" in html
    response = client.post(
        reverse("itsm:cab"),
        {
            "action": "approve",
            "change": patch.number,
            f"approve-{patch.pk}-expected_version": patch.version,
            f"approve-{patch.pk}-slot": "role:change_manager",
            f"approve-{patch.pk}-comment": "Approved in the CAB meeting.",
        },
    )
    assert response.status_code == 302
    html = client.get(reverse("itsm:cab")).content.decode()
    waiting, recent = html.split("Recently decided")
    assert cab_items(waiting) == [] and "Nothing awaits your decision." in waiting
    assert patch.number in recent and "Approved in the CAB meeting." in recent


def test_cab_rejection_needs_a_comment(client, manager, scene):
    signed_in(client, manager)
    patch = scene["patch"]
    prefix = f"reject-{patch.pk}"
    response = client.post(
        reverse("itsm:cab"),
        {"action": "reject", "change": patch.number, f"{prefix}-expected_version": patch.version},
    )
    assert response.status_code == 400
    assert "Say why the change is rejected." in form_errors(response.content.decode())
    patch.refresh_from_db()
    assert patch.state == ChangeState.AUTHORIZATION
    response = client.post(
        reverse("itsm:cab"),
        {
            "action": "reject",
            "change": patch.number,
            f"{prefix}-expected_version": patch.version,
            f"{prefix}-comment": "Too close to the budget freeze.",
        },
    )
    assert response.status_code == 302
    patch.refresh_from_db()
    assert patch.state == ChangeState.REJECTED


def test_cab_never_offers_my_own_change(client, make_user, manager, desk):
    app = ApplicationFactory()
    mine = to_authorization(make_change(manager, [app], "My own change"), manager)
    theirs = to_authorization(make_change(desk, [app], "Their change"), desk)
    signed_in(client, manager)
    assert cab_items(client.get(reverse("itsm:cab")).content.decode()) == [theirs.number]
    # Both await authorization: another change manager is offered both.
    signed_in(client, make_user("change2", "change_manager"))
    items = cab_items(client.get(reverse("itsm:cab")).content.decode())
    assert sorted(items) == sorted([mine.number, theirs.number])


# --- the set-wise read functions -------------------------------------------------------------


def _key(conflict):
    other = getattr(conflict.other, "number", None) or conflict.other.name
    return (conflict.kind, other, tuple(conflict.application_ids), tuple(conflict.path))


def test_conflicts_for_changes_matches_conflicts_for(desk, scene):
    a, b, c = (ApplicationFactory() for _ in range(3))
    InterfaceFactory(provider=a, consumers=[b])
    InterfaceFactory(provider=b, consumers=[c])
    first = make_change(desk, [a], "On A")
    second = make_change(desk, [c], "On C", start=WHEN + datetime.timedelta(hours=2))
    third = make_change(desk, [scene["core"], b], "On core and B")
    during_freeze = make_change(
        desk, [a], "Thursday", start=datetime.datetime(2030, 3, 14, 9, 0, tzinfo=BERLIN)
    )
    changes = [scene["patch"], scene["upgrade"], first, second, third, during_freeze]
    found = conflict_svc.conflicts_for_changes(changes)
    for change in changes:
        expected = sorted(map(_key, conflict_svc.conflicts_for(change)))
        assert sorted(map(_key, found[change.pk])) == expected, change.title
    assert found[second.pk], "C depends on A within two steps"
    assert any(c.kind == "freeze_window" for c in found[during_freeze.pk])


def test_changes_awaiting_approval_matches_required_approvals(make_user, desk, manager):
    team = TeamFactory(members=[manager])
    critical = ApplicationFactory(criticality=Criticality.MISSION_CRITICAL, owner_team=team)
    for _ in range(10):
        InterfaceFactory(provider=critical, consumers=[ApplicationFactory()])
    high = to_authorization(make_change(desk, [critical], "High risk"), desk)
    assert high.risk == "high"
    low = to_authorization(make_change(desk, [ApplicationFactory()], "Low risk"), desk)
    waiting = dict(
        (change.pk, [s.label for s in slots])
        for change, slots in svc.changes_awaiting_approval(manager)
    )
    assert set(waiting) == {high.pk, low.pk}
    assert len(waiting[high.pk]) == 2  # the change manager and the owning team
    svc.approve_change(high, user=manager, role="change_manager")
    waiting = dict(
        (change.pk, [s.label for s in slots])
        for change, slots in svc.changes_awaiting_approval(manager)
    )
    expected = [s.label for s in svc.required_approvals(Change.objects.get(pk=high.pk))]
    assert waiting[high.pk] == [label for label in expected if "team" in label.lower()]
    # Someone outside the team and without the role has nothing to decide.
    assert svc.changes_awaiting_approval(make_user("arch", "architect")) == []

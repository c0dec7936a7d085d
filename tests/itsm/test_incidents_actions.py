"""incident_actions: the steps a page offers on an incident, by state and role."""

import pytest
from django.contrib.auth.models import AnonymousUser

from itsm.services import incidents as svc

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(calendar, desk, requester):
    return svc.open_incident(
        user=desk, title="Portal login fails", impact="medium", urgency="high", caller=requester
    )


def test_new_incident_offers_the_agent_assignment_and_cancel(incident, desk, team):
    assert svc.incident_actions(incident, desk) == [
        "take", "assign", "priority", "comment", "link_problem", "cancel",
    ]  # fmt: skip


def test_take_needs_a_team_and_someone_else_assigned(incident, make_user, desk, team):
    loner = make_user("loner", "service_desk")
    assert "take" not in svc.incident_actions(incident, loner)
    svc.assign_incident(incident, user=desk, team=team, assignee=desk)
    incident.refresh_from_db()
    assert "take" not in svc.incident_actions(incident, desk)


def test_work_in_progress_pending_and_resolved(incident, desk, agent, team):
    incident = svc.assign_incident(incident, user=desk, team=team, assignee=agent)
    assert svc.incident_actions(incident, agent) == [
        "start", "assign", "pending", "resolve", "priority", "comment", "link_problem", "cancel",
    ]  # fmt: skip
    assert "take" in svc.incident_actions(incident, desk)
    incident = svc.set_pending(incident, user=agent, reason="awaiting_caller")
    offered = svc.incident_actions(incident, agent)
    assert "resume" in offered and "start" not in offered and "pending" not in offered
    incident = svc.resolve_incident(
        incident, user=agent, resolution_code="solved_permanently", resolution_notes="done"
    )
    assert svc.incident_actions(incident, agent) == ["reopen", "close", "comment", "link_problem"]
    incident = svc.close_incident(incident, user=agent)
    assert svc.incident_actions(incident, agent) == ["comment", "link_problem"]


def test_the_caller_comments_and_reopens_or_closes_once_resolved(incident, desk, requester, team):
    assert svc.incident_actions(incident, requester) == ["comment"]
    incident = svc.assign_incident(incident, user=desk, team=team, assignee=desk)
    incident = svc.resolve_incident(
        incident, user=desk, resolution_code="solved_permanently", resolution_notes="done"
    )
    assert svc.incident_actions(incident, requester) == ["reopen", "close", "comment"]


def test_others_see_no_step_or_only_comments(incident, make_user):
    assert svc.incident_actions(incident, make_user("auditor", "auditor")) == []
    assert svc.incident_actions(incident, make_user("other", "requester")) == []
    assert svc.incident_actions(incident, AnonymousUser()) == []
    # Change managers write work notes on any incident, nothing else while it is open.
    manager = make_user("manager", "change_manager")
    assert svc.incident_actions(incident, manager) == ["comment"]
    assert svc.can_write_work_notes(manager)
    assert not svc.can_write_work_notes(make_user("architect", "architect"))

"""problem_actions: the steps a page offers on a problem, by state and role."""

import pytest

from itsm.services import problems

pytestmark = pytest.mark.django_db


def test_steps_follow_the_problem_lifecycle(desk):
    problem = problems.open_problem(user=desk, title="Certificate chain")
    assert problems.problem_actions(problem, desk) == ["investigate", "edit", "cancel"]
    problem = problems.transition_problem(problem, user=desk, to_state="investigating")
    assert problems.problem_actions(problem, desk) == ["known_error", "resolve", "edit", "cancel"]
    problem = problems.transition_problem(
        problem, user=desk, to_state="known_error", workaround="Use the backup URL"
    )
    assert problems.problem_actions(problem, desk) == ["resolve", "edit", "cancel"]
    problem = problems.transition_problem(
        problem, user=desk, to_state="resolved", root_cause="Old intermediate"
    )
    assert problems.problem_actions(problem, desk) == ["investigate", "close", "edit"]
    problem = problems.transition_problem(problem, user=desk, to_state="closed")
    assert problems.problem_actions(problem, desk) == []


def test_only_problem_roles_get_steps(desk, make_user):
    problem = problems.open_problem(user=desk, title="Certificate chain")
    assert problems.problem_actions(problem, make_user("manager", "change_manager"))
    assert problems.problem_actions(problem, make_user("architect", "architect"))
    for role in ("auditor", "procurement", "requester"):
        assert problems.problem_actions(problem, make_user(role, role)) == []

"""Problem management and the known error database."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from itsm.choices import PROBLEM_TRANSITIONS, ProblemState
from itsm.models import Incident, Problem, next_number
from landkarte.roles import CHANGE_MANAGER, SERVICE_DESK, has_role, require_role
from landkarte.services import field_error as error
from landkarte.services import history_reason, lock_for_update

PROBLEM_ROLES = (SERVICE_DESK, CHANGE_MANAGER, "architect")


def _lock(problem: Problem, expected_version: int | None) -> Problem:
    return lock_for_update(problem, expected_version)


def _save(problem: Problem, user, reason: str) -> None:
    problem.version += 1
    problem.full_clean(exclude=["applications", "components", "changes"])
    problem._history_user = user
    problem._change_reason = history_reason(reason)
    problem.save()


@transaction.atomic
def open_problem(
    *, user, title: str, description: str = "", applications=(), components=(),
    incidents=(), assigned_team=None, assignee=None, now=None,
) -> Problem:  # fmt: skip
    require_role(user, *PROBLEM_ROLES)
    now = now or timezone.now()
    problem = Problem(
        title=title, description=description, assigned_team=assigned_team,
        assignee=assignee, opened_at=now,
    )  # fmt: skip
    problem.full_clean(exclude=["number", "applications", "components", "changes"])
    problem.number = next_number("PRB", timezone.localtime(now).year)
    problem._history_user = user
    problem._change_reason = "opened"
    problem.save()
    problem.applications.set(applications)
    problem.components.set(components)
    for incident in incidents:
        link_incident(problem, incident, user=user)
    return problem


@transaction.atomic
def transition_problem(
    problem, *, user, to_state: str, root_cause=None, workaround=None, expected_version=None,
    now=None,
) -> Problem:  # fmt: skip
    """Move a problem on. A known error needs a workaround; resolving needs the root cause."""
    require_role(user, *PROBLEM_ROLES)
    now = now or timezone.now()
    problem = _lock(problem, expected_version)
    if to_state not in PROBLEM_TRANSITIONS[problem.state]:
        raise error(
            "state",
            _("A problem cannot go from %(from)s to %(to)s.")
            % {"from": ProblemState(problem.state).label, "to": ProblemState(to_state).label},
            "invalid_transition",
        )
    if root_cause is not None:
        problem.root_cause = root_cause
    if workaround is not None:
        problem.workaround = workaround
    if to_state == ProblemState.KNOWN_ERROR:
        if not problem.workaround.strip():
            raise error("workaround", _("Document the workaround first."), "required")
        problem.is_known_error = True
    if to_state == ProblemState.RESOLVED:
        if not problem.root_cause.strip():
            raise error("root_cause", _("Document the root cause first."), "required")
        problem.resolved_at = now
    if to_state in (ProblemState.CLOSED, ProblemState.CANCELLED):
        problem.closed_at = now
    if to_state == ProblemState.INVESTIGATING and problem.state == ProblemState.RESOLVED:
        problem.resolved_at = None
    previous = problem.state
    problem.state = to_state
    _save(problem, user, f"{previous} -> {to_state}")
    return problem


@transaction.atomic
def update_problem(problem, *, user, expected_version=None, **fields) -> Problem:
    require_role(user, *PROBLEM_ROLES)
    problem = _lock(problem, expected_version)
    allowed = {"title", "description", "root_cause", "workaround", "assigned_team", "assignee"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: ValidationError(_("Unknown field."), "unknown")
                               for name in unknown})  # fmt: skip
    for name, value in fields.items():
        setattr(problem, name, value)
    _save(problem, user, "updated " + ", ".join(sorted(fields)))
    return problem


def link_incident(problem: Problem, incident: Incident, *, user) -> None:
    from itsm.services.incidents import link_problem

    link_problem(incident, user=user, problem=problem)


def search_known_errors(*, text: str = "", applications=(), components=()):
    """The known error database: known errors that are not closed, by text, application or
    component (any of them)."""
    queryset = Problem.objects.filter(is_known_error=True).exclude(
        state__in=[ProblemState.CLOSED, ProblemState.CANCELLED]
    )
    if text:
        words = [w for w in text.split() if w]
        for word in words:
            queryset = queryset.filter(
                Q(title__icontains=word) | Q(description__icontains=word)
                | Q(workaround__icontains=word) | Q(root_cause__icontains=word)
                | Q(number__iexact=word)
            )  # fmt: skip
    scope = Q()
    if applications:
        scope |= Q(applications__in=list(applications))
    if components:
        scope |= Q(components__in=list(components))
    if scope:
        queryset = queryset.filter(scope)
    return queryset.distinct()


# --- reading for pages (appended) -------------------------------------------------------------


def problem_actions(problem: Problem, user) -> list[str]:
    """The steps `user` may try on `problem` in its current state, from the transition table
    and the roles `transition_problem` / `update_problem` require (pages offer exactly these,
    in this order): investigate, known_error, resolve, close, edit (record root cause and
    workaround while the problem is not closed or cancelled), cancel."""
    if not has_role(user, *PROBLEM_ROLES):
        return []
    targets = PROBLEM_TRANSITIONS[problem.state]
    offered = {
        "investigate": ProblemState.INVESTIGATING in targets,
        "known_error": ProblemState.KNOWN_ERROR in targets,
        "resolve": ProblemState.RESOLVED in targets,
        "close": ProblemState.CLOSED in targets,
        "edit": bool(targets),
        "cancel": ProblemState.CANCELLED in targets,
    }
    return [name for name, allowed in offered.items() if allowed]

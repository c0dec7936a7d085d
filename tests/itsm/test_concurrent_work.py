"""Parallel service-desk workers on the same tickets while an import runs (issue 8, point 5).

On PostgreSQL each worker and the import run in a thread of their own, with their own database
connection, released together by a barrier: real row locks, real races. On SQLite, which
serialises writers on the whole database (and whose in-memory test database refuses concurrent
writers instead of waiting), the same workers' steps are interleaved in a seeded random order on
one connection, so other workers' writes fall between a worker's read and its write — the stale
reads that a lost update needs. Both check the same invariants (`TicketStress.check()`): every
accepted write is present at its version with its user and reason, every refusal is a conflict
or a refused transition, numbers are unique and gap-free, history and timeline are complete.
`python manage.py stress_tickets --confirm` runs the scenario at a larger scale.
"""

from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from itsm.models import Incident
from itsm.services import incidents as incident_svc
from landkarte.management.commands.stress_tickets import ALLOWED_REFUSALS, Outcome, TicketStress

IS_POSTGRESQL = connection.vendor == "postgresql"


def run_scenario(tmp_path, **kwargs) -> TicketStress:
    scenario = TicketStress(directory=tmp_path, **kwargs)
    scenario.setup()
    if connection.vendor == "postgresql":
        scenario.run_threads()
    else:
        scenario.run_interleaved()
    print(scenario.report())
    return scenario


@pytest.mark.django_db(transaction=True)
def test_parallel_workers_lose_no_write_while_an_import_runs(tmp_path):
    scenario = run_scenario(
        tmp_path, workers=6, operations=30, opens=3, incidents=3, changes=2, import_rows=300
    )
    problems = scenario.check()
    assert problems == [], "\n".join(problems)
    assert scenario.mode == ("threads" if IS_POSTGRESQL else "interleaved")

    counts = scenario.counts()
    totals = Counter()
    for counter in counts.values():
        totals.update(counter)
    assert totals["unexpected"] == 0
    # Every kind of step was tried, and the ticket steps were accepted at least sometimes.
    assert set(counts) >= {
        "assign", "start", "pending", "comment", "resolve", "reopen", "priority",
        "change_update", "change_assess", "open_incident", "create_change",
    }  # fmt: skip
    for kind in ("assign", "comment", "priority", "change_update", "open_incident"):
        assert counts[kind]["accepted"] > 0, (kind, counts[kind])
    # Creations are never refused: 6 workers x 3 incidents, and a change for every other one.
    assert counts["open_incident"] == Counter(accepted=18)
    refusals = {key for key in totals if key.startswith("refused ")}
    assert refusals <= {f"refused {field}/{code}" for field, code in ALLOWED_REFUSALS}
    # Workers really raced: stale versions were sent and refused, and steps were refused
    # because another worker had moved the ticket (the interleaving on SQLite is seeded; six
    # threads on three incidents with a pause between read and write always collide).
    assert totals["refused version/conflict"] > 0
    assert totals["refused state/invalid_transition"] > 0
    # Refusals wrote nothing: each shared ticket moved exactly once per accepted write.
    for pk in scenario.incident_pks:
        accepted = sum(
            1 for o in scenario.outcomes
            if o.model == "incident" and o.pk == pk and o.accepted and o.version
        )  # fmt: skip
        incident = Incident.objects.get(pk=pk)
        assert incident.version == scenario.baseline[("incident", pk)] + accepted
        assert incident.history.filter(history_user__isnull=True).count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_check_finds_a_lost_write(tmp_path):
    """The checker itself can fail: an accepted write that the database does not hold (as a
    lost update would leave it) and an unlisted refusal code are both reported."""
    scenario = run_scenario(
        tmp_path, workers=2, operations=4, opens=1, incidents=1, changes=1, import_rows=10
    )
    assert scenario.check() == []
    pk = scenario.incident_pks[0]
    incident = Incident.objects.get(pk=pk)
    ghost = Outcome(0, "priority", "incident", pk, scenario.agents[0].pk, versioned=True)
    ghost.accepted, ghost.version = True, incident.version + 1
    ghost.snapshot = {"state": incident.state, "priority": "p1", "assignee_id": None}
    odd = Outcome(1, "resolve", "incident", pk, scenario.agents[1].pk)
    odd.refusals = [("resolution_code", "required")]
    scenario.outcomes += [ghost, odd]
    problems = "\n".join(scenario.check())
    assert f"{incident.number}: version {incident.version}" in problems
    assert f"no history for version {incident.version + 1}" in problems
    assert "refused with [('resolution_code', 'required')]" in problems


@pytest.mark.django_db(transaction=True)
def test_start_work_does_not_bypass_reopening(tmp_path):
    """Found by the scenario: a worker pressing "start" without a version after another one
    resolved the incident moved it back to work with its resolution still set and without
    counting a reopen. A resolved incident goes back to work only by reopening it."""
    scenario = TicketStress(directory=tmp_path, workers=1, incidents=1, changes=1, import_rows=4)
    scenario.setup()
    agent = scenario.agents[0]
    incident = Incident.objects.get(pk=scenario.incident_pks[0])
    incident = incident_svc.resolve_incident(
        incident, user=agent, resolution_code="solved_workaround", resolution_notes="restarted"
    )
    with pytest.raises(ValidationError) as exc:
        incident_svc.start_work(incident, user=agent)
    assert exc.value.error_dict["state"][0].code == "invalid_transition"
    incident.refresh_from_db()
    assert (incident.state, incident.resolution_code) == ("resolved", "solved_workaround")
    incident = incident_svc.reopen_incident(incident, user=agent, reason="still broken")
    assert (incident.state, incident.reopen_count, incident.resolved_at) == ("in_progress", 1, None)

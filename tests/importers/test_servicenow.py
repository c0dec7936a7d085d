"""The ServiceNow incident audit log importer, on two samples of the UCI event log.

Expected values were read by hand from the CSV rows (`grep '^INC0000045,' ...`)."""

import datetime
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from cmdb.models import Application, OrgUnit, Team, Vendor
from importers.servicenow import ServiceNowIncidentImporter
from itsm.models import Change, Incident, IncidentEvent, Problem

DATA = Path(__file__).resolve().parent.parent / "data" / "servicenow"
FIRST = DATA / "uci_incident_event_log_first2000.csv"
LINKED = DATA / "uci_incident_event_log_linked_rfc_problem_ci_vendor.csv"
UTC = datetime.UTC


@pytest.fixture
def user(make_user):
    return make_user("importer")


def run(path, user, **kwargs):
    return ServiceNowIncidentImporter(path, user=user, **kwargs).execute()


def state_changes(number):
    return list(
        IncidentEvent.objects.filter(incident__number=number, kind="state_change")
        .order_by("at", "id")
        .values_list("from_state", "to_state")
    )


def counts():
    return {
        "incidents": Incident.objects.count(),
        "incident history": Incident.history.count(),
        "events": IncidentEvent.objects.count(),
        "teams": Team.objects.count(),
        "team history": Team.history.count(),
        "applications": Application.objects.count(),
        "vendors": Vendor.objects.count(),
        "problems": Problem.objects.count(),
        "changes": Change.objects.count(),
        "change history": Change.history.count(),
        "incident apps": Incident.applications.through.objects.count(),
        "problem changes": Problem.changes.through.objects.count(),
    }


@pytest.mark.django_db
def test_first_file_imports_with_hand_checked_incidents(user):
    result = run(FIRST, user)
    assert result.written, result.errors
    assert result.errors == []
    assert Incident.objects.count() == 296

    # INC0000045: New → Resolved (twice) → Closed, Group 56, 3 - Moderate, code 5, made_sla true
    inc = Incident.objects.get(number="INC0000045")
    assert inc.state == "closed"
    assert inc.priority == "p3"
    assert (inc.impact, inc.urgency) == ("medium", "medium")
    assert inc.assigned_team.name == "Group 56"
    assert inc.caller_name == "Caller 2403"
    assert inc.category == "other"
    assert "Category 55" in inc.description and "Subcategory 170" in inc.description
    assert inc.opened_at == datetime.datetime(2016, 2, 29, 1, 16, tzinfo=UTC)
    assert inc.resolved_at == datetime.datetime(2016, 2, 29, 11, 29, tzinfo=UTC)
    assert inc.closed_at == datetime.datetime(2016, 3, 5, 12, 0, tzinfo=UTC)
    assert (inc.resolution_code, inc.resolution_notes) == ("solved_permanently", "code 5")
    assert inc.resolution_breached is False
    assert state_changes("INC0000045") == [("new", "resolved"), ("resolved", "closed")]

    # INC0000047: New → Active → Awaiting User Info → Resolved → Closed; Group 70 → Group 24
    inc = Incident.objects.get(number="INC0000047")
    assert (inc.state, inc.priority, inc.assigned_team.name) == ("closed", "p3", "Group 24")
    assert inc.reassignment_count == 1
    assert state_changes("INC0000047") == [
        ("new", "in_progress"),
        ("in_progress", "pending"),
        ("pending", "resolved"),
        ("resolved", "closed"),
    ]
    assignments = IncidentEvent.objects.filter(incident=inc, kind="assignment")
    assert [e.text for e in assignments] == ["Group 70 → Group 24"]
    assert IncidentEvent.objects.filter(incident=inc, kind="created").count() == 1

    # INC0000074: Active → Awaiting User Info → Resolved → Closed, made_sla false at the end,
    # rfc CHG0000404 from sys_mod_count 9
    inc = Incident.objects.get(number="INC0000074")
    assert (inc.state, inc.assigned_team.name) == ("closed", "Group 66")
    assert inc.resolution_breached is True
    assert state_changes("INC0000074") == [
        ("in_progress", "pending"),
        ("pending", "resolved"),
        ("resolved", "closed"),
    ]
    link = IncidentEvent.objects.get(incident=inc, kind="link", data__value="CHG0000404")
    assert link.at == datetime.datetime(2016, 3, 21, 11, 7, tzinfo=UTC)
    change = Change.objects.get(number="CHG0000404")
    assert (change.title, change.state, change.change_type) == ("imported", "draft", "normal")
    assert change.requested_by == user

    # INC0000130: two rows with sys_mod_count 2; ordered by sys_mod_count, then time
    assert state_changes("INC0000130") == [
        ("new", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "closed"),
    ]
    assert Incident.objects.get(number="INC0000130").assigned_team.name == "Group 73"

    # INC0000057: "Problem ID  2" (double space) from sys_mod_count 2
    inc = Incident.objects.get(number="INC0000057")
    assert inc.problem.number == "PRB-SN-2"
    assert inc.problem.title == "imported: Problem ID 2"


@pytest.mark.django_db
def test_linked_file_placeholders_are_marked(user):
    result = run(LINKED, user)
    assert result.written, result.errors
    assert Incident.objects.count() == 303

    unit = OrgUnit.objects.get(code="IMPORT")
    assert unit.kind == "administration"
    assert (
        Team.objects.filter(org_unit=unit).count() == Team.objects.count() == 39
    )  # 40 values incl. "?"
    team = Team.objects.get(name="Group 25")
    assert team.external_id == "servicenow:group:Group 25"
    assert team.history.first().history_change_reason == "import: servicenow incidents"
    assert team.history.first().history_user == user

    # INC0000820: cmdb_ci 31 on every row, 18 reassignments, made_sla false when closed
    inc = Incident.objects.get(number="INC0000820")
    assert (inc.state, inc.priority, inc.assigned_team.name) == ("closed", "p3", "Group 24")
    assert inc.reassignment_count == 18
    assert inc.resolution_breached is True
    app = inc.applications.get()
    assert app.external_id == "servicenow:ci:cmdb_ci 31"
    assert (app.name, app.kind, app.owner_org_unit) == ("cmdb_ci 31", "own_development", unit)
    assert state_changes("INC0000820") == [
        ("new", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "closed"),
    ]

    # INC0001845: Awaiting Vendor with vendor "code 8s" (sic), reassigned 25 → 9 → 25 → 9 → 25
    inc = Incident.objects.get(number="INC0001845")
    assert (inc.state, inc.assigned_team.name) == ("closed", "Group 25")
    assert state_changes("INC0001845") == [
        ("new", "in_progress"),
        ("in_progress", "pending"),
        ("pending", "resolved"),
        ("resolved", "closed"),
    ]
    assert IncidentEvent.objects.filter(incident=inc, kind="assignment").count() == 4
    vendor = Vendor.objects.get(external_id="servicenow:vendor:code 8s")
    assert (vendor.name, vendor.country) == ("code 8s", "ZZ")
    assert IncidentEvent.objects.filter(incident=inc, kind="link", data__value="code 8s").exists()

    # INC0000359: Problem ID 141 with rfc CHG0001863 → the change hangs on the problem
    problem = Problem.objects.get(number="PRB-SN-141")
    assert problem.changes.filter(number="CHG0001863").exists()
    assert Incident.objects.get(number="INC0000359").problem == problem


@pytest.mark.django_db
def test_reimport_changes_nothing(user):
    run(FIRST, user)
    run(LINKED, user)
    before = counts()
    first = run(FIRST, user)
    second = run(LINKED, user)
    assert counts() == before
    assert (first.created, first.updated, first.unchanged) == (0, 0, 296)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 303)


@pytest.mark.django_db
def test_dry_run_writes_nothing_with_correct_counts(user):
    dry = run(FIRST, user, dry_run=True)
    assert not dry.written
    assert Incident.objects.count() == 0
    assert Team.objects.count() == 0
    assert Change.objects.count() == 0
    assert IncidentEvent.objects.count() == 0
    real = run(FIRST, user)
    assert real.written
    assert (dry.created, dry.updated, dry.unchanged, dry.skipped) == (
        real.created,
        real.updated,
        real.unchanged,
        real.skipped,
    )
    # 296 incidents, placeholders: org unit IMPORT, teams, problems, changes (rfc, caused_by)
    placeholders = (
        OrgUnit.objects.count() + Team.objects.count() + Problem.objects.count()
        + Change.objects.count()
    )  # fmt: skip
    assert (OrgUnit.objects.count(), Team.objects.count()) == (1, 50)
    assert dry.created == 296 + placeholders


@pytest.mark.django_db
def test_bad_row_reports_row_and_column_and_writes_nothing(user, tmp_path):
    lines = FIRST.read_text().splitlines(keepends=True)
    # data row 3 is the third line after the header
    assert lines[3].startswith("INC0000045,Resolved,true,0,0,3,")
    lines[3] = lines[3].replace(",29/2/2016 01:16,", ",31/2/2016 01:16,", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("".join(lines))
    result = run(bad, user)
    assert not result.written
    assert len(result.errors) == 1
    error = result.errors[0]
    assert (error.row, error.column, error.value) == (3, "opened_at", "31/2/2016 01:16")
    assert "row 3" in str(error) and "opened_at" in str(error)
    assert Incident.objects.count() == 0
    assert Team.objects.count() == 0


@pytest.mark.django_db
def test_open_states_and_unknown_state(user, tmp_path):
    """A cut-off log: the incident is still open; a -100 row keeps the last valid state."""
    lines = FIRST.read_text().splitlines(keepends=True)
    rows = [line for line in lines if line.startswith("INC0000047,")]
    # New, Active ×5, Awaiting User Info; then a -100 row
    unknown = rows[6].replace("INC0000047,Awaiting User Info,", "INC0000047,-100,", 1)
    unknown = unknown.replace(",true,1,0,6,", ",true,1,0,7,", 1)
    path = tmp_path / "open.csv"
    path.write_text(lines[0] + "".join(rows[:7]) + unknown)
    result = run(path, user)
    assert result.written, result.errors
    assert result.skipped == 1
    assert result.skipped_rows[0][0] == 8
    inc = Incident.objects.get(number="INC0000047")
    assert (inc.state, inc.pending_reason) == ("pending", "awaiting_caller")
    assert inc.resolved_at is None and inc.closed_at is None
    assert inc.resolution_code == "" and inc.resolution_notes == ""
    assert state_changes("INC0000047") == [("new", "in_progress"), ("in_progress", "pending")]


@pytest.mark.django_db
def test_missing_priority_uses_matrix(user, tmp_path):
    lines = FIRST.read_text().splitlines(keepends=True)
    rows = [line for line in lines if line.startswith("INC0000045,")]
    rows = [
        row.replace(",2 - Medium,2 - Medium,3 - Moderate,", ",1 - High,1 - High,?,") for row in rows
    ]
    path = tmp_path / "prio.csv"
    path.write_text(lines[0] + "".join(rows))
    run(path, user)
    assert Incident.objects.get(number="INC0000045").priority == "p1"


@pytest.mark.django_db
def test_command(user, tmp_path, capsys):
    path = tmp_path / "sample.csv"
    shutil.copy(FIRST, path)
    call_command("import_servicenow", str(path), "--dry-run", "--as-user", "importer")
    out = capsys.readouterr().out
    assert "dry run" in out and "created" in out
    assert Incident.objects.count() == 0
    call_command("import_servicenow", str(path), "--as-user", "importer")
    assert Incident.objects.count() == 296
    assert Incident.history.filter(history_user=user).count() == 296


@pytest.mark.django_db
def test_changed_file_updates_only_what_changed(user, tmp_path):
    lines = FIRST.read_text().splitlines(keepends=True)
    run(FIRST, user)
    history = Incident.history.count()
    events = IncidentEvent.objects.count()
    # the last row of INC0000045 moves to another group
    last = max(i for i, line in enumerate(lines) if line.startswith("INC0000045,"))
    lines[last] = lines[last].replace(",Group 56,", ",Group 70,", 1)
    path = tmp_path / "changed.csv"
    path.write_text("".join(lines))
    result = run(path, user)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 295)
    inc = Incident.objects.get(number="INC0000045")
    assert inc.assigned_team.name == "Group 70"
    assert inc.version == 2
    assert Incident.history.count() == history + 1
    assert inc.history.first().history_change_reason == "import: servicenow incidents"
    # one new assignment event, nothing duplicated
    assert IncidentEvent.objects.count() == events + 1
    assert IncidentEvent.objects.get(incident=inc, kind="assignment").text == "Group 56 → Group 70"

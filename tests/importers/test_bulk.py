"""The set-based path of the importers (importers/bulk.py and the new rows of
`TabularImporter`): new applications validated as `full_clean` validates them, inserted in
batches with one history row each, in a number of queries that grows with the batches only.
Rows are numbered as in the spreadsheet: header = row 1, first data row = row 2."""

import csv
import datetime
import gc
import itertools
import math

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cmdb.models import Application, Team
from importers import bulk, tabular
from importers.bulk import ConstraintChecker, insert_with_history
from importers.servicenow import ServiceNowIncidentImporter
from importers.tabular import TabularImporter
from itsm.models import Change, Incident, Problem
from tests.importers.test_servicenow import FIRST

HEADER = [
    "name", "acronym", "kind", "owner org unit", "vendor", "criticality", "personal data",
    "active from", "phase out from", "functional fit", "users", "id",
]  # fmt: skip
KINDS = ["Fachverfahren", "standard software", "SaaS", "Eigenentwicklung"]
CRITICALITY = ["missionskritisch", "geschäftskritisch", "business operational", "administrativ"]


def app_row(i, prefix="App"):
    return [
        f"{prefix} {i}", f"{prefix[:3].upper()}{i:04d}", KINDS[i % 4], "33" if i % 2 else "STADT",
        "Dataport" if i % 3 else "-", CRITICALITY[i % 4], "ja" if i % 2 else "nein",
        f"{1 + i % 28:02d}.{1 + i % 12:02d}.2020", "", str(1 + i % 4), str(i * 7), "",
    ]  # fmt: skip


def write_csv(tmp_path, name, rows, header=HEADER):
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run(path, **kwargs):
    return TabularImporter("applications", path, **kwargs).execute()


def counted(path, **kwargs):
    with CaptureQueriesContext(connection) as queries:
        result = run(path, **kwargs)
    assert result.errors == [], [str(e) for e in result.errors[:3]]
    return result, len(queries)


# --- queries ------------------------------------------------------------------------------------


def test_queries_do_not_grow_with_the_rows(city, user, tmp_path):
    small = write_csv(tmp_path, "small.csv", [app_row(i, "Small") for i in range(20)])
    large = write_csv(tmp_path, "large.csv", [app_row(i, "Large") for i in range(200)])
    created_small, queries_small = counted(small, user=user)
    created_large, queries_large = counted(large, user=user)
    assert (created_small.created, created_large.created) == (20, 200)
    assert queries_small == queries_large
    # Re-importing (every row found, compared, unchanged) costs no query per row either.
    again_small, requeries_small = counted(small, user=user)
    again_large, requeries_large = counted(large, user=user)
    assert (again_small.unchanged, again_large.unchanged) == (20, 200)
    assert requeries_small == requeries_large


def test_queries_grow_with_the_batches_only(city, user, tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "BULK_BATCH", 50)
    one_batch = write_csv(tmp_path, "one.csv", [app_row(i, "One") for i in range(20)])
    _result, base = counted(one_batch, user=user)
    for rows in (120, 200):
        path = write_csv(tmp_path, f"r{rows}.csv", [app_row(i, f"R{rows}x") for i in range(rows)])
        result, queries = counted(path, user=user)
        assert result.created == rows
        # Per batch: one INSERT of the applications, one INSERT … SELECT of their history.
        assert queries == base + 2 * (math.ceil(rows / 50) - 1)
    assert Application.objects.count() == 20 + 120 + 200
    assert Application.history.count() == 20 + 120 + 200


# --- history ------------------------------------------------------------------------------------


def test_each_new_row_gets_one_history_row_with_user_and_reason(city, user, tmp_path):
    path = write_csv(tmp_path, "apps.csv", [app_row(i) for i in range(30)])
    result = run(path, user=user)
    assert result.created == 30 and result.written
    tracked = [f.attname for f in Application.history.model.tracked_fields]
    for app in Application.objects.all():
        record = app.history.get()
        assert record.history_type == "+"
        assert record.history_user == user
        assert record.history_change_reason == "import: applications from apps.csv"
        assert record.history_date == app.created
        # The history row is a copy of the stored row.
        assert {name: getattr(record, name) for name in tracked} == {
            name: getattr(app, name) for name in tracked
        }
    app = Application.objects.get(acronym="APP0007")
    assert (app.owner_org_unit, app.vendor) == (city["office"], city["vendor"])
    assert (app.kind, app.criticality) == ("own_development", "administrative")
    assert (app.personal_data, app.active_date) == (True, datetime.date(2020, 8, 8))
    assert (app.functional_fit, app.user_count) == (4, 49)


def test_history_written_by_the_orm_when_the_history_model_is_unusual(
    city, user, tmp_path, monkeypatch
):
    monkeypatch.setattr(bulk, "_history_columns", lambda model, history_model: None)
    result = run(write_csv(tmp_path, "apps.csv", [app_row(i) for i in range(5)]), user=user)
    assert result.created == 5
    assert Application.history.filter(history_user=user, history_type="+").count() == 5


def test_no_history_rows_when_history_is_switched_off(city, user, tmp_path, settings):
    settings.SIMPLE_HISTORY_ENABLED = False
    result = run(write_csv(tmp_path, "apps.csv", [app_row(i) for i in range(5)]), user=user)
    assert result.created == 5 and Application.history.count() == 0


def test_without_user_the_history_user_is_empty(city, tmp_path):
    run(write_csv(tmp_path, "apps.csv", [app_row(i) for i in range(3)]))
    assert set(Application.history.values_list("history_user", flat=True)) == {None}


# --- validation: the model's own rules ----------------------------------------------------------


def full_clean_messages(**values):
    """What `full_clean` says about an application with these values (references excluded:
    the importer found them in the database)."""
    app = Application(**values)
    try:
        app.full_clean(exclude=["owner_org_unit", "vendor"], validate_unique=False)
    except ValidationError as exc:
        return exc.message_dict
    return {}


def test_new_rows_are_validated_as_full_clean(city, user, tmp_path):
    base = dict(kind="saas", owner_org_unit=city["office"])
    cases = [
        # (cells that differ from a good row, the same values as model fields)
        ({"name": "N" * 201}, {"name": "N" * 201}),
        ({"acronym": "A" * 31}, {"acronym": "A" * 31}),
        ({"functional fit": "7"}, {"functional_fit": 7}),
        ({"users": "-5"}, {"user_count": -5}),
        (
            {"active from": "01.01.2020", "phase out from": "01.01.2019"},
            {"active_date": datetime.date(2020, 1, 1), "phase_out_date": datetime.date(2019, 1, 1)},
        ),
        ({"functional fit": "0", "users": "-1"}, {"functional_fit": 0, "user_count": -1}),
    ]
    rows = []
    for n, (cells, _fields) in enumerate(cases):
        row = dict(zip(HEADER, app_row(n, "Bad"), strict=True))
        row.update({"kind": "saas", "owner org unit": "33", "active from": ""}, **cells)
        rows.append([row[h] for h in HEADER])
    rows.append(app_row(99, "Good"))
    result = run(write_csv(tmp_path, "bad.csv", rows), user=user)
    assert not result.written and Application.objects.count() == 0
    columns = {
        "name": "name", "acronym": "acronym", "functional_fit": "functional fit",
        "user_count": "users", "active_date": "active from", "phase_out_date": "phase out from",
    }  # fmt: skip
    for n, (_cells, fields) in enumerate(cases):
        values = {**base, "name": f"Bad {n}", "acronym": f"BAD{n:04d}", **fields}
        expected = {
            (columns[name], " ".join(texts))
            for name, texts in full_clean_messages(**values).items()
        }
        assert expected, fields
        found = {(e.column, e.expected) for e in result.errors if e.row == n + 2}
        assert found == expected, (fields, found, expected)
    assert not [e for e in result.errors if e.row == len(cases) + 2]


@pytest.mark.django_db
def test_check_constraints_as_django_validates_them():
    """The constraints evaluated in Python (once per distinct combination of values) agree with
    Django's `validate_constraints` (a query per constraint) on every combination here."""
    checker = ConstraintChecker(Application)
    days = [None, datetime.date(2020, 1, 1), datetime.date(2021, 1, 1)]
    fits = [None, 0, 4, 5]
    combinations = itertools.product(days, days, days, fits, fits)
    for plan, active, end, functional, technical in combinations:
        app = Application(
            name="x", kind="saas", plan_date=plan, active_date=active, end_of_life_date=end,
            functional_fit=functional, technical_fit=technical,
        )  # fmt: skip
        expected = found = None
        try:
            app.validate_constraints()
        except ValidationError as exc:
            expected = sorted(exc.messages)
        try:
            checker.validate(app, exclude=set())
        except ValidationError as exc:
            found = sorted(exc.messages)
        assert found == expected, (plan, active, end, functional, technical)


# --- what is written, and when ------------------------------------------------------------------


def test_a_bad_row_after_written_batches_writes_nothing(city, user, tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "BULK_BATCH", 10)
    rows = [app_row(i) for i in range(35)]
    rows[31][2] = "unbekannt"  # kind of row 33
    path = write_csv(tmp_path, "apps.csv", rows)
    result = run(path, user=user)
    assert [(e.row, e.column, e.value) for e in result.errors] == [(33, "kind", "unbekannt")]
    assert not result.written
    assert Application.objects.count() == 0 and Application.history.count() == 0
    # Asked to: the good rows are written, with their history.
    result = run(path, user=user, skip_invalid=True)
    assert result.written and (result.created, result.skipped) == (34, 1)
    assert result.skipped_rows[0][0] == 33
    assert Application.objects.count() == Application.history.count() == 34


def test_dry_run_of_batches_writes_nothing(city, user, tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "BULK_BATCH", 10)
    result = run(write_csv(tmp_path, "apps.csv", [app_row(i) for i in range(25)]), dry_run=True)
    assert (result.created, result.written) == (25, False)
    assert Application.objects.count() == 0 and Application.history.count() == 0


def test_updates_and_creates_in_one_file(city, user, tmp_path):
    make = dict(kind="saas", owner_org_unit=city["office"])
    first = Application.objects.create(name="Erstes", acronym="AAA", external_id="E1", **make)
    Application.objects.create(name="Zweites", acronym="BBB", **make)
    rows = [app_row(i) for i in range(4)]
    rows.append(["Erstes", "AAA", "saas", "33", "-", "administrativ", "", "", "", "", "", "E1"])
    rows.append(["Umbenannt", "BBB", "saas", "33", "-", "", "", "", "", "", "", ""])
    result = run(write_csv(tmp_path, "mixed.csv", rows), user=user)
    assert result.errors == [], [str(e) for e in result.errors]
    assert (result.created, result.updated, result.unchanged) == (4, 2, 0)
    first.refresh_from_db()
    assert first.criticality == "administrative"
    latest = first.history.first()
    assert (latest.history_type, latest.history_user) == ("~", user)
    assert Application.objects.get(acronym="BBB").name == "Umbenannt"
    assert Application.history.filter(history_type="+", history_user=user).count() == 4
    # A row that keeps its external id but takes the acronym of another stored application.
    clash = [["Erstes", "BBB", "saas", "33", "-", "", "", "", "", "", "", "E1"]]
    result = run(write_csv(tmp_path, "clash.csv", clash), user=user)
    assert [(e.row, e.column, e.value) for e in result.errors] == [(2, "acronym", "BBB")]
    assert "Umbenannt (BBB)" in result.errors[0].expected


def test_rows_without_acronym_match_by_name(city, user, tmp_path):
    make = dict(kind="saas", owner_org_unit=city["office"])
    archive = Application.objects.create(name="Archiv", **make)
    Application.objects.create(name="Portal", acronym="POR", **make)
    rows = [
        ["archiv", "", "saas", "33", "-", "administrativ", "", "", "", "", "", ""],
        ["Portal", "", "saas", "33", "-", "", "", "", "", "", "", ""],
    ]
    result = run(write_csv(tmp_path, "names.csv", rows), user=user)
    assert result.errors == [], [str(e) for e in result.errors]
    # Only an application without acronym is found by its name alone.
    assert (result.created, result.updated) == (1, 1)
    archive.refresh_from_db()
    assert archive.criticality == "administrative"
    assert Application.objects.filter(name="Portal").count() == 2


def test_duplicates_within_the_file(city, user, tmp_path):
    rows = [app_row(i) for i in range(5)]
    rows.append(["Noch einmal", "app0003", "saas", "33", "", "", "", "", "", "", "", ""])
    result = run(write_csv(tmp_path, "dup.csv", rows), user=user)
    assert [(e.row, e.column) for e in result.errors] == [(7, "acronym")]
    assert "row 5" in result.errors[0].expected


def test_excel_rows_with_blank_lines_and_typed_cells(city, user, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for i in range(40):
        row = app_row(i, "Xl")
        row[7] = datetime.datetime(2020, 1 + i % 12, 1 + i % 28)  # a date cell
        row[9] = 1 + i % 4  # number cells
        row[10] = float(i * 7)
        sheet.append(row)
        if i % 10 == 0:
            sheet.append([None] * len(HEADER))
    path = tmp_path / "apps.xlsx"
    book.save(path)
    result = run(path, user=user)
    assert result.errors == [], [str(e) for e in result.errors[:3]]
    assert result.created == 40
    app = Application.objects.get(acronym="XL0013")
    assert app.active_date == datetime.date(2020, 2, 14)
    assert (app.functional_fit, app.user_count) == (2, 91)
    assert run(path, user=user).unchanged == 40


def test_the_garbage_collector_is_thawed_after_an_import(city, user, tmp_path):
    run(write_csv(tmp_path, "apps.csv", [app_row(i) for i in range(3)]), user=user)
    assert gc.get_freeze_count() == 0


@pytest.mark.django_db
def test_insert_with_history_sets_keys_and_timestamps(city, user):
    apps = [
        Application(name=f"Direkt {i}", kind="saas", owner_org_unit=city["office"])
        for i in range(3)
    ]
    insert_with_history(apps, Application, user=user, reason="test")
    stored = Application.objects.in_bulk([app.pk for app in apps])
    assert len(stored) == 3
    for app in apps:
        assert not app._state.adding and app.created == app.updated == stored[app.pk].created
    assert Application.history.filter(history_change_reason="test").count() == 3


# --- ServiceNow -------------------------------------------------------------------------------


def servicenow_file(tmp_path, tag, incidents):
    """One closed incident per row, each with its own group, CI, problem and change (new
    placeholders), all with the same vendor."""
    with FIRST.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        template = next(reader)
        fieldnames = reader.fieldnames
    path = tmp_path / f"servicenow{tag}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames)
        writer.writeheader()
        for n in range(incidents):
            writer.writerow(
                {
                    **template,
                    "number": f"INC{tag}{n:06d}",
                    "incident_state": "Closed",
                    "assignment_group": f"Gruppe {tag}-{n}",
                    "cmdb_ci": f"ci {tag}-{n}",
                    "problem_id": f"Problem ID {tag}{n:06d}",
                    "rfc": f"CHG{tag}{n:06d}",
                    "vendor": "Vendor X",
                }
            )
    return path


@pytest.mark.django_db
def test_servicenow_queries_do_not_grow_with_incidents_and_placeholders(make_user, tmp_path):
    user = make_user("importer")
    # The first import creates the org unit for placeholders and the vendor, once.
    ServiceNowIncidentImporter(servicenow_file(tmp_path, 1, 1), user=user).execute()
    counts = []
    for tag, incidents in ((2, 5), (3, 60)):
        path = servicenow_file(tmp_path, tag, incidents)
        with CaptureQueriesContext(connection) as queries:
            result = ServiceNowIncidentImporter(path, user=user).execute()
        assert result.written and result.errors == [], result.errors[:3]
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert Incident.objects.count() == 66
    assert Team.history.filter(history_user=user, history_type="+").count() == Team.objects.count()
    for model in (Application, Problem, Change, Incident):
        assert model.history.filter(history_type="+").count() == model.objects.count()
        assert not model.history.exclude(history_user=user).exists()

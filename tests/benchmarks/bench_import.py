"""Import benchmarks (issue 9): 10,000 new applications into the seeded landscape from CSV and
from Excel through `TabularImporter` (mapping, normalising, validation as `full_clean`,
uniqueness against the database and within the file, bulk insert, one history row per
application), next to a plain `cursor.executemany` INSERT of the same rows already converted;
and the two ServiceNow sample logs through `ServiceNowIncidentImporter`.

Every timed run starts from the same state: it runs in a savepoint that is rolled back. The
queries of each import are counted on the unmeasured warm-up run (capturing them slows it).
"""

import csv
import datetime
import tempfile
from collections import Counter
from pathlib import Path

import openpyxl
from django.db import connection, transaction
from django.utils import timezone

from cmdb.models import Application, OrgUnit, Vendor
from importers.servicenow import ServiceNowIncidentImporter
from importers.tabular import TabularImporter, norm
from itsm.models import Incident
from tests.benchmarks.harness import Context, Result, capture_queries, interleaved, timeit

ROWS = 10_000
TARGET_RATE = 5_000  # rows/s
TARGET_RATIO = 5.0  # importer time / executemany time
PREFIX = "Bench-Import"
CRITICALITY = ["missionskritisch", "geschäftskritisch", "business operational", "administrativ"]
CRITICALITY_VALUES = ["mission_critical", "business_critical", "business_operational",
                      "administrative"]  # fmt: skip
KINDS = ["Fachverfahren", "standard software", "SaaS", "Eigenentwicklung"]
KIND_VALUES = ["specialist_procedure", "standard_software", "saas", "own_development"]
HEADER = ["Bezeichnung", "Kürzel", "Art", "Amt", "Hersteller", "Kritikalität",
          "Personenbezogene Daten", "Produktiv seit", "Nutzer"]  # fmt: skip
# The UCI samples, as the importer tests use them (the same files as /work/shared/data/itil).
SERVICENOW_DATA = Path(__file__).resolve().parent.parent / "data" / "servicenow"
SERVICENOW_FILES = [
    "uci_incident_event_log_first2000.csv",
    "uci_incident_event_log_linked_rfc_problem_ci_vendor.csv",
]


def rolled_back(fn):
    """fn() in a savepoint that is rolled back: every run starts from the same state."""

    def run():
        with transaction.atomic():
            value = fn()
            transaction.set_rollback(True)
        return value

    return run


def landscape_rows():
    """10,000 spreadsheet rows (German headers and words, as offices send them) owned by the
    demo's offices, two in three with one of the demo's vendors; names and acronyms that the
    demo does not use."""
    offices = list(OrgUnit.objects.filter(kind="office").order_by("code").values("pk", "code"))
    if not offices:
        offices = list(OrgUnit.objects.order_by("code").values("pk", "code"))
    vendors = list(Vendor.objects.order_by("name").values("pk", "name"))
    # A vendor name that two vendors share (as the importer compares names) would be ambiguous.
    names = Counter(norm(v["name"]) for v in vendors)
    vendors = [v for v in vendors if names[norm(v["name"])] == 1][:50]
    taken = Application.objects.filter(acronym__startswith="BX-").exists() or (
        Application.objects.filter(name__startswith=PREFIX).exists()
    )
    assert not taken, "the demo already uses the benchmark's names"
    rows = []
    for i in range(ROWS):
        office = offices[i % len(offices)]
        vendor = vendors[i % len(vendors)] if vendors and i % 3 else None
        rows.append(
            {
                "name": f"{PREFIX} {i}",
                "acronym": f"BX-{i:05d}",
                "kind": i % 4,
                "office": office,
                "vendor": vendor,
                "criticality": i % 4,
                "personal_data": bool(i % 2),
                "active_date": datetime.date(2020, 1 + i % 12, 1 + i % 28),
                "user_count": i % 500,
            }
        )
    return rows


def spreadsheet_row(row):
    return [
        row["name"],
        row["acronym"],
        KINDS[row["kind"]],
        row["office"]["code"],
        row["vendor"]["name"] if row["vendor"] else "-",
        CRITICALITY[row["criticality"]],
        "ja" if row["personal_data"] else "nein",
        row["active_date"].strftime("%d.%m.%Y"),
        row["user_count"],
    ]


def write_csv(path: Path, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow(spreadsheet_row(row))


def write_xlsx(path: Path, rows):
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for row in rows:
        values = spreadsheet_row(row)
        values[7] = row["active_date"]  # a real date cell, as Excel stores it
        sheet.append(values)
    book.save(path)


def executemany_insert(rows):
    """The floor: the same rows, already converted, in one executemany (no history)."""
    table = Application._meta.db_table
    now = timezone.now()
    values = [
        (r["name"], r["acronym"], "", KIND_VALUES[r["kind"]], r["office"]["pk"], None, "",
         r["vendor"]["pk"] if r["vendor"] else None, CRITICALITY_VALUES[r["criticality"]],
         "normal", "normal", "normal", r["personal_data"], "city_data_centre", r["user_count"],
         None, None, None, None, r["active_date"], None, None, None, now, now)
        for r in rows
    ]  # fmt: skip
    columns = (
        "name, acronym, description, kind, owner_org_unit_id, owner_team_id, business_owner, "
        "vendor_id, criticality, confidentiality, integrity, availability, personal_data, "
        "hosting, user_count, functional_fit, technical_fit, plan_date, phase_in_date, "
        "active_date, phase_out_date, end_of_life_date, external_id, created, updated"
    )
    placeholders = ", ".join(["%s"] * 25)

    def run():
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", values)
        return len(values)

    return run


def tabular_import(path: Path, user):
    def run():
        result = TabularImporter("applications", path, user=user).execute()
        assert result.written and result.errors == [] and result.created == ROWS, (
            result.summary(),
            [str(e) for e in result.errors[:5]],
        )
        return result

    return run


def bench_applications(ctx: Context) -> list[Result]:
    user = ctx.user()
    rows = landscape_rows()
    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    csv_path = workdir / "anwendungen.csv"
    xlsx_path = workdir / "anwendungen.xlsx"
    write_csv(csv_path, rows)
    write_xlsx(xlsx_path, rows)
    csv_import = rolled_back(tabular_import(csv_path, user))
    xlsx_import = rolled_back(tabular_import(xlsx_path, user))
    raw_insert = rolled_back(executemany_insert(rows))

    # The warm-up counts the queries (and checks that each application got its history row).
    def counted_csv():
        _result, queries = capture_queries(tabular_import(csv_path, user))
        history = Application.history.filter(
            history_type="+", history_user=user, name__startswith=PREFIX
        ).count()
        assert history == ROWS, history
        return queries

    csv_queries = rolled_back(counted_csv)()
    xlsx_queries = rolled_back(lambda: capture_queries(tabular_import(xlsx_path, user))[1])()
    raw_insert()  # its warm-up; the counted runs above were the imports'
    repeats = max(1, min(ctx.repeats, 5))
    timings = interleaved({"csv": csv_import, "raw": raw_insert}, repeats=repeats, warmup=0)
    xlsx = timeit(xlsx_import, repeats=max(1, min(ctx.repeats, 3)), warmup=0)
    for path in (csv_path, xlsx_path):
        path.unlink()
    workdir.rmdir()

    csv_rate = ROWS / timings["csv"].median
    raw_rate = ROWS / timings["raw"].median
    csv_ratio = timings["csv"].median / timings["raw"].median
    xlsx_rate = ROWS / xlsx.median
    details = {
        "rows": ROWS,
        "repeats": repeats,
        "csv_seconds": [round(s, 3) for s in timings["csv"].samples],
        "executemany_seconds": [round(s, 4) for s in timings["raw"].samples],
        "note": "median of at most 5 interleaved runs after a warm-up, each in a savepoint "
        "rolled back; the importer also writes one history row per application, executemany "
        "writes none",
    }
    return [
        Result(
            name="import: 10,000 applications from CSV",
            figure=round(csv_rate),
            unit="rows/s",
            target=f"≥ {TARGET_RATE:,} rows/s and ≤ {TARGET_RATIO:g}× executemany",
            met=csv_rate >= TARGET_RATE and csv_ratio <= TARGET_RATIO,
            comparison=round(raw_rate),
            comparison_label="cursor.executemany INSERT of the converted rows",
            ratio=round(csv_ratio, 2),
            queries=len(csv_queries),
            details=details,
        ),
        Result(
            name="import: 10,000 applications from Excel (.xlsx)",
            figure=round(xlsx_rate),
            unit="rows/s",
            target="report (same rows as the CSV)",
            met=None,
            comparison=round(csv_rate),
            comparison_label="the CSV import of the same rows",
            ratio=round(csv_rate / xlsx_rate, 2),
            queries=len(xlsx_queries),
            details={
                "rows": ROWS,
                "repeats": len(xlsx.samples),
                "seconds": [round(s, 3) for s in xlsx.samples],
                "note": "at most 3 repeats after a warm-up, each in a savepoint rolled back",
            },
        ),
    ]


def bench_servicenow(ctx: Context) -> list[Result]:
    user = ctx.user()
    paths = [SERVICENOW_DATA / name for name in SERVICENOW_FILES]
    log_rows = 0
    for path in paths:
        with path.open(newline="", encoding="utf-8") as handle:
            log_rows += sum(1 for _row in csv.reader(handle)) - 1  # without the header

    def both():
        created = 0
        for path in paths:
            result = ServiceNowIncidentImporter(path, user=user).execute()
            assert result.written and result.errors == [], result.summary()
            created += result.created
        return created

    def counted():
        before = Incident.objects.count()
        _created, queries = capture_queries(both)
        return Incident.objects.count() - before, queries

    incidents, queries = rolled_back(counted)()
    repeats = max(1, min(ctx.repeats, 3))
    timing = timeit(rolled_back(both), repeats=repeats, warmup=0)
    rate = log_rows / timing.median
    return [
        Result(
            name="import: ServiceNow sample logs (first 2000 + linked)",
            figure=round(rate),
            unit="rows/s",
            target="report",
            met=None,
            queries=len(queries),
            details={
                "log_rows": log_rows,
                "incidents_created": incidents,
                "objects_created": timing.value,
                "repeats": repeats,
                "seconds": [round(s, 3) for s in timing.samples],
                "files": [str(p) for p in paths],
                "note": "both files imported one after the other, at most 3 repeats after a "
                "warm-up, each in a savepoint rolled back",
            },
        )
    ]


BENCHMARKS = [bench_applications, bench_servicenow]

"""Tabular import benchmark (`make benchmark`): 10,000 applications from CSV through
TabularImporter (mapping, normalising, full_clean, upsert, history) next to a plain
`cursor.executemany` INSERT of the same rows, measured in the same run. Only the counts are
asserted."""

import csv
import datetime
import os
import time

import pytest
from django.db import connection
from django.utils import timezone

from cmdb.models import Application, OrgUnit, Vendor
from importers.tabular import TabularImporter

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "10000"))
CRITICALITY = ["missionskritisch", "geschäftskritisch", "business operational", "administrativ"]
KINDS = ["Fachverfahren", "standard software", "SaaS", "Eigenentwicklung"]


@pytest.mark.django_db
def test_import_10000_applications(tmp_path, make_user):
    user = make_user("importer", "architect")
    root = OrgUnit.objects.create(name="Stadt", code="STADT", kind="administration")
    offices = [
        OrgUnit.objects.create(name=f"Amt {n}", code=str(n), kind="office", parent=root)
        for n in (10, 20, 30, 40)
    ]
    vendors = [Vendor.objects.create(name=f"Hersteller {n}", country="DE") for n in range(5)]
    path = tmp_path / "applications.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(
            ["Bezeichnung", "Kürzel", "Art", "Amt", "Hersteller", "Kritikalität",
             "Personenbezogene Daten", "Produktiv seit", "Nutzer"]
        )  # fmt: skip
        for i in range(ROWS):
            writer.writerow(
                [f"Anwendung {i}", f"A{i:05d}", KINDS[i % 4], offices[i % 4].code,
                 vendors[i % 5].name if i % 3 else "-", CRITICALITY[i % 4],
                 "ja" if i % 2 else "nein", f"{1 + i % 28:02d}.{1 + i % 12:02d}.2020", i % 500]
            )  # fmt: skip

    started = time.perf_counter()
    result = TabularImporter("applications", path, user=user).execute()
    importer_seconds = time.perf_counter() - started
    assert result.errors == [] and result.created == ROWS
    assert Application.objects.count() == ROWS

    # The floor: the same rows, already converted, inserted with one executemany.
    table = Application._meta.db_table
    crit = ["mission_critical", "business_critical", "business_operational", "administrative"]
    kinds = ["specialist_procedure", "standard_software", "saas", "own_development"]
    now = timezone.now()
    rows = [
        (f"Raw {i}", f"R{i:05d}", "", kinds[i % 4], offices[i % 4].pk, None, "",
         vendors[i % 5].pk if i % 3 else None, crit[i % 4], "normal", "normal", "normal",
         bool(i % 2), "city_data_centre", i % 500, None, None, None, None,
         datetime.date(2020, 1 + i % 12, 1 + i % 28), None, None, None, now, now)
        for i in range(ROWS)
    ]  # fmt: skip
    columns = (
        "name, acronym, description, kind, owner_org_unit_id, owner_team_id, business_owner, "
        "vendor_id, criticality, confidentiality, integrity, availability, personal_data, "
        "hosting, user_count, functional_fit, technical_fit, plan_date, phase_in_date, "
        "active_date, phase_out_date, end_of_life_date, external_id, created, updated"
    )
    placeholders = ", ".join(["%s"] * 25)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)
    raw_seconds = time.perf_counter() - started
    assert Application.objects.filter(name__startswith="Raw ").count() == ROWS

    importer_rate = ROWS / importer_seconds
    raw_rate = ROWS / raw_seconds
    print(
        f"\nimport {ROWS} applications ({connection.vendor}): TabularImporter "
        f"{importer_seconds:.2f} s = {importer_rate:,.0f} rows/s; executemany INSERT "
        f"{raw_seconds:.2f} s = {raw_rate:,.0f} rows/s; ratio {raw_rate / importer_rate:.1f}x"
    )

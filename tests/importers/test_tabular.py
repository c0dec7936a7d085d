"""TabularImporter and `import_table`. Rows are numbered as in the spreadsheet: header = row 1,
first data row = row 2."""

import datetime
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command

from cmdb.models import Application, Interface, InterfaceConsumer, OrgUnit, Vendor
from importers.tabular import TabularImporter
from itsm.models.requirement import Requirement

DATA = Path(__file__).resolve().parent.parent / "data"


def write_csv(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(tmp_path, name, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def run(kind, path, **kwargs):
    return TabularImporter(kind, path, **kwargs).execute()


APPS_EN = (DATA / "applications_en.csv").read_text(encoding="utf-8")

APPS_DE = (DATA / "applications_de.csv").read_text(encoding="utf-8")


# --- applications -----------------------------------------------------------------------------


def test_applications_csv(city, user, tmp_path):
    result = run("applications", write_csv(tmp_path, "apps.csv", APPS_EN), user=user)
    assert result.errors == [] and result.written
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    ewo = Application.objects.get(acronym="EWO")
    assert ewo.owner_org_unit == city["office"] and ewo.vendor == city["vendor"]
    assert ewo.owner_team == city["team"] and ewo.criticality == "mission_critical"
    assert ewo.personal_data is True and ewo.active_date == datetime.date(2020, 2, 1)
    gew = Application.objects.get(acronym="GEW")
    assert gew.vendor is None and gew.kind == "saas" and gew.personal_data is False
    record = ewo.history.get()
    assert record.history_user == user
    assert record.history_change_reason == "import: applications from apps.csv"


def test_applications_german_headers_semicolon_cp1252(city, user, tmp_path):
    path = write_csv(tmp_path, "anwendungen.csv", APPS_DE, encoding="cp1252")
    result = run("applications", path, user=user)
    assert result.errors == [], [str(e) for e in result.errors]
    assert result.created == 3
    ewo = Application.objects.get(acronym="EWO")
    assert ewo.criticality == "business_critical" and ewo.availability == "high"
    assert ewo.active_date == datetime.date(2019, 12, 31)
    kita = Application.objects.get(acronym="KITA")
    assert kita.kind == "own_development" and kita.criticality == "mission_critical"
    assert kita.availability == "very_high" and kita.personal_data and kita.vendor is None
    archiv = Application.objects.get(name="Archiv")
    assert archiv.acronym is None and archiv.owner_org_unit == city["root"]
    assert archiv.criticality == "administrative"


def test_applications_xlsx(city, user, tmp_path):
    path = write_xlsx(
        tmp_path,
        "apps.xlsx",
        [
            ["Name", "Kürzel", "Art", "Organisationseinheit", "Hersteller", "Produktiv seit",
             "Nutzer", "ID"],
            ["Einwohnermeldewesen", "EWO", "Fachverfahren", "33", "Dataport",
             datetime.datetime(2020, 2, 1), 250, "A-1"],
            ["Archiv", "ARC", "standard_software", "STADT", None, "15.06.2018", 12.0, "A-2"],
        ],
    )  # fmt: skip
    result = run("applications", path, user=user)
    assert result.errors == [], [str(e) for e in result.errors]
    assert result.created == 2
    ewo = Application.objects.get(external_id="A-1")
    assert ewo.active_date == datetime.date(2020, 2, 1) and ewo.user_count == 250
    assert Application.objects.get(external_id="A-2").active_date == datetime.date(2018, 6, 15)
    # The same file again changes nothing; renaming by external id updates.
    again = run("applications", path, user=user)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


BAD_APPS = """name,acronym,kind,owner org unit,criticality,active from,functional fit
Gut,GUT,saas,33,administrative,01.01.2020,3
Schlecht,SCH,unbekannt,33,administrative,01.01.2020,2
Ohne Amt,OHN,saas,Nirgendwo,administrative,,
Falsches Datum,FDT,saas,33,sehr wichtig,32.13.2020,7
"""


def test_applications_bad_rows_nothing_written(city, user, tmp_path):
    result = run("applications", write_csv(tmp_path, "bad.csv", BAD_APPS), user=user)
    assert not result.written
    assert Application.objects.count() == 0
    found = {(e.row, e.column) for e in result.errors}
    assert (3, "kind") in found
    assert (4, "owner org unit") in found
    assert {(5, "criticality"), (5, "active from")} <= found
    # fit 7 is out of range: reported by full_clean only when the row's values convert, so
    # row 5 stops at the conversion errors; check the messages name value and expectation.
    kind_error = next(e for e in result.errors if e.row == 3)
    assert kind_error.value == "unbekannt" and "specialist procedure" in kind_error.expected
    assert "row 3" in str(kind_error) and "'kind'" in str(kind_error)


def test_applications_validation_error_names_column(city, user, tmp_path):
    text = "name,acronym,kind,owner org unit,functional fit,active from,phase out from\n"
    text += "Alt,ALT,saas,33,7,01.01.2020,01.01.2019\n"
    result = run("applications", write_csv(tmp_path, "v.csv", text), user=user)
    found = {(e.row, e.column) for e in result.errors}
    assert (2, "functional fit") in found and (2, "phase out from") in found
    assert Application.objects.count() == 0


def test_applications_skip_invalid(city, user, tmp_path):
    result = run(
        "applications", write_csv(tmp_path, "bad.csv", BAD_APPS), user=user, skip_invalid=True
    )
    assert result.written
    assert result.created == 1 and result.skipped == 3
    assert [row for row, _reason in result.skipped_rows] == [3, 4, 5]
    assert list(Application.objects.values_list("acronym", flat=True)) == ["GUT"]


def test_applications_reimport_changes_nothing(city, user, tmp_path):
    path = write_csv(tmp_path, "apps.csv", APPS_EN)
    run("applications", path, user=user)
    history = Application.history.count()
    again = run("applications", path, user=user)
    assert (again.created, again.updated, again.unchanged, again.skipped) == (0, 0, 2, 0)
    assert Application.history.count() == history
    # A changed value updates that row only.
    changed = APPS_EN.replace("mission critical", "administrative")
    third = run("applications", write_csv(tmp_path, "apps2.csv", changed), user=user)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 1)
    ewo = Application.objects.get(acronym="EWO")
    assert ewo.criticality == "administrative"
    assert ewo.history.first().history_change_reason == "import: applications from apps2.csv"
    assert ewo.history.first().history_user == user


def test_an_edit_saved_while_the_import_runs_is_kept(city, user, tmp_path, monkeypatch):
    """The importer reads the rows when it starts; an edit saved after that (here: between the
    read and the row's update) survives, and the import's history row shows both."""
    path = write_csv(tmp_path, "apps.csv", APPS_EN)
    run("applications", path, user=user)
    original = TabularImporter.find_existing

    def edit_meanwhile(self, *args, **kwargs):
        found = original(self, *args, **kwargs)
        if found is not None and found.acronym == "EWO":
            Application.objects.filter(pk=found.pk).update(description="Edited meanwhile")
        return found

    monkeypatch.setattr(TabularImporter, "find_existing", edit_meanwhile)
    changed = APPS_EN.replace("mission critical", "administrative")
    result = run("applications", write_csv(tmp_path, "apps2.csv", changed), user=user)
    assert result.updated == 1
    ewo = Application.objects.get(acronym="EWO")
    assert (ewo.criticality, ewo.description) == ("administrative", "Edited meanwhile")
    latest = ewo.history.first()
    assert (latest.criticality, latest.description) == ("administrative", "Edited meanwhile")


def test_applications_dry_run(city, user, tmp_path):
    result = run("applications", write_csv(tmp_path, "apps.csv", APPS_EN), dry_run=True)
    assert result.dry_run and not result.written
    assert (result.created, result.errors) == (2, [])
    assert Application.objects.count() == 0 and Application.history.count() == 0


def test_duplicate_rows_in_file(city, user, tmp_path):
    text = APPS_EN + "Doppelt,EWO,saas,33,,,,,\n"
    result = run("applications", write_csv(tmp_path, "dup.csv", text), user=user)
    assert [(e.row, e.column) for e in result.errors] == [(4, "acronym")]
    assert Application.objects.count() == 0


def test_mapping_file(city, user, tmp_path):
    text = "Verfahren X,Abk,Typ,Zuständig,Bemerkung\nMeldewesen,MEL,saas,33,egal\n"
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "Verfahren X: name\nAbk: acronym\nTyp: kind\nZuständig: owner_org_unit\nBemerkung: null\n",
        encoding="utf-8",
    )
    importer = TabularImporter(
        "applications", write_csv(tmp_path, "m.csv", text), mapping=mapping, user=user
    )
    result = importer.execute()
    assert result.errors == [] and result.created == 1
    assert Application.objects.get(acronym="MEL").owner_org_unit == city["office"]


def test_missing_required_column(city, user, tmp_path):
    result = run("applications", write_csv(tmp_path, "x.csv", "name,acronym\nA,B\n"), user=user)
    assert {e.column for e in result.errors} == {"kind", "owner_org_unit"}
    assert all(e.row is None for e in result.errors)


# --- vendors ----------------------------------------------------------------------------------

VENDORS = """Name,Land,Muttergesellschaft,Website
Microsoft Corporation,USA,,https://microsoft.com
Microsoft Deutschland GmbH,de,Microsoft Corporation,
Dataport,Deutschland,-,
"""


def test_vendors_csv_and_reimport(city, user, tmp_path):
    path = write_csv(tmp_path, "vendors.csv", VENDORS)
    result = run("vendors", path, user=user)
    assert result.errors == [], [str(e) for e in result.errors]
    assert (result.created, result.updated, result.unchanged) == (2, 0, 1)
    sub = Vendor.objects.get(name="Microsoft Deutschland GmbH")
    assert sub.country == "DE" and sub.jurisdiction == "US"
    assert sub.history.first().history_change_reason == "import: vendors from vendors.csv"
    history = Vendor.history.count()
    again = run("vendors", path, user=user)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert Vendor.history.count() == history


def test_vendors_xlsx_bad_country(city, user, tmp_path):
    path = write_xlsx(
        tmp_path, "v.xlsx", [["vendor", "country"], ["SAP SE", "DE"], ["Nirgendwo", "Atlantis"]]
    )
    result = run("vendors", path, user=user)
    assert [(e.row, e.column, e.value) for e in result.errors] == [(3, "country", "Atlantis")]
    assert not Vendor.objects.filter(name="SAP SE").exists()
    skipped = run("vendors", path, user=user, skip_invalid=True)
    assert skipped.created == 1 and skipped.skipped_rows[0][0] == 3
    assert Vendor.objects.filter(name="SAP SE").exists()


def test_vendors_dry_run(city, tmp_path):
    result = run("vendors", write_csv(tmp_path, "v.csv", VENDORS), dry_run=True)
    assert (result.created, result.unchanged, result.written) == (2, 1, False)
    assert Vendor.objects.count() == 1


# --- org units --------------------------------------------------------------------------------

ORG_UNITS = """Kürzel;Bezeichnung;Art;Übergeordnet
50;Sozialamt;Amt;STADT
50.1;Abteilung Grundsicherung;Abteilung;50
STADT;Stadt Musterstadt;Verwaltung;
"""


def test_org_units_csv(city, user, tmp_path):
    path = write_csv(tmp_path, "org.csv", ORG_UNITS)
    result = run("org_units", path, user=user)
    assert result.errors == [], [str(e) for e in result.errors]
    assert (result.created, result.updated, result.unchanged) == (2, 0, 1)
    division = OrgUnit.objects.get(code="50.1")
    assert division.parent.code == "50" and division.kind == "division"
    assert division.get_root() == city["root"]
    assert division.history.get().history_user == user
    history = OrgUnit.history.count()
    again = run("org_units", path, user=user)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert OrgUnit.history.count() == history


def test_org_units_xlsx_and_errors(city, user, tmp_path):
    good = write_xlsx(
        tmp_path,
        "org.xlsx",
        [["code", "name", "kind", "parent"], [60, "Bauamt", "office", "STADT"]],
    )
    result = run("org_units", good, user=user)
    assert result.errors == [] and OrgUnit.objects.get(code="60").name == "Bauamt"
    bad = write_csv(tmp_path, "bad.csv", "code,name,kind,parent\n70,X,Amt,\n71,Y,Bude,STADT\n")
    result = run("org_units", bad, user=user)
    assert [(e.row, e.column) for e in result.errors] == [(3, "kind")]
    assert not OrgUnit.objects.filter(code="70").exists()
    dry = run("org_units", bad, user=user, dry_run=True, skip_invalid=True)
    assert (dry.created, dry.skipped, dry.written) == (1, 1, False)
    assert not OrgUnit.objects.filter(code="70").exists()


# --- interfaces -------------------------------------------------------------------------------


@pytest.fixture
def apps(city):
    make = dict(kind="saas", owner_org_unit=city["office"])
    return [
        Application.objects.create(name="Einwohnermeldewesen", acronym="EWO", **make),
        Application.objects.create(name="Kita-Portal", acronym="KITA", **make),
        Application.objects.create(name="Archiv", acronym="ARC", **make),
    ]


INTERFACES = """Schnittstelle;Anbieter;Konsumenten;Protokoll;Häufigkeit;Personenbezug;Aktiv seit
Meldedaten;EWO;KITA, Archiv;XÖV/OSCI;täglich;ja;01.01.2021
Archivierung;KITA;ARC;Dateiübertragung;monatlich;nein;
"""


def test_interfaces_csv_and_reimport(apps, user, tmp_path):
    path = write_csv(tmp_path, "if.csv", INTERFACES)
    result = run("interfaces", path, user=user)
    assert result.errors == [], [str(e) for e in result.errors]
    assert result.created == 2
    melde = Interface.objects.get(name="Meldedaten")
    assert melde.provider.acronym == "EWO" and melde.protocol == "xoev_osci"
    assert {a.acronym for a in melde.consumers.all()} == {"KITA", "ARC"}
    assert set(melde.links.values_list("provider__acronym", flat=True)) == {"EWO"}
    assert melde.history.get().history_change_reason == "import: interfaces from if.csv"
    link = InterfaceConsumer.objects.filter(interface=melde).first()
    assert link.history.get().history_user == user
    counts = (Interface.history.count(), InterfaceConsumer.history.count())
    again = run("interfaces", path, user=user)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert (Interface.history.count(), InterfaceConsumer.history.count()) == counts
    fewer = write_csv(tmp_path, "if2.csv", INTERFACES.replace("KITA, Archiv", "KITA"))
    third = run("interfaces", fewer, user=user)
    assert (third.updated, third.unchanged) == (1, 1)
    assert {a.acronym for a in melde.consumers.all()} == {"KITA"}


def test_interfaces_xlsx_bad_rows_and_skip(apps, user, tmp_path):
    path = write_xlsx(
        tmp_path,
        "if.xlsx",
        [
            ["name", "provider", "consumers", "protocol"],
            ["REST-API", "EWO", "KITA", "REST"],
            ["Selbst", "EWO", "EWO", "rest"],
            ["Niemand", "XYZ", "", "soap"],
        ],
    )
    result = run("interfaces", path, user=user)
    assert {(e.row, e.column) for e in result.errors} == {(3, "consumers"), (4, "provider")}
    assert Interface.objects.count() == 0
    dry = run("interfaces", path, user=user, dry_run=True, skip_invalid=True)
    assert (dry.created, dry.skipped) == (1, 2) and Interface.objects.count() == 0
    skipped = run("interfaces", path, user=user, skip_invalid=True)
    assert skipped.written and Interface.objects.get().name == "REST-API"


# --- teams, components, requirements ----------------------------------------------------------


def test_teams_and_components(city, user, tmp_path):
    teams = write_csv(tmp_path, "t.csv", "Team;Amt;E-Mail\nTeam Web;33;web@example.org\n")
    assert run("teams", teams, user=user).created == 1
    comps = write_csv(
        tmp_path,
        "c.csv",
        "Produkt,Version,Hersteller,Typ,Open Source,Supportende,End of life\n"
        "PostgreSQL,15,,Datenbank,ja,11.11.2027,11.11.2027\n"
        "Windows Server,2019,Dataport,Betriebssystem,nein,09.01.2024,09.01.2029\n",
    )
    result = run("it_components", comps, user=user)
    assert result.errors == [] and result.created == 2
    again = run("it_components", comps, user=user)
    assert again.unchanged == 2


def test_requirements(city, user, tmp_path):
    path = write_csv(
        tmp_path,
        "req.csv",
        "Titel;Art;Amt;Geschäftswert;Dringlichkeit;Risikoreduktion;Aufwand;Frist;Rechtsgrundlage\n"
        "OZG-Anbindung;Gesetzliche Pflicht;33;13;20;5;8;31.12.2026;OZG §1\n",
    )
    result = run("requirements", path, user=user)
    assert result.errors == [], [str(e) for e in result.errors]
    requirement = Requirement.objects.get()
    assert requirement.number.startswith("REQ-") and requirement.requested_by == user
    assert requirement.state == "submitted" and str(requirement.wsjf) == "4.750"
    assert run("requirements", path, user=user).unchanged == 1


# --- the command ------------------------------------------------------------------------------


def test_command(city, user, tmp_path, capsys):
    path = write_csv(tmp_path, "apps.csv", APPS_EN)
    call_command("import_table", "applications", str(path), "--dry-run", "--as-user", "architect")
    out = capsys.readouterr().out
    assert "dry run" in out and "created 2" in out
    assert Application.objects.count() == 0
    call_command("import_table", "applications", str(path), "--as-user", "architect")
    assert Application.objects.count() == 2
    assert Application.history.first().history_user == user
    bad = write_csv(tmp_path, "bad.csv", BAD_APPS)
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_table", "applications", str(bad))
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert "row 3, column 'kind'" in out and "nothing written" in out
    call_command("import_table", "applications", str(bad), "--skip-invalid")
    out = capsys.readouterr().out
    assert "skipped row 3" in out and Application.objects.filter(acronym="GUT").exists()


def test_consumer_change_writes_link_history_only(apps, user, tmp_path):
    run("interfaces", write_csv(tmp_path, "if.csv", INTERFACES), user=user)
    interface_history = Interface.history.count()
    fewer = write_csv(tmp_path, "if2.csv", INTERFACES.replace("KITA, Archiv", "KITA"))
    assert run("interfaces", fewer, user=user).updated == 1
    assert Interface.history.count() == interface_history
    removed = InterfaceConsumer.history.filter(history_type="-").get()
    assert removed.history_user == user and removed.history_change_reason.startswith("import: ")


def test_blank_rows_are_ignored_and_requirements_need_a_user(city, user, tmp_path):
    path = write_xlsx(
        tmp_path,
        "v.xlsx",
        [["Hersteller", "Land"], ["SAP SE", "DE"], [None, None], ["Atos", "Frankreich"]],
    )
    result = run("vendors", path, user=user)
    assert result.errors == [] and result.created == 2
    assert Vendor.objects.get(name="Atos").country == "FR"
    req = write_csv(tmp_path, "r.csv", "title,kind,org unit,business value,time criticality,"
                    "risk reduction,job size\nX,enhancement,33,1,2,3,5\n")  # fmt: skip
    result = run("requirements", req)
    assert result.errors and "--as-user" in result.errors[0].expected
    assert Requirement.objects.count() == 0

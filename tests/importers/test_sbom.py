import copy
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cmdb.models import Application, OrgUnit, SoftwarePackage, Vendor
from importers.sbom import SbomImporter, SbomRefused, parse_sbom, sbom_summary

DATA = Path(__file__).resolve().parents[1] / "data" / "sbom"
LARAVEL = DATA / "cyclonedx_laravel-7.12.0_bom.1.4.json"
SPDX23 = DATA / "spdx2.3_examplemaven-0.0.1.spdx.json"
SPDX22 = DATA / "spdx2.2_appbomination.spdx.json"


@pytest.fixture
def app(db):
    unit = OrgUnit.objects.create(name="Stadt", code="S", kind="administration")
    return Application.objects.create(
        name="Bürgerportal", acronym="BP", kind="platform", owner_org_unit=unit
    )


def run(app, source, user=None, **options):
    importer = SbomImporter(app, source, user=user, **options)
    return importer, importer.execute()


def snapshot(app):
    return sorted(
        SoftwarePackage.objects.filter(application=app).values_list(
            "pk", "name", "version", "purl", "supplier", "licences", "updated"
        )
    )


def cyclonedx(*components):
    return {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
            "components": list(components)}  # fmt: skip


def lib(name, version="1.0", licences=(), **extra):
    purl = f"pkg:generic/{name}@{version}"
    return {"type": "library", "name": name, "version": version, "purl": purl,
            "licenses": list(licences), **extra}  # fmt: skip


def test_cyclonedx_sample_imports_every_component_with_history(app, admin_user):
    importer, result = run(app, LARAVEL, user=admin_user)
    assert result.written and not result.errors
    assert (result.created, result.updated, result.unchanged, importer.deleted) == (62, 0, 0, 0)
    assert app.software_packages.count() == 62
    cors = app.software_packages.get(name="stack-cors")
    assert (cors.version, cors.purl, cors.supplier, cors.licences) == (
        "1.3.0", "pkg:composer/asm89/stack-cors@1.3.0", "Alexander", "MIT",
    )  # fmt: skip
    history = SoftwarePackage.history.filter(application=app)
    assert history.count() == 62
    assert set(history.values_list("history_user", "history_change_reason")) == {
        (admin_user.pk, "import: sbom")
    }


@pytest.mark.parametrize(
    ("path", "count", "root"),
    [(SPDX23, 5, "examplemaven"), (SPDX22, 6, "App-BOM-ination")],
)
def test_spdx_samples_import_packages_without_the_described_product(app, path, count, root):
    importer, result = run(app, path)
    assert result.written and result.created == count
    assert app.software_packages.count() == count
    assert not app.software_packages.filter(name=root).exists()
    assert result.skipped == 1


def test_spdx_fields(app):
    run(app, SPDX22)
    hamcrest = app.software_packages.get(name="hamcrest-core")
    assert (hamcrest.version, hamcrest.purl, hamcrest.licences) == (
        "1.3", "pkg:maven/org.hamcrest/hamcrest-core@1.3", "BSD-3-Clause",
    )  # fmt: skip
    run(app, SPDX23)
    junit = app.software_packages.get(name="JUnit")
    # licenseConcluded NOASSERTION → licenseDeclared
    assert (junit.version, junit.licences, junit.supplier) == ("3.8.1", "CPL-1.0", "")
    log4j = app.software_packages.get(name="Apache Log4j Core")
    assert log4j.licences == ""  # NOASSERTION on both


def test_spdx_supplier_prefix_is_stripped():
    doc = json.loads(SPDX23.read_text())
    doc["packages"][0]["supplier"] = "Organization: Apache Software Foundation"
    doc["packages"][1]["supplier"] = "Person: Jane Doe"
    suppliers = [p.supplier for p in parse_sbom(doc).packages]
    assert suppliers[:2] == ["Apache Software Foundation", "Jane Doe"]


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("valid-bom-1.6.json", 3),
        ("valid-bom-1.7.json", 3),
        ("valid-license-expression-1.6.json", 1),
        ("valid-service-1.6.json", 1),
        ("valid-metadata-supplier-1.6.json", 0),
        ("valid-metadata-lifecycle-1.6.json", 0),
    ],
)
def test_valid_spec_fixtures_are_accepted(app, name, count):
    importer, result = run(app, DATA / name)
    assert not result.errors and result.written
    assert app.software_packages.count() == count


@pytest.mark.parametrize(
    ("name", "column", "reason"),
    [
        ("invalid-license-choice-1.6.json", "components[0].licenses[0]", "exactly one of"),
        ("invalid-license-id-1.6.json", "components[0].licenses[0].license.id", "SPDX licence"),
        ("invalid-metadata-timestamp-1.6.json", "metadata.timestamp", "RFC 3339"),
        ("spdx3.0_examplemaven-0.0.1.spdx3.json", "@context", "SPDX 3.0 JSON-LD is not supported"),
        ("valid-saasbom-1.6.json", "components", "no packages to import"),
    ],
)
def test_refused_documents_write_nothing(app, name, column, reason):
    run(app, SPDX22)
    before = snapshot(app)
    history = SoftwarePackage.history.count()
    importer, result = run(app, DATA / name)
    assert not result.written
    assert [e.column for e in result.errors] == [column]
    assert reason in result.errors[0].expected
    assert snapshot(app) == before
    assert SoftwarePackage.history.count() == history


@pytest.mark.parametrize(
    ("mutate", "column"),
    [
        (lambda d: d.pop("bomFormat"), None),
        (lambda d: d.update(specVersion="1.1"), "specVersion"),
        (lambda d: d.update(specVersion=1.4), "specVersion"),
        (lambda d: d.update(components={"a": 1}), "components"),
        (lambda d: d["components"][0].pop("name"), "components[0].name"),
        (lambda d: d["components"][0].update(type="gadget"), "components[0].type"),
        (lambda d: d["components"][0].update(purl="maven/x@1"), "components[0].purl"),
        (lambda d: d["components"][0].update(version=3), "components[0].version"),
        (lambda d: d["components"][0].update(licenses={"id": "MIT"}), "components[0].licenses"),
        (
            lambda d: d["components"][0].update(licenses=[{"license": {"id": "MIT", "name": "M"}}]),
            "components[0].licenses[0].license",
        ),
        (
            lambda d: d["components"][0].update(components=[{"type": "library"}]),
            "components[0].components[0].name",
        ),
    ],
)
def test_structural_errors_are_refused(mutate, column):
    doc = cyclonedx(lib("a", licences=[{"license": {"id": "MIT"}}]))
    mutate(doc)
    with pytest.raises(SbomRefused) as refused:
        parse_sbom(doc)
    if column:
        assert column in [where for where, _v, _e in refused.value.errors]


def test_nested_components_and_licence_joining():
    doc = cyclonedx(
        lib("outer", licences=[{"license": {"id": "MIT"}}, {"license": {"name": "Custom"}}],
            supplier={"name": "Outer Inc"}, publisher="ignored",
            components=[lib("inner", licences=[{"expression": "MIT OR Apache-2.0"}],
                            author="Jane")]),
        lib("second", licences=[{"license": {"id": "MIT"}}, {"expression": "BSD-2-Clause OR ISC"}],
            publisher="Pub"),
    )  # fmt: skip
    packages = {p.name: p for p in parse_sbom(doc).packages}
    assert list(packages) == ["outer", "inner", "second"]
    assert (packages["outer"].licences, packages["outer"].supplier) == (
        "MIT AND Custom", "Outer Inc",
    )  # fmt: skip
    assert (packages["inner"].licences, packages["inner"].supplier) == ("MIT OR Apache-2.0", "Jane")
    assert packages["second"].licences == "MIT AND (BSD-2-Clause OR ISC)"
    assert packages["second"].supplier == "Pub"


def test_reimport_changes_nothing(app, admin_user):
    run(app, LARAVEL, user=admin_user)
    before = snapshot(app)
    history = SoftwarePackage.history.count()
    importer, result = run(app, LARAVEL, user=admin_user)
    assert (result.created, result.updated, result.unchanged, importer.deleted) == (0, 0, 62, 0)
    assert snapshot(app) == before
    assert SoftwarePackage.history.count() == history


def test_new_sbom_replaces_the_old_one(app, admin_user):
    mit = [{"license": {"id": "MIT"}}]
    first = cyclonedx(lib("keep", licences=mit), lib("change", licences=mit), lib("drop"))
    run(app, first, user=admin_user)
    keep_pk = app.software_packages.get(name="keep").pk
    second = cyclonedx(
        lib("keep", licences=mit),
        lib("change", licences=[{"license": {"id": "Apache-2.0"}}]),
        lib("new"),
    )
    importer, result = run(app, second, user=admin_user)
    assert (result.created, result.updated, result.unchanged, importer.deleted) == (1, 1, 1, 1)
    assert set(app.software_packages.values_list("name", flat=True)) == {"keep", "change", "new"}
    assert app.software_packages.get(name="keep").pk == keep_pk
    assert app.software_packages.get(name="change").licences == "Apache-2.0"
    deleted = SoftwarePackage.history.get(name="drop", history_type="-")
    assert (deleted.history_user, deleted.history_change_reason) == (admin_user, "import: sbom")
    # a version bump is a new package: the old version is removed
    third = copy.deepcopy(second)
    third["components"][2] = lib("new", version="2.0")
    importer, result = run(app, third)
    assert (result.created, importer.deleted) == (1, 1)
    assert app.software_packages.get(name="new").version == "2.0"


def test_other_applications_are_untouched(app):
    other = Application.objects.create(
        name="Other", kind="platform", owner_org_unit=app.owner_org_unit
    )
    run(other, SPDX22)
    run(app, LARAVEL)
    run(app, SPDX23)
    assert other.software_packages.count() == 6
    assert app.software_packages.count() == 5


def test_dry_run_counts_and_writes_nothing(app):
    importer, result = run(app, LARAVEL, dry_run=True)
    assert (result.created, result.written) == (62, False)
    assert not SoftwarePackage.objects.exists()
    assert not SoftwarePackage.history.exists()
    run(app, SPDX22)
    before = snapshot(app)
    importer, result = run(app, SPDX23, dry_run=True)
    assert (result.created, importer.deleted, result.written) == (5, 6, False)
    assert snapshot(app) == before


def test_summary_of_a_hand_made_sbom(app):
    Vendor.objects.create(name="Acme GmbH", country="DE")
    Vendor.objects.create(name="Initech Ltd", country="GB")
    doc = cyclonedx(
        lib("a", licences=[{"license": {"id": "MIT"}}], supplier={"name": "Acme GmbH"}),
        lib("b", licences=[{"expression": "GPL-2.0-only WITH Classpath-exception-2.0"}],
            publisher="ACME GMBH"),
        lib("c", licences=[{"license": {"name": "Initech proprietary"}}], author="Initech Ltd"),
        lib("d", licences=[{"expression": "Apache-2.0 OR LGPL-2.1-or-later"}],
            supplier={"name": "Nobody Corp"}),
        lib("e"),
        lib("f", licences=[{"license": {"id": "EPL-2.0"}}, {"license": {"id": "MPL-2.0"}}],
            publisher="Foo"),
    )  # fmt: skip
    run(app, doc)
    summary = sbom_summary(app)
    assert summary.package_count == 6
    assert summary.open_source_share == pytest.approx(4 / 6)  # a, b, d, f
    assert summary.copyleft_licences == {"GPL-2.0-only", "LGPL-2.1-or-later", "EPL-2.0", "MPL-2.0"}
    assert summary.suppliers_by_country == {"DE": 1, "GB": 1, "unknown": 2}


def test_summary_of_an_empty_application(app):
    summary = sbom_summary(app)
    assert (summary.package_count, summary.open_source_share) == (0, 0.0)
    assert summary.copyleft_licences == set() and summary.suppliers_by_country == {}


def test_command(app, admin_user, capsys):
    call_command("import_sbom", "BP", str(SPDX22), "--dry-run")
    assert not SoftwarePackage.objects.exists()
    call_command("import_sbom", "Bürgerportal", str(SPDX22), "--as-user", "admin")
    out = capsys.readouterr().out
    assert "created 6" in out and "packages: 6" in out and "EPL-1.0" in out
    assert SoftwarePackage.history.filter(history_user=admin_user).count() == 6
    with pytest.raises(CommandError, match="refused"):
        call_command("import_sbom", "BP", str(DATA / "invalid-license-id-1.6.json"))
    assert "Apache-2" in capsys.readouterr().err
    assert app.software_packages.count() == 6
    with pytest.raises(CommandError, match="No application"):
        call_command("import_sbom", "XX", str(SPDX22))

"""The German catalogue: complete, not fuzzy, compiled, and used at run time."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.utils import translation

from architecture.choices import StandardStatus
from architecture.models import Capability
from cmdb.choices import Criticality, LifecyclePhase
from cmdb.models import Application, Interface
from itsm.choices import IncidentState
from itsm.models import Incident, Requirement
from sourcing.models import Assessment

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
PO_FILE = LOCALE_DIR / "de" / "LC_MESSAGES" / "django.po"
MO_FILE = LOCALE_DIR / "de" / "LC_MESSAGES" / "django.mo"


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file as {"msgid", "msgstr", "flags"}; just enough for these checks.

    Entries are separated by blank lines; obsolete (#~) entries are skipped; for a plural
    entry msgstr is msgstr[0].
    """
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines()]
        if not lines or all(line.startswith("#~") for line in lines):
            continue
        entry = {"msgctxt": None, "msgid": None, "msgstr": None, "flags": []}
        field = None
        for line in lines:
            if line.startswith("#,"):
                entry["flags"] += [flag.strip() for flag in line[2:].split(",")]
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                if field is not None:
                    entry[field] += ast.literal_eval(line)
            else:
                keyword, _, value = line.partition(" ")
                field = {
                    "msgctxt": "msgctxt", "msgid": "msgid", "msgstr": "msgstr",
                    "msgstr[0]": "msgstr",
                }.get(keyword)  # fmt: skip
                if field is not None:
                    entry[field] = ast.literal_eval(value)
        assert entry["msgid"] is not None and entry["msgstr"] is not None, block
        entries.append(entry)
    return entries


@pytest.fixture(scope="module")
def catalogue():
    entries = parse_po(PO_FILE)
    return {
        "header": [e for e in entries if e["msgid"] == ""],
        "messages": [e for e in entries if e["msgid"] != ""],
    }


@pytest.fixture
def german():
    with translation.override("de"):
        yield


def test_verbose_names_are_german(german):
    assert str(Application._meta.verbose_name) == "Anwendung"
    assert str(Application._meta.verbose_name_plural) == "Anwendungen"
    assert str(Interface._meta.verbose_name) == "Schnittstelle"
    assert str(Application._meta.get_field("criticality").verbose_name) == "Kritikalität"


def test_choice_labels_are_german(german):
    assert str(Criticality.MISSION_CRITICAL.label) == "missionskritisch"
    assert str(LifecyclePhase.PHASE_OUT.label) == "Auslauf"


def test_itsm_labels_are_german(german):
    assert str(Incident._meta.verbose_name) == "Störung"
    assert str(IncidentState.PENDING.label) == "wartend"


def test_backlog_and_sourcing_labels_are_german(german):
    assert str(Requirement._meta.verbose_name) == "Anforderung"
    assert str(Assessment._meta.verbose_name) == "Souveränitätsbewertung"


def test_architecture_labels_are_german(german):
    assert str(Capability._meta.verbose_name) == "Fähigkeit"
    # The radar has its own context: a retired catalogue is "außer Kraft", retired technology
    # is "auslaufend".
    assert str(StandardStatus.RETIRED.label) == "auslaufend"
    assert str(StandardStatus.APPROVED.label) == "freigegeben"


def test_english_stays_the_default():
    with translation.override("en"):
        assert str(Application._meta.verbose_name) == "application"


def test_catalogue_has_a_proper_header(catalogue):
    assert len(catalogue["header"]) == 1
    header = catalogue["header"][0]["msgstr"]
    assert "Language: de\n" in header
    assert "charset=UTF-8" in header
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header


def test_catalogue_is_complete(catalogue):
    assert len(catalogue["messages"]) > 100
    untranslated = [e["msgid"] for e in catalogue["messages"] if not e["msgstr"]]
    assert untranslated == []


def test_catalogue_has_no_fuzzy_entries(catalogue):
    fuzzy = [
        e["msgid"] for e in catalogue["header"] + catalogue["messages"] if "fuzzy" in e["flags"]
    ]
    assert fuzzy == []
    # Also a fuzzy flag the parser might miss, e.g. on an entry not separated by a blank line.
    lines = PO_FILE.read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if line.startswith("#,") and "fuzzy" in line] == []


def test_placeholders_are_kept(catalogue):
    placeholder = re.compile(r"%\(\w+\)s")
    for entry in catalogue["messages"]:
        assert sorted(placeholder.findall(entry["msgid"])) == sorted(
            placeholder.findall(entry["msgstr"])
        ), entry["msgid"]


def test_compiled_catalogue_matches_the_po_file(catalogue):
    """Catches a .po edited without running compilemessages."""
    with MO_FILE.open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)

    def lookup(entry):
        if entry["msgctxt"] is not None:
            return compiled.pgettext(entry["msgctxt"], entry["msgid"])
        return compiled.gettext(entry["msgid"])

    stale = [e["msgid"] for e in catalogue["messages"] if lookup(e) != e["msgstr"]]
    assert stale == []


@pytest.mark.django_db
def test_governance_findings_are_german():
    from architecture.governance import run_rules
    from cmdb.factories import ApplicationFactory

    app = ApplicationFactory(owner_team=None)
    with translation.override("de"):
        findings = [f for f in run_rules(rules=["missing_owner"]) if f.subject_id == app.pk]
    assert findings
    finding = findings[0]
    assert finding.subject_kind == "application"
    assert "verantwortliches Team" in finding.message
    assert "verantwortliches Team" in finding.hint

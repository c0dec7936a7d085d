"""Import spreadsheets (CSV or Excel) into the CMDB and the requirements backlog.

One importer for several kinds (org units, teams, vendors, IT components, applications,
interfaces, requirements). Headers are recognised in English and German, or mapped explicitly
by a small YAML file (``{column: field}``); values are normalised (choices by value or label in
both languages, criticality words, booleans, European dates, empty markers) and every row is
validated as ``full_clean`` validates it.

Rows are numbered as in the spreadsheet: the header is row 1, the first data row is row 2.

Rows are upserted by ``external_id`` when the file has one, else by a natural key (org unit
code, vendor name, component name + version, application acronym else name, interface name +
provider, requirement title + requesting org unit). A row whose mapped values all equal the
stored ones is counted as unchanged and not saved, so a re-import writes no history.

How the work is shared out (a 10,000-row file costs a few dozen queries, not one per row):

* each column is converted once per distinct value (``convert_column``);
* the stored rows the file can touch (same key, external id or unique value) are found from one
  query of those values over the table and read in a few batches (``load_existing``); the
  uniqueness of a row is checked against them and against the rows above it, in memory;
* a new row of a bulk kind (applications) is validated by ``importers.bulk.NewRows`` — each
  field's own ``clean()`` once per distinct value, the model's ``clean()`` per row, check
  constraints once per distinct combination — and inserted with the next batch of
  ``BULK_BATCH`` rows, its history row written in the same batch;
* an update keeps the row-by-row path: the row is re-read and locked, ``full_clean``ed and saved
  with its history row.
"""

from __future__ import annotations

import datetime
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone, translation

from cmdb.choices import (
    ApplicationKind,
    ComponentKind,
    Criticality,
    DataFlowDirection,
    Frequency,
    Hosting,
    OrgUnitKind,
    ProtectionNeed,
    Protocol,
)
from cmdb.models import (
    Application,
    Interface,
    InterfaceConsumer,
    ITComponent,
    OrgUnit,
    Team,
    Vendor,
)
from importers.base import Importer, Stage
from importers.bulk import MISSING, ConstraintChecker, NewRows, insert_with_history
from itsm.models import next_number
from itsm.models.requirement import Requirement
from itsm.requirement_choices import RequirementKind, RequirementState
from landkarte.services import history_reason

FIRST_DATA_ROW = 2  # spreadsheet numbering: header = row 1
EMPTY_MARKERS = {"", "-", "--", "–", "—", "?", "n/a", "na", "k.a.", "k. a.", "ka", "none", "nan"}
TRUE_WORDS = {"ja", "j", "yes", "y", "x", "1", "true", "wahr", "w"}
FALSE_WORDS = {"nein", "n", "no", "0", "false", "falsch", "f"}
DATE_FORMATS = ["%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%Y/%m/%d"]
EXCEL_EPOCH = datetime.date(1899, 12, 30)
BULK_BATCH = 1000


def norm(text) -> str:
    """Header / word key: lower case, umlauts kept, punctuation and spacing folded."""
    text = unicodedata.normalize("NFC", str(text)).strip().lower().replace("ß", "ss")
    text = re.sub(r"[\s_\-/.:()]+", " ", text)
    return text.strip()


# Extra words beyond the choice values and the English and German labels.
CHOICE_SYNONYMS = {
    Criticality: {
        "missionskritisch": "mission_critical",
        "kritisch": "mission_critical",
        "sehr kritisch": "mission_critical",
        "unternehmenskritisch": "mission_critical",
        "geschaeftskritisch": "business_critical",
        "geschäftskritisch": "business_critical",
        "hoch": "business_critical",
        "geschaeftsrelevant": "business_operational",
        "geschäftsrelevant": "business_operational",
        "betriebsrelevant": "business_operational",
        "betriebsunterstützend": "business_operational",
        "mittel": "business_operational",
        "administrativ": "administrative",
        "verwaltend": "administrative",
        "unkritisch": "administrative",
        "niedrig": "administrative",
        "gering": "administrative",
    },
    ProtectionNeed: {"hoch": "high", "sehr hoch": "very_high", "normal": "normal"},
    ApplicationKind: {
        "fachverfahren": "specialist_procedure",
        "fachanwendung": "specialist_procedure",
        "standardsoftware": "standard_software",
        "eigenentwicklung": "own_development",
        "plattform": "platform",
        "saas": "saas",
    },
    Hosting: {
        "rechenzentrum": "city_data_centre",
        "eigenes rechenzentrum": "city_data_centre",
        "städtisches rechenzentrum": "city_data_centre",
        "on premise": "city_data_centre",
        "kommunaler it dienstleister": "municipal_it_provider",
        "it dienstleister": "municipal_it_provider",
        "eu cloud": "eu_cloud",
        "nicht eu cloud": "non_eu_cloud",
        "non eu cloud": "non_eu_cloud",
    },
    OrgUnitKind: {
        "verwaltung": "administration",
        "stadtverwaltung": "administration",
        "dezernat": "department",
        "geschäftsbereich": "department",
        "amt": "office",
        "fachbereich": "office",
        "abteilung": "division",
        "sachgebiet": "division",
        "eigenbetrieb": "municipal_enterprise",
    },
    ComponentKind: {
        "betriebssystem": "operating_system",
        "datenbank": "database",
        "laufzeitumgebung": "runtime",
        "webserver": "application_server",
        "applikationsserver": "application_server",
        "anwendungsserver": "application_server",
        "bürosoftware": "office_suite",
        "office": "office_suite",
        "netzwerk": "network",
        "sonstiges": "other",
    },
    Protocol: {"datei": "file_transfer", "dateiübertragung": "file_transfer", "mail": "email"},
    Frequency: {
        "echtzeit": "real_time",
        "bei bedarf": "on_demand",
        "stündlich": "hourly",
        "täglich": "daily",
        "wöchentlich": "weekly",
        "monatlich": "monthly",
        "jährlich": "yearly",
    },
    DataFlowDirection: {"bidirektional": "bidirectional", "beidseitig": "bidirectional"},
    RequirementKind: {
        "gesetzliche pflicht": "legal_obligation",
        "gesetz": "legal_obligation",
        "neue anwendung": "new_application",
        "erweiterung": "enhancement",
        "beschaffung": "procurement",
        "infrastruktur": "infrastructure",
    },
}

COUNTRY_NAMES = {
    "deutschland": "DE", "germany": "DE", "österreich": "AT", "austria": "AT",
    "schweiz": "CH", "switzerland": "CH", "frankreich": "FR", "france": "FR",
    "niederlande": "NL", "netherlands": "NL", "irland": "IE", "ireland": "IE",
    "usa": "US", "vereinigte staaten": "US", "united states": "US", "us": "US",
    "vereinigtes königreich": "GB", "grossbritannien": "GB", "united kingdom": "GB",
    "uk": "GB", "schweden": "SE", "sweden": "SE", "dänemark": "DK", "denmark": "DK",
    "belgien": "BE", "belgium": "BE", "luxemburg": "LU", "luxembourg": "LU",
    "italien": "IT", "italy": "IT", "spanien": "ES", "spain": "ES", "polen": "PL",
    "poland": "PL", "finnland": "FI", "finland": "FI", "china": "CN", "japan": "JP",
    "indien": "IN", "india": "IN", "israel": "IL", "kanada": "CA", "canada": "CA",
}  # fmt: skip


def choice_lookup(choices) -> dict[str, str]:
    table = {}
    for value, label in choices.choices:
        table[norm(value)] = value
        with translation.override("en"):
            table[norm(str(label))] = value
        with translation.override("de"):
            table[norm(str(label))] = value
    for word, value in CHOICE_SYNONYMS.get(choices, {}).items():
        table[norm(word)] = value
    return table


@dataclass
class Col:
    """One importable field: the model attribute, its value type and the headers it answers."""

    name: str
    type: str  # str, text, choice, bool, date, int, country, ref, list
    aliases: tuple[str, ...] = ()
    choices: type | None = None
    ref: str | None = None  # key of REFS for type ref / list
    required: bool = False


@dataclass
class Kind:
    model: type
    cols: list[Col]
    key: tuple[str, ...]
    alt_key: tuple[str, ...] = ()  # tried when the first key has an empty part
    bulk: bool = False
    clean_exclude: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


EXTERNAL_ID = Col("external_id", "str", ("external id", "id", "kennung", "externe id"))

KINDS: dict[str, Kind] = {
    "org_units": Kind(
        OrgUnit,
        [
            Col("code", "str", ("code", "kürzel", "kuerzel", "kennziffer", "nummer"),
                required=True),
            Col("name", "str", ("name", "bezeichnung"), required=True),
            Col("kind", "choice", ("kind", "type", "art", "typ", "ebene"), OrgUnitKind,
                required=True),
            Col("parent", "ref", ("parent", "übergeordnet", "übergeordnete einheit",
                                  "uebergeordnet", "parent code"), ref="org_unit"),
            EXTERNAL_ID,
        ],
        key=("code",),
    ),
    "teams": Kind(
        Team,
        [
            Col("name", "str", ("name", "bezeichnung", "team"), required=True),
            Col("org_unit", "ref", ("org unit", "organisationseinheit", "amt", "owner org unit",
                                    "einheit"), ref="org_unit", required=True),
            Col("email", "str", ("email", "e mail", "mail")),
        ],
        key=("name",),
    ),
    "vendors": Kind(
        Vendor,
        [
            Col("name", "str", ("name", "bezeichnung", "hersteller", "vendor", "firma"),
                required=True),
            Col("country", "country", ("country", "land", "sitz", "staat"), required=True),
            Col("parent", "ref", ("parent", "parent company", "muttergesellschaft", "konzern",
                                  "mutter"), ref="vendor"),
            Col("website", "str", ("website", "web", "url", "webseite", "homepage")),
            EXTERNAL_ID,
        ],
        key=("name",),
    ),
    "it_components": Kind(
        ITComponent,
        [
            Col("name", "str", ("name", "product", "produkt", "bezeichnung", "komponente"),
                required=True),
            Col("version", "str", ("version", "release", "release cycle", "versionsstand")),
            Col("vendor", "ref", ("vendor", "hersteller", "anbieter"), ref="vendor"),
            Col("kind", "choice", ("kind", "type", "art", "typ"), ComponentKind, required=True),
            Col("licence", "str", ("licence", "license", "lizenz")),
            Col("is_open_source", "bool", ("open source", "is open source", "quelloffen")),
            Col("release_date", "date", ("release date", "veröffentlicht", "erscheinungsdatum")),
            Col("end_of_support", "date", ("end of support", "supportende", "support bis")),
            Col("end_of_life", "date", ("end of life", "eol", "lebensende", "abkündigung")),
            Col("eol_product", "str", ("eol product", "endoflife date product")),
            Col("eol_cycle", "str", ("eol cycle", "endoflife date cycle")),
            Col("purl", "str", ("purl", "package url")),
            Col("cpe", "str", ("cpe",)),
            EXTERNAL_ID,
        ],
        key=("name", "version"),
        bulk=True,
    ),
    "applications": Kind(
        Application,
        [
            Col("name", "str", ("name", "bezeichnung", "anwendung", "application", "verfahren"),
                required=True),
            Col("acronym", "str", ("acronym", "kürzel", "kuerzel", "abkürzung", "short name")),
            Col("description", "text", ("description", "beschreibung")),
            Col("kind", "choice", ("kind", "type", "art", "typ", "anwendungsart"), ApplicationKind,
                required=True),
            Col("owner_org_unit", "ref", ("owner org unit", "org unit", "amt",
                                          "organisationseinheit", "owner", "fachamt",
                                          "verantwortliche einheit"), ref="org_unit",
                required=True),
            Col("owner_team", "ref", ("team", "owner team", "verantwortliches team",
                                      "betreuendes team"), ref="team"),
            Col("business_owner", "str", ("business owner", "fachverantwortlich",
                                          "fachverantwortung", "verfahrensverantwortlich")),
            Col("vendor", "ref", ("vendor", "hersteller", "anbieter", "lieferant"), ref="vendor"),
            Col("criticality", "choice", ("criticality", "kritikalität", "kritikalitaet"),
                Criticality),
            Col("confidentiality", "choice", ("confidentiality", "vertraulichkeit"),
                ProtectionNeed),
            Col("integrity", "choice", ("integrity", "integrität", "integritaet"), ProtectionNeed),
            Col("availability", "choice", ("availability", "verfügbarkeit", "verfuegbarkeit"),
                ProtectionNeed),
            Col("personal_data", "bool", ("personal data", "personenbezogene daten",
                                          "personenbezug", "processes personal data")),
            Col("hosting", "choice", ("hosting", "betrieb", "betriebsort"), Hosting),
            Col("user_count", "int", ("user count", "users", "number of users", "nutzer",
                                      "anzahl nutzer", "nutzerzahl", "anwender")),
            Col("functional_fit", "int", ("functional fit", "fachliche eignung")),
            Col("technical_fit", "int", ("technical fit", "technische eignung")),
            Col("plan_date", "date", ("plan date", "plan from", "geplant ab", "planung ab")),
            Col("phase_in_date", "date", ("phase in date", "phase in from", "einführung ab",
                                          "einfuehrung ab")),
            Col("active_date", "date", ("active date", "active from", "produktiv seit",
                                        "produktiv ab", "aktiv seit", "in betrieb seit")),
            Col("phase_out_date", "date", ("phase out date", "phase out from", "auslaufend ab",
                                           "ablösung ab")),
            Col("end_of_life_date", "date", ("end of life date", "end of life", "end of life from",
                                             "abgeschaltet ab", "außerbetriebnahme",
                                             "lebensende")),
            EXTERNAL_ID,
        ],
        key=("acronym",),
        alt_key=("name",),
        bulk=True,
    ),
    "interfaces": Kind(
        Interface,
        [
            Col("name", "str", ("name", "bezeichnung", "schnittstelle", "interface"),
                required=True),
            Col("provider", "ref", ("provider", "anbieter", "bereitstellende anwendung",
                                    "quelle", "quellsystem", "bereitsteller"),
                ref="application", required=True),
            Col("consumers", "list", ("consumers", "consumer", "konsumenten", "nutzer",
                                      "nutzende anwendungen", "zielsysteme", "ziel"),
                ref="application"),
            Col("description", "text", ("description", "beschreibung")),
            Col("direction", "choice", ("direction", "data flow", "richtung", "datenfluss"),
                DataFlowDirection),
            Col("protocol", "choice", ("protocol", "protokoll", "technik"), Protocol,
                required=True),
            Col("data_standard", "str", ("data standard", "datenstandard", "standard")),
            Col("frequency", "choice", ("frequency", "frequenz", "häufigkeit", "haeufigkeit",
                                        "takt"), Frequency),
            Col("personal_data", "bool", ("personal data", "personenbezogene daten",
                                          "personenbezug")),
            Col("owner_team", "ref", ("team", "owner team", "verantwortliches team"), ref="team"),
            Col("active_from", "date", ("active from", "produktiv seit", "aktiv seit",
                                        "produktiv ab")),
            Col("end_of_life", "date", ("end of life", "lebensende", "abgeschaltet ab")),
            EXTERNAL_ID,
        ],
        key=("name", "provider"),
    ),
    "requirements": Kind(
        Requirement,
        [
            Col("title", "str", ("title", "titel", "name", "bezeichnung", "anforderung"),
                required=True),
            Col("description", "text", ("description", "beschreibung")),
            Col("kind", "choice", ("kind", "type", "art", "typ"), RequirementKind, required=True),
            Col("requesting_org_unit", "ref", ("org unit", "requesting org unit", "amt",
                                               "organisationseinheit", "antragsteller",
                                               "anfordernde einheit"), ref="org_unit",
                required=True),
            Col("business_value", "int", ("business value", "geschäftswert", "nutzen"),
                required=True),
            Col("time_criticality", "int", ("time criticality", "zeitkritikalität",
                                            "dringlichkeit"), required=True),
            Col("risk_reduction", "int", ("risk reduction", "risikoreduktion", "risiko"),
                required=True),
            Col("job_size", "int", ("job size", "aufwand", "größe", "groesse"), required=True),
            Col("legal_basis", "text", ("legal basis", "rechtsgrundlage")),
            Col("due_date", "date", ("due date", "frist", "fällig", "fällig am", "termin")),
        ],
        key=("title", "requesting_org_unit"),
        clean_exclude=("number", "applications", "changes"),
    ),
}  # fmt: skip


def cell_key(raw):
    """A cell's value as a cache key: equal values of different types (True and 1 in an Excel
    column) convert differently."""
    return raw if type(raw) is str else (type(raw), raw)


class RefIndex:
    """Existing rows of a referenced model by lower-cased name / code, kept up to date as the
    import creates rows."""

    def __init__(self, model, attrs):
        self.model = model
        self.attrs = attrs
        self.by = {attr: {} for attr in attrs}
        for obj in model.objects.all():
            self.add(obj)

    def add(self, obj):
        for attr in self.attrs:
            value = getattr(obj, attr)
            if value:
                self.by[attr].setdefault(norm(value), {})[obj.pk or id(obj)] = obj

    def find(self, text):
        """(object, problem): by each attribute in turn; ambiguous names are a problem."""
        key = norm(text)
        for attr in self.attrs:
            hits = self.by[attr].get(key)
            if hits:
                if len(hits) > 1:
                    return None, "ambiguous"
                return next(iter(hits.values())), None
        return None, "unknown"


REF_ATTRS = {
    "org_unit": (OrgUnit, ("code", "name")),
    "vendor": (Vendor, ("name",)),
    "team": (Team, ("name",)),
    "application": (Application, ("acronym", "name")),
}
REF_EXPECTED = {
    "org_unit": "the code or name of an existing org unit",
    "vendor": "the name of an existing vendor",
    "team": "the name of an existing team",
    "application": "the acronym or name of an existing application",
}


class TabularImporter(Importer):
    """``TabularImporter(kind, path, mapping=None, user=…, dry_run=…, skip_invalid=…)``."""

    name = "table"

    def __init__(self, kind: str, path, *, mapping: dict | str | Path | None = None, **kwargs):
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
        self.kind = kind
        self.spec = KINDS[kind]
        self.path = Path(path)
        if isinstance(mapping, str | Path):
            mapping = yaml.safe_load(Path(mapping).read_text(encoding="utf-8")) or {}
        self.mapping = mapping
        self.name = f"{kind} from {self.path.name}"
        self.ignored_columns: list[str] = []

    @property
    def change_reason(self) -> str:
        return history_reason(f"import: {self.name}")

    # --- reading ----------------------------------------------------------------------------

    def read(self) -> pd.DataFrame:
        if self.path.suffix.lower() in {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}:
            return pd.read_excel(self.path, engine="calamine", dtype=object)
        raw = self.path.read_bytes()
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        first = text.split("\n", 1)[0]
        sep = ";" if first.count(";") > first.count(",") else ","
        return pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True
        )

    def map_columns(self, columns, stage: Stage) -> dict[str, str]:
        """field name → column header."""
        cols = {col.name: col for col in self.spec.cols}
        result: dict[str, str] = {}
        if self.mapping:
            by_header = {norm(h): h for h in columns}
            for column, target in self.mapping.items():
                header = by_header.get(norm(column))
                if header is None:
                    stage.error(None, column, column, "a column of this name in the file")
                elif target in (None, "", "-"):
                    continue
                elif target not in cols:
                    stage.error(None, column, target, f"one of the fields {', '.join(cols)}")
                else:
                    result[target] = header
        for header in columns:
            if header in result.values():
                continue
            key = norm(header)
            for col in self.spec.cols:
                # Aliases are compared normalised too: "größe" is spelled "grösse" once normalised.
                aliases = {norm(alias) for alias in col.aliases}
                if col.name not in result and (key == norm(col.name) or key in aliases):
                    result[col.name] = header
                    break
            else:
                self.ignored_columns.append(str(header))
        for col in self.spec.cols:
            if col.required and col.name not in result:
                stage.error(None, col.name, None, f"a column for {col.name} ({col.aliases[0]!r})")
        return result

    # --- values -----------------------------------------------------------------------------

    @staticmethod
    def is_empty(value) -> bool:
        if value is None:
            return True
        if isinstance(value, float) and pd.isna(value):
            return True
        if value is pd.NaT:
            return True
        return isinstance(value, str) and value.strip().lower() in EMPTY_MARKERS

    @staticmethod
    def as_text(value) -> str:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, datetime.datetime | pd.Timestamp):
            return value.date().isoformat()
        return str(value).strip()

    def convert(self, col: Col, value):
        """The model value, or raise ValueError(expected)."""
        if self.is_empty(value):
            return None
        t = col.type
        if t in ("str", "text"):
            return self.as_text(value)
        if t == "choice":
            table = self._choice_tables.get(col.choices)
            if table is None:
                table = self._choice_tables[col.choices] = choice_lookup(col.choices)
            hit = table.get(norm(self.as_text(value)))
            if hit is None:
                labels = ", ".join(str(label) for _v, label in col.choices.choices)
                raise ValueError(f"one of: {labels} (English or German, or the code)")
            return hit
        if t == "bool":
            if isinstance(value, bool):
                return value
            word = norm(self.as_text(value))
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise ValueError("yes or no (ja/nein, yes/no, x, 1/0)")
        if t == "date":
            return self.to_date(value)
        if t == "int":
            text = self.as_text(value).replace(" ", "")
            if re.fullmatch(r"\d{1,3}(\.\d{3})+", text):  # German thousands: 1.000
                text = text.replace(".", "")
            try:
                number = float(text.replace(",", "."))
            except ValueError:
                raise ValueError("a whole number") from None
            if not number.is_integer():
                raise ValueError("a whole number")
            return int(number)
        if t == "country":
            text = self.as_text(value)
            if re.fullmatch(r"[A-Za-z]{2}", text) and norm(text) not in COUNTRY_NAMES:
                return text.upper()
            code = COUNTRY_NAMES.get(norm(text))
            if code is None:
                raise ValueError("a two-letter ISO 3166-1 country code such as DE")
            return code
        if t == "ref":
            obj, problem = self.refs[col.ref].find(self.as_text(value))
            if obj is None:
                suffix = " (the name is ambiguous)" if problem == "ambiguous" else ""
                raise ValueError(REF_EXPECTED[col.ref] + suffix)
            return obj
        if t == "list":
            found = []
            for part in re.split(r"[;,|\n]+", self.as_text(value)):
                if not part.strip():
                    continue
                obj, problem = self.refs[col.ref].find(part)
                if obj is None:
                    raise ValueError(f"{REF_EXPECTED[col.ref]} ({part.strip()!r} is {problem})")
                found.append(obj)
            return found
        raise AssertionError(t)

    @staticmethod
    def to_date(value):
        if isinstance(value, pd.Timestamp | datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 2958466:
            return EXCEL_EPOCH + datetime.timedelta(days=int(value))
        text = str(value).strip()
        text = re.sub(r"[ T]00:00(:00)?$", "", text)
        for fmt in DATE_FORMATS:
            try:
                return datetime.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        if re.fullmatch(r"\d{5}", text):
            return EXCEL_EPOCH + datetime.timedelta(days=int(text))
        raise ValueError("a date such as 31.12.2025, 31/12/2025 or 2025-12-31")

    # --- the run ----------------------------------------------------------------------------

    def run(self, stage: Stage) -> None:
        self._choice_tables = {}
        try:
            frame = self.read()
        except Exception as exc:  # unreadable file: one error for the whole file
            stage.error(None, None, str(self.path), f"a readable CSV or Excel file ({exc})")
            return
        frame.columns = [str(c).strip() for c in frame.columns]
        columns = self.map_columns(list(frame.columns), stage)
        if stage.result.errors:
            return
        if self.kind == "requirements" and self.user is None:
            stage.error(None, None, None, "a user to record as requester (--as-user)")
            return
        model = self.spec.model
        self.cols = {col.name: col for col in self.spec.cols}
        self.required = [
            (col.name, columns[col.name])
            for col in self.spec.cols
            if col.required and columns.get(col.name)
        ]
        # Only the models this file refers to are read.
        used_refs = {self.cols[name].ref for name in columns if self.cols[name].ref}
        self.refs = {name: RefIndex(*REF_ATTRS[name]) for name in used_refs}
        self.own_refs = [index for index in self.refs.values() if index.model is model]
        # Each distinct value of a column is converted once, except references to the model
        # being imported: a row may name one created further up (a vendor's parent).
        self._converted = {
            name: {}
            for name in columns
            if not (self.cols[name].ref and REF_ATTRS[self.cols[name].ref][0] is model)
        }
        self.unique_fields = [
            f.name
            for f in model._meta.concrete_fields
            if f.unique and not f.primary_key and f.editable
        ]
        headers = list(frame.columns)
        cells = {header: frame[header].tolist() for header in headers}
        self.hits = {
            name: self.convert_column(name, cells[header])
            for name, header in columns.items()
            if name in self._converted
        }
        existing = self.load_existing(cells, columns)
        self.by_external = {o.external_id: o for o in existing if getattr(o, "external_id", None)}
        self.by_key: dict[tuple, object] = {}
        self.by_alt_key: dict[tuple, object] = {}
        for obj in existing:
            self.index(obj)
        self.unique_seen = {
            name: {getattr(o, name): o for o in existing if getattr(o, name) not in (None, "")}
            for name in self.unique_fields
        }
        self.checks = ConstraintChecker(model)
        self.relations = [f for f in model._meta.concrete_fields if f.is_relation]
        self.new_rows = self.prepared = None
        self.converted_rows = self.whole_columns(columns)
        if self.spec.bulk:
            fields = [name for name in columns if name in self.field_names(model)]
            self.new_rows = NewRows(model, fields, exclude=self.spec.clean_exclude)
            self.assigners = {name: self.assigner(model, name) for name in fields}
            if self.converted_rows is not None and self.kind != "requirements":
                self.prepared = self.new_rows.prepare(
                    {name: self.stored_column(model, name) for name in fields}
                )
        self.seen_rows: dict[int, int] = {}  # id(obj) → row that touched it
        self.pending: list = []
        blank = self.blank_rows(cells)
        total = len(frame)
        for i, row_values in enumerate(zip(*cells.values(), strict=True)):
            if not blank[i]:  # a blank line between the rows is no row
                record = dict(zip(headers, row_values, strict=True))
                self.import_row(i + FIRST_DATA_ROW, record, columns, stage)
            if (i + 1) % 100 == 0 or i + 1 == total:
                stage.tick(i + 1, total)
        self.flush()

    def whole_columns(self, columns):
        """When every column was converted as a whole (no list, no reference to the model being
        imported): per row, whether every cell converted and is present where required, and
        its values in column order; None otherwise."""
        names = list(columns)
        if any(name not in self.hits or self.cols[name].type == "list" for name in names):
            return None
        ok = [[hit[0] for hit in self.hits[name]] for name in names]
        values = [[hit[1] for hit in self.hits[name]] for name in names]
        required = {name for name, _header in self.required}
        empty = [
            [value is None or value == "" for value in column]
            for name, column in zip(names, values, strict=True)
            if name in required
        ]
        good = [all(oks) for oks in zip(*ok, strict=True)]
        if empty:
            missing = [any(flags) for flags in zip(*empty, strict=True)]
            good = [g and not m for g, m in zip(good, missing, strict=True)]
        return names, good, list(zip(*values, strict=True))

    def stored_column(self, model, name):
        """What a new instance stores in field `name`, row by row (`assigner` column-wise);
        None where the cell did not convert (that row fails before it is created)."""
        field_ = model._meta.get_field(name)
        if field_.is_relation:
            return [value if ok else None for ok, value in self.hits[name]]
        default = self.model_value(field_, None)
        return [
            (value if value is not None else default) if ok else None
            for ok, value in self.hits[name]
        ]

    @staticmethod
    def field_names(model) -> set[str]:
        return {f.name for f in model._meta.concrete_fields}

    def blank_rows(self, cells: dict[str, list]) -> list[bool]:
        """Per row: every cell empty. A column is looked at only for the rows whose cells
        were all empty so far, each distinct value judged once."""
        rows = len(next(iter(cells.values()), []))
        maybe_blank = range(rows)
        for values in cells.values():
            judged = {}
            still = []
            for i in maybe_blank:
                value = values[i]
                try:
                    empty = judged.get(value)
                    if empty is None:
                        empty = judged[value] = self.is_empty(value)
                except TypeError:  # unhashable
                    empty = self.is_empty(value)
                if empty:
                    still.append(i)
            maybe_blank = still
            if not maybe_blank:
                break
        blank = [False] * rows
        for i in maybe_blank:
            blank[i] = True
        return blank

    def convert_column(self, name: str, raws: list) -> list[tuple[bool, object]]:
        """(True, value) or (False, expected) per cell: `convert` once per distinct value."""
        cache = self._converted[name]
        col = self.cols[name]

        def convert(raw):
            try:
                return True, self.convert(col, raw)
            except ValueError as exc:
                return False, str(exc)

        try:
            keys = raws if all(type(raw) is str for raw in raws) else list(map(cell_key, raws))
            for key, raw in dict(zip(keys, raws, strict=True)).items():
                if key not in cache:
                    cache[key] = convert(raw)
            return [cache[key] for key in keys]
        except TypeError:  # unhashable cells
            return [convert(raw) for raw in raws]

    def load_existing(self, cells: dict[str, list], columns: dict[str, str]) -> list:
        """The stored rows this file can touch: those sharing a key, external id or unique
        value with some row of the file (keys compared as `key_of` compares them). One query
        reads these values of every stored row, one more per 10,000 rows found the rows."""
        model = self.spec.model
        keys = {*self.spec.key, *self.spec.alt_key}
        lookups = [
            name
            for name in dict.fromkeys(
                [*self.spec.key, *self.spec.alt_key, "external_id", *self.unique_fields]
            )
            if name in columns and name in self.field_names(model)
        ]
        # The alternative key matches only rows whose key has an empty part.
        alt_only = set(self.spec.alt_key) - {*self.spec.key, "external_id", *self.unique_fields}
        key_hits = [self.hits.get(name) for name in self.spec.key]
        keyless = None
        if alt_only and all(hits is not None for hits in key_hits):
            keyless = [
                i
                for i, parts in enumerate(zip(*key_hits, strict=True))
                if any(
                    ok and name != "version" and value in (None, "")
                    for name, (ok, value) in zip(self.spec.key, parts, strict=True)
                )
            ]
        wanted = {}
        for name in lookups:
            if name in alt_only and keyless is not None and name in self.hits:
                hits = self.hits[name]
                values = {hits[i][1] for i in keyless if hits[i][0]}
            else:
                values = set()
                for raw in set(cells[columns[name]]):
                    try:
                        values.add(self.convert_value(name, raw))
                    except ValueError:
                        continue
            found = {
                self.key_part(value) if name in keys else value
                for value in values
                if value not in (None, "")
            }
            if found:
                wanted[name] = (found, self.key_part if name in keys else None)
        if not wanted:
            return []
        lookups = list(wanted)
        wanted = list(wanted.values())
        stored = list(model._default_manager.values_list("pk", *lookups))
        pks = set()
        for position, (found, normalise) in enumerate(wanted, start=1):
            for values in stored:
                value = values[position]
                if value is None:
                    continue
                if normalise is not None:
                    if type(value) is str:
                        value = " ".join(value.split()).casefold()
                    else:
                        value = normalise(value)
                if value in found:
                    pks.add(values[0])
        pks = sorted(pks)
        batch = BULK_BATCH * 10
        rows = []
        for start in range(0, len(pks), batch):
            rows.extend(model._default_manager.filter(pk__in=pks[start : start + batch]))
        return rows

    @staticmethod
    def key_part(value):
        if isinstance(value, models.Model):
            return value.pk or id(value)
        if isinstance(value, str):
            return " ".join(value.split()).casefold()
        return value

    def convert_value(self, name: str, raw):
        """`convert` of the column's field, once per distinct value of the column."""
        col = self.cols[name]
        cache = self._converted.get(name)
        if cache is None:
            return self.convert(col, raw)
        key = cell_key(raw)
        try:
            hit = cache.get(key, MISSING)
        except TypeError:  # unhashable
            return self.convert(col, raw)
        if hit is MISSING:
            try:
                hit = (True, self.convert(col, raw))
            except ValueError as exc:
                hit = (False, str(exc))
            cache[key] = hit
        ok, value = hit
        if not ok:
            raise ValueError(value)
        return list(value) if type(value) is list else value

    def key_of(self, values_or_obj, key):
        """The row's or object's key: strings compared without case and extra spaces, objects
        by pk; None when a part (other than a version) is empty."""
        is_dict = isinstance(values_or_obj, dict)
        parts = []
        for name in key:
            value = values_or_obj.get(name) if is_dict else getattr(values_or_obj, name, None)
            if isinstance(value, str):
                value = " ".join(value.split()).casefold()
            elif isinstance(value, models.Model):
                value = value.pk or id(value)
            if value is None or value == "":
                if name != "version":
                    return None
                value = ""
            parts.append(value)
        return tuple(parts)

    def index(self, obj):
        key = self.key_of(obj, self.spec.key)
        if key is not None:
            self.by_key[key] = obj
        if self.spec.alt_key:
            alt = self.key_of(obj, self.spec.alt_key)
            if alt is not None:
                self.by_alt_key.setdefault(alt, []).append(obj)
        if getattr(obj, "external_id", None):
            self.by_external[obj.external_id] = obj

    def find_existing(self, values, row, stage, columns):
        external = values.get("external_id")
        if external and external in self.by_external:
            return self.by_external[external]
        key = self.key_of(values, self.spec.key)
        if key is not None:
            return self.by_key.get(key)
        if self.spec.alt_key:
            alt = self.key_of(values, self.spec.alt_key)
            hits = self.by_alt_key.get(alt, []) if alt else []
            # Only an application without acronym is matched by name alone.
            hits = [h for h in hits if not getattr(h, "acronym", None)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                column = columns.get("name")
                stage.error(row, column, values.get("name"), "a name that matches one row only")
                raise _RowFailed
        return None

    def import_row(self, row: int, record: dict, columns: dict[str, str], stage: Stage):
        errors: list[tuple[str | None, object, str]] = []
        index = row - FIRST_DATA_ROW
        if self.converted_rows is not None and self.converted_rows[1][index]:
            # Converted, required values present: the row's values in one go.
            names, _good, rows = self.converted_rows
            values = dict(zip(names, rows[index], strict=True))
        else:
            values = self.row_errors(index, record, columns, errors)
        if errors:
            return self.fail(row, errors, stage)
        try:
            obj = self.find_existing(values, row, stage, columns)
        except _RowFailed:
            return self.fail(row, [], stage, reported=True)
        return self.import_values(row, values, obj, record, columns, stage)

    def row_errors(self, index, record, columns, errors) -> dict:
        """The row's values, its conversion errors and missing required values in `errors`."""
        values = {}
        for name, header in columns.items():
            hits = self.hits.get(name)
            if hits is not None:  # the column was converted as a whole
                ok, value = hits[index]
                if ok:
                    values[name] = list(value) if type(value) is list else value
                else:
                    errors.append((header, record.get(header), value))
                continue
            raw = record.get(header)
            try:
                values[name] = self.convert_value(name, raw)
            except ValueError as exc:
                errors.append((header, raw, str(exc)))
        for name, header in self.required:
            if values.get(name) in (None, "") and not any(e[0] == header for e in errors):
                errors.append((header, record.get(header), "a value"))
        return values

    def import_values(self, row, values, obj, record, columns, stage: Stage):
        """A converted row, `obj` the stored (or earlier) row it matches."""
        if obj is not None and id(obj) in self.seen_rows:
            first = self.seen_rows[id(obj)]
            column = columns.get(self.spec.key[0]) or columns.get("external_id")
            value = values.get(self.spec.key[0])
            return self.fail(row, [(column, value, f"a row not repeating row {first}")], stage)
        consumers = values.pop("consumers", None)
        provider = values.get("provider")
        if consumers and provider is not None and provider in consumers:
            header = columns["consumers"]
            return self.fail(
                row, [(header, record.get(header), "consumers other than the provider")], stage
            )
        is_new = obj is None
        if is_new and self.new_rows is not None:
            return self.create_row(row, values, columns, record, stage)
        if is_new:
            obj = self.spec.model()
            self.prepare_new(obj)
            changed = list(values)
        else:
            changed = [name for name, value in values.items() if self.differs(obj, name, value)]
            if changed:
                # The rows were read when the import started: take the row as it is now (and
                # lock it) so that an edit saved meanwhile is neither overwritten nor missing
                # from the history row this update writes.
                obj.refresh_from_db(
                    from_queryset=self.spec.model._default_manager.select_for_update()
                )
                changed = [name for name in changed if self.differs(obj, name, values[name])]
            consumers_changed = consumers is not None and {c.pk for c in consumers} != set(
                obj.links.values_list("consumer_id", flat=True)
            )
            if not changed and not consumers_changed:
                self.seen_rows[id(obj)] = row
                stage.unchanged(obj)
                return
        for name in changed:
            setattr(obj, name, self.model_value(obj._meta.get_field(name), values[name]))
        if not is_new and self.kind == "requirements":
            obj.version += 1
        errors = self.validate(obj, values, columns, record)
        if errors:
            return self.fail(row, errors, stage)
        self.accept(obj, row)
        if changed:
            self.save(obj)
        if consumers is not None:
            self.sync_consumers(obj, consumers)
        self.booked(obj, is_new, stage)

    def create_row(self, row, values, columns, record, stage: Stage):
        """A new row of a bulk kind: validated here, inserted with the next batch."""
        obj = self.new_rows.new()
        index = row - FIRST_DATA_ROW
        if self.prepared is not None and self.prepared.ok[index]:
            # Every field of the row is valid (cleaned with its column): the model's clean()
            # and the constraints are what is left of full_clean.
            self.prepared.fill(obj, index)
            messages = self.new_rows.finish_clean(obj, {})
        else:
            if self.kind == "requirements":
                self.prepare_new(obj)
            assigners = self.assigners
            for name, value in values.items():
                assigners[name](obj, value)
            messages = self.new_rows.full_clean(obj)
        errors = self.unique_errors(obj, columns)
        if messages:
            errors[:0] = self.messages_to_errors(messages, columns, record)
        if errors:
            return self.fail(row, errors, stage)
        self.accept(obj, row)
        self.pending.append(obj)
        if len(self.pending) >= BULK_BATCH:
            self.flush()
        self.booked(obj, True, stage)

    def accept(self, obj, row):
        """A valid row: later rows must not repeat it nor reuse its unique values."""
        self.seen_rows[id(obj)] = row
        for name in self.unique_fields:
            value = getattr(obj, name)
            if value not in (None, ""):
                self.unique_seen[name][value] = obj

    def booked(self, obj, is_new, stage: Stage):
        """A written (or pending) row: later rows are matched against it and may refer to it."""
        self.index(obj)
        for index in self.own_refs:
            index.add(obj)
        (stage.created if is_new else stage.updated)(obj)

    @staticmethod
    def model_value(field_, value):
        """The value a field stores for an empty cell: its default, or "" for text."""
        if value is None and not field_.null:
            if field_.is_relation:
                return None
            if field_.has_default():
                return field_.get_default()
            if isinstance(field_, models.CharField | models.TextField):
                return ""
        return value

    def assigner(self, model, name):
        """A function that sets a field of a new instance from a converted value."""
        field_ = model._meta.get_field(name)
        attname = field_.attname
        if field_.is_relation:
            simple = (
                isinstance(field_, models.ForeignKey)
                and not field_.one_to_one
                and len(field_.foreign_related_fields) == 1
            )
            related = field_.related_model
            target = field_.target_field.attname
            cache_name = field_.cache_name

            def assign_related(obj, value):
                if simple and type(value) is related and value.pk is not None:
                    # What the descriptor does for a saved object of the right model.
                    obj.__dict__[attname] = getattr(value, target)
                    obj._state.fields_cache[cache_name] = value
                else:
                    setattr(obj, name, value)

            return assign_related
        model_value = self.model_value

        def assign(obj, value):
            obj.__dict__[attname] = value if value is not None else model_value(field_, None)

        return assign

    def prepare_new(self, obj):
        if self.kind == "requirements":
            now = timezone.now()
            obj.requested_by = self.user
            obj.state = RequirementState.SUBMITTED
            obj.submitted_at = now
            obj.number = "REQ-import"  # replaced on save

    def differs(self, obj, name, value) -> bool:
        field_ = obj._meta.get_field(name)
        if field_.is_relation:
            return getattr(obj, field_.attname) != (value.pk if value is not None else None)
        current = getattr(obj, name)
        if value is None:
            if field_.has_default() and not field_.null:
                return current != field_.get_default()
            return current not in (None, "")
        return current != value

    def validate(self, obj, values, columns, record):
        """`full_clean` of one row, without the uniqueness queries (see `unique_errors`)."""
        exclude = list(self.spec.clean_exclude)
        for f in self.relations:
            # References were resolved from the database: no need to query them again.
            if getattr(obj, f.attname) is not None:
                exclude.append(f.name)
        messages: dict[str, list[str]] = {}
        try:
            obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            messages = exc.message_dict
        # As full_clean does: constraints on fields that already failed are not checked again.
        failed = {*self.spec.clean_exclude, *messages} - {"__all__"}
        try:
            self.checks.validate(obj, failed, skip_checks=bool(messages.get("__all__")))
        except ValidationError as exc:
            for name, texts in exc.message_dict.items():
                messages.setdefault(name, []).extend(texts)
        return self.messages_to_errors(messages, columns, record) + self.unique_errors(obj, columns)

    @staticmethod
    def messages_to_errors(messages, columns, record):
        errors = []
        for name, texts in messages.items():
            header = columns.get(name)
            raw = record.get(header) if header else None
            errors.append((header, raw, " ".join(texts)))
        return errors

    def unique_errors(self, obj, columns):
        """Unique fields against the stored rows and the rows above in the file, from the
        values read once (`load_existing`) instead of a query per row and field."""
        errors = []
        for name in self.unique_fields:
            value = getattr(obj, name)
            holder = self.unique_seen[name].get(value) if value not in (None, "") else None
            if holder is not None and holder is not obj:
                header = columns.get(name)
                errors.append((header, value, f"a {name} not used by {holder}"))
        return errors

    def fail(self, row, errors, stage: Stage, reported=False):
        for column, value, expected in errors:
            stage.error(row, column, value, expected)
        if self.skip_invalid:
            reason = "; ".join(f"{c}: {e}" for c, _v, e in errors) or "invalid"
            stage.skipped(row, reason)

    # --- writing ----------------------------------------------------------------------------

    def save(self, obj):
        if self.kind == "requirements" and obj.number == "REQ-import":
            obj.number = next_number("REQ", timezone.localtime(obj.submitted_at).year)
        obj._history_user = self.user
        obj._change_reason = self.change_reason
        obj.save()

    def flush(self):
        """Insert the pending new rows with one history row each (user, change reason)."""
        if not self.pending:
            return
        insert_with_history(
            self.pending,
            self.spec.model,
            user=self.user,
            reason=self.change_reason,
            batch_size=BULK_BATCH,
        )
        self.pending = []

    def sync_consumers(self, interface, consumers):
        wanted = {c.pk: c for c in consumers}
        current = {link.consumer_id: link for link in interface.links.all()}
        for pk, link in current.items():
            if pk not in wanted:
                link._history_user = self.user
                link._change_reason = self.change_reason
                link.delete()
        for pk in wanted:
            if pk not in current:
                link = InterfaceConsumer(interface=interface, consumer_id=pk)
                link.provider_id = interface.provider_id
                self.save(link)


class _RowFailed(Exception):
    pass

"""Hypothesis properties of the importers' parsers: the value normalisers and header mapping of
the tabular importer, the ServiceNow date and number parsing, and the SBOM document checks and
licence expressions. Whatever the input, a parser answers with a value or with its own refusal
(ValueError for a tabular cell, a row error for ServiceNow, SbomRefused for an SBOM), never with
another exception; what it formats it parses back."""

import datetime
import json

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from importers.base import ImportResult, Stage
from importers.sbom import (
    COMPONENT_TYPES,
    CYCLONEDX_VERSIONS,
    OPERATORS,
    SPDX_LICENCE_IDS,
    SPDX_VERSIONS,
    SbomRefused,
    _cyclonedx_licences,
    is_copyleft,
    licence_ids,
    load_document,
    parse_sbom,
)
from importers.servicenow import DATE_FORMAT, ServiceNowIncidentImporter, _clean
from importers.tabular import (
    DATE_FORMATS,
    EMPTY_MARKERS,
    EXCEL_EPOCH,
    FALSE_WORDS,
    KINDS,
    TRUE_WORDS,
    Col,
    TabularImporter,
    choice_lookup,
    norm,
)
from tests.fuzz.conftest import fuzz_derandomize

pytestmark = pytest.mark.fuzz

# Reproducible by default (no example database, a fixed seed); LANDKARTE_FUZZ_RANDOM=1 explores.
PROPERTY = settings(
    max_examples=100,
    deadline=None,
    database=None,
    derandomize=fuzz_derandomize(),
    suppress_health_check=[HealthCheck.too_slow],
)

COLUMNS = {col.name: col for kind in KINDS.values() for col in kind.cols}
CHOICE_COLUMNS = sorted(
    {col.choices for col in COLUMNS.values() if col.type == "choice"}, key=lambda c: c.__name__
)
VALUE_COLUMN_TYPES = ("str", "text", "choice", "bool", "date", "int", "country")


def importer(kind: str = "applications") -> TabularImporter:
    tabular = TabularImporter(kind, "fuzz.csv")
    tabular._choice_tables = {}  # set by run(); convert() reads it
    return tabular


def column(kind_of_value: str, choices=None) -> Col:
    return Col("value", kind_of_value, ("value",), choices)


cells = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(sorted(EMPTY_MARKERS | TRUE_WORDS | FALSE_WORDS)),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.from_regex(r"\A\d{1,3}(\.\d{3}){0,3}(,\d+)?\Z"),
    st.from_regex(r"\A\d{1,2}[./-]\d{1,2}[./-]\d{2,4}( 00:00(:00)?)?\Z"),
)


# --- tabular ---------------------------------------------------------------------------------


@PROPERTY
@given(
    value=cells,
    kind_of_value=st.sampled_from(VALUE_COLUMN_TYPES),
    choices=st.sampled_from(CHOICE_COLUMNS),
)
def test_a_cell_converts_or_is_refused_with_value_error(value, kind_of_value, choices):
    try:
        converted = importer().convert(column(kind_of_value, choices), value)
    except ValueError as exc:
        assert str(exc), "a refusal says what was expected"
        return
    if converted is None:
        return
    expected_type = {
        "str": str, "text": str, "choice": str, "bool": bool, "date": datetime.date,
        "int": int, "country": str,
    }[kind_of_value]  # fmt: skip
    assert isinstance(converted, expected_type)
    if kind_of_value == "choice":
        assert converted in choices.values
    if kind_of_value == "country":
        assert len(converted) == 2 and converted.isupper()


@PROPERTY
@given(text=st.text(max_size=40))
def test_norm_is_idempotent_and_folds_case_and_spacing(text):
    once = norm(text)
    assert norm(once) == once
    assert once == once.strip()
    assert norm(text.upper()) == norm(norm(text).upper())
    assert norm(f"  {text}\t") == once


@PROPERTY
@given(day=st.dates(min_value=datetime.date(1900, 3, 1), max_value=datetime.date(9999, 12, 31)),
       fmt=st.sampled_from(DATE_FORMATS))  # fmt: skip
def test_a_formatted_date_parses_back(day, fmt):
    if "%y" in fmt:  # two-digit years: strptime maps 69–99 to 19xx, 00–68 to 20xx
        assume(1969 <= day.year <= 2068)
    text = day.strftime(fmt)
    assert TabularImporter.to_date(text) == day
    assert TabularImporter.to_date(f"{text} 00:00") == day
    assert importer().convert(column("date"), f" {text} ") == day


@PROPERTY
@given(day=st.dates(min_value=EXCEL_EPOCH + datetime.timedelta(days=1)))
def test_an_excel_serial_number_parses_back(day):
    serial = (day - EXCEL_EPOCH).days
    assert TabularImporter.to_date(serial) == day
    assert TabularImporter.to_date(float(serial)) == day
    if 10_000 <= serial <= 99_999:
        assert TabularImporter.to_date(str(serial)) == day


@PROPERTY
@given(word=st.sampled_from(sorted(TRUE_WORDS | FALSE_WORDS)), upper=st.booleans(),
       pad=st.sampled_from(["", " ", "  "]))  # fmt: skip
def test_yes_and_no_words_in_any_case(word, upper, pad):
    value = pad + (word.upper() if upper else word) + pad
    assert importer().convert(column("bool"), value) is (word in TRUE_WORDS)


@PROPERTY
@given(choices=st.sampled_from(CHOICE_COLUMNS), data=st.data())
def test_every_choice_code_and_label_maps_to_its_value(choices, data):
    value, label = data.draw(st.sampled_from(choices.choices))
    spelled = data.draw(st.sampled_from([value, str(label), str(label).upper(), f" {value} "]))
    assert importer().convert(column("choice", choices), spelled) == value
    table = choice_lookup(choices)
    assert set(table.values()) <= set(choices.values)


@PROPERTY
@given(number=st.integers(min_value=0, max_value=10**15))
def test_whole_numbers_parse_back_in_every_spelling(number):
    convert = importer().convert
    assert convert(column("int"), str(number)) == number
    assert convert(column("int"), float(number)) == number if number < 2**53 else True
    assert convert(column("int"), f"{number:,}".replace(",", ".")) == number  # German 1.000
    assert convert(column("int"), f"{number:,}".replace(",", " ")) == number
    assert convert(column("int"), f"{number},0") == number


@PROPERTY
@given(kind=st.sampled_from(sorted(KINDS)), data=st.data())
def test_header_mapping_finds_every_field_by_any_spelling_of_an_alias(kind, data):
    spec = KINDS[kind]
    chosen = data.draw(st.lists(st.sampled_from(spec.cols), unique_by=lambda c: c.name, min_size=1))
    headers = {}
    for col in chosen:
        alias = data.draw(st.sampled_from([col.name, *col.aliases]))
        spelled = data.draw(
            st.sampled_from([alias, alias.upper(), alias.title(), alias.replace(" ", "_"),
                             f" {alias}  ", alias.replace(" ", "-")])
        )  # fmt: skip
        assume(spelled not in headers.values())
        headers[col.name] = spelled
    noise = data.draw(st.lists(st.text(min_size=1, max_size=12), max_size=3))
    columns = list(headers.values()) + [n for n in noise if n not in headers.values()]
    tabular = importer(kind)
    stage = Stage(ImportResult("table", dry_run=True), skip_invalid=False)
    mapped = tabular.map_columns(columns, stage)
    assert set(mapped.values()) <= set(columns)
    for name, header in headers.items():
        # An earlier header may claim the field through a shared alias; a field is never lost.
        assert name in mapped, (name, header, mapped)
        col = next(col for col in spec.cols if col.name == name)
        assert norm(mapped[name]) in {norm(col.name), *map(norm, col.aliases)}


@PROPERTY
@given(columns=st.lists(st.text(max_size=20), max_size=8), kind=st.sampled_from(sorted(KINDS)))
def test_header_mapping_never_raises_and_reports_missing_required_columns(columns, kind):
    stage = Stage(ImportResult("table", dry_run=True), skip_invalid=False)
    mapped = importer(kind).map_columns(columns, stage)
    required = {col.name for col in KINDS[kind].cols if col.required}
    reported = {error.column for error in stage.result.errors}
    assert required - set(mapped) <= reported


# --- ServiceNow -------------------------------------------------------------------------------


def servicenow_row(value):
    return {"_row": 1, "opened_at": value, "reassignment_count": value}


@PROPERTY
@given(moment=st.datetimes(min_value=datetime.datetime(1900, 1, 1)))
def test_a_servicenow_date_parses_back_in_utc(moment):
    moment = moment.replace(second=0, microsecond=0)
    snow = ServiceNowIncidentImporter("fuzz.csv")
    stage = Stage(ImportResult("servicenow", dry_run=True), skip_invalid=False)
    text = moment.strftime(DATE_FORMAT)
    parsed, ok = snow._date(stage, servicenow_row(_clean(text)), "opened_at", required=True)
    assert ok and not stage.result.errors
    assert parsed == moment.replace(tzinfo=datetime.UTC)


@PROPERTY
@given(raw=st.one_of(st.none(), st.text(max_size=30)), required=st.booleans())
@example(raw="²", required=True)  # isdigit() but not int()
def test_servicenow_dates_and_numbers_never_raise(raw, required):
    snow = ServiceNowIncidentImporter("fuzz.csv")
    stage = Stage(ImportResult("servicenow", dry_run=True), skip_invalid=False)
    row = servicenow_row(_clean(raw) if raw is not None else None)
    parsed, ok = snow._date(stage, row, "opened_at", required=required)
    assert ok == (parsed is not None or (row["opened_at"] is None and not required))
    assert ok or stage.result.errors[-1].column == "opened_at"
    number, ok = snow._int(stage, row, "reassignment_count")
    assert ok == (number is not None)
    assert not ok or number >= 0
    if ok:
        assert str(number) == str(int(row["reassignment_count"]))


@PROPERTY
@given(number=st.integers(min_value=0, max_value=10**9))
def test_a_servicenow_count_parses_back(number):
    snow = ServiceNowIncidentImporter("fuzz.csv")
    stage = Stage(ImportResult("servicenow", dry_run=True), skip_invalid=False)
    assert snow._int(stage, servicenow_row(str(number)), "reassignment_count") == (number, True)


@PROPERTY
@given(text=st.text(max_size=30))
def test_servicenow_cell_cleaning_is_idempotent(text):
    cleaned = _clean(text)
    assert cleaned is None or _clean(cleaned) == cleaned
    assert cleaned is None or cleaned == cleaned.strip()


# --- SBOM -------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
component_keys = st.sampled_from(
    ["type", "name", "version", "purl", "supplier", "licenses", "components", "publisher",
     "author", "authors", "group", "bom-ref"]
)  # fmt: skip
components = st.recursive(
    st.dictionaries(component_keys, json_values, max_size=6),
    lambda children: st.dictionaries(
        component_keys, json_values | st.lists(children, max_size=3), max_size=6
    ),
    max_leaves=6,
)
cyclonedx_documents = st.fixed_dictionaries(
    {"bomFormat": st.just("CycloneDX"),
     "specVersion": st.sampled_from(CYCLONEDX_VERSIONS) | json_values},
    optional={"components": st.lists(components | json_values, max_size=4),
              "metadata": json_values, "serialNumber": json_values, "version": json_values},
)  # fmt: skip
spdx_packages = st.dictionaries(
    st.sampled_from(["name", "SPDXID", "versionInfo", "supplier", "licenseConcluded",
                     "licenseDeclared", "externalRefs"]),
    json_values | st.text(max_size=12), max_size=7,
)  # fmt: skip
spdx_documents = st.fixed_dictionaries(
    {"spdxVersion": st.sampled_from(SPDX_VERSIONS) | json_values,
     "SPDXID": st.just("SPDXRef-DOCUMENT") | json_values, "name": st.text(max_size=8)},
    optional={"packages": st.lists(spdx_packages | json_values, max_size=4),
              "relationships": st.lists(st.dictionaries(
                  st.sampled_from(["spdxElementId", "relationshipType", "relatedSpdxElement"]),
                  json_values | st.just("DESCRIBES") | st.just("SPDXRef-DOCUMENT")), max_size=3)
              | json_values,
              "documentDescribes": json_values},
)  # fmt: skip


def parses_or_refuses(source):
    try:
        parsed = parse_sbom(source)
    except SbomRefused as exc:
        assert exc.errors and str(exc)
        return None
    for package in parsed.packages:
        assert isinstance(package.name, str) and package.name
        assert isinstance(package.version, str) and isinstance(package.licences, str)
    assert len({p.key for p in parsed.packages}) == len(parsed.packages)
    return parsed


@PROPERTY
@given(doc=cyclonedx_documents | spdx_documents | st.dictionaries(st.text(max_size=8), json_values))
@example(doc={"bomFormat": "CycloneDX", "specVersion": "1.6",
              "components": [{"type": [], "name": "x"}]})  # fmt: skip
@example(doc={"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "d",
              "packages": [], "documentDescribes": [{}]})  # fmt: skip
@example(
    doc={
        "spdxVersion": "SPDX-2.3",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "d",
        "packages": [{"name": "a", "SPDXID": "a"}],
        "relationships": [
            {
                "spdxElementId": "SPDXRef-DOCUMENT",
                "relationshipType": "DESCRIBES",
                "relatedSpdxElement": [],
            }
        ],
    }
)
def test_any_json_document_parses_or_is_refused(doc):
    parses_or_refuses(doc)
    parses_or_refuses(json.dumps(doc))


@PROPERTY
@given(data=st.binary(max_size=60) | st.text(max_size=60).map(lambda t: "{" + t))
@example(data=b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}")  # nested beyond recursion
@example(data='{"a":' + '{"a":' * 50_000 + "1" + "}" * 50_001)
def test_any_bytes_or_text_load_or_are_refused(data):
    try:
        doc = load_document(data)
    except SbomRefused as exc:
        assert exc.errors
        return
    assert isinstance(doc, dict)


licence_id_strategy = st.sampled_from(sorted(SPDX_LICENCE_IDS)).filter(
    lambda i: i.upper() not in OPERATORS
)


@PROPERTY
@given(ids=st.lists(licence_id_strategy, min_size=1, max_size=5, unique=True),
       operator=st.sampled_from(sorted(OPERATORS - {"WITH"})))  # fmt: skip
def test_licence_expressions_give_back_their_ids(ids, operator):
    assert licence_ids(f" {operator} ".join(ids)) == ids
    assert licence_ids("(" + f" {operator} ".join(ids) + ")") == ids
    combined = _cyclonedx_licences([{"license": {"id": i}} for i in ids])
    assert licence_ids(combined) == ids
    assert licence_ids(f"{ids[0]} WITH Classpath-exception-2.0") == [ids[0]]


@PROPERTY
@given(text=st.text(max_size=40))
def test_licence_parsing_never_raises(text):
    ids = licence_ids(text)
    assert all(i and i.upper() not in OPERATORS for i in ids)
    for i in ids:
        if is_copyleft(i):
            assert i.split("-", 1)[0] in ("GPL", "LGPL", "AGPL", "MPL", "EPL", "EUPL", "CDDL")


@PROPERTY
@given(version=st.sampled_from(CYCLONEDX_VERSIONS), data=st.data())
def test_a_valid_cyclonedx_document_round_trips(version, data):
    names = data.draw(
        st.lists(
            st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12),
            min_size=1,
            max_size=5,
            unique=True,
        )
    )
    packages = []
    for name in names:
        licence = data.draw(licence_id_strategy)
        packages.append({
            "type": data.draw(st.sampled_from(sorted(COMPONENT_TYPES))),
            "name": name,
            "version": data.draw(st.from_regex(r"\A\d{1,3}(\.\d{1,3}){0,2}\Z")),
            "licenses": [{"license": {"id": licence}}],
        })  # fmt: skip
    doc = {"bomFormat": "CycloneDX", "specVersion": version, "components": packages}
    parsed = parse_sbom(json.dumps(doc).encode())
    assert parsed.format == f"CycloneDX {version}"
    assert [(p.name, p.version, p.licences) for p in parsed.packages] == [
        (p["name"].strip(), p["version"], p["licenses"][0]["license"]["id"]) for p in packages
    ]


# --- regressions of what the properties found --------------------------------------------------


def test_regression_an_alias_with_sharp_s_maps_its_column():
    # norm() spells "ß" as "ss", so the alias "größe" only matched once aliases were normalised.
    stage = Stage(ImportResult("table", dry_run=True), skip_invalid=False)
    mapped = importer("requirements").map_columns(["Titel", "Größe"], stage)
    assert mapped == {"title": "Titel", "job_size": "Größe"}
    assert "job_size" not in {error.column for error in stage.result.errors}


@pytest.mark.parametrize(
    "doc",
    [
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": [], "name": "x"}]},
        {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "d", "packages": [],
         "documentDescribes": [{}]},
        b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
    ids=["unhashable component type", "documentDescribes of objects", "deeply nested JSON"],
)  # fmt: skip
def test_regression_malformed_sboms_are_refused_not_crashed(doc):
    with pytest.raises(SbomRefused) as refused:
        parse_sbom(doc)
    assert refused.value.errors


def test_regression_a_describes_relationship_to_a_non_id_is_ignored():
    doc = {
        "spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "d",
        "packages": [{"name": "a", "SPDXID": "SPDXRef-a"}],
        "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                           "relatedSpdxElement": ["SPDXRef-a"]}],
    }  # fmt: skip
    assert [p.name for p in parse_sbom(doc).packages] == ["a"]


def test_regression_a_superscript_digit_is_a_row_error_not_a_crash():
    snow = ServiceNowIncidentImporter("fuzz.csv")
    stage = Stage(ImportResult("servicenow", dry_run=True), skip_invalid=False)
    assert snow._int(stage, servicenow_row("²"), "reassignment_count") == (None, False)
    assert stage.result.errors[0].column == "reassignment_count"

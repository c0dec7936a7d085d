"""Import a software bill of materials (SBOM) into an application's software packages.

Formats: CycloneDX JSON (`bomFormat` "CycloneDX", `specVersion` 1.2–1.7; 1.7 is accepted
because its documents are structurally the same as 1.6 for everything read here) and SPDX
JSON 2.2/2.3. SPDX 3.0 JSON-LD is refused as unsupported.

Before anything is written the document is checked by a compact validator that covers the
fields this importer reads and the rules the CycloneDX specification's own invalid fixtures
break: bomFormat/specVersion present and known, `components` a list of objects with a known
`type` and a non-empty `name`, a purl of the form `pkg:TYPE/...`, a licence entry that is
exactly one of `license` (with exactly one of `id` – a SPDX licence identifier – or `name`) or
`expression`, and an RFC 3339 `metadata.timestamp`. A refused document is reported as one
or more errors (location, value, expectation) and nothing is written.

What is imported:

* CycloneDX: every entry of `components`, nested components included. The product itself
  (`metadata.component`) is not a package of itself and is not imported. Supplier:
  `supplier.name`, else `publisher`, else `author` (else the first of `authors`). Licences:
  `license.id` / `license.name` / `expression`; several entries are joined with " AND ".
* SPDX 2.x: every package except the ones the document DESCRIBES (the `documentDescribes`
  list and DESCRIBES relationships of SPDXRef-DOCUMENT): those are the product the SBOM is
  about, the counterpart of CycloneDX's `metadata.component`. If that would leave nothing
  (a document describing only its packages), the described packages are imported.
  Version: `versionInfo`; purl: the `purl` external reference; supplier "Organization: X" /
  "Person: Y" → X / Y; licences: `licenseConcluded`, else `licenseDeclared`; NOASSERTION and
  NONE are stored as empty.

A document replaces the application's previous SBOM: a package is identified by
(name, version, purl); packages not in the new document are deleted, packages whose supplier
or licences changed are updated, identical ones are left alone, new ones are created in bulk.
Importing the same document again changes nothing. Every write carries the importing user and
the import as change reason in the history.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from simple_history.utils import bulk_create_with_history

from cmdb.models import Application, SoftwarePackage, Vendor
from importers.base import Importer, Stage

CYCLONEDX_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
SPDX_VERSIONS = ("SPDX-2.2", "SPDX-2.3")


def _words(text: str) -> list[str]:
    return text.split()


COMPONENT_TYPES = frozenset(
    _words(
        "application framework library container platform operating-system device "
        "device-driver firmware file machine-learning-model data cryptographic-asset"
    )
)
PURL_RE = re.compile(r"^pkg:[A-Za-z.+-][A-Za-z0-9.+-]*/.+")
TIMESTAMP_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
SERIAL_RE = re.compile(r"^urn:uuid:[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
NO_VALUE = {"NOASSERTION", "NONE", ""}
MAX_ERRORS = 20

# Licence ids counted as open source (OSI-approved); an entry ending in "*" is a prefix.
OSI_LICENCES = _words(
    "0BSD AFL-3.0 AGPL-3.0* Apache-1.1 Apache-2.0 APSL-2.0 Artistic-2.0 BSD-1-Clause "
    "BSD-2-Clause* BSD-3-Clause* BSL-1.0 CDDL-* CPL-1.0 ECL-2.0 EPL-* EUPL-1.1 EUPL-1.2 "
    "GPL-2.0* GPL-3.0* ISC LGPL-* MIT MIT-0 MPL-1.1 MPL-2.0* MS-PL MS-RL OFL-1.1 OSL-3.0 "
    "PostgreSQL Python-2.0 Unlicense UPL-1.0 W3C Zlib"
)
COPYLEFT_FAMILIES = ("GPL", "LGPL", "AGPL", "MPL", "EPL", "EUPL", "CDDL")
LICENCE_TOKEN_RE = re.compile(r"[A-Za-z0-9.+:-]+")
OPERATORS = {"AND", "OR", "WITH"}


class SbomRefused(Exception):
    """The document cannot be imported; `errors` say where and why."""

    def __init__(self, errors: list[tuple[str | None, object, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{where or 'document'}: {exp}" for where, _v, exp in errors))


@dataclass(frozen=True)
class PackageRecord:
    name: str
    version: str = ""
    purl: str = ""
    supplier: str = ""
    licences: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.name, self.version, self.purl)


@dataclass
class ParsedSbom:
    format: str
    """"CycloneDX 1.4", "SPDX-2.3"…"""
    packages: list[PackageRecord]
    skipped: list[str] = field(default_factory=list)
    """Names of packages not imported (SPDX root packages), for the report."""


# --- validation --------------------------------------------------------------------------


class _Checker:
    def __init__(self):
        self.errors: list[tuple[str | None, object, str]] = []

    def fail(self, where, value, expected):
        if len(self.errors) < MAX_ERRORS:
            self.errors.append((where, value, expected))

    def string(self, obj: dict, key: str, where: str, required=False, non_empty=False):
        if key not in obj:
            if required:
                self.fail(f"{where}.{key}", None, "a required string")
            return
        value = obj[key]
        if not isinstance(value, str):
            self.fail(f"{where}.{key}", value, "a string")
        elif non_empty and not value.strip():
            self.fail(f"{where}.{key}", value, "a non-empty string")

    def raise_if_failed(self):
        if self.errors:
            raise SbomRefused(self.errors)


def _check_cyclonedx(doc: dict) -> None:
    c = _Checker()
    spec = doc.get("specVersion")
    if spec not in CYCLONEDX_VERSIONS:
        c.fail("specVersion", spec, f"one of {', '.join(CYCLONEDX_VERSIONS)}")
        c.raise_if_failed()
    if "serialNumber" in doc and not (
        isinstance(doc["serialNumber"], str) and SERIAL_RE.match(doc["serialNumber"])
    ):
        c.fail("serialNumber", doc["serialNumber"], "urn:uuid:<RFC 4122 UUID>")
    if "version" in doc and (
        not isinstance(doc["version"], int) or isinstance(doc["version"], bool)
        or doc["version"] < 1
    ):  # fmt: skip
        c.fail("version", doc["version"], "an integer ≥ 1")
    metadata = doc.get("metadata", {})
    if not isinstance(metadata, dict):
        c.fail("metadata", metadata, "an object")
        metadata = {}
    if "timestamp" in metadata and not (
        isinstance(metadata["timestamp"], str) and TIMESTAMP_RE.match(metadata["timestamp"])
    ):
        c.fail("metadata.timestamp", metadata["timestamp"], "an RFC 3339 date-time")
    if "supplier" in metadata:
        _check_entity(c, metadata["supplier"], "metadata.supplier")
    if "component" in metadata:
        _check_component(c, metadata["component"], "metadata.component")
    if "components" not in doc:
        c.fail(
            "components", None,
            "a list of components (a document without them, e.g. a SaaSBOM or VEX, has no "
            "packages to import)",
        )  # fmt: skip
    elif not isinstance(doc["components"], list):
        c.fail("components", doc["components"], "a list of components")
    else:
        for i, component in enumerate(doc["components"]):
            _check_component(c, component, f"components[{i}]")
    c.raise_if_failed()


def _check_entity(c: _Checker, value, where: str) -> None:
    if not isinstance(value, dict):
        c.fail(where, value, "an object")
    else:
        c.string(value, "name", where)


def _check_component(c: _Checker, comp, where: str) -> None:
    if not isinstance(comp, dict):
        c.fail(where, comp, "a component object")
        return
    kind = comp.get("type")
    if not isinstance(kind, str) or kind not in COMPONENT_TYPES:
        c.fail(f"{where}.type", comp.get("type"), f"one of {', '.join(sorted(COMPONENT_TYPES))}")
    c.string(comp, "name", where, required=True, non_empty=True)
    for key in ("version", "group", "publisher", "author", "bom-ref"):
        c.string(comp, key, where)
    if "purl" in comp and not (isinstance(comp["purl"], str) and PURL_RE.match(comp["purl"])):
        c.fail(f"{where}.purl", comp["purl"], "a package URL pkg:TYPE/NAMESPACE/NAME@VERSION")
    if "supplier" in comp:
        _check_entity(c, comp["supplier"], f"{where}.supplier")
    if "licenses" in comp:
        _check_licences(c, comp["licenses"], f"{where}.licenses")
    if "components" in comp:
        if not isinstance(comp["components"], list):
            c.fail(f"{where}.components", comp["components"], "a list of components")
        else:
            for i, child in enumerate(comp["components"]):
                _check_component(c, child, f"{where}.components[{i}]")


def _check_licences(c: _Checker, licences, where: str) -> None:
    if not isinstance(licences, list):
        c.fail(where, licences, "a list of licence choices")
        return
    for i, choice in enumerate(licences):
        here = f"{where}[{i}]"
        if not isinstance(choice, dict) or ("license" in choice) == ("expression" in choice):
            c.fail(here, choice, "an object with exactly one of 'license' or 'expression'")
            continue
        if "expression" in choice:
            if not isinstance(choice["expression"], str) or not choice["expression"].strip():
                c.fail(f"{here}.expression", choice["expression"], "an SPDX licence expression")
            continue
        licence = choice["license"]
        if not isinstance(licence, dict) or ("id" in licence) == ("name" in licence):
            c.fail(f"{here}.license", licence, "an object with exactly one of 'id' or 'name'")
        elif "id" in licence:
            if not isinstance(licence["id"], str) or licence["id"].lower() not in SPDX_LICENCE_IDS:
                c.fail(
                    f"{here}.license.id", licence["id"],
                    "an SPDX licence identifier (use 'name' for other licences)",
                )  # fmt: skip
        elif not isinstance(licence["name"], str) or not licence["name"].strip():
            c.fail(f"{here}.license.name", licence["name"], "a non-empty string")


def _check_spdx(doc: dict) -> None:
    c = _Checker()
    if doc.get("spdxVersion") not in SPDX_VERSIONS:
        c.fail("spdxVersion", doc.get("spdxVersion"), f"one of {', '.join(SPDX_VERSIONS)}")
        c.raise_if_failed()
    c.string(doc, "SPDXID", "document", required=True)
    c.string(doc, "name", "document", required=True)
    packages = doc.get("packages")
    if not isinstance(packages, list):
        c.fail("packages", packages, "a list of packages")
        c.raise_if_failed()
    for i, package in enumerate(packages):
        where = f"packages[{i}]"
        if not isinstance(package, dict):
            c.fail(where, package, "a package object")
            continue
        c.string(package, "name", where, required=True, non_empty=True)
        c.string(package, "SPDXID", where, required=True)
        for key in ("versionInfo", "supplier", "licenseConcluded", "licenseDeclared"):
            c.string(package, key, where)
        refs = package.get("externalRefs", [])
        if not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs):
            c.fail(f"{where}.externalRefs", refs, "a list of objects")
    for key in ("relationships", "documentDescribes"):
        if key in doc and not isinstance(doc[key], list):
            c.fail(key, doc[key], "a list")
    if isinstance(doc.get("documentDescribes"), list):
        for i, element in enumerate(doc["documentDescribes"]):
            if not isinstance(element, str):
                c.fail(f"documentDescribes[{i}]", element, "an SPDX element id")
    c.raise_if_failed()


# --- parsing -----------------------------------------------------------------------------


def load_document(source) -> dict:
    """`source`: a path (str or Path), a parsed JSON object, or JSON text/bytes."""
    if isinstance(source, dict):
        return source
    try:
        if isinstance(source, bytes | bytearray) or (
            isinstance(source, str) and source.lstrip().startswith("{")
        ):
            doc = json.loads(source)
        else:
            with Path(source).open("rb") as fh:
                doc = json.load(fh)
    except OSError as exc:
        raise SbomRefused(
            [(None, str(source), f"a readable file ({exc.strerror or exc})")]
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise SbomRefused([(None, str(source)[:100], f"a JSON document ({exc})")]) from None
    except RecursionError:
        raise SbomRefused(
            [(None, str(source)[:100], "a JSON document nested less deeply")]
        ) from None
    if not isinstance(doc, dict):
        raise SbomRefused([(None, type(doc).__name__, "a JSON object at the top level")])
    return doc


def parse_sbom(source) -> ParsedSbom:
    """Detect the format, validate, and return the packages. Raises SbomRefused."""
    doc = load_document(source)
    context = doc.get("@context")
    if context is not None and "spdx" in json.dumps(context).lower():
        raise SbomRefused([(
            "@context", context,
            "SPDX 2.2/2.3 JSON or CycloneDX JSON: SPDX 3.0 JSON-LD is not supported; "
            "export the SBOM as SPDX 2.3 JSON or CycloneDX",
        )])  # fmt: skip
    if "bomFormat" in doc or "specVersion" in doc:
        if doc.get("bomFormat") != "CycloneDX":
            raise SbomRefused([("bomFormat", doc.get("bomFormat"), "'CycloneDX'")])
        _check_cyclonedx(doc)
        return ParsedSbom(f"CycloneDX {doc['specVersion']}", _dedupe(_cyclonedx(doc)))
    if "spdxVersion" in doc:
        _check_spdx(doc)
        return _spdx(doc)
    raise SbomRefused([(
        None, sorted(doc)[:10],
        "a CycloneDX JSON document (bomFormat, specVersion) or SPDX 2.2/2.3 JSON (spdxVersion)",
    )])  # fmt: skip


def _clip(value, length: int) -> str:
    return (value or "").strip()[:length] if isinstance(value, str) else ""


def _record(name, version, purl, supplier, licences) -> PackageRecord:
    return PackageRecord(
        name=_clip(name, 300), version=_clip(version, 100), purl=_clip(purl, 500),
        supplier=_clip(supplier, 300), licences=_clip(licences, 500),
    )  # fmt: skip


def _dedupe(records: Iterable[PackageRecord]) -> list[PackageRecord]:
    """One record per (name, version, purl): the first occurrence wins."""
    seen: dict[tuple, PackageRecord] = {}
    for record in records:
        seen.setdefault(record.key, record)
    return list(seen.values())


def _cyclonedx(doc: dict) -> Iterable[PackageRecord]:
    stack = list(reversed(doc.get("components", [])))
    while stack:
        comp = stack.pop()
        stack.extend(reversed(comp.get("components", [])))
        yield _record(
            comp["name"], comp.get("version"), comp.get("purl"),
            _cyclonedx_supplier(comp), _cyclonedx_licences(comp.get("licenses", [])),
        )  # fmt: skip


def _cyclonedx_supplier(comp: dict) -> str:
    supplier = comp.get("supplier") or {}
    for candidate in (supplier.get("name"), comp.get("publisher"), comp.get("author")):
        if isinstance(candidate, str) and candidate.strip():
            return candidate
    authors = comp.get("authors")
    if isinstance(authors, list) and authors and isinstance(authors[0], dict):
        return authors[0].get("name") or ""
    return ""


def _cyclonedx_licences(choices: list) -> str:
    parts = []
    for choice in choices:
        if "expression" in choice:
            part = choice["expression"].strip()
        else:
            part = (choice["license"].get("id") or choice["license"].get("name") or "").strip()
        if part and part not in parts:
            parts.append(part)
    if len(parts) == 1:
        return parts[0]
    return " AND ".join(
        f"({p})" if re.search(r"\s(OR|AND)\s", p) and not p.startswith("(") else p for p in parts
    )


def _spdx(doc: dict) -> ParsedSbom:
    described = set(doc.get("documentDescribes") or [])
    document_id = doc.get("SPDXID", "SPDXRef-DOCUMENT")
    for rel in doc.get("relationships") or []:
        if not isinstance(rel, dict) or rel.get("relationshipType") != "DESCRIBES":
            continue
        if rel.get("spdxElementId") == document_id and isinstance(
            rel.get("relatedSpdxElement"), str
        ):
            described.add(rel["relatedSpdxElement"])
    packages = doc["packages"]
    kept = [p for p in packages if p["SPDXID"] not in described] or packages
    kept_ids = {p["SPDXID"] for p in kept}
    skipped = [p["name"] for p in packages if p["SPDXID"] not in kept_ids]
    records = []
    for package in kept:
        purl = next(
            (
                ref.get("referenceLocator")
                for ref in package.get("externalRefs", [])
                if ref.get("referenceType") == "purl"
            ),
            "",
        )
        supplier = package.get("supplier") or ""
        supplier = re.sub(r"^\s*(Organization|Person|Tool)\s*:\s*", "", supplier)
        licences = ""
        for key in ("licenseConcluded", "licenseDeclared"):
            value = (package.get(key) or "").strip()
            if value not in NO_VALUE:
                licences = value
                break
        records.append(
            _record(
                package["name"], package.get("versionInfo"), purl,
                "" if supplier.strip() in NO_VALUE else supplier, licences,
            )
        )  # fmt: skip
    return ParsedSbom(doc["spdxVersion"], _dedupe(records), skipped)


# --- import ------------------------------------------------------------------------------


class SbomImporter(Importer):
    """Replace `application`'s software packages with those of an SBOM document."""

    name = "sbom"

    def __init__(self, application: Application, source, **options):
        super().__init__(**options)
        self.application = application
        self.source = source
        self.parsed: ParsedSbom | None = None
        self.deleted = 0

    def run(self, stage: Stage) -> None:
        try:
            self.parsed = parse_sbom(self.source)
        except SbomRefused as refused:
            for where, value, expected in refused.errors:
                stage.error(None, where, value, expected)
            return
        for name in self.parsed.skipped:
            stage.skipped(None, f"{name}: the product the SBOM describes, not a package of it")

        existing = {
            (p.name, p.version, p.purl): p
            for p in SoftwarePackage.objects.select_for_update().filter(
                application=self.application
            )
        }
        new_keys = set()
        to_create = []
        total = len(self.parsed.packages)
        for done, record in enumerate(self.parsed.packages, start=1):
            new_keys.add(record.key)
            current = existing.get(record.key)
            if current is None:
                to_create.append(
                    SoftwarePackage(
                        application=self.application, name=record.name,
                        version=record.version, purl=record.purl,
                        supplier=record.supplier, licences=record.licences,
                    )
                )  # fmt: skip
            elif (current.supplier, current.licences) == (record.supplier, record.licences):
                stage.unchanged(current)
            else:
                current.supplier, current.licences = record.supplier, record.licences
                current._history_user = self.user
                current._change_reason = self.change_reason
                current.save()
                stage.updated(current)
            stage.tick(done, total)
        for key, package in existing.items():
            if key not in new_keys:
                package._history_user = self.user
                package._change_reason = self.change_reason
                package.delete()
                self.deleted += 1
        if to_create:
            created = bulk_create_with_history(
                to_create, SoftwarePackage, batch_size=500,
                default_user=self.user, default_change_reason=self.change_reason,
            )  # fmt: skip
            for package in created:
                stage.created(package)


# --- derived figures ---------------------------------------------------------------------


@dataclass
class SbomSummary:
    package_count: int
    open_source_share: float
    """Share (0–1) of packages whose licence expression names a known OSI licence."""
    copyleft_licences: set[str]
    suppliers_by_country: dict[str, int]
    """Distinct named suppliers per country (ISO code of a cmdb Vendor with the same name,
    compared case-insensitively), "unknown" for suppliers that are not vendors."""


def licence_ids(expression: str) -> list[str]:
    """The licence ids of an SPDX expression (operators, exceptions after WITH dropped)."""
    tokens = LICENCE_TOKEN_RE.findall(expression or "")
    ids = []
    for i, token in enumerate(tokens):
        if token.upper() in OPERATORS or (i and tokens[i - 1].upper() == "WITH"):
            continue
        ids.append(token)
    return ids


def is_osi_licence(licence_id: str) -> bool:
    return any(
        licence_id.startswith(known[:-1]) if known.endswith("*") else licence_id == known
        for known in OSI_LICENCES
    )


def is_copyleft(licence_id: str) -> bool:
    """A GPL/LGPL/AGPL/MPL/EPL/EUPL/CDDL id of the SPDX licence list (words of free-text
    licence names such as "GPL" do not count)."""
    family = licence_id.split("-", 1)[0]
    return family in COPYLEFT_FAMILIES and licence_id.rstrip("+").lower() in SPDX_LICENCE_IDS


def summarise(packages: Iterable, vendor_countries: dict[str, str] | None = None) -> SbomSummary:
    """Figures of any package-like objects (`supplier`, `licences`): model rows or records.
    `vendor_countries` (lower-cased vendor name → country) defaults to cmdb's vendors."""
    packages = list(packages)
    open_source = 0
    copyleft: set[str] = set()
    suppliers: set[str] = set()  # lower-cased: "ACME" and "Acme" are one supplier
    for package in packages:
        ids = licence_ids(package.licences)
        if any(is_osi_licence(i) for i in ids):
            open_source += 1
        copyleft.update(i for i in ids if is_copyleft(i))
        if package.supplier.strip():
            suppliers.add(package.supplier.strip().lower())
    countries = {k.lower(): v for k, v in (vendor_countries or {}).items()}
    if suppliers and vendor_countries is None:
        for name, country in Vendor.objects.values_list("name", "country"):
            if name.lower() in suppliers:
                countries[name.lower()] = country
    by_country = Counter(countries.get(s, "unknown") for s in suppliers)
    return SbomSummary(
        package_count=len(packages),
        open_source_share=open_source / len(packages) if packages else 0.0,
        copyleft_licences=copyleft,
        suppliers_by_country=dict(sorted(by_country.items())),
    )


def sbom_summary(application: Application) -> SbomSummary:
    return summarise(
        SoftwarePackage.objects.filter(application=application).only("supplier", "licences")
    )


# SPDX licence list identifiers, current and deprecated (from the CC0-1.0 package
# spdx-license-ids 3.0.23), lower-cased: SPDX ids compare case-insensitively. CycloneDX's
# `license.id` must be one of them.
SPDX_LICENCE_IDS = frozenset(
    licence.lower()
    for licence in _words(
        """
0BSD 3D-Slicer-1.0 AAL ADSL AFL-1.1 AFL-1.2 AFL-2.0 AFL-2.1 AFL-3.0 AGPL-1.0 AGPL-1.0-only
AGPL-1.0-or-later AGPL-3.0 AGPL-3.0-only AGPL-3.0-or-later ALGLIB-Documentation AMD-newlib
AMDPLPA AML AML-glslang AMPAS ANTLR-PD ANTLR-PD-fallback APAFML APL-1.0 APSL-1.0 APSL-1.1
APSL-1.2 APSL-2.0 ASWF-Digital-Assets-1.0 ASWF-Digital-Assets-1.1 Abstyles AdaCore-doc
Adobe-2006 Adobe-Display-PostScript Adobe-Glyph Adobe-Utopia Advanced-Cryptics-Dictionary
Afmparse Aladdin Apache-1.0 Apache-1.1 Apache-2.0 App-s2p Arphic-1999 Artistic-1.0
Artistic-1.0-Perl Artistic-1.0-cl8 Artistic-2.0 Artistic-dist Aspell-RU BOLA-1.1
BSD-1-Clause BSD-2-Clause BSD-2-Clause-Darwin BSD-2-Clause-FreeBSD BSD-2-Clause-NetBSD
BSD-2-Clause-Patent BSD-2-Clause-Views BSD-2-Clause-first-lines
BSD-2-Clause-pkgconf-disclaimer BSD-3-Clause BSD-3-Clause-Attribution BSD-3-Clause-Clear
BSD-3-Clause-HP BSD-3-Clause-LBNL BSD-3-Clause-Modification BSD-3-Clause-No-Military-License
BSD-3-Clause-No-Nuclear-License BSD-3-Clause-No-Nuclear-License-2014
BSD-3-Clause-No-Nuclear-Warranty BSD-3-Clause-Open-MPI BSD-3-Clause-Sun BSD-3-Clause-Tso
BSD-3-Clause-acpica BSD-3-Clause-flex BSD-4-Clause BSD-4-Clause-Shortened BSD-4-Clause-UC
BSD-4.3RENO BSD-4.3TAHOE BSD-Advertising-Acknowledgement BSD-Attribution-HPND-disclaimer
BSD-Inferno-Nettverk BSD-Mark-Modifications BSD-Protection BSD-Source-Code
BSD-Source-beginning-file BSD-Systemics BSD-Systemics-W3Works BSL-1.0 BUSL-1.1 Baekmuk
Bahyph Barr Beerware BitTorrent-1.0 BitTorrent-1.1 Bitstream-Charter Bitstream-Vera
BlueOak-1.0.0 Boehm-GC Boehm-GC-without-fee Borceux Brian-Gladman-2-Clause
Brian-Gladman-3-Clause Buddy C-UDA-1.0 CAL-1.0 CAL-1.0-Combined-Work-Exception CAPEC-tou
CATOSL-1.1 CC-BY-1.0 CC-BY-2.0 CC-BY-2.5 CC-BY-2.5-AU CC-BY-3.0 CC-BY-3.0-AT CC-BY-3.0-AU
CC-BY-3.0-DE CC-BY-3.0-IGO CC-BY-3.0-NL CC-BY-3.0-US CC-BY-4.0 CC-BY-NC-1.0 CC-BY-NC-2.0
CC-BY-NC-2.5 CC-BY-NC-3.0 CC-BY-NC-3.0-DE CC-BY-NC-4.0 CC-BY-NC-ND-1.0 CC-BY-NC-ND-2.0
CC-BY-NC-ND-2.5 CC-BY-NC-ND-3.0 CC-BY-NC-ND-3.0-DE CC-BY-NC-ND-3.0-IGO CC-BY-NC-ND-4.0
CC-BY-NC-SA-1.0 CC-BY-NC-SA-2.0 CC-BY-NC-SA-2.0-DE CC-BY-NC-SA-2.0-FR CC-BY-NC-SA-2.0-UK
CC-BY-NC-SA-2.5 CC-BY-NC-SA-3.0 CC-BY-NC-SA-3.0-DE CC-BY-NC-SA-3.0-IGO CC-BY-NC-SA-4.0
CC-BY-ND-1.0 CC-BY-ND-2.0 CC-BY-ND-2.5 CC-BY-ND-3.0 CC-BY-ND-3.0-DE CC-BY-ND-4.0
CC-BY-SA-1.0 CC-BY-SA-2.0 CC-BY-SA-2.0-UK CC-BY-SA-2.1-JP CC-BY-SA-2.5 CC-BY-SA-3.0
CC-BY-SA-3.0-AT CC-BY-SA-3.0-DE CC-BY-SA-3.0-IGO CC-BY-SA-4.0 CC-PDDC CC-PDM-1.0 CC-SA-1.0
CC0-1.0 CDDL-1.0 CDDL-1.1 CDL-1.0 CDLA-Permissive-1.0 CDLA-Permissive-2.0 CDLA-Sharing-1.0
CECILL-1.0 CECILL-1.1 CECILL-2.0 CECILL-2.1 CECILL-B CECILL-C CERN-OHL-1.1 CERN-OHL-1.2
CERN-OHL-P-2.0 CERN-OHL-S-2.0 CERN-OHL-W-2.0 CFITSIO CMU-Mach CMU-Mach-nodoc CNRI-Jython
CNRI-Python CNRI-Python-GPL-Compatible COIL-1.0 CPAL-1.0 CPL-1.0 CPOL-1.02 CUA-OPL-1.0
Caldera Caldera-no-preamble Catharon ClArtistic Clips Community-Spec-1.0 Condor-1.1
Cornell-Lossless-JPEG Cronyx Crossword CryptoSwift CrystalStacker Cube D-FSL-1.0
DEC-3-Clause DL-DE-BY-2.0 DL-DE-ZERO-2.0 DOC DRL-1.0 DRL-1.1 DSDP DocBook-DTD DocBook-Schema
DocBook-Stylesheet DocBook-XML Dotseqn ECL-1.0 ECL-2.0 EFL-1.0 EFL-2.0 EPICS EPL-1.0 EPL-2.0
ESA-PL-permissive-2.4 ESA-PL-strong-copyleft-2.4 ESA-PL-weak-copyleft-2.4 EUDatagrid
EUPL-1.0 EUPL-1.1 EUPL-1.2 Elastic-2.0 Entessa ErlPL-1.1 Eurosym FBM FDK-AAC FSFAP
FSFAP-no-warranty-disclaimer FSFUL FSFULLR FSFULLRSD FSFULLRWD FSL-1.1-ALv2 FSL-1.1-MIT FTL
Fair Ferguson-Twofish Frameworx-1.0 FreeBSD-DOC FreeImage Furuseth GCR-docs GD GFDL-1.1
GFDL-1.1-invariants-only GFDL-1.1-invariants-or-later GFDL-1.1-no-invariants-only
GFDL-1.1-no-invariants-or-later GFDL-1.1-only GFDL-1.1-or-later GFDL-1.2
GFDL-1.2-invariants-only GFDL-1.2-invariants-or-later GFDL-1.2-no-invariants-only
GFDL-1.2-no-invariants-or-later GFDL-1.2-only GFDL-1.2-or-later GFDL-1.3
GFDL-1.3-invariants-only GFDL-1.3-invariants-or-later GFDL-1.3-no-invariants-only
GFDL-1.3-no-invariants-or-later GFDL-1.3-only GFDL-1.3-or-later GL2PS GLWTPL GPL-1.0
GPL-1.0-only GPL-1.0-or-later GPL-2.0 GPL-2.0-only GPL-2.0-or-later
GPL-2.0-with-GCC-exception GPL-2.0-with-autoconf-exception GPL-2.0-with-bison-exception
GPL-2.0-with-classpath-exception GPL-2.0-with-font-exception GPL-3.0 GPL-3.0-only
GPL-3.0-or-later GPL-3.0-with-GCC-exception GPL-3.0-with-autoconf-exception
Game-Programming-Gems Giftware Glide Glulxe Graphics-Gems Gutmann HDF5 HIDAPI HP-1986
HP-1989 HPND HPND-DEC HPND-Fenneberg-Livingston HPND-INRIA-IMAG HPND-Intel
HPND-Kevlin-Henney HPND-MIT-disclaimer HPND-Markus-Kuhn HPND-Netrek HPND-Pbmplus HPND-SMC
HPND-UC HPND-UC-export-US HPND-doc HPND-doc-sell HPND-export-US
HPND-export-US-acknowledgement HPND-export-US-modify HPND-export2-US
HPND-merchantability-variant HPND-sell-MIT-disclaimer-xserver HPND-sell-regexpr
HPND-sell-variant HPND-sell-variant-MIT-disclaimer HPND-sell-variant-MIT-disclaimer-rev
HPND-sell-variant-critical-systems HTMLTIDY HaskellReport Hippocratic-2.1 IBM-pibs ICU
IEC-Code-Components-EULA IJG IJG-short IPA IPL-1.0 ISC ISC-Veillard ISO-permission
ImageMagick Imlib2 Info-ZIP Inner-Net-2.0 InnoSetup Intel Intel-ACPI Interbase-1.0 JPL-image
JPNIC JSON Jam JasPer-2.0 Kastrup Kazlib Knuth-CTAN LAL-1.2 LAL-1.3 LGPL-2.0 LGPL-2.0-only
LGPL-2.0-or-later LGPL-2.1 LGPL-2.1-only LGPL-2.1-or-later LGPL-3.0 LGPL-3.0-only
LGPL-3.0-or-later LGPLLR LOOP LPD-document LPL-1.0 LPL-1.02 LPPL-1.0 LPPL-1.1 LPPL-1.2
LPPL-1.3a LPPL-1.3c LZMA-SDK-9.11-to-9.20 LZMA-SDK-9.22 Latex2e Latex2e-translated-notice
Leptonica LiLiQ-P-1.1 LiLiQ-R-1.1 LiLiQ-Rplus-1.1 Libpng Linux-OpenIB Linux-man-pages-1-para
Linux-man-pages-copyleft Linux-man-pages-copyleft-2-para Linux-man-pages-copyleft-var
Lucida-Bitmap-Fonts MIPS MIT MIT-0 MIT-CMU MIT-Click MIT-Festival MIT-Khronos-old
MIT-Modern-Variant MIT-STK MIT-Wu MIT-advertising MIT-enna MIT-feh MIT-open-group
MIT-testregex MITNFA MMIXware MMPL-1.0.1 MPEG-SSG MPL-1.0 MPL-1.1 MPL-2.0
MPL-2.0-no-copyleft-exception MS-LPL MS-PL MS-RL MTLL Mackerras-3-Clause
Mackerras-3-Clause-acknowledgment MakeIndex Martin-Birgmeier McPhee-slideshow Minpack MirOS
Motosoto MulanPSL-1.0 MulanPSL-2.0 Multics Mup NAIST-2003 NASA-1.3 NBPL-1.0 NCBI-PD
NCGL-UK-2.0 NCL NCSA NGPL NICTA-1.0 NIST-PD NIST-PD-TNT NIST-PD-fallback NIST-Software
NLOD-1.0 NLOD-2.0 NLPL NOSL NPL-1.0 NPL-1.1 NPOSL-3.0 NRL NTIA-PD NTP NTP-0 Naumen Net-SNMP
NetCDF Newsletr Nokia Noweb Nunit O-UDA-1.0 OAR OCCT-PL OCLC-2.0 ODC-By-1.0 ODbL-1.0 OFFIS
OFL-1.0 OFL-1.0-RFN OFL-1.0-no-RFN OFL-1.1 OFL-1.1-RFN OFL-1.1-no-RFN OGC-1.0
OGDL-Taiwan-1.0 OGL-Canada-2.0 OGL-UK-1.0 OGL-UK-2.0 OGL-UK-3.0 OGTSL OLDAP-1.1 OLDAP-1.2
OLDAP-1.3 OLDAP-1.4 OLDAP-2.0 OLDAP-2.0.1 OLDAP-2.1 OLDAP-2.2 OLDAP-2.2.1 OLDAP-2.2.2
OLDAP-2.3 OLDAP-2.4 OLDAP-2.5 OLDAP-2.6 OLDAP-2.7 OLDAP-2.8 OLFL-1.3 OML OPL-1.0 OPL-UK-3.0
OPUBL-1.0 OSC-1.0 OSET-PL-2.1 OSL-1.0 OSL-1.1 OSL-2.0 OSL-2.1 OSL-3.0 OSSP OpenMDW-1.0
OpenPBS-2.3 OpenSSL OpenSSL-standalone OpenVision PADL PDDL-1.0 PHP-3.0 PHP-3.01 PPL PSF-2.0
ParaType-Free-Font-1.3 Parity-6.0.0 Parity-7.0.0 Pixar Plexus PolyForm-Noncommercial-1.0.0
PolyForm-Small-Business-1.0.0 PostgreSQL Python-2.0 Python-2.0.1 QPL-1.0 QPL-1.0-INRIA-2004
Qhull RHeCos-1.1 RPL-1.1 RPL-1.5 RPSL-1.0 RSA-MD RSCPL Rdisc Ruby Ruby-pty SAX-PD SAX-PD-2.0
SCEA SGI-B-1.0 SGI-B-1.1 SGI-B-2.0 SGI-OpenGL SGMLUG-PM SGP4 SHL-0.5 SHL-0.51 SISSL
SISSL-1.2 SL SMAIL-GPL SMLNJ SMPPL SNIA SOFA SPL-1.0 SSH-OpenSSH SSH-short SSLeay-standalone
SSPL-1.0 SUL-1.0 SWL Saxpath SchemeReport Sendmail Sendmail-8.23 Sendmail-Open-Source-1.1
SimPL-2.0 Sleepycat Soundex Spencer-86 Spencer-94 Spencer-99 StandardML-NJ SugarCRM-1.1.3
Sun-PPP Sun-PPP-2000 SunPro Symlinks TAPR-OHL-1.0 TCL TCP-wrappers TGPPL-1.0 TMate
TORQUE-1.1 TOSL TPDL TPL-1.0 TTWL TTYP0 TU-Berlin-1.0 TU-Berlin-2.0 TekHVC TermReadKey
ThirdEye TrustedQSL UCAR UCL-1.0 UMich-Merit UPL-1.0 URT-RLE Ubuntu-font-1.0 UnRAR
Unicode-3.0 Unicode-DFS-2015 Unicode-DFS-2016 Unicode-TOU UnixCrypt Unlicense
Unlicense-libtelnet Unlicense-libwhirlpool VOSTROM VSL-1.0 Vim Vixie-Cron W3C W3C-19980720
W3C-20150513 WTFNMFPL WTFPL Watcom-1.0 Widget-Workshop WordNet Wsuipa X11
X11-distribute-modifications-variant X11-no-permit-persons X11-swapped XFree86-1.1 XSkat
Xdebug-1.03 Xerox Xfig Xnet YPL-1.0 YPL-1.1 ZPL-1.1 ZPL-2.0 ZPL-2.1 Zed Zeeff Zend-2.0
Zimbra-1.3 Zimbra-1.4 Zlib any-OSI any-OSI-perl-modules bcrypt-Solar-Designer blessing
bzip2-1.0.5 bzip2-1.0.6 check-cvs checkmk copyleft-next-0.3.0 copyleft-next-0.3.1 curl
cve-tou diffmark dtoa dvipdfm eCos-2.0 eGenix etalab-2.0 fwlw gSOAP-1.3b generic-xts gnuplot
gtkbook hdparm hyphen-bulgarian iMatix jove libpng-1.6.35 libpng-2.0 libselinux-1.0 libtiff
libutil-David-Nugent lsof magaz mailprio man2html metamail mpi-permissive mpich2 mplus ngrep
pkgconf pnmstitch psfrag psutils python-ldap radvd snprintf softSurfer ssh-keyscan swrule
threeparttable ulem w3m wwl wxWindows xinetd xkeyboard-config-Zinoviev xlock xpp xzoom
zlib-acknowledgement
"""
    )
)

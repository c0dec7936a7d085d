"""The sourcing demo: sovereignty assessments, procurement cases and the requirements backlog
on top of the demo city.

`build_sourcing_demo(seed, scale)` runs after `cmdb.demo.build_demo_city` (it needs the demo
users, org units, teams, vendors, IT components and applications; subjects that are missing
are skipped and reported) and, when it has run, after the ITSM demo, whose closed successful
changes then deliver some of the finished requirements. Everything goes through the services,
so history, the four-eyes rule, the knock-out gate and the backlog's transition table are the
real ones:

- the shipped criteria catalogue (`default_catalogue`);
- a second procurement user, `procurement-lead` (demo password), who approves what the demo
  user `procurement` assessed;
- assessments that tell a story (checked by `story` in the result, see STORY):
  Komm.ONE AöR, the municipal IT provider, is grade A for very high protection needs;
  Nextcloud GmbH, a German open-source vendor, grade B; Microsoft Deutschland GmbH, the German
  subsidiary of a US group, fails the very-high knock-outs on jurisdiction (JUR-01, JUR-04,
  JUR-07) and is therefore E for that class. Around them: other municipal providers, German
  specialist and open-source vendors, EU clouds, US hyperscalers (low on jurisdiction), a few
  products (Nextcloud Hub, Microsoft 365, STACKIT Cloud, Amazon Web Services, Univention
  Corporate Server), critical applications and the shared platforms (identity provider,
  integration platform, e-payment, GIS, data platform) with their own assessments; one draft
  (Open-Xchange), one submitted and waiting in the procurement inbox (Kommunix), one expired
  (PROSOZ Herten: approved 14 months ago with the default validity of one year — the service
  accepts a past `now`, so no date is patched afterwards);
- two procurement cases: "Kollaborationsplattform für die Stadtverwaltung" (very high,
  Microsoft 365 against Nextcloud Hub, awarded to Nextcloud Hub after the US product failed
  the knock-out gate; the ranking is recorded with the award) and "Terminvereinbarung online
  (Bürgeramt)" (high, three candidates, in evaluation);
- about 50 requirements (more with `scale`: REQUIREMENTS_PER_EXTRA_SCALE per step above 1) in
  every state of the backlog, submitted by the demo `requester` for the Bürgeramt (the office of
  its team) and by `architect` for the other offices, decided by `architect`, delivered by
  `change`.

Determinism: the WSJF inputs, the dates and the levels of the supporting vendors come from
`random.Random` seeded with `seed` and the section name; the story subjects, the products and
the applications have fixed levels so that the story holds for every seed. Dates are relative
to `today` (default: the current date); the services are called with `now` set to a moment
in the past where the story needs it (e.g. an assessment approved 14 months ago).

Idempotency: assessments carry a marker `[demo:assessment:<kind>:<key>]` as the last line of
their comment, procurement cases are keyed by title, requirements by title and requesting org
unit. Only what is missing is created, so a second run creates nothing.
"""

# ruff: noqa: E501  (the catalogues below are tables: one row per line reads better)

import datetime
import random
import re
import time
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from cmdb.demo import DEMO_PASSWORD, EMAIL_DOMAIN, OFFICES
from cmdb.filtersets import org_unit_subtree_q
from cmdb.models import Application, ITComponent, OrgUnit, Vendor
from itsm.choices import ChangeOutcome, ChangeState
from itsm.models import Change
from itsm.models.requirement import Requirement
from itsm.requirement_choices import RequirementKind, RequirementState
from itsm.services import requirements as backlog
from landkarte import roles
from sourcing.choices import AssessmentState
from sourcing.models import Answer, Assessment, CriteriaCatalogue, Criterion
from sourcing.procurement_models import ProcurementCandidate, ProcurementCase
from sourcing.services import assessments as assessing
from sourcing.services import procurement
from sourcing.services.catalogues import default_catalogue
from sourcing.services.scoring import score_assessment

APPROVER = "procurement-lead"
MARKER = re.compile(r"\[demo:assessment:([a-z]+):([a-z0-9._-]+)\]\s*$")
REQUIREMENTS_PER_EXTRA_SCALE = 15

# --------------------------------------------------------------------------------------------
# Level profiles: group level, then per-criterion overrides (criterion code → 0..4)
# --------------------------------------------------------------------------------------------
# fmt: off

GROUPS = ("jurisdiction", "data", "operations", "technology", "supply_chain", "exit", "security", "environment")


def profile(base: tuple[int, ...], **overrides: int) -> dict:
    """`base` in the order of GROUPS; overrides use underscores (JUR_01=1)."""
    return {"groups": dict(zip(GROUPS, base, strict=True)),
            "codes": {code.replace("_", "-"): level for code, level in overrides.items()}}


PROFILES = {
    # Municipal IT providers (AöR, Zweckverband): public owners, German data centres, own staff.
    "kommunal": profile((4, 4, 4, 3, 3, 3, 3, 3), JUR_05=3, TEC_01=2, TEC_05=2, TEC_06=2, EXT_04=2, EXT_05=2),
    # Their specialist procedures: proprietary, but German law, operations and escrow.
    "kommunal_verfahren": profile((4, 4, 3, 2, 3, 3, 3, 2), JUR_05=3, OPS_05=1, TEC_01=1, TEC_02=3, TEC_06=1, SUP_01=2, EXT_01=3, EXT_02=3, EXT_04=2, EXT_05=2),
    # German open-source vendors: strong on technology and exit, smaller companies.
    "open_source_de": profile((4, 3, 3, 4, 3, 4, 3, 2), JUR_05=2, JUR_06=1, TEC_06=3, SUP_03=2, EXT_02=3, EXT_03=3),
    # German (or Austrian) specialist-procedure vendors: German law, proprietary, few alternatives.
    "fachverfahren_de": profile((4, 3, 3, 2, 2, 2, 3, 2), JUR_04=3, JUR_05=2, JUR_06=2, OPS_03=3, OPS_05=1, TEC_01=0, TEC_06=0, TEC_04=2, SUP_02=3, EXT_01=2, EXT_04=1, EXT_05=1, EXT_06=3),
    # EU enterprise software with a worldwide footprint: US subsidiaries, support from abroad.
    "eu_konzern": profile((3, 3, 3, 2, 2, 2, 4, 3), JUR_03=4, JUR_04=2, JUR_05=2, JUR_06=2, TEC_01=0, TEC_05=1, TEC_06=0, OPS_05=1, EXT_01=3, EXT_04=1),
    # EU cloud providers: EU parent, C5, open APIs, proprietary platform software.
    "eu_cloud": profile((4, 3, 4, 3, 3, 3, 4, 3), JUR_05=3, JUR_06=2, DAT_02=3, OPS_05=2, TEC_01=1, TEC_05=2, TEC_06=2, SUP_03=2, EXT_06=2),
    # EU subsidiaries of US groups: EU contract and data boundary, US control.
    "us_tochter": profile((2, 2, 2, 2, 1, 2, 4, 3), JUR_01=1, JUR_02=3, JUR_03=3, JUR_04=1, JUR_05=2, JUR_06=1, JUR_07=1, DAT_01=3, OPS_01=1, OPS_03=1, OPS_05=0, TEC_01=0, TEC_02=3, TEC_03=3, TEC_05=0, TEC_06=0, SUP_03=2, EXT_01=3, EXT_02=1, EXT_04=3, EXT_05=3, EXT_06=1),
    # US hyperscalers: the strongest non-EU exposure.
    "us_hyperscaler": profile((1, 2, 1, 2, 1, 2, 4, 3), JUR_01=0, JUR_02=2, JUR_03=2, JUR_04=0, JUR_06=0, DAT_01=3, OPS_02=2, TEC_01=0, TEC_02=3, TEC_05=0, TEC_06=0, SUP_03=2, EXT_01=2, EXT_02=1, EXT_04=2, EXT_05=3, EXT_06=0),
}

# Fixed levels of the three story vendors (applicable to a vendor: JUR-01..07, TEC-04, EXT-06).
STORY_LEVELS = {
    "komm-one": {"JUR-01": 4, "JUR-02": 4, "JUR-03": 4, "JUR-04": 4, "JUR-05": 3, "JUR-06": 4, "JUR-07": 4, "TEC-04": 2, "EXT-06": 4},
    "nextcloud": {"JUR-01": 4, "JUR-02": 3, "JUR-03": 4, "JUR-04": 3, "JUR-05": 2, "JUR-06": 1, "JUR-07": 2, "TEC-04": 3, "EXT-06": 3},
    "microsoft-de": {"JUR-01": 1, "JUR-02": 3, "JUR-03": 4, "JUR-04": 1, "JUR-05": 2, "JUR-06": 1, "JUR-07": 1, "TEC-04": 3, "EXT-06": 1},
}

EVIDENCE = {
    "jurisdiction": "Handelsregisterauszug, Konzernstruktur und Vertragsentwurf (EVB-IT Cloud) geprüft",
    "data": "Auftragsverarbeitungsvertrag mit Anlage Unterauftragsverarbeiter; Rechenzentrumsstandorte laut Leistungsbeschreibung",
    "operations": "Betriebshandbuch und Angaben zu Supportstandorten und privilegierten Zugriffen",
    "technology": "Lizenz- und Schnittstellendokumentation; Architekturübersicht des Anbieters",
    "supply_chain": "SBOM-Auszug und Liste der Vorleistungen/Plattformen",
    "exit": "Exportformate getestet; Exit-Klauseln im Vertragsentwurf",
    "security": "Testat (BSI C5 bzw. ISO 27001 auf Basis IT-Grundschutz)",
    "environment": "Nachhaltigkeitsbericht des Anbieters",
}
NOTES = {
    ("JUR-01", 0): "Konzernmutter in den USA; Kontrolle vollständig außerhalb der EU.",
    ("JUR-01", 1): "EU-Vertragspartner, aber beherrschende Konzernmutter in den USA.",
    ("JUR-04", 0): "Unterliegt CLOUD Act und FISA 702 ohne wirksame Abschirmung.",
    ("JUR-04", 1): "CLOUD Act / FISA 702 über die US-Muttergesellschaft; nur vertragliche Zusagen.",
    ("JUR-07", 1): "Abschaltung durch US-Sanktions- und Exportkontrollrecht nicht ausgeschlossen.",
    ("EXT-02", 1): "Kein getesteter Exit-Plan.",
    ("EXT-02", 2): "Exit-Plan vorhanden, aber nie erprobt.",
}

# fmt: on


@dataclass(frozen=True)
class AssessmentSpec:
    kind: str  # vendor, component, application
    key: str  # the cmdb demo key (external_id demo:<vendor|component|app>:<key>)
    profile: str  # a PROFILES key, or "story" (STORY_LEVELS)
    comment: str
    state: str = AssessmentState.APPROVED  # or draft, submitted, "expired"
    approved_days_ago: int = 60
    fixed: bool = True  # False: the seed varies some levels by one step
    levels: dict = field(default_factory=dict)  # overrides of the profile

    @property
    def marker(self) -> str:
        return f"[demo:assessment:{self.kind}:{self.key}]"


EXPIRED = "expired"
A = AssessmentSpec

# fmt: off
ASSESSMENTS = [
    # The story: municipal provider A, EU open-source vendor B, US subsidiary fails very high.
    A("vendor", "komm-one", "story", "Kommunaler IT-Dienstleister (AöR) in kommunaler Trägerschaft; Rechenzentren in Baden-Württemberg, eigenes Personal, kein Durchgriff außereuropäischen Rechts.", approved_days_ago=40),
    A("vendor", "nextcloud", "story", "Deutscher Open-Source-Hersteller (GmbH). Schwächen: Schutz bei Kontrollwechsel (Investoren) und Transparenzbericht zu Behördenanfragen fehlt.", approved_days_ago=150),
    A("vendor", "microsoft-de", "story", "Deutsche Tochter der Microsoft Corporation (USA). Vertrag nach deutschem Recht möglich, aber CLOUD Act / FISA 702 über die Konzernmutter: scheidet bei sehr hohem Schutzbedarf am Knock-out aus.", approved_days_ago=160),
    # Other municipal IT providers.
    A("vendor", "dataport", "kommunal", "Anstalt öffentlichen Rechts mehrerer Länder; Betreiber der dPhoenix-Suite und von openDesk-Pilotumgebungen.", approved_days_ago=75, fixed=False),
    A("vendor", "akdb", "kommunal", "Anstalt für Kommunale Datenverarbeitung in Bayern; Hersteller von OK.EWO, OK.GEWERBE, OWi21 und der Kfz-Verfahren.", approved_days_ago=110, fixed=False),
    A("vendor", "ekom21", "kommunal", "Kommunales Gebietsrechenzentrum Hessen (KGRZ); Hersteller des Ausländerwesens.", approved_days_ago=200, fixed=False),
    # German open-source and specialist vendors.
    A("vendor", "univention", "open_source_de", "Bremer Open-Source-Hersteller (UCS, Nubus); Identitätsmanagement in openDesk.", approved_days_ago=90, fixed=False),
    A("vendor", "openproject", "open_source_de", "Berliner Open-Source-Hersteller; Projektmanagement in openDesk.", approved_days_ago=220, fixed=False),
    A("vendor", "dvelop", "fachverfahren_de", "Hersteller der E-Akte d.velop documents; Betrieb im eigenen Rechenzentrum der Stadt.", approved_days_ago=130, fixed=False),
    A("vendor", "governikus", "fachverfahren_de", "Hersteller der OSCI-/EGVP-Middleware (beBPo); gehört mehrheitlich der öffentlichen Hand.", approved_days_ago=60, fixed=False, levels={"JUR-04": 4}),
    A("vendor", "eurofunk", "fachverfahren_de", "Österreichischer Hersteller des Einsatzleitsystems der Feuerwehr.", approved_days_ago=180, fixed=False),
    A("vendor", "sap-de", "eu_konzern", "Deutsche Landesgesellschaft der SAP SE. Europäischer Konzern, aber US-Töchter und Support aus Drittstaaten (JUR-04 nur teilweise abgesichert).", approved_days_ago=100, fixed=False),
    # EU cloud providers.
    A("vendor", "stackit", "eu_cloud", "Cloud der Schwarz Gruppe; Rechenzentren in Deutschland und Österreich, BSI C5.", approved_days_ago=70, fixed=False),
    A("vendor", "ionos", "eu_cloud", "IONOS SE (United Internet); Rechenzentren in Deutschland.", approved_days_ago=250, fixed=False),
    A("vendor", "ovh-de", "eu_cloud", "Deutsche Tochter der OVH Groupe (Frankreich); SecNumCloud-Angebot in Frankreich.", approved_days_ago=140, fixed=False, levels={"JUR-04": 3}),
    # EU subsidiaries of US groups and US hyperscalers.
    A("vendor", "microsoft-ie", "us_tochter", "Vertragspartner für Microsoft 365 und Azure in der EU; US-Konzernmutter.", approved_days_ago=160),
    A("vendor", "aws-emea", "us_hyperscaler", "Luxemburger Vertragspartner von Amazon Web Services; US-Konzernmutter, European Sovereign Cloud angekündigt, aber nicht beauftragt.", approved_days_ago=120),
    A("vendor", "google-cloud-de", "us_hyperscaler", "Deutsche Tochter von Google; Konzernmutter Alphabet Inc. (USA).", approved_days_ago=230, fixed=False),
    A("vendor", "salesforce-de", "us_tochter", "Deutsche Tochter der Salesforce, Inc. (USA); Hyperforce-Region EU.", approved_days_ago=50),
    A("vendor", "oracle-de", "us_tochter", "Deutsche Tochter der Oracle Corporation (USA); Datenbanklizenzen der Fachverfahren.", approved_days_ago=260, fixed=False),
    # Products.
    A("component", "nextcloud-hub", "open_source_de", "Selbst betriebene Kollaborationsplattform (AGPL); Betrieb im Rechenzentrum von Komm.ONE oder der Stadt.", approved_days_ago=140),
    A("component", "m365", "us_tochter", "SaaS aus der EU-Datengrenze von Microsoft: fachlich und bei Sicherheit und Datenhaltung stark, Kontrolle und Betrieb aber letztlich beim US-Konzern.", approved_days_ago=145, levels={"DAT-02": 3, "DAT-03": 3, "DAT-04": 3, "OPS-02": 3, "OPS-05": 1, "TEC-04": 3, "SUP-01": 2, "SUP-02": 2, "EXT-03": 3, "EXT-05": 4}),
    A("component", "stackit", "eu_cloud", "IaaS/PaaS der STACKIT GmbH & Co. KG; Kandidat für die Urbane Datenplattform.", approved_days_ago=70),
    A("component", "aws", "us_hyperscaler", "Public Cloud der Amazon Web Services EMEA SARL, Region Frankfurt.", approved_days_ago=120),
    A("component", "ucs", "open_source_de", "Univention Corporate Server: Verzeichnisdienst für Schulen und openDesk.", approved_days_ago=90),
    # Critical applications with their own assessments.
    A("application", "ok-ewo", "kommunal_verfahren", "Einwohnermeldewesen (AKDB), betrieben beim kommunalen IT-Dienstleister.", approved_days_ago=100, levels={"EXT-02": 2}),
    A("application", "serviceportal", "kommunal_verfahren", "Serviceportal für die OZG-Onlinedienste (Komm.ONE).", approved_days_ago=35),
    A("application", "els", "fachverfahren_de", "Einsatzleitsystem der Feuerwehr im städtischen Rechenzentrum.", approved_days_ago=170),
    A("application", "sap-fi", "eu_konzern", "SAP S/4HANA Finanzen im städtischen Rechenzentrum.", approved_days_ago=95),
    A("application", "keycloak", "open_source_de", "Zentraler Identitätsanbieter (Keycloak, Apache-2.0), selbst betrieben.", approved_days_ago=55),
    # The shared platforms and their vendors (every application reaches them through interfaces).
    A("vendor", "software-ag", "eu_konzern", "Software AG: 2023 vom US-Finanzinvestor Silver Lake übernommen, webMethods 2024 an IBM verkauft; Kontrollwechsel ohne Schutzklausel.", approved_days_ago=80, fixed=False, levels={"JUR-06": 0}),
    A("vendor", "esri-de", "us_tochter", "Deutsche Gesellschaft der Esri-Gruppe (USA); Lizenzen und Updates kommen aus den USA.", approved_days_ago=190, fixed=False),
    A("vendor", "t-systems", "eu_cloud", "T-Systems International (Deutsche Telekom); Sovereign-Cloud-Angebote.", approved_days_ago=115, fixed=False),
    A("application", "webmethods", "eu_konzern", "Integrationsplattform webMethods: proprietär, Herstellerwechsel im Konzern (IBM).", approved_days_ago=80),
    A("application", "epaybl", "kommunal_verfahren", "E-Payment-Plattform ePayBL im Betrieb des kommunalen IT-Dienstleisters.", approved_days_ago=65),
    A("application", "arcgis", "us_tochter", "ArcGIS Enterprise im städtischen Rechenzentrum; Lizenzaktivierung und Updates aus den USA.", approved_days_ago=190),
    A("application", "udp", "open_source_de", "Urbane Datenplattform auf FIWARE-Komponenten (Open Source), Betrieb bei STACKIT.", approved_days_ago=30, levels={"EXT-02": 2}),
    # The procurement inbox, a draft and an expired assessment.
    A("vendor", "kommunix", "fachverfahren_de", "Anbieter der Online-Terminvereinbarung; Bewertung für das Vergabeverfahren Terminvereinbarung, wartet auf Freigabe.", state=AssessmentState.SUBMITTED),
    A("vendor", "open-xchange", "open_source_de", "Open-Xchange GmbH (E-Mail und Groupware in openDesk): Bewertung begonnen, Nachweise zu Rechtsraum und Behördenanfragen stehen aus.", state=AssessmentState.DRAFT),
    A("vendor", "prosoz", "fachverfahren_de", "Hersteller von OPEN/PROSOZ, 14plus und ProBauG. Bewertung abgelaufen; Neubewertung überfällig.", state=EXPIRED, approved_days_ago=425),
]
# fmt: on

# What the result's `story` checks: vendor key → expected grade for very high protection needs.
STORY = {"komm-one": "A", "nextcloud": "B", "microsoft-de": "E"}

# --------------------------------------------------------------------------------------------
# The backlog
# --------------------------------------------------------------------------------------------

NA = RequirementKind.NEW_APPLICATION
EN = RequirementKind.ENHANCEMENT
IN = RequirementKind.INFRASTRUCTURE
PR = RequirementKind.PROCUREMENT
LO = RequirementKind.LEGAL_OBLIGATION
S = RequirementState

BITV = "Richtlinie (EU) 2016/2102; L-BGG BW; BITV 2.0"
OZG = "OZG 2.0 § 1a"


@dataclass(frozen=True)
class RequirementSpec:
    office: str  # org unit code
    title: str
    kind: str
    state: str
    due: int | None = None  # days from today
    legal_basis: str = ""
    apps: tuple[str, ...] = ()
    description: str = ""
    reason: str = ""  # rejection, withdrawal, return or re-planning; delivery note when done
    returned: bool = False  # sent back to the office once for more information
    replanned: bool = False  # delivery stopped once and started again
    timeline: tuple[int, ...] = ()  # days ago of the submission and of each step (else random)


R = RequirementSpec

# fmt: off
REQUIREMENTS = [
    # Bürgeramt (submitted by the demo requester)
    R("33", "Online-Terminvereinbarung für das Bürgeramt neu vergeben", PR, S.PLANNED, 200, "", ("termin",), "Der Vertrag für die Online-Terminvergabe läuft aus. Neuvergabe mit Anbindung an das Serviceportal, Aufrufsystem und barrierefreier Buchung.", timeline=(150, 135, 118, 90)),
    R("33", "Online-Ummeldung mit elektronischer Wohnungsgeberbestätigung", LO, S.IN_DELIVERY, 150, f"{OZG}; BMG § 19", ("ok-ewo", "serviceportal"), "Ummeldung vollständig online über das Serviceportal, Übernahme in OK.EWO ohne Medienbruch."),
    R("33", "Digitale Lichtbilder für Pass- und Ausweisanträge", LO, S.DONE, -200, "PassG § 6; PAuswG § 9 (elektronische Lichtbildübermittlung)", ("ausweis",), "Annahme digitaler Lichtbilder und Selbstbedienungsterminals in beiden Bürgerbüros.", "Terminals in beiden Bürgerbüros aufgestellt, Lichtbildübernahme in das Pass- und Ausweisverfahren konfiguriert."),
    R("33", "Anbindung des Melderegisters an die Registermodernisierung (IDNr)", LO, S.APPROVED, 540, "Registermodernisierungsgesetz; IDNrG § 1", ("ok-ewo",), "Speicherung und Übermittlung der Identifikationsnummer nach IDNrG, Anschluss an NOOTS."),
    R("33", "Wartezeitanzeige und Aufrufsystem in den Bürgerbüros", NA, S.SUBMITTED, None, "", ("termin",), "Anzeige der Wartenummern und Wartezeiten im Wartebereich und online."),
    R("33.1", "Aufrufsystem Bürgerbüro Mitte erneuern", IN, S.REJECTED, None, "", (), "Hardware des Aufrufsystems ist zehn Jahre alt.", "Wird mit der neuen Online-Terminvereinbarung für beide Bürgerbüros gemeinsam beschafft."),
    R("33", "Melderegisterauskunft online für Private und Behörden", EN, S.IN_REVIEW, None, "BMG §§ 44, 49", ("ok-ewo", "epaybl"), "Einfache Melderegisterauskunft online mit E-Payment."),
    R("33.2", "Mobiles Bürgerbüro für Hausbesuche", IN, S.WITHDRAWN, None, "", ("ausweis",), "Mobile Erfassungskoffer für Pass- und Ausweisanträge bei Hausbesuchen.", "Pilot entfällt: das Bürgerbüro Nord übernimmt die Hausbesuche mit vorhandener Ausstattung."),
    R("33", "E-Akte im Bürgeramt: Anbindung OK.EWO an d.velop", EN, S.SUBMITTED, 365, "", ("ok-ewo", "dvelop"), "Meldevorgänge und Nachweise direkt in der E-Akte ablegen.", "Bitte Mengengerüst (Vorgänge pro Jahr) und fachliche Ansprechperson ergänzen.", returned=True),
    # Amt für Digitalisierung und IT
    R("12", "Kollaborationsplattform für die Stadtverwaltung", PR, S.IN_DELIVERY, 120, "", ("nextcloud", "m365"), "Dateiablage, gemeinsames Bearbeiten von Dokumenten und Chat für alle Ämter; betreibbar bei sehr hohem Schutzbedarf (Sozial- und Gesundheitsdaten).", timeline=(330, 305, 280, 240, 80)),
    R("12", "Migration der Arbeitsplätze auf Windows 11", IN, S.DONE, -230, "", ("citrix", "active-directory"), "Rund 3.500 Arbeitsplätze vor dem Supportende von Windows 10 umstellen.", "Alle Arbeitsplätze umgestellt; Restgeräte ausgesondert."),
    R("12", "Ablösung Microsoft Exchange Server 2019", IN, S.IN_DELIVERY, -30, "", ("exchange",), "Exchange 2019 ist seit Oktober 2025 ohne Support; Entscheidung zwischen Exchange SE und openDesk.", "Lieferverzug der neuen Server; Umzug der Postfächer in zweiter Welle.", replanned=True),
    R("12", "Ablösung Novell eDirectory", IN, S.DONE, -400, "", ("edirectory", "active-directory"), "Letzte Anwendungen vom alten Verzeichnisdienst auf das Active Directory umstellen.", "Letzte Fachanwendung umgestellt; eDirectory abgeschaltet."),
    R("12", "Pilotbetrieb openDesk als souveräner Arbeitsplatz", NA, S.APPROVED, 300, "", ("opendesk",), "Pilot mit 200 Arbeitsplätzen in drei Ämtern, Betrieb durch den kommunalen IT-Dienstleister."),
    R("12", "Multi-Faktor-Authentifizierung für alle Fernzugänge", IN, S.DONE, -120, "", ("keycloak", "citrix"), "MFA für Citrix, VPN und Webmail.", "MFA für alle Fernzugänge aktiv; Ausnahmen dokumentiert."),
    R("12", "Zentrale Protokollierung und Angriffserkennung (SIEM)", IN, S.IN_REVIEW, 400, "", ("keycloak", "active-directory"), "Protokolldaten aller kritischen Systeme zentral auswerten."),
    R("12", "Informationssicherheit nach NIS-2 und BSI IT-Grundschutz ausbauen", LO, S.PLANNED, 450, "Richtlinie (EU) 2022/2555 (NIS-2); Cybersicherheitsgesetz BW", (), "ISMS nach BSI-Standard 200-2 auf alle Ämter ausweiten."),
    R("12", "Kubernetes-Plattform für eigene Fachanwendungen", IN, S.REJECTED, None, "", ("udp",), "Eigene Container-Plattform im städtischen Rechenzentrum.", "Kein Personal für den Betrieb einer eigenen Plattform; Container-Hosting beim kommunalen IT-Dienstleister nutzen."),
    R("12", "IPv6 im Verwaltungsnetz", IN, S.SUBMITTED, None, "", (), "Dual-Stack im Verwaltungsnetz als Voraussetzung für das Netz des Bundes und der Länder."),
    R("12", "Cloud-Telefonie statt Telefonanlage OpenScape", IN, S.WITHDRAWN, None, "", ("telefonie", "webex"), "Telefonie über einen Cloud-Dienst.", "Nicht mit dem Souveränitätskriterienkatalog vereinbar; Telefonanlage wird modernisiert statt abgelöst."),
    R("12", "Einer-für-Alle-Onlinedienste an das Serviceportal anbinden", LO, S.PLANNED, 270, OZG, ("serviceportal", "epaybl"), "Nachnutzung weiterer EfA-Leistungen der Länder über das Serviceportal."),
    # Hauptamt, Personalamt, Presseamt, Rechnungsprüfung, Wahlen, Rechtsamt
    R("10", "E-Akte: flächendeckender Rollout in allen Ämtern", EN, S.IN_DELIVERY, 330, "EGovG BW (elektronische Aktenführung)", ("dvelop",), "Einführung der E-Akte in den verbleibenden 25 Ämtern nach dem Pilot im Hauptamt."),
    R("10", "Digitale Gremienarbeit mit Tablets", EN, S.DONE, -300, "", ("sessionnet",), "Ratsmitglieder erhalten Sitzungsunterlagen nur noch digital.", "Tablets ausgegeben, Papierversand eingestellt."),
    R("10", "Internes Hinweisgebersystem", LO, S.DONE, -500, "HinSchG § 12", (), "Interne Meldestelle mit geschütztem Meldekanal.", "Meldeportal eines Dienstleisters beauftragt; Meldestelle im Rechtsamt eingerichtet."),
    R("11", "Ablösung SAP HCM durch LOGA", NA, S.IN_DELIVERY, 90, "", ("sap-hcm", "loga"), "Personalabrechnung vor dem Wartungsende von SAP HCM umstellen."),
    R("11", "Digitale Personalakte", NA, S.APPROVED, 400, "", ("loga", "dvelop"), "Personalakten elektronisch führen und Papierakten scannen."),
    R("11", "Bewerbermanagement barrierefrei nach BITV 2.0", LO, S.IN_REVIEW, 180, BITV, ("bewerber",), "Bewerbungsportal für Menschen mit Behinderungen barrierefrei machen."),
    R("13", "Stadtportal barrierefrei nach BITV 2.0 (Relaunch)", LO, S.IN_DELIVERY, 60, BITV, ("stadtportal",), "Relaunch des Internetauftritts mit Erklärung zur Barrierefreiheit und Feedback-Mechanismus."),
    R("14", "Prüfsoftware IDEA auf Version 12 aktualisieren", IN, S.WITHDRAWN, None, "", ("pruefsoftware",), "Aktualisierung der Prüfsoftware.", "Erledigt sich mit dem Wechsel auf die Prüfsoftware des Landes."),
    R("15", "Online-Portal für Wahlhelferinnen und Wahlhelfer", NA, S.DONE, -160, "", ("wahl",), "Anmeldung und Einteilung der Wahlhelfenden online.", "Modul des Wahlprogramms freigeschaltet und zur Wahl genutzt."),
    R("30", "Elektronischer Rechtsverkehr mit den Gerichten über beBPo", LO, S.DONE, -700, "ZPO § 130d; VwGO § 55d", ("bebpo",), "Schriftsätze an Gerichte nur noch elektronisch.", "beBPo für alle prozessführenden Stellen eingerichtet."),
    # Finanzen
    R("20", "Eingang und Verarbeitung von E-Rechnungen (XRechnung)", LO, S.DONE, -600, "E-Rechnungsverordnung BW (ERechVOBW)", ("sap-fi",), "Rechnungseingang über das Landesportal, Verarbeitung in SAP ohne Papier.", "Rechnungseingang umgestellt; Papierrechnungen nur noch in Ausnahmen."),
    R("20", "Umsatzbesteuerung der öffentlichen Hand nach § 2b UStG", LO, S.PLANNED, 300, "UStG § 2b", ("sap-fi",), "Tax-Compliance-System und Steuerkennzeichen in SAP für die Umsatzsteuerpflicht der Stadt."),
    R("21", "E-Payment: Umstellung auf ePayBL 3", EN, S.SUBMITTED, 240, "", ("epaybl",), "Neue Version der E-Payment-Plattform mit weiteren Zahlarten."),
    R("22", "Grundsteuer nach dem Landesgrundsteuergesetz", LO, S.DONE, -420, "LGrStG BW", ("grundsteuer", "sap-pscd"), "Bescheide nach dem neuen Bodenwertmodell ab 2025.", "Neue Messbeträge übernommen, Bescheide 2025 versandt."),
    R("23", "Grundstücksbörse online", NA, S.REJECTED, None, "", ("sap-refx",), "Verkaufsangebote städtischer Grundstücke online veröffentlichen.", "Wird über das Stadtportal mit vorhandenen Mitteln gelöst; kein eigenes Verfahren."),
    # Sicherheit und Ordnung
    R("32", "Digitale Gewerbeanzeige nach XGewerbeanzeige", LO, S.IN_REVIEW, 210, f"{OZG}; GewO § 14", ("ok-gewerbe", "serviceportal"), "Gewerbeanzeigen online mit Übernahme in OK.GEWERBE."),
    R("35", "Online-Antrag auf Aufenthaltstitel", LO, S.APPROVED, 240, f"{OZG}; AufenthG § 81", ("auslaender", "serviceportal"), "Anträge und Nachweise online, digitale Vorsprache nur noch bei Bedarf."),
    R("36", "Internetbasierte Fahrzeugzulassung (i-Kfz) für Halter und Händler", LO, S.DONE, -350, "FZV (internetbasierte Zulassung)", ("kfz",), "Großkundenschnittstelle und Online-Zulassung für Privatpersonen.", "i-Kfz-Stufe 4 in Betrieb; Großkundenschnittstelle für Autohäuser freigeschaltet."),
    R("37", "Anbindung des Einsatzleitsystems an den Digitalfunk erneuern", IN, S.IN_REVIEW, 200, "", ("els",), "Neue Schnittstelle zwischen Einsatzleitsystem und Digitalfunk BOS."),
    # Bildung, Soziales, Gesundheit
    R("40", "Ganztagsbetreuung an Grundschulen: Anmeldung und Platzvergabe", LO, S.APPROVED, 150, "Ganztagsförderungsgesetz (GaFöG); SGB VIII § 24 Abs. 4", ("asv",), "Rechtsanspruch auf Ganztagsbetreuung für Grundschulkinder umsetzen (stufenweise Einführung)."),
    R("40", "Schulanmeldung online", NA, S.SUBMITTED, None, "", ("asv",), "Anmeldung an weiterführenden Schulen online."),
    R("50", "Eingliederungshilfe: E-Akte mit OPEN/PROSOZ", EN, S.PLANNED, 360, "", ("open-prosoz", "dvelop"), "Akten der Eingliederungshilfe elektronisch führen."),
    R("51", "Schnittstelle Kita-Platzvergabe zu PROSOZ 14plus", EN, S.IN_REVIEW, None, "", ("little-bird", "jugendhilfe"), "Zusagen aus der Kita-Platzvergabe automatisch in die Jugendhilfe übernehmen."),
    R("53", "DEMIS-Anbindung des Gesundheitsamts", LO, S.IN_DELIVERY, 45, "IfSG § 14", ("survnet", "octoware"), "Elektronische Meldungen nach IfSG über DEMIS empfangen."),
    R("64", "Wohngeld-Antrag online mit Übernahme in das Fachverfahren", LO, S.APPROVED, 200, f"{OZG}; WoGG", ("wohngeld", "serviceportal"), "Antrag online, Übernahme der Daten ohne Abtippen."),
    # Planen und Bauen
    R("63", "XBau-Schnittstelle zwischen Virtuellem Bauamt und ProBauG", LO, S.PLANNED, 180, "XBau-Standard (IT-Planungsrat); LBO BW", ("probaug", "bauantrag"), "Digitale Bauanträge im Standard XBau direkt in das Fachverfahren übernehmen."),
    R("61", "Bebauungspläne im Standard XPlanung bereitstellen", LO, S.DONE, -250, "XPlanung-Standard (IT-Planungsrat); BauGB § 4a", ("bauleitplanung", "geoportal"), "Alle rechtskräftigen Bebauungspläne als XPlanGML veröffentlichen.", "Bestand konvertiert; neue Pläne werden nur noch in XPlanung erstellt."),
    R("62", "3D-Stadtmodell für Planung und Solarkataster", NA, S.SUBMITTED, None, "", ("arcgis", "geoportal"), "3D-Gebäudemodell (CityGML LoD2) pflegen und bereitstellen."),
    R("66", "Baustellenkoordination an die Mobilithek anbinden", EN, S.REJECTED, None, "", ("baustellen",), "Baustellendaten an die nationale Mobilitätsdatenplattform liefern.", "Lieferung erfolgt bereits über die Urbane Datenplattform."),
    R("67", "Baumkontrolle mobil mit Tablets", EN, S.SUBMITTED, None, "", ("baumkataster",), "Baumkontrollen vor Ort erfassen statt auf Papier."),
    # Umwelt, Klima, Mobilität
    R("68", "Digitaler Bewohnerparkausweis", LO, S.IN_REVIEW, 220, OZG, ("parkraum", "serviceportal", "epaybl"), "Antrag, Zahlung und digitaler Parkausweis ohne Behördengang."),
    R("70", "Lärmkartierung der nächsten Runde", LO, S.APPROVED, 480, "BImSchG § 47c", ("immissionen",), "Lärmkarten für Hauptverkehrsstraßen fristgerecht erstellen und melden."),
    R("71", "Kommunale Wärmeplanung: Datengrundlage und Fortschreibung", LO, S.PLANNED, 420, "KlimaG BW § 27", ("klimamonitor", "udp"), "Daten für die Fortschreibung des Wärmeplans zusammenführen."),
    R("52", "Online-Buchung von Sporthallen", NA, S.WITHDRAWN, None, "", ("sportstaetten",), "Vereine buchen freie Hallenzeiten online.", "Wird mit der Erneuerung der Sportstättenbelegung umgesetzt."),
]
# fmt: on

# For scale > 1: further requirements from the offices' topics (title pattern, kind).
EXTRA_PATTERNS = [
    ("Digitalisierung {topic}: Online-Antrag", LO),
    ("{topic}: Schnittstelle zur E-Akte", EN),
    ("{topic}: Auswertungen und Berichte", EN),
    ("{topic}: Ablösung des Altverfahrens", NA),
]

# Days between submission and today, per target state.
AGES = {
    S.SUBMITTED: (2, 45), S.IN_REVIEW: (10, 70), S.APPROVED: (30, 150), S.PLANNED: (60, 220),
    S.IN_DELIVERY: (90, 330), S.DONE: (120, 365), S.REJECTED: (20, 200), S.WITHDRAWN: (20, 250),
}  # fmt: skip
# The path through the backlog to each target state (after submission).
PATHS = {
    S.SUBMITTED: [],
    S.IN_REVIEW: ["review"],
    S.APPROVED: ["review", "approve"],
    S.PLANNED: ["review", "approve", "plan"],
    S.IN_DELIVERY: ["review", "approve", "plan", "start"],
    S.DONE: ["review", "approve", "plan", "start", "complete"],
    S.REJECTED: ["review", "reject"],
    S.WITHDRAWN: ["withdraw"],
}
APPROVAL_REASONS = [
    "Hoher Nutzen für die Bürgerinnen und Bürger; passt in die Digitalisierungsstrategie.",
    "Architekturkonform; Umsetzung mit vorhandener Plattform.",
    "",
]
LEGAL_APPROVAL_REASON = "Gesetzliche Pflicht mit Frist; Umsetzung priorisiert."


def steps_of(spec: RequirementSpec) -> list[str]:
    """The service calls after submission that bring a requirement to its state."""
    steps = list(PATHS[spec.state])
    if spec.returned:  # sent back to the office, which has not answered yet
        steps = ["review", "return"]
    if spec.replanned:  # delivery stopped once (→ planned) and started again
        after_start = steps.index("start") + 1
        steps[after_start:after_start] = ["replan", "start"]
    return steps


# --------------------------------------------------------------------------------------------
# Procurement cases
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseSpec:
    title: str
    office: str
    protection_class: str
    requirement: str  # title of a requirement of the same office that the case serves
    description: str
    # (kind, key, offer notes, the demo assessment it is evaluated with: "kind:key"). Named
    # rather than left to add_candidate, which takes the one current on the real today.
    candidates: tuple
    days: tuple  # days ago: opened, published, evaluation started, awarded (or None)
    award: str | None = None  # key of the candidate to award
    justification: str = ""


# fmt: off
CASES = [
    CaseSpec(
        "Kollaborationsplattform für die Stadtverwaltung", "12", "very_high",
        "Kollaborationsplattform für die Stadtverwaltung",
        "Offenes Verfahren für Dateiablage, gemeinsames Bearbeiten und Chat für rund 3.500 Beschäftigte, auch für Sozial- und Gesundheitsdaten (Schutzbedarf sehr hoch).",
        (("component", "m365", "Angebot über den Landesrahmenvertrag; Betrieb in der EU-Datengrenze von Microsoft.", "component:m365"),
         ("component", "nextcloud-hub", "Angebot eines Systemhauses: Nextcloud Hub mit Collabora Online, Betrieb im Rechenzentrum des kommunalen IT-Dienstleisters.", "component:nextcloud-hub")),
        (210, 185, 125, 95), award="nextcloud-hub",
        justification="Microsoft 365 scheidet bei sehr hohem Schutzbedarf am Knock-out-Gate aus (Rechtsraum der Konzernmutter, CLOUD Act/FISA 702, Abschaltbarkeit: JUR-01, JUR-04, JUR-07). Nextcloud Hub erfüllt alle Mindestanforderungen und ist das einzige zulässige und zugleich wirtschaftlichste Angebot.",
    ),
    CaseSpec(
        "Terminvereinbarung online (Bürgeramt)", "33", "high",
        "Online-Terminvereinbarung für das Bürgeramt neu vergeben",
        "Online-Terminvergabe mit Aufrufsystem für beide Bürgerbüros, Anbindung an das Serviceportal (Schutzbedarf hoch).",
        (("vendor", "kommunix", "Bisheriger Anbieter; SaaS aus deutschem Rechenzentrum.", "vendor:kommunix"),
         ("vendor", "komm-one", "Terminvereinbarung als Modul des Serviceportals.", "vendor:komm-one"),
         ("vendor", "salesforce-de", "Terminbuchung auf der Salesforce Public Sector Cloud (Hyperforce EU).", "vendor:salesforce-de")),
        (75, 60, 12, None),
    ),
]
# fmt: on


# --------------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------------


class SourcingDemo:
    def __init__(self, seed: int, scale: int, today: datetime.date | None):
        self.seed = seed
        self.scale = scale
        if today is None:
            self.now = timezone.now()
            self.today = timezone.localdate(self.now)
        else:
            self.today = today
            self.now = timezone.make_aware(datetime.datetime.combine(today, datetime.time(10)))
        self.skipped: list[str] = []
        self.used_changes: set[int] = set()
        self.linked_changes = 0

    def rng(self, section: str) -> random.Random:
        return random.Random(f"{self.seed}:sourcing:{section}")

    def at(self, days_ago: float, rng: random.Random | None = None) -> datetime.datetime:
        """A moment `days_ago` days before now, in office hours when `rng` is given; never
        after now."""
        moment = self.now - datetime.timedelta(days=days_ago)
        if rng is not None:
            local = timezone.localtime(moment)
            moment = local.replace(hour=rng.randint(8, 15), minute=rng.randint(0, 59), second=0)
        return min(moment, self.now)

    # --- people ---------------------------------------------------------------------------

    def users(self) -> dict:
        User = get_user_model()
        names = ["procurement", "architect", "requester", "change", "admin"]
        users = {u.username: u for u in User.objects.filter(username__in=names)}
        missing = [name for name in names[:4] if name not in users]
        if missing:
            raise RuntimeError(
                f"Demo users {', '.join(missing)} are missing: run cmdb.demo.build_demo_city first."
            )
        lead = User.objects.filter(username=APPROVER).first()
        if lead is None:
            lead = User.objects.create(
                username=APPROVER,
                first_name="Demo",
                last_name="Vergabe (Leitung)",
                email=f"{APPROVER}@{EMAIL_DOMAIN}",
                is_staff=True,
                password=make_password(DEMO_PASSWORD),
            )
        if not Group.objects.filter(name=roles.PROCUREMENT).exists():
            roles.sync_role_groups()
        lead.groups.add(Group.objects.get(name=roles.PROCUREMENT))
        procurement_team = users["procurement"].teams.first()
        if procurement_team is not None:
            procurement_team.members.add(lead)
        users[APPROVER] = lead
        return users

    # --- assessments ----------------------------------------------------------------------

    def subjects(self) -> dict:
        wanted = {"vendor": set(), "component": set(), "application": set()}
        for spec in ASSESSMENTS:
            wanted[spec.kind].add(spec.key)
        for case in CASES:
            for kind, key, *_rest in case.candidates:
                wanted[kind].add(key)
        found = {}
        for kind, model, prefix in (
            ("vendor", Vendor, "vendor"),
            ("component", ITComponent, "component"),
            ("application", Application, "app"),
        ):
            ids = {f"demo:{prefix}:{key}": key for key in wanted[kind]}
            for obj in model.objects.filter(external_id__in=ids):
                found[(kind, ids[obj.external_id])] = obj
        return found

    def levels(self, spec: AssessmentSpec, criteria: list[Criterion], rng: random.Random) -> dict:
        if spec.profile == "story":
            return dict(STORY_LEVELS[spec.key])
        chosen = PROFILES[spec.profile]
        levels = {}
        for criterion in criteria:
            level = chosen["codes"].get(criterion.code, chosen["groups"].get(criterion.group, 2))
            level = spec.levels.get(criterion.code, level)
            # The jurisdiction of the parent is a fact, not an estimate: never varied.
            if not spec.fixed and criterion.code not in ("JUR-01", "JUR-04"):
                level = max(0, min(4, level + rng.choice((-1, 0, 0, 0, 0, 1))))
            levels[criterion.code] = level
        return levels

    def build_assessments(self, users: dict, catalogue: CriteriaCatalogue) -> dict:
        """Marker key (kind:key) → assessment, for every demo assessment (new or existing)."""
        assessor, approver = users["procurement"], users[APPROVER]
        existing = {}
        for assessment in Assessment.objects.filter(comment__contains="[demo:assessment:"):
            match = MARKER.search(assessment.comment)
            if match:
                existing[f"{match[1]}:{match[2]}"] = assessment
        subjects = self.subjects()
        self.subject_objects = subjects
        criteria = {c.code: c for c in catalogue.criteria.all()}
        rng = self.rng("assessments")
        result = {}
        for spec in ASSESSMENTS:
            key = f"{spec.kind}:{spec.key}"
            # Drawn for every spec, so that an existing assessment does not shift the others.
            levels = self.levels(spec, list(criteria.values()), rng)
            answer_rng = random.Random(rng.random())
            if key in existing:
                result[key] = existing[key]
                continue
            subject = subjects.get((spec.kind, spec.key))
            if subject is None:
                self.skipped.append(f"assessment of {key} (not in the CMDB)")
                continue
            result[key] = self.assess(
                spec, subject, levels, criteria, assessor, approver, answer_rng
            )
        return result

    def assess(self, spec, subject, levels, criteria, assessor, approver, rng) -> Assessment:
        assessment = assessing.start_assessment(
            user=assessor, **{spec.kind: subject}, comment=f"{spec.comment}\n{spec.marker}"
        )
        codes = list(
            assessment.answers.filter(not_applicable=False)
            .order_by("criterion__position")
            .values_list("criterion__code", flat=True)
        )
        if spec.state == AssessmentState.DRAFT:
            codes = codes[: len(codes) // 2]  # half done: the rest is still unanswered
        for code in codes:
            level = levels.get(code, 2)
            criterion = criteria[code]
            assessing.answer_criterion(
                assessment,
                user=assessor,
                criterion_code=code,
                level=level,
                evidence=EVIDENCE.get(criterion.group, ""),
                comment=NOTES.get((code, level), ""),
            )
        if spec.state == AssessmentState.DRAFT:
            return assessment
        approved = spec.approved_days_ago
        submitted_at = self.at(approved + rng.randint(2, 14), rng)
        if spec.state == AssessmentState.SUBMITTED:
            submitted_at = self.at(rng.randint(1, 4), rng)
        assessment = assessing.submit_assessment(assessment, user=assessor, now=submitted_at)
        if spec.state == AssessmentState.SUBMITTED:
            return assessment
        # approve_assessment refuses a validity that ends before the day of approval, not one
        # that ends before today: approving 14 months ago with the default validity of one
        # year gives the expired assessment without patching dates afterwards.
        return assessing.approve_assessment(assessment, user=approver, now=self.at(approved, rng))

    # --- requirements ---------------------------------------------------------------------

    def requirement_specs(self) -> list[RequirementSpec]:
        specs = list(REQUIREMENTS)
        extra = REQUIREMENTS_PER_EXTRA_SCALE * (self.scale - 1)
        if extra:
            rng = self.rng("extra-requirements")
            states = list(AGES)
            combos = [
                (office, topic, pattern)
                for office in OFFICES
                for topic in office.topics
                for pattern in EXTRA_PATTERNS
            ]
            for office, topic, (pattern, kind) in rng.sample(combos, min(extra, len(combos))):
                state = rng.choices(states, [3, 3, 3, 3, 2, 3, 1, 1])[0]
                specs.append(
                    RequirementSpec(
                        office=office.code,
                        title=pattern.format(topic=topic),
                        kind=kind,
                        state=state,
                        due=rng.randint(60, 720) if kind == LO else None,
                        legal_basis=OZG if kind == LO else "",
                        description=f"Anforderung des {office.name} zum Thema {topic}.",
                        reason="Erledigt." if state == S.DONE else "Nicht mehr erforderlich.",
                    )
                )
        return specs

    def wsjf(self, spec: RequirementSpec, rng: random.Random) -> dict:
        legal = spec.kind == LO
        big = spec.kind in (IN, NA, PR)
        return {
            "business_value": rng.choice((3, 5, 8, 13, 20) if spec.office == "33" else (2, 3, 5, 8, 13)),
            "time_criticality": rng.choice((8, 13, 20) if legal else (1, 2, 3, 5, 8)),
            "risk_reduction": rng.choice((5, 8, 13) if legal or spec.kind == IN else (1, 2, 3, 5)),
            "job_size": rng.choice((5, 8, 13, 20) if big else (2, 3, 5, 8)),
        }  # fmt: skip

    def build_requirements(self, users: dict) -> dict:
        """(office code, title) → requirement, for every demo requirement (new or existing)."""
        specs = self.requirement_specs()
        units = {u.code: u for u in OrgUnit.objects.filter(code__in={s.office for s in specs})}
        existing = {
            (title, unit_id): pk
            for pk, title, unit_id in Requirement.objects.values_list(
                "pk", "title", "requesting_org_unit_id"
            )
        }
        apps = {
            external_id.removeprefix("demo:app:"): pk
            for pk, external_id in Application.objects.filter(
                external_id__startswith="demo:app:"
            ).values_list("pk", "external_id")
        }
        requester = users["requester"]
        own_units = set(
            OrgUnit.objects.filter(
                org_unit_subtree_q(backlog.user_org_unit_ids(requester), "")
            ).values_list("pk", flat=True)
        )
        changes = list(
            Change.objects.filter(state=ChangeState.CLOSED, outcome=ChangeOutcome.SUCCESSFUL)
            .exclude(closed_at=None)
            .prefetch_related("applications")
            .order_by("closed_at", "pk")
        )
        rng = self.rng("requirements")
        plan = []
        for spec in specs:
            # Drawn for every spec, so that existing requirements do not shift the others.
            inputs = self.wsjf(spec, rng)
            step_rng = random.Random(rng.random())
            steps = steps_of(spec)
            days_ago = self.timeline(spec, steps, step_rng)
            unit = units.get(spec.office)
            if unit is None:
                self.skipped.append(f"requirement {spec.title!r} (no org unit {spec.office})")
                continue
            if (spec.title, unit.pk) in existing:
                continue
            plan.append((days_ago, steps, spec, unit, inputs, step_rng))
        # Oldest first, so that the numbers follow the submission dates.
        plan.sort(key=lambda item: -item[0][0])
        for days_ago, steps, spec, unit, inputs, step_rng in plan:
            submitter = requester if unit.pk in own_units else users["architect"]
            self.requirement(
                spec, unit, inputs, days_ago, steps, step_rng, submitter, users, apps, changes
            )
        return {
            (code, title): requirement
            for requirement, code, title in (
                (requirement, requirement.requesting_org_unit.code, requirement.title)
                for requirement in Requirement.objects.filter(
                    title__in={spec.title for spec in specs}
                ).select_related("requesting_org_unit")
            )
        }

    def timeline(self, spec: RequirementSpec, steps: list[str], rng: random.Random) -> list:
        """Days ago of the submission and of each step, oldest first."""
        if spec.timeline:
            assert len(spec.timeline) == len(steps) + 1, spec.title
            return list(spec.timeline)
        age = rng.randint(*AGES[spec.state])
        end = 0
        if spec.state == S.DONE and spec.due is not None and spec.due < 0:
            # Finished shortly before its deadline, and submitted well before that.
            end = -spec.due + rng.randint(3, 30)
            age = max(age, end + rng.randint(60, 180))
        offsets = sorted(rng.uniform(0.05, 1.0) * (age - end) for _ in steps)
        return [age, *(age - offset for offset in offsets)]

    def requirement(
        self, spec, unit, inputs, days_ago, steps, rng, submitter, users, apps, changes
    ):
        architect, delivery = users["architect"], users["change"]
        submitted = started = self.at(days_ago[0], rng)
        app_ids = [apps[key] for key in spec.apps if key in apps]
        requirement = backlog.submit_requirement(
            user=submitter,
            title=spec.title,
            kind=spec.kind,
            requesting_org_unit=unit,
            description=spec.description,
            applications=app_ids,
            legal_basis=spec.legal_basis,
            due_date=self.today + datetime.timedelta(days=spec.due)
            if spec.due is not None
            else None,
            now=submitted,
            **inputs,
        )
        for step, step_days_ago in zip(steps, days_ago[1:], strict=True):
            moment = self.at(step_days_ago, rng)
            if step == "review":
                backlog.review_requirement(requirement, user=architect, now=moment)
            elif step == "approve":
                reason = rng.choice(APPROVAL_REASONS)
                if spec.kind == LO:
                    reason = LEGAL_APPROVAL_REASON
                backlog.approve_requirement(requirement, user=architect, reason=reason, now=moment)
            elif step == "plan":
                backlog.plan_requirement(
                    requirement,
                    user=architect,
                    reason="In die Umsetzungsplanung aufgenommen.",
                    now=moment,
                )
            elif step == "start":
                backlog.start_delivery(requirement, user=delivery, now=moment)
                started = moment
            elif step == "replan":
                backlog.replan_requirement(
                    requirement, user=architect, reason=spec.reason, now=moment
                )
            elif step == "return":
                backlog.return_requirement(
                    requirement, user=architect, reason=spec.reason, now=moment
                )
            elif step == "reject":
                backlog.reject_requirement(
                    requirement, user=architect, reason=spec.reason, now=moment
                )
            elif step == "withdraw":
                office = submitter if submitter == users["requester"] else architect
                backlog.withdraw_requirement(
                    requirement, user=office, reason=spec.reason, now=moment
                )
            elif step == "complete":
                change = self.delivering_change(app_ids, started, moment, changes)
                note = spec.reason
                if change is not None:
                    backlog.link_change(requirement, change, user=delivery, now=moment)
                    self.linked_changes += 1
                    note = ""
                backlog.complete_requirement(requirement, user=delivery, note=note, now=moment)
            requirement.refresh_from_db()
        return requirement

    def delivering_change(self, app_ids, started, done, changes) -> Change | None:
        """The latest closed successful change on one of the applications that closed while
        the requirement was in delivery, not yet used for another requirement."""
        wanted = set(app_ids)
        for change in reversed(changes):
            if change.pk in self.used_changes or not started <= change.closed_at <= done:
                continue
            if wanted & {app.pk for app in change.applications.all()}:
                self.used_changes.add(change.pk)
                return change
        return None

    # --- procurement ----------------------------------------------------------------------

    def build_cases(self, users: dict, assessments: dict, requirements: dict) -> None:
        buyer = users["procurement"]
        existing = set(ProcurementCase.objects.values_list("title", flat=True))
        units = {u.code: u for u in OrgUnit.objects.filter(code__in={c.office for c in CASES})}
        rng = self.rng("procurement")
        for spec in CASES:
            if spec.title in existing:
                continue
            subjects = [self.subject_objects.get((kind, key)) for kind, key, *_ in spec.candidates]
            if spec.office not in units or None in subjects:
                self.skipped.append(f"procurement case {spec.title!r} (subjects missing)")
                continue
            opened, published, evaluation, awarded = spec.days
            case = procurement.open_case(
                user=buyer,
                title=spec.title,
                org_unit=units[spec.office],
                protection_class=spec.protection_class,
                requirement=requirements.get((spec.office, spec.requirement)),
                description=spec.description,
                now=self.at(opened, rng),
            )
            candidates = {}
            for (kind, key, notes, marker), subject in zip(spec.candidates, subjects, strict=True):
                assessment = assessments.get(marker)
                candidates[key] = procurement.add_candidate(
                    case, user=buyer, offer_notes=notes, assessment=assessment, **{kind: subject}
                )
            case = procurement.publish_case(case, user=buyer, now=self.at(published, rng))
            case = procurement.start_evaluation(case, user=buyer, now=self.at(evaluation, rng))
            if spec.award:
                procurement.award_case(
                    case,
                    user=buyer,
                    candidate=candidates[spec.award],
                    justification=spec.justification,
                    now=self.at(awarded, rng),
                )

    # --- the story ------------------------------------------------------------------------

    def story(self, assessments: dict) -> dict:
        """The very-high grade of the story vendors, and what each failed."""
        story = {}
        for key, expected in STORY.items():
            assessment = assessments.get(f"vendor:{key}")
            if assessment is None:
                continue
            result = score_assessment(assessment, "very_high")
            story[key] = {
                "vendor": str(assessment.vendor),
                "score": result.score,
                "grade": result.grade,
                "grade_without_class": score_assessment(assessment).grade,
                "expected": expected,
                "knockouts_failed": [failed.code for failed in result.knockouts_failed],
            }
        return story

    def build(self) -> dict:
        users = self.users()
        catalogue = default_catalogue()
        assessments = self.build_assessments(users, catalogue)
        requirements = self.build_requirements(users)
        self.build_cases(users, assessments, requirements)
        return self.story(assessments)


COUNTED_MODELS = [
    CriteriaCatalogue,
    Assessment,
    Answer,
    ProcurementCase,
    ProcurementCandidate,
    Requirement,
]


def _totals() -> dict:
    total = {model.__name__: model.objects.count() for model in COUNTED_MODELS}
    total["User"] = get_user_model().objects.count()
    return total


def build_sourcing_demo(
    seed: int = 1, scale: int = 1, today: datetime.date | None = None, stdout=None
) -> dict:
    """Build (or complete) the sourcing demo on the demo city; returns
    `{"seed", "scale", "seconds", "created": {model: n}, "total": {model: n}, "story": {...},
    "skipped": [...]}`. A second run with the same seed and scale creates nothing."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    started = time.perf_counter()
    demo = SourcingDemo(seed, scale, today)
    with transaction.atomic():
        before = _totals()
        story = demo.build()
        total = _totals()
    created = {name: total[name] - before[name] for name in total}
    created["linked changes"] = demo.linked_changes
    result = {
        "seed": seed,
        "scale": scale,
        "seconds": round(time.perf_counter() - started, 2),
        "created": created,
        "total": total,
        "story": story,
        "skipped": demo.skipped,
    }
    if stdout is not None:
        stdout.write(f"Sourcing demo (seed {seed}, scale {scale}) in {result['seconds']} s:\n")
        for name, count in total.items():
            stdout.write(f"  {name:<22} {count:>7}  ({created[name]} new)\n")
        for entry in story.values():
            ok = "ok" if entry["grade"] == entry["expected"] else f"expected {entry['expected']}"
            failed = ", ".join(entry["knockouts_failed"]) or "none"
            stdout.write(
                f"  story: {entry['vendor']:<28} {entry['score']:>5} → grade {entry['grade']} "
                f"for very high ({ok}); knock-outs failed: {failed}\n"
            )
        for item in demo.skipped:
            stdout.write(f"  skipped: {item}\n")
        if not sum(created.values()):
            stdout.write("Nothing to do: the sourcing demo was already complete.\n")
    return result

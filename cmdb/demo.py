"""The demo city: a deterministic, idempotent IT landscape of a German city administration.

`build_demo_city(seed, scale)` creates an org tree, teams with people, vendors in and outside
the EU (with group structures), IT components with real end-of-life dates (endoflife.date, see
`cmdb/data/ATTRIBUTION.md`), about 250·scale applications with components and
responsibilities, about 2.5 interfaces per application, data objects and a service catalogue.

Determinism: every random choice comes from `random.Random` or Faker seeded from `seed`, and
each section draws from its own stream, so changing one section does not reshuffle the others.
Lifecycle dates are relative to `today` (default: the current date), so that a demo built
today always has planned, live and retired parts.

Idempotency: every object has a key (its `external_id`, or its unique name/code where the model
has no external_id, or its unique field combination for link rows). The whole landscape is
generated in memory first, always in the same order; only the objects whose key is missing
are written. A second run with the same seed and scale therefore writes nothing.

Volume rows are written with `bulk_create_with_history` (history records attributed to the
`admin` user, reason "demo data"); the small catalogues are built with the factories from
`cmdb.factories` and saved one by one, so that model `save()` logic (MPTT, vendor groups) runs.
"""

# ruff: noqa: E501  (the catalogues below are tables: one row per line reads better)

import datetime
import itertools
import json
import random
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from faker import Faker
from simple_history.utils import bulk_create_with_history

from cmdb import factories
from cmdb.choices import (
    ApplicationKind,
    ComponentKind,
    Criticality,
    DataClassification,
    DataFlowDirection,
    Environment,
    Frequency,
    Hosting,
    OrgUnitKind,
    ProtectionNeed,
    Protocol,
    ResponsibilityRole,
    ServiceKind,
)
from cmdb.models import (
    Application,
    ApplicationComponent,
    DataObject,
    Interface,
    InterfaceConsumer,
    ITComponent,
    OrgUnit,
    Responsibility,
    Service,
    SoftwarePackage,
    Team,
    Vendor,
)
from landkarte import roles

DEMO_PASSWORD = "landkarte-demo"
CHANGE_REASON = "demo data"
APPLICATIONS_PER_SCALE = 250
BATCH_SIZE = 500  # Django lowers it further where SQLite's 999-parameter limit requires.
EMAIL_DOMAIN = "stadt.example"
EOL_DATA = Path(__file__).resolve().parent / "data" / "eol_cycles.json"


def xid(kind: str, key: str) -> str:
    """The external_id of a demo object, e.g. `demo:app:ok-ewo` or `demo:app:00123`."""
    return f"demo:{kind}:{key}"


# --------------------------------------------------------------------------------------------
# Catalogues (kept as one row per line: they are data, read like tables)
# --------------------------------------------------------------------------------------------
# fmt: off

# username, role group, first name, last name, team the user belongs to
DEMO_USERS = [
    ("admin", None, "Demo", "Administration", None),
    ("desk", roles.SERVICE_DESK, "Demo", "Service Desk", "Service Desk"),
    ("change", roles.CHANGE_MANAGER, "Demo", "Change Management", "Application Operations"),
    ("architect", roles.ARCHITECT, "Demo", "Architektur", "Architecture"),
    ("procurement", roles.PROCUREMENT, "Demo", "Vergabe", "Fachbetreuung Rechtsamt"),
    ("requester", roles.REQUESTER, "Demo", "Bürgeramt", "Fachbetreuung Bürgeramt"),
    ("auditor", roles.AUDITOR, "Demo", "Revision", "Fachbetreuung Rechnungsprüfungsamt"),
]

ROOT = ("LHS", "Landeshauptstadt")

DEPARTMENTS = [
    ("D1", "Dezernat I – Allgemeine Verwaltung, Personal und Digitalisierung"),
    ("D2", "Dezernat II – Finanzen und Liegenschaften"),
    ("D3", "Dezernat III – Sicherheit, Ordnung und Bürgerdienste"),
    ("D4", "Dezernat IV – Bildung, Kultur und Sport"),
    ("D5", "Dezernat V – Soziales, Jugend und Gesundheit"),
    ("D6", "Dezernat VI – Planen und Bauen"),
    ("D7", "Dezernat VII – Umwelt, Klima und Mobilität"),
    ("D8", "Dezernat VIII – Wirtschaft und Stadtentwicklung"),
]


@dataclass(frozen=True)
class Office:
    code: str
    name: str
    short: str
    department: str
    weight: int  # share of the generated applications
    topics: tuple[str, ...]
    data: tuple[str, ...] = ()  # data objects its interfaces typically carry
    standard: str = "xdomea"  # XÖV standard of its online procedures
    spatial: bool = False
    special: bool = False  # processes special categories of personal data (GDPR Art. 9)


OFFICES = [
    Office("10", "Hauptamt", "Hauptamt", "D1", 2,
           ("Gremienarbeit", "Postverteilung", "Beschwerdemanagement", "Organisationsverfügungen",
            "Raumbuchung", "Botendienst"), ("Ratsdokumente", "Vorgangsakten")),
    Office("11", "Personal- und Organisationsamt", "Personalamt", "D1", 2,
           ("Stellenplan", "Bewerbungsverfahren", "Fortbildung", "Beihilfe", "Reisekosten",
            "Personalentwicklung", "Arbeitsschutz"), ("Personaldaten",), "xdomea"),
    Office("12", "Amt für Digitalisierung und IT", "Digitalisierung und IT", "D1", 3,
           ("Lizenzverwaltung", "Inventarisierung", "Monitoring", "Softwareverteilung",
            "Druckmanagement", "Mobilgeräteverwaltung", "Protokollierung", "Datensicherung"),
           ("Benutzerkonten", "Statistikdaten")),
    Office("13", "Presse- und Informationsamt", "Presseamt", "D1", 1,
           ("Pressemitteilungen", "Veranstaltungskalender", "Bildarchiv", "Social Media"),
           ("Ratsdokumente",)),
    Office("14", "Rechnungsprüfungsamt", "Rechnungsprüfungsamt", "D1", 1,
           ("Prüfungsplanung", "Prüfberichte", "Belegprüfung"), ("Finanzbuchungen",)),
    Office("15", "Amt für Statistik und Wahlen", "Statistik und Wahlen", "D1", 1,
           ("Wahlvorbereitung", "Bevölkerungsstatistik", "Kommunalstatistik", "Umfragen"),
           ("Wahldaten", "Statistikdaten"), "XWahl"),
    Office("30", "Rechtsamt", "Rechtsamt", "D1", 1,
           ("Vergabe", "Prozessführung", "Satzungsverwaltung", "Vertragsverwaltung"),
           ("Vorgangsakten",), "XJustiz"),
    Office("20", "Kämmerei", "Kämmerei", "D2", 2,
           ("Haushaltsplanung", "Controlling", "Anlagenbuchhaltung", "Beteiligungsmanagement",
            "Fördermittel", "Kosten- und Leistungsrechnung"), ("Finanzbuchungen",), "XRechnung"),
    Office("21", "Stadtkasse", "Stadtkasse", "D2", 1,
           ("Zahlungsverkehr", "Vollstreckung", "Mahnwesen", "Barkasse"),
           ("Zahlungsdaten", "Finanzbuchungen"), "XRechnung"),
    Office("22", "Steueramt", "Steueramt", "D2", 1,
           ("Hundesteuer", "Gewerbesteuer", "Grundsteuer", "Vergnügungssteuer",
            "Zweitwohnungsteuer"), ("Steuerdaten",), "XGewerbeanzeige"),
    Office("23", "Liegenschaftsamt", "Liegenschaftsamt", "D2", 1,
           ("Grundstücksverkehr", "Erbbaurechte", "Mietverwaltung", "Pachtverträge"),
           ("Liegenschaftsdaten", "Geodaten"), "xdomea", True),
    Office("24", "Amt für Gebäudewirtschaft", "Gebäudewirtschaft", "D2", 1,
           ("Gebäudemanagement", "Energiecontrolling", "Schließanlagen", "Reinigung",
            "Instandhaltung", "Fuhrpark"), ("Liegenschaftsdaten",)),
    Office("32", "Ordnungsamt", "Ordnungsamt", "D3", 2,
           ("Gewerbeüberwachung", "Gaststättenerlaubnis", "Sondernutzung", "Fundsachen",
            "Waffenrecht", "Marktwesen", "Verkehrsüberwachung"),
           ("Gewerbedaten", "Ordnungswidrigkeitendaten"), "XGewerbeanzeige"),
    Office("33", "Bürgeramt", "Bürgeramt", "D3", 3,
           ("Meldewesen", "Ausweiswesen", "Führungszeugnisse", "Terminvergabe",
            "Bürgerbüro", "Melderegisterauskunft"), ("Meldedaten",), "XMeld"),
    Office("34", "Standesamt", "Standesamt", "D3", 1,
           ("Geburtenbeurkundung", "Eheschließung", "Sterbefallbeurkundung", "Namensrecht"),
           ("Personenstandsdaten",), "XPersonenstand"),
    Office("35", "Ausländerbehörde", "Ausländerbehörde", "D3", 1,
           ("Aufenthaltstitel", "Einbürgerung", "Visaverfahren", "Fachkräfteeinwanderung"),
           ("Ausländerdaten",), "XAusländer", False, True),
    Office("36", "Straßenverkehrsamt", "Straßenverkehrsamt", "D3", 2,
           ("Fahrzeugzulassung", "Fahrerlaubnis", "Verkehrslenkung", "Schwertransporte",
            "Parkausweise"), ("Fahrzeug- und Halterdaten",), "XKfz"),
    Office("37", "Feuerwehr", "Feuerwehr", "D3", 2,
           ("Einsatzplanung", "Brandschau", "Atemschutz", "Gerätewartung", "Rettungsdienst",
            "Katastrophenschutz"), ("Einsatzdaten",), "xdomea", True, True),
    Office("39", "Veterinär- und Lebensmittelüberwachungsamt", "Veterinäramt", "D3", 1,
           ("Lebensmittelkontrolle", "Tierseuchen", "Tierschutz"), ("Gewerbedaten",)),
    Office("40", "Schulverwaltungsamt", "Schulverwaltungsamt", "D4", 2,
           ("Schülerbeförderung", "Schulentwicklung", "Lernmittel", "Schulanmeldung",
            "Ganztagsbetreuung"), ("Schülerdaten",), "XSchule"),
    Office("41", "Kulturamt", "Kulturamt", "D4", 1,
           ("Kulturförderung", "Veranstaltungen", "Künstlerdatenbank"), ("Vorgangsakten",)),
    Office("42", "Stadtbibliothek", "Stadtbibliothek", "D4", 1,
           ("Ausleihe", "Katalog", "Onleihe", "Leseförderung"), ("Benutzerkonten",)),
    Office("43", "Volkshochschule", "Volkshochschule", "D4", 1,
           ("Kursverwaltung", "Dozentenverwaltung", "Prüfungen"), ("Benutzerkonten",)),
    Office("45", "Städtische Museen", "Museen", "D4", 1,
           ("Sammlungsverwaltung", "Ausstellungen", "Ticketing"), ("Statistikdaten",)),
    Office("47", "Stadtarchiv", "Stadtarchiv", "D4", 1,
           ("Archivierung", "Digitalisierung", "Lesesaal"), ("Archivgut",), "xdomea"),
    Office("52", "Sportamt", "Sportamt", "D4", 1,
           ("Sportstättenbelegung", "Sportförderung", "Bäderbetrieb"), ("Vorgangsakten",)),
    Office("50", "Sozialamt", "Sozialamt", "D5", 3,
           ("Grundsicherung", "Hilfe zur Pflege", "Eingliederungshilfe", "Bildung und Teilhabe",
            "Asylbewerberleistungen", "Schwerbehindertenrecht", "Betreuungsbehörde"),
           ("Sozialdaten",), "XSozial", False, True),
    Office("51", "Jugendamt", "Jugendamt", "D5", 3,
           ("Kindertagesbetreuung", "Hilfen zur Erziehung", "Unterhaltsvorschuss", "Elterngeld",
            "Beistandschaften", "Jugendgerichtshilfe", "Kinderschutz"),
           ("Jugendhilfedaten", "Kita-Anmeldedaten"), "XJugendhilfe", False, True),
    Office("53", "Gesundheitsamt", "Gesundheitsamt", "D5", 2,
           ("Infektionsschutz", "Schuleingangsuntersuchung", "Trinkwasserüberwachung",
            "Amtsärztlicher Dienst", "Impfwesen", "Sozialpsychiatrie"),
           ("Gesundheitsdaten",), "xdomea", False, True),
    Office("64", "Amt für Wohnen", "Wohnungsamt", "D5", 1,
           ("Wohngeld", "Wohnberechtigungsschein", "Wohnraumförderung", "Zweckentfremdung"),
           ("Sozialdaten",), "XSozial", False, True),
    Office("60", "Bauverwaltungsamt", "Bauverwaltungsamt", "D6", 1,
           ("Erschließungsbeiträge", "Baulastenverzeichnis", "Denkmalschutz"),
           ("Bauantragsdaten",), "XBau", True),
    Office("61", "Stadtplanungsamt", "Stadtplanungsamt", "D6", 2,
           ("Bauleitplanung", "Flächennutzung", "Städtebauförderung", "Bürgerbeteiligung"),
           ("Geodaten", "Bauantragsdaten"), "XPlanung", True),
    Office("62", "Vermessungsamt", "Vermessungsamt", "D6", 2,
           ("Liegenschaftskataster", "Stadtgrundkarte", "Luftbilder", "Gutachterausschuss",
            "Bodenrichtwerte"), ("Geodaten", "Liegenschaftsdaten"), "XPlanung", True),
    Office("63", "Bauordnungsamt", "Bauordnungsamt", "D6", 3,
           ("Baugenehmigung", "Bauüberwachung", "Abgeschlossenheit", "Werbeanlagen",
            "Bauakten"), ("Bauantragsdaten", "Geodaten"), "XBau", True),
    Office("65", "Hochbauamt", "Hochbauamt", "D6", 1,
           ("Bauprojekte", "Ausschreibungen", "Baukostencontrolling"), ("Vorgangsakten",),
           "XRechnung", True),
    Office("66", "Tiefbauamt", "Tiefbauamt", "D6", 2,
           ("Straßenkataster", "Baustellenkoordination", "Brückenprüfung", "Straßenbeleuchtung",
            "Winterdienst", "Aufgrabungen"), ("Geodaten", "Verkehrsdaten"), "xdomea", True),
    Office("67", "Grünflächen- und Friedhofsamt", "Grünflächenamt", "D7", 2,
           ("Baumkataster", "Friedhofsverwaltung", "Spielplatzkontrolle", "Grünpflege"),
           ("Geodaten",), "xdomea", True),
    Office("68", "Amt für Mobilität", "Mobilitätsamt", "D7", 2,
           ("Parkraumbewirtschaftung", "Verkehrsplanung", "Radverkehr", "Verkehrszählung",
            "Lichtsignalanlagen"), ("Verkehrsdaten", "Geodaten"), "xdomea", True),
    Office("70", "Umweltamt", "Umweltamt", "D7", 2,
           ("Immissionsschutz", "Altlasten", "Gewässerschutz", "Naturschutz", "Lärmkartierung"),
           ("Umweltmessdaten", "Geodaten"), "xdomea", True),
    Office("71", "Amt für Klimaschutz", "Klimaschutzamt", "D7", 1,
           ("Klimamonitoring", "Energieberatung", "Förderprogramme Klima"),
           ("Umweltmessdaten", "Statistikdaten"), "xdomea", True),
    Office("80", "Amt für Wirtschaftsförderung", "Wirtschaftsförderung", "D8", 1,
           ("Gewerbeflächen", "Unternehmensservice", "Fördermittelberatung"),
           ("Gewerbedaten",)),
    Office("81", "Amt für Stadtentwicklung", "Stadtentwicklung", "D8", 1,
           ("Stadtentwicklungsplanung", "Quartiersmanagement", "Sozialmonitoring"),
           ("Statistikdaten", "Geodaten"), "xdomea", True),
    Office("82", "Forstamt", "Forstamt", "D8", 1,
           ("Forsteinrichtung", "Holzverkauf", "Waldschutz"), ("Geodaten",), "xdomea", True),
    Office("83", "Amt für Tourismus und Marketing", "Tourismusamt", "D8", 1,
           ("Tourismusmarketing", "Stadtführungen", "Gästeinformation"), ("Statistikdaten",)),
]

DIVISIONS = [
    ("12.1", "IT-Betrieb", "12"),
    ("12.2", "Anwendungsbetreuung", "12"),
    ("12.3", "E-Government und Architektur", "12"),
    ("20.1", "Haushalt und Controlling", "20"),
    ("33.1", "Bürgerbüro Mitte", "33"),
    ("33.2", "Bürgerbüro Nord", "33"),
    ("37.1", "Integrierte Leitstelle", "37"),
    ("50.1", "Grundsicherung", "50"),
    ("51.1", "Kindertagesbetreuung", "51"),
    ("51.2", "Soziale Dienste", "51"),
]

ENTERPRISES = [
    ("SW", "Stadtwerke"),
    ("AWB", "Abfallwirtschaftsbetrieb"),
]

# Central IT teams: name, org unit code, member count range
CENTRAL_TEAMS = [
    ("Service Desk", "12.2", (6, 9)),
    ("Infrastructure Operations", "12.1", (5, 8)),
    ("Database Operations", "12.1", (3, 5)),
    ("Identity & Access", "12.1", (3, 5)),
    ("Application Operations", "12.2", (6, 9)),
    ("Network", "12.1", (3, 5)),
    ("Workplace Services", "12.1", (4, 7)),
    ("Architecture", "12.3", (3, 5)),
    ("Information Security", "12", (2, 4)),
    ("Data Protection Office", "10", (2, 3)),
]

# key, name, country (ISO 3166-1), parent key. Parents come before their subsidiaries.
VENDORS = [
    # United States: groups and their German / EU subsidiaries
    ("microsoft", "Microsoft Corporation", "US", None),
    ("microsoft-de", "Microsoft Deutschland GmbH", "DE", "microsoft"),
    ("microsoft-ie", "Microsoft Ireland Operations Limited", "IE", "microsoft"),
    ("oracle", "Oracle Corporation", "US", None),
    ("oracle-de", "Oracle Deutschland B.V. & Co. KG", "DE", "oracle"),
    ("amazon", "Amazon.com, Inc.", "US", None),
    ("aws-emea", "Amazon Web Services EMEA SARL", "LU", "amazon"),
    ("alphabet", "Alphabet Inc.", "US", None),
    ("google", "Google LLC", "US", "alphabet"),
    ("google-cloud-de", "Google Cloud Germany GmbH", "DE", "google"),
    ("salesforce", "Salesforce, Inc.", "US", None),
    ("salesforce-de", "Salesforce.com Germany GmbH", "DE", "salesforce"),
    ("cisco", "Cisco Systems, Inc.", "US", None),
    ("cisco-de", "Cisco Systems GmbH", "DE", "cisco"),
    ("broadcom", "Broadcom Inc.", "US", None),
    ("vmware", "VMware LLC", "US", "broadcom"),
    ("servicenow", "ServiceNow, Inc.", "US", None),
    ("servicenow-de", "ServiceNow Deutschland GmbH", "DE", "servicenow"),
    ("esri", "Esri Inc.", "US", None),
    ("esri-de", "Esri Deutschland GmbH", "DE", "esri"),
    ("ibm", "International Business Machines Corporation", "US", None),
    ("ibm-de", "IBM Deutschland GmbH", "DE", "ibm"),
    ("redhat", "Red Hat, Inc.", "US", "ibm"),
    ("redhat-de", "Red Hat GmbH", "DE", "redhat"),
    ("adobe", "Adobe Inc.", "US", None),
    ("cloud-software-group", "Cloud Software Group, Inc.", "US", None),
    ("citrix-de", "Citrix Systems GmbH", "DE", "cloud-software-group"),
    ("atlassian", "Atlassian Corporation", "US", None),
    ("f5", "F5, Inc.", "US", None),
    ("dell", "Dell Technologies Inc.", "US", None),
    ("dell-de", "Dell GmbH", "DE", "dell"),
    ("oclc", "OCLC, Inc.", "US", None),
    ("oclc-de", "OCLC GmbH", "DE", "oclc"),
    ("adp", "Automatic Data Processing, Inc.", "US", None),
    ("adp-de", "ADP Employer Services GmbH", "DE", "adp"),
    # Foundations and projects behind open-source components. Their seat is the legal body
    # that holds the project's assets (Debian: Software in the Public Interest, US;
    # PostgreSQL: the PostgreSQL Community Association of Canada).
    ("asf", "Apache Software Foundation", "US", None),
    ("psf", "Python Software Foundation", "US", None),
    ("dsf", "Django Software Foundation", "US", None),
    ("php-group", "The PHP Group", "US", None),
    ("debian", "Debian Project", "US", None),
    ("pgdg", "PostgreSQL Global Development Group", "CA", None),
    ("eclipse", "Eclipse Foundation AISBL", "BE", None),
    ("tdf", "The Document Foundation", "DE", None),
    ("fiware", "FIWARE Foundation e.V.", "DE", None),
    # Outside the EU and the US
    ("canonical", "Canonical Ltd.", "GB", None),
    ("collabora", "Collabora Productivity Ltd", "GB", None),
    ("scope", "scope solutions ag", "CH", None),
    ("zetcom", "Zetcom AG", "CH", None),
    ("exoscale", "Akenes SA (Exoscale)", "CH", None),
    ("hcl", "HCL Technologies Limited", "IN", None),
    ("opentext", "Open Text Corporation", "CA", None),
    ("caseware", "CaseWare International Inc.", "CA", None),
    ("mitel", "Mitel Networks Corporation", "CA", None),
    ("unify", "Unify Communications and Collaboration GmbH & Co. KG", "DE", "mitel"),
    # EU groups
    ("sap", "SAP SE", "DE", None),
    ("sap-de", "SAP Deutschland SE & Co. KG", "DE", "sap"),
    ("vinci", "VINCI SA", "FR", None),
    ("axians-infoma", "Axians Infoma GmbH", "DE", "vinci"),
    ("atos", "Atos SE", "FR", None),
    ("atos-de", "Atos Information Technology GmbH", "DE", "atos"),
    ("capgemini", "Capgemini SE", "FR", None),
    ("capgemini-de", "Capgemini Deutschland GmbH", "DE", "capgemini"),
    ("ovh", "OVH Groupe SA", "FR", None),
    ("ovh-de", "OVH GmbH", "DE", "ovh"),
    ("iliad", "Iliad SA", "FR", None),
    ("scaleway", "Scaleway SAS", "FR", "iliad"),
    ("sopra-steria", "Sopra Steria Group SA", "FR", None),
    ("sopra-steria-de", "Sopra Steria SE", "DE", "sopra-steria"),
    ("eqt", "EQT AB", "SE", None),
    ("suse", "SUSE S.A.", "LU", "eqt"),
    ("allegion", "Allegion plc", "IE", None),
    ("interflex", "Interflex Datensysteme GmbH", "DE", "allegion"),
    ("planon", "Planon B.V.", "NL", None),
    ("eurofunk", "Eurofunk Kappacher GmbH", "AT", None),
    ("proxmox", "Proxmox Server Solutions GmbH", "AT", None),
    ("fabasoft", "Fabasoft AG", "AT", None),
    ("telekom", "Deutsche Telekom AG", "DE", None),
    ("t-systems", "T-Systems International GmbH", "DE", "telekom"),
    ("united-internet", "United Internet AG", "DE", None),
    ("ionos", "IONOS SE", "DE", "united-internet"),
    ("schwarz", "Schwarz Digits GmbH & Co. KG", "DE", None),
    ("stackit", "STACKIT GmbH & Co. KG", "DE", "schwarz"),
    ("siemens", "Siemens AG", "DE", None),
    ("siemens-mobility", "Siemens Mobility GmbH", "DE", "siemens"),
    # German public-sector IT and specialist-procedure vendors
    ("dataport", "Dataport AöR", "DE", None),
    ("akdb", "AKDB Anstalt für Kommunale Datenverarbeitung in Bayern", "DE", None),
    ("komm-one", "Komm.ONE AöR", "DE", None),
    ("ekom21", "ekom21 – KGRZ Hessen", "DE", None),
    ("regio-it", "regio iT GmbH", "DE", None),
    ("iteos", "ITEOS AöR", "DE", None),
    ("kdo", "KDO Zweckverband Kommunale Datenverarbeitung Oldenburg", "DE", None),
    ("zendis", "ZenDiS GmbH", "DE", None),
    ("governikus", "Governikus GmbH & Co. KG", "DE", None),
    ("prosoz", "PROSOZ Herten GmbH", "DE", None),
    ("materna", "Materna Information & Communications SE", "DE", None),
    ("hh", "H&H Datenverarbeitungs- und Beratungsgesellschaft mbH", "DE", None),
    ("nolis", "Nolis GmbH", "DE", None),
    ("dvelop", "d.velop AG", "DE", None),
    ("optimal-systems", "OPTIMAL SYSTEMS GmbH", "DE", None),
    ("pi", "P&I Personal & Informatik AG", "DE", None),
    ("somacos", "Somacos GmbH & Co. KG", "DE", None),
    ("little-bird", "Little Bird GmbH", "DE", None),
    ("vfst", "Verlag für Standesamtswesen GmbH", "DE", None),
    ("cosinex", "cosinex GmbH", "DE", None),
    ("vote-it", "vote iT GmbH", "DE", None),
    ("atoss", "ATOSS Software SE", "DE", None),
    ("bechtle", "Bechtle AG", "DE", None),
    ("software-ag", "Software AG", "DE", None),
    ("nextcloud", "Nextcloud GmbH", "DE", None),
    ("univention", "Univention GmbH", "DE", None),
    ("open-xchange", "Open-Xchange GmbH", "DE", None),
    ("openproject", "OpenProject GmbH", "DE", None),
    ("otrs", "OTRS AG", "DE", None),
    ("kommunix", "Kommunix GmbH", "DE", None),
    ("balvi", "BALVI GmbH", "DE", None),
    ("easy-soft", "easy-soft GmbH Dresden", "DE", None),
    ("aed-sicad", "AED-SICAD AG", "DE", None),
    ("disy", "disy Informationssysteme GmbH", "DE", None),
    ("kisters", "KISTERS AG", "DE", None),
    ("ivu", "IVU Traffic Technologies AG", "DE", None),
    ("scheidt-bachmann", "Scheidt & Bachmann GmbH", "DE", None),
    ("wer-denkt-was", "wer denkt was GmbH", "DE", None),
    ("softgarden", "softgarden e-recruiting GmbH", "DE", None),
    ("rki", "Robert Koch-Institut", "DE", None),
    ("hzi", "Helmholtz-Zentrum für Infektionsforschung GmbH", "DE", None),
]

# The municipal IT provider that runs procedures hosted "at the municipal IT provider".
MUNICIPAL_IT_PROVIDER = "komm-one"

# Vendor pools for generated applications, by application kind.
VENDOR_POOLS = {
    ApplicationKind.SPECIALIST_PROCEDURE: [
        "akdb", "komm-one", "prosoz", "hh", "nolis", "dataport", "ekom21", "materna",
        "regio-it", "iteos", "kdo", "axians-infoma", "sopra-steria-de", "capgemini-de",
    ],
    ApplicationKind.STANDARD_SOFTWARE: [
        "microsoft-de", "oracle-de", "sap-de", "adobe", "atlassian", "esri-de", "dvelop",
        "optimal-systems", "fabasoft", "materna", "bechtle", "ibm-de", "t-systems", "atos-de",
        "planon", "interflex", "disy", "kisters",
    ],
    ApplicationKind.SAAS: [
        "microsoft-ie", "salesforce-de", "servicenow-de", "google-cloud-de", "aws-emea",
        "nextcloud", "open-xchange", "ionos", "stackit", "ovh-de", "scaleway", "exoscale",
    ],
    ApplicationKind.PLATFORM: ["redhat-de", "software-ag", "t-systems", "stackit", "sap-de"],
}
SPATIAL_VENDORS = {"esri-de", "disy", "kisters"}  # only offices working with maps buy from them
NON_EU_SAAS = {"microsoft-ie", "salesforce-de", "servicenow-de", "google-cloud-de", "aws-emea"}

D = datetime.date

# Components without endoflife.date data: key, product, version, vendor key, kind, SPDX
# licence, open source, release, end of support, end of life (dates from the vendors'
# published lifecycle pages where we give any).
PROPRIETARY = "LicenseRef-Proprietary"
K = ComponentKind
CURATED_COMPONENTS = [
    ("m365", "Microsoft 365", "Cloud", "microsoft-ie", K.CLOUD_SERVICE, PROPRIETARY, False, None, None, None),
    ("azure", "Microsoft Azure", "Cloud", "microsoft-ie", K.CLOUD_SERVICE, PROPRIETARY, False, None, None, None),
    ("aws", "Amazon Web Services", "Cloud", "aws-emea", K.CLOUD_SERVICE, PROPRIETARY, False, None, None, None),
    ("google-cloud", "Google Cloud Platform", "Cloud", "google-cloud-de", K.CLOUD_SERVICE, PROPRIETARY, False, None, None, None),
    ("stackit", "STACKIT Cloud", "Cloud", "stackit", K.CLOUD_SERVICE, PROPRIETARY, False, None, None, None),
    ("ionos-cloud", "IONOS Cloud", "Cloud", "ionos", K.CLOUD_SERVICE, PROPRIETARY, False, None, None, None),
    ("ovhcloud", "OVHcloud Public Cloud", "Cloud", "ovh-de", K.CLOUD_SERVICE, PROPRIETARY, False, None, None, None),
    ("exchange-2019", "Microsoft Exchange Server", "2019", "microsoft", K.OTHER, PROPRIETARY, False, D(2018, 10, 22), D(2024, 1, 9), D(2025, 10, 14)),
    ("exchange-se", "Microsoft Exchange Server", "Subscription Edition", "microsoft", K.OTHER, PROPRIETARY, False, D(2025, 7, 1), None, None),
    ("sql-server-2016", "Microsoft SQL Server", "2016", "microsoft", K.DATABASE, PROPRIETARY, False, D(2016, 6, 1), D(2021, 7, 13), D(2026, 7, 14)),
    ("sql-server-2019", "Microsoft SQL Server", "2019", "microsoft", K.DATABASE, PROPRIETARY, False, D(2019, 11, 4), D(2025, 2, 28), D(2030, 1, 8)),
    ("sql-server-2022", "Microsoft SQL Server", "2022", "microsoft", K.DATABASE, PROPRIETARY, False, D(2022, 11, 16), D(2028, 1, 11), D(2033, 1, 11)),
    ("office-ltsc-2021", "Microsoft Office LTSC", "2021", "microsoft", K.OFFICE_SUITE, PROPRIETARY, False, D(2021, 9, 16), None, D(2026, 10, 13)),
    ("sharepoint-se", "Microsoft SharePoint Server", "Subscription Edition", "microsoft", K.OTHER, PROPRIETARY, False, None, None, None),
    ("s4hana", "SAP S/4HANA", "2023", "sap", K.OTHER, PROPRIETARY, False, None, None, None),
    ("sap-ecc", "SAP ERP Central Component", "6.0", "sap", K.OTHER, PROPRIETARY, False, None, None, D(2027, 12, 31)),
    ("sap-hana", "SAP HANA", "2.0", "sap", K.DATABASE, PROPRIETARY, False, None, None, None),
    ("weblogic", "Oracle WebLogic Server", "14.1", "oracle", K.APPLICATION_SERVER, PROPRIETARY, False, None, None, None),
    ("temurin-17", "Eclipse Temurin", "17", "eclipse", K.RUNTIME, "GPL-2.0-only WITH Classpath-exception-2.0", True, None, None, None),
    ("temurin-21", "Eclipse Temurin", "21", "eclipse", K.RUNTIME, "GPL-2.0-only WITH Classpath-exception-2.0", True, None, None, None),
    ("keycloak", "Keycloak", "26", "redhat", K.MIDDLEWARE, "Apache-2.0", True, None, None, None),
    ("nextcloud-hub", "Nextcloud Hub", "9", "nextcloud", K.OTHER, "AGPL-3.0-or-later", True, None, None, None),
    ("collabora-online", "Collabora Online", "24.04", "collabora", K.OFFICE_SUITE, "MPL-2.0", True, None, None, None),
    ("libreoffice", "LibreOffice", "24.8", "tdf", K.OFFICE_SUITE, "MPL-2.0", True, None, None, None),
    ("ox-app-suite", "Open-Xchange App Suite", "8", "open-xchange", K.OTHER, "GPL-2.0-only AND AGPL-3.0-or-later", True, None, None, None),
    ("ucs", "Univention Corporate Server", "5.0", "univention", K.OPERATING_SYSTEM, "AGPL-3.0-only", True, None, None, None),
    ("sles-15", "SUSE Linux Enterprise Server", "15 SP6", "suse", K.OPERATING_SYSTEM, PROPRIETARY, False, None, None, None),
    ("arcgis-enterprise", "ArcGIS Enterprise", "11.3", "esri", K.MIDDLEWARE, PROPRIETARY, False, None, None, None),
    ("dvelop-documents", "d.velop documents", "2024", "dvelop", K.OTHER, PROPRIETARY, False, None, None, None),
    ("enaio", "enaio", "11.0", "optimal-systems", K.OTHER, PROPRIETARY, False, None, None, None),
    ("vsphere-7", "VMware vSphere", "7", "vmware", K.OTHER, PROPRIETARY, False, D(2020, 4, 2), None, D(2025, 10, 2)),
    ("vsphere-8", "VMware vSphere", "8", "vmware", K.OTHER, PROPRIETARY, False, D(2022, 10, 11), None, None),
    ("citrix-cvad", "Citrix Virtual Apps and Desktops", "2402 LTSR", "cloud-software-group", K.OTHER, PROPRIETARY, False, None, None, None),
    ("proxmox-ve", "Proxmox Virtual Environment", "8", "proxmox", K.OTHER, "AGPL-3.0-or-later", True, None, None, None),
    ("openshift", "Red Hat OpenShift Container Platform", "4.16", "redhat", K.MIDDLEWARE, PROPRIETARY, False, None, None, None),
    ("kafka", "Apache Kafka", "3.7", "asf", K.MIDDLEWARE, "Apache-2.0", True, None, None, None),
    ("rabbitmq", "RabbitMQ", "3.13", "vmware", K.MIDDLEWARE, "MPL-2.0", True, None, None, None),
    ("webmethods", "webMethods Integration Server", "10.15", "software-ag", K.MIDDLEWARE, PROPRIETARY, False, None, None, None),
    ("governikus-mw", "Governikus Middleware", "4", "governikus", K.MIDDLEWARE, PROPRIETARY, False, None, None, None),
    ("masterportal", "Masterportal", "3", None, K.FRAMEWORK, "MIT", True, None, None, None),
    ("orion-ld", "FIWARE Orion-LD Context Broker", "1.6", "fiware", K.MIDDLEWARE, "AGPL-3.0-only", True, None, None, None),
    ("catalyst-9300", "Cisco Catalyst 9300", "IOS XE 17", "cisco", K.NETWORK, PROPRIETARY, False, None, None, None),
    ("poweredge-r750", "Dell PowerEdge R750", "", "dell", K.HARDWARE, PROPRIETARY, False, None, None, None),
    ("notes-9", "HCL Notes/Domino", "9.0.1", "hcl", K.OTHER, PROPRIETARY, False, None, None, None),
    ("openscape", "Unify OpenScape Voice", "V10", "unify", K.NETWORK, PROPRIETARY, False, None, None, None),
]

# Vendor of each endoflife.date product: the vendor names in eol_cycles.json mapped to keys.
EOL_VENDOR_KEYS = {
    "Debian Project": "debian",
    "Django Software Foundation": "dsf",
    "F5, Inc.": "f5",
    "Oracle Corporation": "oracle",
    "The PHP Group": "php-group",
    "PostgreSQL Global Development Group": "pgdg",
    "Python Software Foundation": "psf",
    "Red Hat, Inc.": "redhat",
    "Apache Software Foundation": "asf",
    "Canonical Ltd.": "canonical",
    "Microsoft Corporation": "microsoft",
}

C = DataClassification
# name, classification, personal data, special categories, description
DATA_OBJECTS = [
    ("Meldedaten", C.CONFIDENTIAL, True, False, "Daten des Melderegisters nach BMG"),
    ("Personenstandsdaten", C.CONFIDENTIAL, True, False, "Geburten, Ehen, Sterbefälle"),
    ("Ausländerdaten", C.STRICTLY_CONFIDENTIAL, True, True, "inkl. biometrischer Daten"),
    ("Bauantragsdaten", C.CONFIDENTIAL, True, False, "Bauanträge mit Bauvorlagen"),
    ("Geodaten", C.PUBLIC, False, False, "Karten, Luftbilder, Fachgeometrien"),
    ("Liegenschaftsdaten", C.CONFIDENTIAL, True, False, "Flurstücke und Eigentümer (ALKIS)"),
    ("Finanzbuchungen", C.INTERNAL, False, False, "Buchungen des Haushalts"),
    ("Zahlungsdaten", C.CONFIDENTIAL, True, False, "Zahlungen und Bankverbindungen"),
    ("Steuerdaten", C.STRICTLY_CONFIDENTIAL, True, False, "unterliegen dem Steuergeheimnis"),
    ("Personaldaten", C.CONFIDENTIAL, True, False, "Stammdaten der Beschäftigten"),
    ("Gesundheitsdaten", C.STRICTLY_CONFIDENTIAL, True, True, "Art. 9 DSGVO"),
    ("Sozialdaten", C.STRICTLY_CONFIDENTIAL, True, True, "Sozialgeheimnis, § 35 SGB I"),
    ("Jugendhilfedaten", C.STRICTLY_CONFIDENTIAL, True, True, "§ 65 SGB VIII"),
    ("Kita-Anmeldedaten", C.CONFIDENTIAL, True, False, "Anmeldungen zur Kindertagesbetreuung"),
    ("Schülerdaten", C.CONFIDENTIAL, True, False, "Schülerinnen und Schüler, Erziehungsberechtigte"),
    ("Fahrzeug- und Halterdaten", C.CONFIDENTIAL, True, False, "Zulassungsdaten"),
    ("Gewerbedaten", C.INTERNAL, True, False, "Gewerbeanzeigen und Erlaubnisse"),
    ("Ordnungswidrigkeitendaten", C.CONFIDENTIAL, True, False, "Bußgeldverfahren"),
    ("Einsatzdaten", C.STRICTLY_CONFIDENTIAL, True, True, "Feuerwehr- und Rettungseinsätze"),
    ("Wahldaten", C.CONFIDENTIAL, True, False, "Wählerverzeichnis und Wahlergebnisse"),
    ("Ratsdokumente", C.PUBLIC, False, False, "Vorlagen, Beschlüsse, Niederschriften"),
    ("Umweltmessdaten", C.PUBLIC, False, False, "Luft, Lärm, Wasser"),
    ("Verkehrsdaten", C.PUBLIC, False, False, "Zählungen, Baustellen, Parkraum"),
    ("Benutzerkonten", C.INTERNAL, True, False, "Konten, Gruppen, Berechtigungen"),
    ("Vorgangsakten", C.CONFIDENTIAL, True, False, "Akten der E-Akte"),
    ("Statistikdaten", C.PUBLIC, False, False, "aggregierte Daten ohne Personenbezug"),
    ("Archivgut", C.INTERNAL, True, False, "übernommene Unterlagen"),
]


@dataclass(frozen=True)
class HandApp:
    key: str
    name: str
    acronym: str | None
    kind: str
    office: str
    vendor: str | None
    criticality: str
    hosting: str
    stack: str
    tags: str = ""  # citizen, personal, special, gis
    phase: str | None = None  # lifecycle profile; random when None
    description: str = ""


SP = ApplicationKind.SPECIALIST_PROCEDURE
STD = ApplicationKind.STANDARD_SOFTWARE
OWN = ApplicationKind.OWN_DEVELOPMENT
SAAS = ApplicationKind.SAAS
PLAT = ApplicationKind.PLATFORM
MC = Criticality.MISSION_CRITICAL
BC = Criticality.BUSINESS_CRITICAL
BO = Criticality.BUSINESS_OPERATIONAL
AD = Criticality.ADMINISTRATIVE
DC = Hosting.CITY_DATA_CENTRE
MIP = Hosting.MUNICIPAL_IT_PROVIDER
EU = Hosting.EU_CLOUD
NEU = Hosting.NON_EU_CLOUD

HAND_APPS = [
    # Shared platforms and workplace IT
    HandApp("keycloak", "Keycloak IdP", "IDP", PLAT, "12", None, MC, DC, "java", "personal", "active", "Zentraler Identitätsanbieter (OIDC, SAML)"),
    HandApp("active-directory", "Active Directory", "AD", STD, "12", "microsoft-de", MC, DC, "ms", "personal", "active", "Verzeichnisdienst und Anmeldung"),
    HandApp("edirectory", "Novell eDirectory", "NDS", STD, "12", "opentext", BC, DC, "linux", "personal", "retired", "Abgelöster Verzeichnisdienst"),
    HandApp("exchange", "Microsoft Exchange", "EXCH", STD, "12", "microsoft-de", BC, DC, "exchange", "personal", "phase_out", "E-Mail und Kalender (lokal)"),
    HandApp("m365", "Microsoft 365", "M365", SAAS, "12", "microsoft-ie", BC, NEU, "m365", "personal", "active", "Office, E-Mail, Teams in der Cloud"),
    HandApp("opendesk", "openDesk", "ODESK", SAAS, "12", "zendis", BO, EU, "saas", "personal", "planned", "Souveräner Arbeitsplatz (Pilot)"),
    HandApp("citrix", "Citrix Virtual Apps", "CVAD", STD, "12", "citrix-de", BC, DC, "citrix", "", "active", "Bereitstellung von Fachverfahren am Arbeitsplatz"),
    HandApp("nextcloud", "Nextcloud Dateiaustausch", "NC", STD, "12", "nextcloud", BO, DC, "nextcloud", "personal", "active"),
    HandApp("webex", "Webex Videokonferenz", "WEBEX", SAAS, "12", "cisco-de", BO, NEU, "saas", "personal", "active"),
    HandApp("telefonie", "Telefonanlage OpenScape", "TK", STD, "12", "unify", BC, DC, "telephony", "personal", "active"),
    HandApp("ticket", "IT-Ticketsystem", "ITSM", STD, "12", "otrs", BC, DC, "linux", "personal", "active"),
    HandApp("openproject", "OpenProject", "OP", STD, "12", "openproject", AD, DC, "linux", "", "active", "Projektmanagement"),
    HandApp("webmethods", "Integrationsplattform webMethods", "ESB", PLAT, "12", "software-ag", BC, DC, "esb", "", "active"),
    HandApp("dvelop", "d.velop documents (E-Akte)", "EAKTE", STD, "12", "dvelop", BC, DC, "dms", "personal", "active", "Dokumentenmanagement und E-Akte"),
    HandApp("enaio", "enaio", "ENAIO", STD, "63", "optimal-systems", BO, MIP, "java", "personal", "active", "Dokumentenmanagement Bau und Soziales"),
    HandApp("serviceportal", "Serviceportal", "SP", PLAT, "12", "komm-one", MC, MIP, "java", "citizen personal", "active", "Onlinedienste nach OZG, Nutzerkonto"),
    HandApp("bebpo", "beBPo-Postfach", "BEBPO", STD, "30", "governikus", BC, MIP, "osci", "personal", "active", "Besonderes elektronisches Behördenpostfach (EGVP)"),
    HandApp("udp", "Urbane Datenplattform", "UDP", PLAT, "12", None, BO, EU, "udp", "", "phase_in", "Datenplattform für Analysen und Open Data"),
    HandApp("intranet", "Intranet", "INTRA", OWN, "13", None, AD, DC, "php", "", "active", "Mitarbeiterportal"),
    HandApp("stadtportal", "Stadtportal", "WEB", OWN, "13", None, BC, DC, "php", "citizen", "active", "Internetauftritt der Stadt"),
    HandApp("lotus", "Lotus-Notes-Altanwendungen", "NOTES", STD, "12", "hcl", AD, DC, "notes", "personal", "retired"),
    # Finance and HR
    HandApp("sap-fi", "SAP S/4HANA Finanzen", "S4FI", STD, "20", "sap-de", MC, DC, "s4", "personal", "active", "Haushalt, Buchhaltung, Kasse"),
    HandApp("sap-pscd", "SAP PSCD Steuern und Abgaben", "PSCD", STD, "22", "sap-de", BC, DC, "s4", "personal", "active"),
    HandApp("sap-refx", "SAP RE-FX Liegenschaften", "REFX", STD, "23", "sap-de", BO, DC, "s4", "personal", "active"),
    HandApp("sap-hcm", "SAP HCM", "HCM", STD, "11", "sap-de", BC, DC, "ecc", "personal", "phase_out", "Personalabrechnung (Ablösung durch LOGA)"),
    HandApp("loga", "LOGA", "LOGA", STD, "11", "pi", BC, MIP, "java", "personal", "phase_in", "Personalabrechnung und -verwaltung"),
    HandApp("paisy", "PAISY", "PAISY", STD, "11", "adp-de", BC, MIP, "linux", "personal", "retired", "Frühere Entgeltabrechnung"),
    HandApp("zeiterfassung", "Zeiterfassung", "ZEIT", STD, "11", "interflex", BO, DC, "ms", "personal", "active"),
    HandApp("bewerber", "Bewerbermanagement", "BEWERB", SAAS, "11", "softgarden", BO, EU, "saas", "personal citizen", "active"),
    HandApp("infoma", "Infoma newsystem", "INFOMA", STD, "AWB", "axians-infoma", BC, MIP, "java", "", "active", "Finanzwesen des Abfallwirtschaftsbetriebs"),
    HandApp("epaybl", "ePayBL", "EPAYBL", PLAT, "21", "komm-one", BC, MIP, "java", "personal", "active", "E-Payment für Onlinedienste"),
    HandApp("hundesteuer", "Hundesteuer", "HUST", SP, "22", "hh", AD, MIP, "java", "citizen personal", "active"),
    HandApp("grundsteuer", "Grundsteuer", "GRST", SP, "22", "hh", BC, MIP, "java", "personal", "active"),
    HandApp("cafm", "CAFM Gebäudemanagement", "CAFM", STD, "24", "planon", BO, DC, "ms", "", "active"),
    HandApp("vergabe", "Vergabemanagement", "VMS", STD, "30", "cosinex", BO, MIP, "java", "", "active"),
    HandApp("fuhrpark", "Fuhrparkmanagement", "FUHR", STD, "24", "regio-it", AD, MIP, "java", "personal", "active"),
    HandApp("pruefsoftware", "Prüfsoftware IDEA", "IDEA", STD, "14", "caseware", AD, DC, "ms", "", "active"),
    # Citizen services, public order
    HandApp("ok-ewo", "OK.EWO", "EWO", SP, "33", "akdb", MC, MIP, "java", "citizen personal", "active", "Einwohnermeldewesen"),
    HandApp("ausweis", "Pass- und Ausweisverfahren", "PASS", SP, "33", "akdb", MC, MIP, "java", "citizen personal", "active"),
    HandApp("termin", "Online-Terminvereinbarung", "TERMIN", SAAS, "33", "kommunix", BO, EU, "saas", "citizen personal", "active"),
    HandApp("autista", "AutiSta", "AUTISTA", SP, "34", "vfst", BC, MIP, "java", "citizen personal", "active", "Personenstandswesen"),
    HandApp("auslaender", "Ausländerwesen", "AUSL", SP, "35", "ekom21", BC, MIP, "java", "personal special", "active"),
    HandApp("kfz", "KFZ-Zulassung", "KFZ", SP, "36", "akdb", BC, MIP, "java", "citizen personal", "active", "Fahrzeugzulassung inkl. i-Kfz"),
    HandApp("fahrerlaubnis", "Fahrerlaubnisverfahren", "FE", SP, "36", "akdb", BO, MIP, "java", "citizen personal", "active"),
    HandApp("ok-gewerbe", "OK.GEWERBE", "GEW", SP, "32", "akdb", BO, MIP, "java", "citizen personal", "active", "Gewerbeamt"),
    HandApp("owi21", "OWi21", "OWI", SP, "32", "akdb", BC, MIP, "java", "citizen personal", "active", "Ordnungswidrigkeiten"),
    HandApp("fundbuero", "Fundbüro online", "FUND", OWN, "32", None, AD, DC, "python", "citizen personal", "active"),
    HandApp("els", "Einsatzleitsystem Feuerwehr", "ELS", SP, "37", "eurofunk", MC, DC, "ms", "personal special gis", "active"),
    HandApp("balvi", "BALVI iP", "BALVI", SP, "39", "balvi", BO, MIP, "ms", "personal", "active", "Veterinär- und Lebensmittelüberwachung"),
    HandApp("wahl", "votemanager", "VM", STD, "15", "vote-it", BC, DC, "java", "citizen personal", "active", "Wahlsoftware"),
    HandApp("statistik", "Statistikdatenbank", "STAT", OWN, "15", None, AD, DC, "python", "", "active"),
    HandApp("sessionnet", "SessionNet", "SN", STD, "10", "somacos", BO, MIP, "java", "citizen", "active", "Ratsinformationssystem"),
    # Education, culture
    HandApp("asv", "ASV-BW", "ASV", SP, "40", None, BC, DC, "java", "personal", "active", "Amtliche Schulverwaltung"),
    HandApp("bibliothek", "Bibliothekssystem", "BIB", SAAS, "42", "oclc-de", BO, EU, "saas", "citizen personal", "active"),
    HandApp("museum", "MuseumPlus", "MPLUS", STD, "45", "zetcom", AD, DC, "java", "", "active", "Sammlungsverwaltung"),
    HandApp("scopearchiv", "scopeArchiv", "SCOPE", STD, "47", "scope", BO, DC, "ms", "personal", "active", "Archivinformationssystem"),
    HandApp("sportstaetten", "Sportstättenbelegung", "SPORT", OWN, "52", None, AD, DC, "php", "citizen", "active"),
    # Social, youth, health
    HandApp("open-prosoz", "OPEN/PROSOZ", "PROSOZ", SP, "50", "prosoz", MC, MIP, "java", "citizen personal special", "active", "Sozialhilfe und Grundsicherung"),
    HandApp("asylblg", "Leistungen nach dem AsylbLG", "ASYLBLG", SP, "50", "prosoz", BC, MIP, "java", "personal special", "active"),
    HandApp("jugendhilfe", "PROSOZ 14plus", "14PLUS", SP, "51", "prosoz", BC, MIP, "java", "personal special", "active", "Jugendhilfe"),
    HandApp("little-bird", "Little Bird", "KITA", SAAS, "51", "little-bird", BO, EU, "saas", "citizen personal", "active", "Kita-Platzvergabe"),
    HandApp("elterngeld", "Elterngeld", "EG", SP, "51", "komm-one", BO, MIP, "java", "citizen personal", "active"),
    HandApp("unterhalt", "Unterhaltsvorschuss", "UVG", SP, "51", "prosoz", BO, MIP, "java", "citizen personal special", "active"),
    HandApp("wohngeld", "Wohngeld", "WOGG", SP, "64", "prosoz", BO, MIP, "java", "citizen personal special", "active"),
    HandApp("survnet", "SurvNet", "SURVNET", SP, "53", "rki", BC, DC, "ms", "personal special", "active", "Meldewesen nach IfSG"),
    HandApp("sormas", "SORMAS", "SORMAS", SP, "53", "hzi", BO, MIP, "java", "personal special", "phase_out", "Kontaktpersonenmanagement"),
    HandApp("octoware", "Octoware TN", "OCTO", SP, "53", "easy-soft", BO, DC, "ms", "personal special", "active", "Fachverfahren Gesundheitsamt"),
    # Planning, building, environment, mobility
    HandApp("probaug", "ProBauG", "PROBAUG", SP, "63", "prosoz", BC, MIP, "java", "personal gis", "active", "Baugenehmigungsverfahren"),
    HandApp("bauantrag", "Bauantrag online", "BAO", SP, "63", "komm-one", BO, MIP, "java", "citizen personal gis", "phase_in", "Virtuelles Bauamt"),
    HandApp("bauleitplanung", "Bauleitplanung XPlanung", "BLP", SP, "61", "esri-de", BO, DC, "ms", "gis", "active"),
    HandApp("arcgis", "ArcGIS Enterprise", "AGE", PLAT, "62", "esri-de", BC, DC, "gis", "gis", "active", "Geoinformationssystem"),
    HandApp("geoportal", "Geoportal", "GEOP", OWN, "62", None, BO, DC, "masterportal", "citizen gis", "active"),
    HandApp("alkis", "ALKIS-Auskunft", "ALKIS", SP, "62", "aed-sicad", BC, DC, "java", "personal gis", "active", "Liegenschaftskataster"),
    HandApp("baumkataster", "Baumkataster", "BAUM", SP, "67", None, AD, DC, "python", "gis", "active"),
    HandApp("friedhof", "Friedhofsverwaltung", "FRIED", SP, "67", "hh", AD, MIP, "java", "citizen personal gis", "active"),
    HandApp("strassenkataster", "Straßenkataster", "STRK", SP, "66", "disy", BO, DC, "java", "gis", "active"),
    HandApp("baustellen", "Baustellenkoordination", "BAUST", OWN, "66", None, BO, DC, "python", "gis", "active"),
    HandApp("maengelmelder", "Mängelmelder", "MAENG", SAAS, "66", "wer-denkt-was", AD, EU, "saas", "citizen personal gis", "active"),
    HandApp("uis", "Umweltinformationssystem Cadenza", "UIS", STD, "70", "disy", BO, DC, "java", "gis", "active"),
    HandApp("immissionen", "Immissionskataster", "IMMI", STD, "70", "kisters", AD, DC, "ms", "gis", "active"),
    HandApp("klimamonitor", "Klimaschutz-Monitoring", "KLIMA", OWN, "71", None, AD, EU, "python", "gis", "planned"),
    HandApp("verkehrsrechner", "Verkehrsrechner", "VR", SP, "68", "siemens-mobility", MC, DC, "linux", "gis", "active", "Steuerung der Lichtsignalanlagen"),
    HandApp("parkraum", "Parkraumbewirtschaftung", "PARK", STD, "68", "scheidt-bachmann", BO, DC, "java", "citizen personal", "active"),
    # Municipal enterprises
    HandApp("fahrgastinfo", "Fahrgastinformationssystem", "FIS", STD, "SW", "ivu", BC, DC, "java", "citizen", "active"),
    HandApp("abfall-app", "Abfall-App", "ABFALL", SAAS, "AWB", None, AD, EU, "saas", "citizen", "active"),
]

# Owning teams of the central applications (others are owned by a team of their office).
HAND_OWNER_TEAMS = {
    "keycloak": "Identity & Access", "active-directory": "Identity & Access",
    "edirectory": "Identity & Access", "exchange": "Workplace Services",
    "m365": "Workplace Services", "opendesk": "Workplace Services", "citrix": "Workplace Services",
    "nextcloud": "Workplace Services", "webex": "Workplace Services", "lotus": "Workplace Services",
    "telefonie": "Network", "ticket": "Service Desk", "webmethods": "Application Operations",
    "dvelop": "Application Operations", "udp": "Architecture", "openproject": "Architecture",
    "serviceportal": "Fachbetreuung Digitalisierung und IT",
}

# Platform interfaces: key, provider key, name, protocol, direction, standard, frequency,
# data objects, rule deciding which applications consume it (see _platform_consumes).
P = Protocol
F = Frequency
TO_CONSUMER = DataFlowDirection.PROVIDER_TO_CONSUMER
TO_PROVIDER = DataFlowDirection.CONSUMER_TO_PROVIDER
BOTH = DataFlowDirection.BIDIRECTIONAL
PLATFORM_INTERFACES = [
    ("idp-oidc", "keycloak", "Keycloak OIDC-Anmeldung", P.REST, TO_CONSUMER, "OpenID Connect", F.REAL_TIME, ["Benutzerkonten"], "oidc"),
    ("idp-saml", "keycloak", "Keycloak SAML-SSO", P.OTHER, TO_CONSUMER, "SAML 2.0", F.REAL_TIME, ["Benutzerkonten"], "saml"),
    ("ad-ldap", "active-directory", "Active Directory LDAP", P.OTHER, TO_CONSUMER, "LDAP", F.REAL_TIME, ["Benutzerkonten"], "ldap"),
    ("nds-ldap", "edirectory", "eDirectory LDAP", P.OTHER, TO_CONSUMER, "LDAP", F.REAL_TIME, ["Benutzerkonten"], "nds"),
    ("dms-api", "dvelop", "d.velop Archiv-API", P.REST, TO_PROVIDER, "", F.ON_DEMAND, ["Vorgangsakten"], "dms"),
    ("dms-cmis", "dvelop", "d.velop CMIS-Schnittstelle", P.SOAP, BOTH, "CMIS", F.ON_DEMAND, ["Vorgangsakten"], "cmis"),
    ("enaio-ablage", "enaio", "enaio Ablage-Schnittstelle", P.SOAP, TO_PROVIDER, "", F.ON_DEMAND, ["Vorgangsakten"], "enaio"),
    ("epaybl", "epaybl", "ePayBL Zahlungsverkehr", P.SOAP, BOTH, "", F.REAL_TIME, ["Zahlungsdaten"], "payment"),
    ("gis-maps", "arcgis", "ArcGIS Kartendienste (WMS/WFS)", P.REST, TO_CONSUMER, "OGC WMS/WFS", F.ON_DEMAND, ["Geodaten"], "gis"),
    ("gis-geocoder", "arcgis", "ArcGIS Geokodierung", P.REST, TO_CONSUMER, "", F.ON_DEMAND, ["Geodaten"], "geocoder"),
    ("mail-relay", "exchange", "Mail-Relay (SMTP)", P.EMAIL, TO_PROVIDER, "SMTP", F.REAL_TIME, [], "mail"),
    ("graph-api", "m365", "Microsoft Graph API", P.REST, BOTH, "", F.ON_DEMAND, ["Benutzerkonten"], "graph"),
    ("esb", "webmethods", "ESB Nachrichtenvermittlung", P.MESSAGE_QUEUE, BOTH, "", F.REAL_TIME, [], "esb"),
    ("udp-api", "udp", "UDP Open-Data-API", P.REST, TO_CONSUMER, "OGC SensorThings", F.ON_DEMAND, ["Statistikdaten", "Umweltmessdaten"], "opendata"),
    ("egvp", "bebpo", "EGVP-Nachrichtenversand (OSCI)", P.XOEV_OSCI, TO_PROVIDER, "XJustiz", F.ON_DEMAND, ["Vorgangsakten"], "egvp"),
    ("portal-postfach", "serviceportal", "Serviceportal Postfach und Bescheidrückkanal", P.REST, TO_PROVIDER, "FIT-Connect", F.ON_DEMAND, [], "postbox"),
]

# Hand-made interfaces: key, provider, name, protocol, direction, standard, frequency, data
# objects, consumers, dates ("retired": end of life in the past; "planned": not yet active).
CURATED_INTERFACES = [
    ("xmeld", "ok-ewo", "XMeld-Auskunft und Datenübermittlung", P.XOEV_OSCI, TO_CONSUMER, "XMeld", F.REAL_TIME, ["Meldedaten"],
     ["serviceportal", "kfz", "wahl", "ok-gewerbe", "owi21", "auslaender", "autista", "hundesteuer", "grundsteuer", "jugendhilfe", "open-prosoz", "elterngeld", "wohngeld", "asv", "little-bird", "ausweis"], None),
    ("xpersonenstand", "autista", "XPersonenstand-Mitteilungen", P.XOEV_OSCI, TO_CONSUMER, "XPersonenstand", F.DAILY, ["Personenstandsdaten"], ["ok-ewo"], None),
    ("xbau", "probaug", "XBau-Antragsannahme", P.XOEV_OSCI, TO_PROVIDER, "XBau", F.ON_DEMAND, ["Bauantragsdaten"], ["bauantrag", "serviceportal"], None),
    ("ikfz", "kfz", "i-Kfz-Antragsannahme", P.XOEV_OSCI, TO_PROVIDER, "XKfz", F.ON_DEMAND, ["Fahrzeug- und Halterdaten"], ["serviceportal"], None),
    ("xgewerbe", "ok-gewerbe", "XGewerbeanzeige-Annahme", P.XOEV_OSCI, TO_PROVIDER, "XGewerbeanzeige", F.ON_DEMAND, ["Gewerbedaten"], ["serviceportal"], None),
    ("xsozial", "open-prosoz", "XSozial-Antragsannahme", P.XOEV_OSCI, TO_PROVIDER, "XSozial", F.ON_DEMAND, ["Sozialdaten"], ["serviceportal"], None),
    ("wohngeld-online", "wohngeld", "Wohngeld-Onlineantrag", P.XOEV_OSCI, TO_PROVIDER, "XSozial", F.ON_DEMAND, ["Sozialdaten"], ["serviceportal"], None),
    ("elterngeld-digital", "elterngeld", "ElterngeldDigital-Übernahme", P.XOEV_OSCI, TO_PROVIDER, "XFamilie", F.ON_DEMAND, ["Sozialdaten"], ["serviceportal"], None),
    ("fi-buchung", "sap-fi", "FI-Buchungsschnittstelle", P.MESSAGE_QUEUE, TO_PROVIDER, "SAP IDoc", F.HOURLY, ["Finanzbuchungen"],
     ["epaybl", "hundesteuer", "grundsteuer", "open-prosoz", "probaug", "kfz", "sap-pscd", "sap-refx", "sap-hcm", "loga", "cafm", "vergabe", "little-bird", "asylblg"], None),
    ("zahlungsavis", "epaybl", "ePayBL Zahlungsavis", P.FILE_TRANSFER, TO_CONSUMER, "", F.DAILY, ["Zahlungsdaten"], ["sap-fi", "sap-pscd"], None),
    ("hr-export", "sap-hcm", "HR-Stammdatenexport", P.FILE_TRANSFER, TO_CONSUMER, "", F.DAILY, ["Personaldaten"], ["active-directory", "zeiterfassung", "intranet", "keycloak"], None),
    ("loga-stamm", "loga", "LOGA Personalstammdaten", P.REST, TO_CONSUMER, "", F.DAILY, ["Personaldaten"], ["active-directory", "zeiterfassung", "keycloak"], "planned"),
    ("ad-sync", "active-directory", "AD-Gruppensynchronisation", P.OTHER, TO_CONSUMER, "LDAP", F.HOURLY, ["Benutzerkonten"], ["keycloak", "m365"], None),
    ("geoportal-dienste", "geoportal", "Geoportal-Kartendienste", P.REST, TO_CONSUMER, "OGC WMS", F.ON_DEMAND, ["Geodaten"], ["bauantrag", "bauleitplanung", "baumkataster", "maengelmelder", "udp", "stadtportal"], None),
    ("alkis-auskunft", "alkis", "ALKIS-Eigentümerauskunft", P.REST, TO_CONSUMER, "NAS", F.ON_DEMAND, ["Liegenschaftsdaten"], ["grundsteuer", "sap-refx", "probaug", "arcgis"], None),
    ("xdomea-aussonderung", "scopearchiv", "Archivübernahme (xdomea)", P.XOEV_OSCI, TO_PROVIDER, "xdomea", F.MONTHLY, ["Archivgut", "Vorgangsakten"], ["dvelop", "enaio"], None),
    ("notes-export", "lotus", "Notes-Datenexport", P.FILE_TRANSFER, TO_CONSUMER, "", F.WEEKLY, ["Vorgangsakten"], ["intranet", "dvelop"], "retired"),
    ("paisy-entgelt", "paisy", "PAISY-Entgeltdaten", P.FILE_TRANSFER, TO_CONSUMER, "", F.MONTHLY, ["Personaldaten"], ["sap-fi", "zeiterfassung"], "retired"),
    ("oparl", "sessionnet", "Ratsinformationen (OParl)", P.REST, TO_CONSUMER, "OParl", F.ON_DEMAND, ["Ratsdokumente"], ["udp", "stadtportal", "intranet"], None),
    ("termin-api", "termin", "Terminbuchung", P.REST, TO_CONSUMER, "", F.REAL_TIME, [], ["serviceportal", "stadtportal", "ok-ewo", "kfz"], None),
    ("wahlergebnisse", "wahl", "Wahlergebnisse-Export", P.FILE_TRANSFER, TO_CONSUMER, "", F.ON_DEMAND, ["Wahldaten", "Statistikdaten"], ["udp", "stadtportal", "statistik"], None),
    ("sormas-survnet", "sormas", "SORMAS-Export an SurvNet", P.FILE_TRANSFER, TO_CONSUMER, "", F.DAILY, ["Gesundheitsdaten"], ["survnet"], None),
    ("kita-beitraege", "little-bird", "Elternbeitragsdaten", P.FILE_TRANSFER, TO_CONSUMER, "", F.MONTHLY, ["Kita-Anmeldedaten", "Zahlungsdaten"], ["sap-fi"], None),
    ("els-geo", "els", "Einsatzdaten an Verkehrsrechner", P.MESSAGE_QUEUE, TO_CONSUMER, "", F.REAL_TIME, ["Einsatzdaten"], ["verkehrsrechner"], None),
    ("verkehrslage", "verkehrsrechner", "Verkehrslage", P.MESSAGE_QUEUE, TO_CONSUMER, "DATEX II", F.REAL_TIME, ["Verkehrsdaten"], ["els", "udp", "fahrgastinfo"], None),
    ("ticket-mail", "ticket", "Ticket-Benachrichtigungen", P.EMAIL, TO_CONSUMER, "", F.REAL_TIME, [], ["exchange"], None),
]

# code, name, kind, owning team, realising applications, consuming offices ("*" = all),
# the office whose generated specialist procedures also realise it
B = ServiceKind.BUSINESS
T = ServiceKind.TECHNICAL
SERVICES = [
    ("BS-01", "Meldewesen", B, "Fachbetreuung Bürgeramt", ["ok-ewo", "ausweis", "termin"], ["33", "15", "32", "36"], "33"),
    ("BS-02", "Personenstandswesen", B, "Fachbetreuung Standesamt", ["autista"], ["34", "33"], "34"),
    ("BS-03", "Baugenehmigung", B, "Fachbetreuung Bauordnungsamt", ["probaug", "bauantrag", "enaio"], ["63", "61", "60"], "63"),
    ("BS-04", "Kfz-Zulassung und Fahrerlaubnis", B, "Fachbetreuung Straßenverkehrsamt", ["kfz", "fahrerlaubnis"], ["36"], "36"),
    ("BS-05", "Gewerbeangelegenheiten", B, "Fachbetreuung Ordnungsamt", ["ok-gewerbe"], ["32", "22", "80"], "32"),
    ("BS-06", "Ordnungswidrigkeiten", B, "Fachbetreuung Ordnungsamt", ["owi21"], ["32", "36"], None),
    ("BS-07", "Sozialleistungen", B, "Fachbetreuung Sozialamt", ["open-prosoz", "asylblg"], ["50"], "50"),
    ("BS-08", "Kinder- und Jugendhilfe", B, "Fachbetreuung Jugendamt", ["jugendhilfe", "little-bird", "unterhalt"], ["51"], "51"),
    ("BS-09", "Elterngeld", B, "Fachbetreuung Jugendamt", ["elterngeld"], ["51"], None),
    ("BS-10", "Wohngeld", B, "Fachbetreuung Wohnungsamt", ["wohngeld"], ["64"], "64"),
    ("BS-11", "Schulverwaltung", B, "Fachbetreuung Schulverwaltungsamt", ["asv"], ["40"], "40"),
    ("BS-12", "Infektionsschutz", B, "Fachbetreuung Gesundheitsamt", ["survnet", "sormas", "octoware"], ["53"], "53"),
    ("BS-13", "Haushalt und Finanzen", B, "Fachbetreuung Kämmerei", ["sap-fi", "epaybl"], ["20", "21", "14"], "20"),
    ("BS-14", "Steuern und Abgaben", B, "Fachbetreuung Steueramt", ["sap-pscd", "hundesteuer", "grundsteuer"], ["22", "21"], "22"),
    ("BS-15", "Personalwirtschaft", B, "Fachbetreuung Personalamt", ["sap-hcm", "loga", "zeiterfassung", "bewerber"], ["*"], "11"),
    ("BS-16", "Gremienarbeit", B, "Fachbetreuung Hauptamt", ["sessionnet"], ["10", "13"], None),
    ("BS-17", "Vergabe", B, "Fachbetreuung Rechtsamt", ["vergabe"], ["30", "65", "24", "12"], None),
    ("BS-18", "Wahlen", B, "Fachbetreuung Statistik und Wahlen", ["wahl"], ["15", "33"], "15"),
    ("BS-19", "Gefahrenabwehr und Rettungsdienst", B, "Fachbetreuung Feuerwehr", ["els"], ["37"], "37"),
    ("BS-20", "Friedhofswesen", B, "Fachbetreuung Grünflächenamt", ["friedhof"], ["67"], None),
    ("BS-21", "Archivierung", B, "Fachbetreuung Stadtarchiv", ["scopearchiv"], ["*"], None),
    ("BS-22", "Bibliotheksdienste", B, "Fachbetreuung Stadtbibliothek", ["bibliothek"], ["42"], None),
    ("BS-23", "Liegenschaften", B, "Fachbetreuung Liegenschaftsamt", ["sap-refx", "alkis"], ["23", "24", "62"], "23"),
    ("BS-24", "Ausländerangelegenheiten", B, "Fachbetreuung Ausländerbehörde", ["auslaender"], ["35"], "35"),
    ("TS-01", "E-Mail und Kalender", T, "Workplace Services", ["exchange", "m365"], ["*"], None),
    ("TS-02", "Identitäts- und Zugriffsverwaltung", T, "Identity & Access", ["keycloak", "active-directory"], ["*"], None),
    ("TS-03", "Arbeitsplatz-IT", T, "Workplace Services", ["citrix", "m365", "nextcloud"], ["*"], None),
    ("TS-04", "Geodateninfrastruktur", T, "Fachbetreuung Vermessungsamt", ["arcgis", "geoportal", "alkis"], ["61", "62", "63", "66", "67", "68", "70"], "62"),
    ("TS-05", "E-Payment", T, "Fachbetreuung Stadtkasse", ["epaybl"], ["21", "33", "36", "22"], None),
    ("TS-06", "Dokumentenmanagement und E-Akte", T, "Application Operations", ["dvelop", "enaio", "scopearchiv"], ["*"], None),
    ("TS-07", "Datenplattform und Open Data", T, "Architecture", ["udp"], ["15", "81", "68", "71"], None),
    ("TS-08", "Onlinedienste und Serviceportal", T, "Application Operations", ["serviceportal", "bebpo", "stadtportal"], ["*"], None),
    ("TS-09", "Datenbankbetrieb", T, "Database Operations", [], ["12"], None),
    ("TS-10", "Netzwerk und Telefonie", T, "Network", ["telefonie"], ["*"], None),
    ("TS-11", "IT-Servicedesk", T, "Service Desk", ["ticket"], ["*"], None),
    ("TS-12", "Videokonferenz und Zusammenarbeit", T, "Workplace Services", ["webex", "nextcloud", "opendesk"], ["*"], None),
    ("TS-13", "Integrationsplattform", T, "Application Operations", ["webmethods"], ["12"], None),
]

# Generated application names: "<form>" with the topic, then qualifiers once the
# combinations of an office run out.
FORMS = [
    ("Fachverfahren {}", SP),
    ("{} online", SAAS),
    ("Datenbank {}", OWN),
    ("Auswertung {}", STD),
    ("Register {}", SP),
    ("Portal {}", OWN),
    ("Vorgangsbearbeitung {}", SP),
    ("Archiv {}", STD),
    ("Statistik {}", OWN),
    ("{} mobil", SAAS),
    ("Planung {}", STD),
    ("Dokumentation {}", STD),
]
CITIZEN_FORMS = {"{} online", "Portal {}", "{} mobil"}
QUALIFIERS = ["", " Nord", " Süd", " Ost", " West", " Mitte", " (Pilot)", " (Altbestand)", " II"]

INTERFACE_TOPICS = [
    "Stammdatenabgleich", "Vorgangsexport", "Statusrückmeldung", "Dokumentenübergabe",
    "Auskunft", "Buchungsexport", "Stichtagsexport", "Ereignismeldung", "Berichtsdaten",
    "Adressabgleich", "Fristenabgleich", "Bescheiddruck", "Antragsübernahme",
    "Gebührenübergabe",
]
PROTOCOL_WEIGHTS = [
    (P.REST, 30), (P.SOAP, 12), (P.FILE_TRANSFER, 20), (P.DATABASE_LINK, 9),
    (P.MESSAGE_QUEUE, 8), (P.EMAIL, 5), (P.XOEV_OSCI, 8), (P.OTHER, 8),
]
PROTOCOL_FREQUENCIES = {
    P.REST: [F.REAL_TIME, F.ON_DEMAND],
    P.SOAP: [F.REAL_TIME, F.ON_DEMAND],
    P.FILE_TRANSFER: [F.DAILY, F.DAILY, F.WEEKLY, F.MONTHLY, F.YEARLY],
    P.DATABASE_LINK: [F.REAL_TIME, F.HOURLY, F.DAILY],
    P.MESSAGE_QUEUE: [F.REAL_TIME],
    P.EMAIL: [F.ON_DEMAND, F.DAILY],
    P.XOEV_OSCI: [F.REAL_TIME, F.ON_DEMAND, F.DAILY],
    P.OTHER: [F.ON_DEMAND, F.DAILY],
}

# Third-party packages recorded for own developments (as if read from their SBOMs).
PACKAGES = {
    "python": [
        ("django", "4.2.16", "pkg:pypi/django@4.2.16", "Django Software Foundation", "BSD-3-Clause"),
        ("psycopg", "3.2.3", "pkg:pypi/psycopg@3.2.3", "Daniele Varrazzo", "LGPL-3.0-only"),
        ("requests", "2.32.3", "pkg:pypi/requests@2.32.3", "Python Software Foundation", "Apache-2.0"),
        ("celery", "5.4.0", "pkg:pypi/celery@5.4.0", "Celery Project", "BSD-3-Clause"),
        ("gunicorn", "23.0.0", "pkg:pypi/gunicorn@23.0.0", "Benoit Chesneau", "MIT"),
        ("pyyaml", "6.0.2", "pkg:pypi/pyyaml@6.0.2", "Kirill Simonov", "MIT"),
    ],
    "php": [
        ("symfony/http-foundation", "6.4.14", "pkg:composer/symfony/http-foundation@6.4.14", "Symfony SAS", "MIT"),
        ("guzzlehttp/guzzle", "7.9.2", "pkg:composer/guzzlehttp/guzzle@7.9.2", "Guzzle", "MIT"),
        ("monolog/monolog", "3.7.0", "pkg:composer/monolog/monolog@3.7.0", "Jordi Boggiano", "MIT"),
        ("twig/twig", "3.14.0", "pkg:composer/twig/twig@3.14.0", "Symfony SAS", "BSD-3-Clause"),
    ],
}

# fmt: on

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def slugify_ascii(text: str, sep: str = ".") -> str:
    """`Jürgen Müller-Weiß` → `juergen.mueller-weiss`: usernames and e-mail local parts."""
    for umlaut, replacement in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, replacement).replace(umlaut.upper(), replacement.title())
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    out = []
    for char in text:
        if char.isalnum() or char == "-":
            out.append(char)
        elif out and out[-1] != sep:
            out.append(sep)
    return "".join(out).strip(sep)


def weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def days(rng: random.Random, low: int, high: int) -> datetime.timedelta:
    return datetime.timedelta(days=rng.randint(low, high))


def lifecycle(rng: random.Random, today: datetime.date, profile: str) -> dict:
    """Lifecycle dates in order for a profile, relative to today."""
    dates = {}
    if profile == "planned":
        dates["plan_date"] = today - days(rng, 10, 300)
        dates["phase_in_date"] = today + days(rng, 60, 400)
        dates["active_date"] = dates["phase_in_date"] + days(rng, 30, 180)
    elif profile == "phase_in":
        dates["plan_date"] = today - days(rng, 200, 700)
        dates["phase_in_date"] = today - days(rng, 10, 150)
        dates["active_date"] = today + days(rng, 30, 300)
    elif profile == "phase_out":
        dates["active_date"] = today - days(rng, 1500, 5000)
        dates["phase_out_date"] = today - days(rng, 10, 700)
        dates["end_of_life_date"] = today + days(rng, 30, 900)
    elif profile == "retired":
        phase_out_age = rng.randint(400, 2000)
        dates["active_date"] = today - datetime.timedelta(days=phase_out_age) - days(rng, 900, 4000)
        dates["phase_out_date"] = today - datetime.timedelta(days=phase_out_age)
        dates["end_of_life_date"] = today - days(rng, 20, phase_out_age - 60)
    else:
        dates["active_date"] = today - days(rng, 180, 5000)
        if rng.random() < 0.15:  # a planned phase-out, for the view of the future landscape
            dates["phase_out_date"] = today + days(rng, 60, 1500)
            dates["end_of_life_date"] = dates["phase_out_date"] + days(rng, 90, 720)
    if "active_date" in dates and "phase_in_date" not in dates:
        dates["phase_in_date"] = dates["active_date"] - days(rng, 30, 240)
    if "plan_date" not in dates:
        dates["plan_date"] = dates["phase_in_date"] - days(rng, 60, 400)
    return dates


@dataclass
class AppSpec:
    """An application as generated, before it is written."""

    index: int
    key: str  # external_id
    name: str
    acronym: str | None
    kind: str
    office: str
    vendor: str | None
    criticality: str
    hosting: str
    stack: str
    citizen: bool
    personal: bool
    special: bool
    gis: bool
    dates: dict
    fields: dict = field(default_factory=dict)
    components: list = field(default_factory=list)  # (component key, environment)
    responsibilities: list = field(default_factory=list)  # (role, team name | None, username)
    packages: list = field(default_factory=list)

    @property
    def label(self) -> str:
        """How interface names refer to it: the acronym of a well-known application, else
        the name (generated acronyms such as `33-017` say nothing to a reader)."""
        if self.index > len(HAND_APPS):
            return self.name
        return self.acronym or self.name

    @property
    def retired_on(self) -> datetime.date | None:
        return self.dates.get("end_of_life_date")


@dataclass
class InterfaceSpec:
    key: str
    provider: str  # application external_id
    name: str
    protocol: str
    direction: str
    standard: str
    frequency: str
    data_objects: list
    consumers: list  # application external_ids
    active_from: datetime.date | None = None
    end_of_life: datetime.date | None = None
    personal_data: bool = False


class Writer:
    """Writes missing objects with history attributed to the demo admin, and counts them."""

    def __init__(self, user):
        self.user = user
        self.created = Counter()

    def save(self, instance):
        instance._history_user = self.user
        instance._change_reason = CHANGE_REASON
        instance.save()
        self.created[type(instance).__name__] += 1
        return instance

    def bulk(self, model, objects: list) -> list:
        if not objects:
            return []
        if hasattr(model, "history"):
            objects = bulk_create_with_history(
                objects,
                model,
                batch_size=BATCH_SIZE,
                default_user=self.user,
                default_change_reason=CHANGE_REASON,
            )
        else:
            objects = model.objects.bulk_create(objects, batch_size=BATCH_SIZE)
        self.created[model.__name__] += len(objects)
        return objects

    def links(self, through, rows: list[dict], label: str) -> None:
        """Create the missing rows of an auto-created many-to-many table."""
        if not rows:
            return
        columns = list(rows[0])
        existing = set(through.objects.values_list(*columns))
        missing = [row for row in rows if tuple(row[c] for c in columns) not in existing]
        unique = {tuple(row[c] for c in columns): row for row in missing}
        through.objects.bulk_create(
            [through(**row) for row in unique.values()], batch_size=BATCH_SIZE
        )
        self.created[label] += len(unique)


def eligible_cycles(product: dict, today: datetime.date) -> tuple[list, list]:
    """(supported, past end of life) cycles a city would plausibly still run."""
    cycles = [
        c
        for c in product["cycles"]
        if c["release_date"] and "2012-01-01" <= c["release_date"] <= today.isoformat()
    ]
    if any(c.get("lts") for c in cycles):
        cycles = [c for c in cycles if c.get("lts")]
    supported = [c for c in cycles if not c["end_of_life"] or c["end_of_life"] > today.isoformat()]
    past = [c for c in cycles if c["end_of_life"] and c["end_of_life"] <= today.isoformat()]
    return supported, past


# --------------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------------


class DemoCity:
    def __init__(self, seed: int, scale: int, today: datetime.date):
        self.seed = seed
        self.scale = scale
        self.today = today
        self.eol = json.loads(EOL_DATA.read_text(encoding="utf-8"))
        self.offices = {office.code: office for office in OFFICES}

    def rng(self, section: str) -> random.Random:
        return random.Random(f"{self.seed}:{section}")

    # --- people, org units, teams ------------------------------------------------------------

    def build_demo_users(self) -> dict:
        User = get_user_model()
        roles.sync_role_groups()
        groups = {group.name: group for group in Group.objects.filter(name__in=roles.ROLES)}
        existing = {
            u.username: u for u in User.objects.filter(username__in=[u[0] for u in DEMO_USERS])
        }
        # One hash for all seven accounts: they share the published demo password anyway,
        # and hashing seven times would dominate the run time of a small demo.
        password = None
        users = {}
        for username, role, first, last, _team in DEMO_USERS:
            user = existing.get(username)
            if user is None:
                password = password or make_password(DEMO_PASSWORD)
                user = User(
                    username=username,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@{EMAIL_DOMAIN}",
                    is_staff=True,
                    is_superuser=username == "admin",
                    password=password,
                )
                user.save()
                self.created_users += 1
            if role:
                user.groups.add(groups[role])
            users[username] = user
        return users

    def build_org_units(self, writer: Writer) -> dict:
        rows = [(ROOT[0], ROOT[1], OrgUnitKind.ADMINISTRATION, None)]
        rows += [(code, name, OrgUnitKind.DEPARTMENT, ROOT[0]) for code, name in DEPARTMENTS]
        rows += [(o.code, o.name, OrgUnitKind.OFFICE, o.department) for o in OFFICES]
        rows += [(code, name, OrgUnitKind.DIVISION, parent) for code, name, parent in DIVISIONS]
        rows += [(c, n, OrgUnitKind.MUNICIPAL_ENTERPRISE, ROOT[0]) for c, n in ENTERPRISES]
        by_xid = {
            u.external_id: u for u in OrgUnit.objects.filter(external_id__startswith="demo:org:")
        }
        by_code = {u.code: u for u in OrgUnit.objects.filter(code__in=[r[0] for r in rows])}
        units = {}
        for code, name, kind, parent in rows:
            unit = by_xid.get(xid("org", code)) or by_code.get(code)
            if unit is None:
                unit = factories.OrgUnitFactory.build(
                    name=name,
                    code=code,
                    kind=kind,
                    parent=units[parent] if parent else None,
                    external_id=xid("org", code),
                )
                writer.save(unit)
            units[code] = unit
        return units

    def team_plan(self) -> list[tuple[str, str, tuple[int, int]]]:
        """(team name, org unit code, member count range) in a fixed order."""
        plan = list(CENTRAL_TEAMS)
        for office in OFFICES:
            plan.append((f"Fachbetreuung {office.short}", office.code, (2, 4)))
            if office.weight >= 2 and office.code != "12":
                plan.append((f"{office.short} – {office.topics[0]}", office.code, (2, 4)))
        for code, name in ENTERPRISES:
            plan.append((f"IT-Koordination {name}", code, (2, 3)))
        return plan

    def build_people_and_teams(self, writer: Writer, units: dict, demo_users: dict) -> None:
        User = get_user_model()
        rng = self.rng("people")
        fake = Faker("de_DE")
        fake.seed_instance(self.seed)
        plan = self.team_plan()
        taken = {u[0] for u in DEMO_USERS}
        people = []  # (username, first, last, team name)
        for team_name, _code, (low, high) in plan:
            for _ in range(rng.randint(low, high)):
                first, last = fake.first_name(), fake.last_name()
                base = slugify_ascii(f"{first} {last}")
                username, n = base, 1
                while username in taken:
                    n += 1
                    username = f"{base}{n}"
                taken.add(username)
                people.append((username, first, last, team_name))
        existing = set(
            User.objects.filter(username__in=[p[0] for p in people]).values_list(
                "username", flat=True
            )
        )
        unusable = make_password(None)
        new_users = [
            User(
                username=u,
                first_name=f,
                last_name=la,
                email=f"{u}@{EMAIL_DOMAIN}",
                password=unusable,
            )
            for u, f, la, _t in people
            if u not in existing
        ]
        User.objects.bulk_create(new_users, batch_size=BATCH_SIZE)
        self.created_users += len(new_users)
        user_ids = dict(User.objects.filter(username__in=list(taken)).values_list("username", "pk"))

        existing_teams = {t.name: t for t in Team.objects.filter(name__in=[p[0] for p in plan])}
        new_teams = [
            factories.TeamFactory.build(
                name=name, org_unit=units[code], email=f"{slugify_ascii(name, '-')}@{EMAIL_DOMAIN}"
            )
            for name, code, _size in plan
            if name not in existing_teams
        ]
        writer.bulk(Team, new_teams)
        self.teams = {t.name: t for t in Team.objects.filter(name__in=[p[0] for p in plan])}
        rows = [{"team_id": self.teams[t].pk, "user_id": user_ids[u]} for u, _f, _l, t in people]
        rows += [
            {"team_id": self.teams[team].pk, "user_id": demo_users[username].pk}
            for username, _role, _f, _l, team in DEMO_USERS
            if team
        ]
        writer.links(Team.members.through, rows, "Team members")
        self.user_ids = user_ids
        self.members = defaultdict(list)  # team name → usernames
        self.office_people = defaultdict(list)  # office code → full names
        codes = {name: code for name, code, _size in plan}
        for username, first, last, team in people:
            self.members[team].append(username)
            self.office_people[codes[team]].append(f"{first} {last}")
        # Owning teams: an office's own teams; central IT also owns through its operations teams.
        self.office_teams = defaultdict(list)
        for name, code, _size in plan[len(CENTRAL_TEAMS) :]:
            self.office_teams[code].append(name)
        self.office_teams["12"] += ["Application Operations", "Infrastructure Operations"]

    # --- vendors, components, data objects --------------------------------------------------

    def build_vendors(self, writer: Writer) -> dict:
        by_xid = {
            v.external_id: v for v in Vendor.objects.filter(external_id__startswith="demo:vendor:")
        }
        by_name = {v.name: v for v in Vendor.objects.filter(name__in=[v[1] for v in VENDORS])}
        vendors = {}
        for key, name, country, parent in VENDORS:
            vendor = by_xid.get(xid("vendor", key)) or by_name.get(name)
            if vendor is None:
                vendor = factories.VendorFactory.build(
                    name=name,
                    country=country,
                    parent=vendors[parent] if parent else None,
                    external_id=xid("vendor", key),
                )
                writer.save(vendor)
            vendors[key] = vendor
        return vendors

    def component_specs(self) -> list[dict]:
        specs = []
        for product in self.eol["products"]:
            vendor = EOL_VENDOR_KEYS[product["vendor"]]
            for cycle in product["cycles"]:
                specs.append(
                    {
                        "key": f"{product['product']}-{cycle['cycle']}",
                        "name": product["title"],
                        "version": cycle["label"],
                        "vendor": vendor,
                        "kind": product["kind"],
                        "licence": product["licence"],
                        "is_open_source": product["is_open_source"],
                        "release_date": D.fromisoformat(cycle["release_date"])
                        if cycle["release_date"]
                        else None,
                        "end_of_support": D.fromisoformat(cycle["end_of_support"])
                        if cycle["end_of_support"]
                        else None,
                        "end_of_life": D.fromisoformat(cycle["end_of_life"])
                        if cycle["end_of_life"]
                        else None,
                        "eol_product": product["product"],
                        "eol_cycle": cycle["cycle"],
                        "purl": product["purl"],
                        "cpe": product["cpe"],
                    }
                )
        for (
            key,
            name,
            version,
            vendor,
            kind,
            licence,
            oss,
            released,
            support,
            eol,
        ) in CURATED_COMPONENTS:
            specs.append(
                {
                    "key": key,
                    "name": name,
                    "version": version,
                    "vendor": vendor,
                    "kind": kind,
                    "licence": licence,
                    "is_open_source": oss,
                    "release_date": released,
                    "end_of_support": support,
                    "end_of_life": eol,
                }
            )
        return specs

    def build_components(self, writer: Writer, vendors: dict) -> dict:
        specs = self.component_specs()
        existing = {
            (name, version): (external_id, pk)
            for name, version, external_id, pk in ITComponent.objects.values_list(
                "name", "version", "external_id", "pk"
            )
        }
        by_xid = {e[0]: e[1] for e in existing.values() if e[0]}
        new = []
        for spec in specs:
            external_id = xid("component", spec["key"])
            if external_id in by_xid or (spec["name"], spec["version"]) in existing:
                continue
            data = {k: v for k, v in spec.items() if k not in ("key", "vendor")}
            new.append(
                factories.ITComponentFactory.build(
                    vendor=vendors[spec["vendor"]] if spec["vendor"] else None,
                    external_id=external_id,
                    **data,
                )
            )
        writer.bulk(ITComponent, new)
        pks = {(n, v): pk for n, v, pk in ITComponent.objects.values_list("name", "version", "pk")}
        return {spec["key"]: pks[(spec["name"], spec["version"])] for spec in specs}

    def build_data_objects(self, writer: Writer) -> dict:
        existing = set(
            DataObject.objects.filter(name__in=[d[0] for d in DATA_OBJECTS]).values_list(
                "name", flat=True
            )
        )
        new = [
            factories.DataObjectFactory.build(
                name=name,
                classification=cls,
                personal_data=personal,
                special_categories=special,
                description=description,
            )
            for name, cls, personal, special, description in DATA_OBJECTS
            if name not in existing
        ]
        writer.bulk(DataObject, new)
        self.data_object_personal = {d[0]: d[2] for d in DATA_OBJECTS}
        return dict(
            DataObject.objects.filter(name__in=[d[0] for d in DATA_OBJECTS]).values_list(
                "name", "pk"
            )
        )

    # --- applications -----------------------------------------------------------------------

    def stack_choices(self) -> dict:
        """Per layer: (supported, past-EOL) component keys, newest first."""
        layers = {}
        for product in self.eol["products"]:
            supported, past = eligible_cycles(product, self.today)
            layers[product["product"]] = (
                [f"{product['product']}-{c['cycle']}" for c in supported],
                [f"{product['product']}-{c['cycle']}" for c in past],
            )
        layers["sql-server"] = (["sql-server-2022", "sql-server-2019"], ["sql-server-2016"])
        layers["temurin"] = (["temurin-21", "temurin-17"], [])
        layers["vsphere"] = (["vsphere-8"], ["vsphere-7"])
        layers["exchange"] = (["exchange-se"], ["exchange-2019"])
        return layers

    def pick(self, rng: random.Random, layer: str) -> str:
        supported, past = self.layers[layer]
        if past and (not supported or rng.random() < 0.12):
            return rng.choice(past)
        # The newest release is not yet the most common one; the one before it is.
        weights = [2, 4, 3, 2][: len(supported)] + [1] * max(0, len(supported) - 4)
        return rng.choices(supported, weights)[0]

    def stack_components(self, rng: random.Random, stack: str, hosting: str) -> list[str]:
        pick = self.pick
        os_linux = weighted(rng, [("rhel", 45), ("debian", 30), ("ubuntu", 25)])
        if stack == "ms":
            keys = [pick(rng, "windows-server")]
            if rng.random() < 0.85:
                keys.append(pick(rng, "sql-server"))
            if rng.random() < 0.25:
                keys.append("citrix-cvad")
        elif stack == "java":
            keys = ["sles-15" if rng.random() < 0.2 else pick(rng, os_linux)]
            db = weighted(rng, [("oracle-database", 45), ("postgresql", 45), (None, 10)])
            if db:
                keys.append(pick(rng, db))
            server = weighted(rng, [("tomcat", 60), ("weblogic", 25), (None, 15)])
            if server == "weblogic":
                keys.append("weblogic")
            elif server:
                keys.append(pick(rng, "tomcat"))
            keys.append(pick(rng, "oracle-jdk") if rng.random() < 0.5 else pick(rng, "temurin"))
        elif stack in ("php", "python"):
            keys = [pick(rng, weighted(rng, [("debian", 60), ("ubuntu", 40)]))]
            keys.append(pick(rng, "postgresql"))
            keys.append(pick(rng, "nginx"))
            keys.append(pick(rng, stack))
            if stack == "python" and rng.random() < 0.7:
                keys.append(pick(rng, "django"))
        elif stack == "linux":
            keys = [pick(rng, os_linux), pick(rng, "postgresql")]
        elif stack == "s4":
            keys = ["sles-15", "sap-hana", "s4hana"]
        elif stack == "ecc":
            keys = ["sles-15", "sap-hana", "sap-ecc"]
        elif stack == "exchange":
            keys = [pick(rng, "windows-server"), "exchange-2019"]
        elif stack == "m365":
            keys = ["m365"]
        elif stack == "citrix":
            keys = [pick(rng, "windows-server"), "citrix-cvad", pick(rng, "vsphere")]
        elif stack == "nextcloud":
            keys = [
                pick(rng, "debian"),
                "nextcloud-hub",
                pick(rng, "postgresql"),
                "collabora-online",
            ]
        elif stack == "dms":
            keys = [pick(rng, "windows-server"), "dvelop-documents", pick(rng, "sql-server")]
        elif stack == "esb":
            keys = ["sles-15", "webmethods", pick(rng, "oracle-database"), "kafka"]
        elif stack == "osci":
            keys = [pick(rng, "rhel"), "governikus-mw", pick(rng, "temurin")]
        elif stack == "udp":
            keys = ["orion-ld", pick(rng, "postgresql"), "stackit", pick(rng, "python")]
        elif stack == "gis":
            keys = [pick(rng, "windows-server"), "arcgis-enterprise", pick(rng, "postgresql")]
        elif stack == "masterportal":
            keys = [pick(rng, "debian"), "masterportal", pick(rng, "nginx")]
        elif stack == "notes":
            keys = [pick(rng, "windows-server"), "notes-9"]
        elif stack == "telephony":
            keys = ["openscape", pick(rng, "vsphere")]
        else:  # saas
            if hosting == Hosting.NON_EU_CLOUD:
                keys = [weighted(rng, [("azure", 45), ("aws", 40), ("google-cloud", 15)])]
            else:
                keys = [
                    weighted(
                        rng, [("stackit", 35), ("ionos-cloud", 30), ("ovhcloud", 20), ("aws", 15)]
                    )
                ]
        return list(dict.fromkeys(keys))

    def application_specs(self) -> list[AppSpec]:
        rng = self.rng("applications")
        total = APPLICATIONS_PER_SCALE * self.scale
        specs = []
        for index, hand in enumerate(HAND_APPS, start=1):
            tags = set(hand.tags.split())
            specs.append(
                self._app(
                    rng,
                    index,
                    xid("app", hand.key),
                    hand.name,
                    hand.acronym,
                    hand.kind,
                    hand.office,
                    hand.vendor,
                    hand.criticality,
                    hand.hosting,
                    hand.stack,
                    "citizen" in tags,
                    "personal" in tags,
                    "special" in tags,
                    "gis" in tags,
                    hand.phase,
                    hand.description,
                )
            )
        names_rng = self.rng("application-names")
        combos = {}
        for office in OFFICES:
            base = list(itertools.product(office.topics, FORMS))
            names_rng.shuffle(base)
            combos[office.code] = [(t, f, q) for q in QUALIFIERS for t, f in base]
        used = Counter()
        offices = [(o, o.weight) for o in OFFICES]
        for index in range(len(HAND_APPS) + 1, total + 1):
            office = weighted(rng, offices)
            n = used[office.code]
            used[office.code] += 1
            options = combos[office.code]
            topic, (form, kind), qualifier = options[n % len(options)]
            name = form.format(topic) + qualifier
            if n >= len(options):
                name += f" {n // len(options) + 1}"
            if kind == SAAS and rng.random() < 0.5:
                kind = OWN
            if rng.random() < 0.06:
                kind = PLAT if kind == OWN else kind
            personal = rng.random() < (
                0.85 if office.special or office.code in ("33", "34") else 0.45
            )
            special = personal and office.special and rng.random() < 0.7
            citizen = form in CITIZEN_FORMS or rng.random() < 0.08
            gis = (office.spatial and rng.random() < 0.7) or rng.random() < 0.04
            criticality = weighted(rng, [(MC, 10), (BC, 25), (BO, 40), (AD, 25)])
            if kind == SAAS:
                vendor = rng.choice(VENDOR_POOLS[SAAS])
                hosting = NEU if vendor in NON_EU_SAAS else EU
            elif kind == OWN:
                vendor = MUNICIPAL_IT_PROVIDER if rng.random() < 0.3 else None
                hosting = weighted(rng, [(DC, 75), (MIP, 15), (EU, 10)])
            else:
                pool = VENDOR_POOLS[kind]
                if not office.spatial:
                    pool = [v for v in pool if v not in SPATIAL_VENDORS]
                vendor = rng.choice(pool)
                hosting = weighted(rng, [(DC, 55), (MIP, 35), (EU, 7), (NEU, 3)])
            if kind == SAAS:
                stack = "saas"
            elif kind == OWN:
                stack = weighted(rng, [("python", 40), ("php", 30), ("java", 30)])
            elif kind == PLAT:
                stack = weighted(rng, [("java", 40), ("linux", 30), ("python", 30)])
            else:
                stack = weighted(rng, [("java", 50), ("ms", 35), ("linux", 15)])
            specs.append(
                self._app(
                    rng,
                    index,
                    xid("app", f"{index:05d}"),
                    name,
                    f"{office.code}-{n + 1:03d}",
                    kind,
                    office.code,
                    vendor,
                    criticality,
                    hosting,
                    stack,
                    citizen,
                    personal,
                    special,
                    gis,
                    None,
                    f"{topic} im {office.name}",
                )
            )
        return specs

    def _app(
        self,
        rng,
        index,
        key,
        name,
        acronym,
        kind,
        office,
        vendor,
        criticality,
        hosting,
        stack,
        citizen,
        personal,
        special,
        gis,
        phase,
        description,
    ) -> AppSpec:
        profile = phase or weighted(
            rng,
            [("active", 74), ("phase_in", 5), ("planned", 7), ("phase_out", 10), ("retired", 4)],
        )
        dates = lifecycle(rng, self.today, profile)
        availability = {MC: ProtectionNeed.VERY_HIGH, BC: ProtectionNeed.HIGH}.get(
            criticality, weighted(rng, [(ProtectionNeed.NORMAL, 70), (ProtectionNeed.HIGH, 30)])
        )
        if special:
            confidentiality = ProtectionNeed.VERY_HIGH
        elif personal:
            confidentiality = weighted(
                rng, [(ProtectionNeed.HIGH, 70), (ProtectionNeed.NORMAL, 30)]
            )
        else:
            confidentiality = ProtectionNeed.NORMAL
        integrity = (
            ProtectionNeed.HIGH
            if office in ("20", "21", "22") or criticality == MC
            else (weighted(rng, [(ProtectionNeed.NORMAL, 60), (ProtectionNeed.HIGH, 40)]))
        )
        users_range = {MC: (200, 3000), BC: (50, 1500), BO: (10, 400), AD: (2, 80)}[criticality]
        user_count = 9000 if kind == PLAT and rng.random() < 0.5 else rng.randint(*users_range)
        technical_fit = weighted(rng, [(1, 10), (2, 25), (3, 40), (4, 25)])
        if profile in ("phase_out", "retired"):
            technical_fit = min(technical_fit, 2)
        spec = AppSpec(
            index=index,
            key=key,
            name=name,
            acronym=acronym,
            kind=kind,
            office=office,
            vendor=vendor,
            criticality=criticality,
            hosting=hosting,
            stack=stack,
            citizen=citizen,
            personal=personal or special,
            special=special,
            gis=gis,
            dates=dates,
        )
        people = self.office_people.get(office) or self.office_people["12"]
        teams = self.office_teams.get(office) or ["Application Operations"]
        owner_team = rng.choice(teams)
        owner_team = HAND_OWNER_TEAMS.get(key.removeprefix("demo:app:"), owner_team)
        spec.fields = {
            "description": description,
            "owner_team": owner_team,
            "business_owner": rng.choice(people),
            "confidentiality": confidentiality,
            "integrity": integrity,
            "availability": availability,
            "user_count": user_count,
            "functional_fit": weighted(rng, [(1, 10), (2, 25), (3, 40), (4, 25)]),
            "technical_fit": technical_fit,
        }
        keys = self.stack_components(rng, stack, hosting)
        spec.components = [(k, Environment.PRODUCTION) for k in keys]
        if stack != "saas" and rng.random() < 0.35:
            spec.components += [(k, Environment.TEST) for k in keys[:2]]
        # Who plans, operates and supports it.
        if rng.random() < 0.75 or not self.members.get(owner_team):
            spec.responsibilities.append((ResponsibilityRole.PRODUCT_OWNER, owner_team, None))
        else:
            person = rng.choice(self.members[owner_team])
            spec.responsibilities.append((ResponsibilityRole.PRODUCT_OWNER, None, person))
        if hosting == DC and rng.random() < 0.4:
            operations = "Infrastructure Operations"
        else:
            operations = "Application Operations"
        spec.responsibilities.append((ResponsibilityRole.OPERATIONS, operations, None))
        if any(k.startswith(("oracle-database", "sql-server", "sap-hana")) for k in keys):
            spec.responsibilities.append(
                (ResponsibilityRole.OPERATIONS, "Database Operations", None)
            )
        spec.responsibilities.append((ResponsibilityRole.SUPPORT, "Service Desk", None))
        if rng.random() < 0.3:
            spec.responsibilities.append((ResponsibilityRole.SUPPORT, owner_team, None))
        if spec.personal:
            spec.responsibilities.append(
                (ResponsibilityRole.DATA_PROTECTION, "Data Protection Office", None)
            )
        if confidentiality == ProtectionNeed.VERY_HIGH or criticality == MC:
            spec.responsibilities.append(
                (ResponsibilityRole.SECURITY, "Information Security", None)
            )
        if kind == OWN and stack in PACKAGES:
            spec.packages = rng.sample(PACKAGES[stack], rng.randint(2, len(PACKAGES[stack])))
        return spec

    def build_applications(self, writer: Writer, units: dict, vendors: dict, components: dict):
        specs = self.application_specs()
        existing = dict(
            Application.objects.filter(external_id__startswith="demo:app:").values_list(
                "external_id", "pk"
            )
        )
        taken_acronyms = set(
            Application.objects.exclude(external_id__startswith="demo:app:")
            .exclude(acronym=None)
            .values_list("acronym", flat=True)
        )
        new = []
        for spec in specs:
            if spec.key in existing:
                continue
            f = spec.fields
            new.append(
                Application(
                    external_id=spec.key,
                    name=spec.name,
                    acronym=None if spec.acronym in taken_acronyms else spec.acronym,
                    description=f["description"],
                    kind=spec.kind,
                    owner_org_unit_id=units[spec.office].pk,
                    owner_team_id=self.teams[f["owner_team"]].pk,
                    business_owner=f["business_owner"],
                    vendor_id=vendors[spec.vendor].pk if spec.vendor else None,
                    criticality=spec.criticality,
                    confidentiality=f["confidentiality"],
                    integrity=f["integrity"],
                    availability=f["availability"],
                    personal_data=spec.personal,
                    hosting=spec.hosting,
                    user_count=f["user_count"],
                    functional_fit=f["functional_fit"],
                    technical_fit=f["technical_fit"],
                    **spec.dates,
                )
            )
        writer.bulk(Application, new)
        app_ids = dict(
            Application.objects.filter(external_id__startswith="demo:app:").values_list(
                "external_id", "pk"
            )
        )

        # Component uses, responsibilities and SBOM packages of every demo application.
        demo_ids = set(app_ids.values())
        uses = set(
            (a, c, e)
            for a, c, e in ApplicationComponent.objects.values_list(
                "application_id", "component_id", "environment"
            )
            if a in demo_ids
        )
        held = set(
            (a, r, t, p)
            for a, r, t, p in Responsibility.objects.values_list(
                "application_id", "role", "team_id", "person_id"
            )
            if a in demo_ids
        )
        packages = set(
            (a, n, v, u)
            for a, n, v, u in SoftwarePackage.objects.values_list(
                "application_id", "name", "version", "purl"
            )
            if a in demo_ids
        )
        new_uses, new_held, new_packages = [], [], []
        for spec in specs:
            app_id = app_ids[spec.key]
            for key, environment in spec.components:
                row = (app_id, components[key], environment)
                if row not in uses:
                    uses.add(row)
                    new_uses.append(
                        ApplicationComponent(
                            application_id=app_id, component_id=row[1], environment=environment
                        )
                    )
            for role, team, username in spec.responsibilities:
                team_id = self.teams[team].pk if team else None
                person_id = self.user_ids[username] if username else None
                row = (app_id, role, team_id, person_id)
                if row not in held:
                    held.add(row)
                    new_held.append(
                        Responsibility(
                            application_id=app_id, role=role, team_id=team_id, person_id=person_id
                        )
                    )
            for name, version, purl, supplier, licences in spec.packages:
                row = (app_id, name, version, purl)
                if row not in packages:
                    packages.add(row)
                    new_packages.append(
                        SoftwarePackage(
                            application_id=app_id,
                            name=name,
                            version=version,
                            purl=purl,
                            supplier=supplier,
                            licences=licences,
                        )
                    )
        writer.bulk(ApplicationComponent, new_uses)
        writer.bulk(Responsibility, new_held)
        writer.bulk(SoftwarePackage, new_packages)
        return specs, app_ids

    # --- interfaces -------------------------------------------------------------------------

    def _platform_consumes(self, rng: random.Random, rule: str, app: AppSpec) -> bool:
        kind = app.kind
        r = rng.random()
        if rule == "oidc":
            return r < (0.7 if kind in (OWN, SAAS, PLAT) else 0.45)
        if rule == "saml":
            return r < 0.1
        if rule == "ldap":
            return r < (0.55 if kind in (STD, SP) else 0.2)
        if rule == "nds":
            return r < 0.12 and app.dates.get("active_date", self.today) < D(2018, 1, 1)
        if rule == "dms":
            return r < (0.4 if kind == SP else 0.1)
        if rule == "cmis":
            return r < 0.05
        if rule == "enaio":
            return app.office in ("63", "50", "60") and r < 0.5
        if rule == "payment":
            return app.citizen and r < 0.7
        if rule == "gis":
            return r < (0.8 if app.gis else 0.02)
        if rule == "geocoder":
            return r < (0.35 if app.gis or app.citizen else 0.02)
        if rule == "mail":
            return r < 0.3
        if rule == "graph":
            return r < 0.06
        if rule == "esb":
            return r < 0.1
        if rule == "opendata":
            return r < 0.03
        if rule == "egvp":
            return app.office in ("30", "32", "35", "50", "51") and r < 0.4
        if rule == "postbox":
            return app.citizen and r < 0.4
        return False

    def _interface_dates(self, rng: random.Random, provider: AppSpec) -> tuple:
        """(active_from, end_of_life) consistent with the provider's lifecycle."""
        start = provider.dates.get("active_date") or provider.dates.get("phase_in_date")
        if start and start > self.today:  # the provider is not live yet
            return provider.dates.get("phase_in_date") or start, None
        active_from = start + days(rng, 0, 400) if start and rng.random() < 0.9 else None
        if active_from and active_from >= self.today:
            active_from = self.today - days(rng, 1, 60)
        end = (
            provider.retired_on
            if provider.retired_on and provider.retired_on <= self.today
            else None
        )
        r = rng.random()
        if end is None and r < 0.08:
            end = self.today - days(rng, 30, 1000)
        elif end is None and r < 0.12:
            active_from = self.today + days(rng, 20, 270)  # planned interface
        if end and active_from and active_from >= end:
            active_from = end - days(rng, 100, 900)
        return active_from, end

    def interface_specs(self, apps: list[AppSpec]) -> list[InterfaceSpec]:
        rng = self.rng("interfaces")
        by_key = {a.key: a for a in apps}
        hand = {h.key: xid("app", h.key) for h in HAND_APPS}
        specs = []
        for (
            key,
            provider,
            name,
            protocol,
            direction,
            standard,
            frequency,
            data,
            rule,
        ) in PLATFORM_INTERFACES:
            provider_spec = by_key[hand[provider]]
            consumers = [
                a.key
                for a in apps
                if a.key != provider_spec.key and self._platform_consumes(rng, rule, a)
            ]
            if rule == "opendata":
                consumers = list(
                    dict.fromkeys(
                        [hand["geoportal"], hand["statistik"], hand["klimamonitor"], *consumers]
                    )
                )
            active_from, end = self._interface_dates(rng, provider_spec)
            specs.append(
                InterfaceSpec(
                    xid("interface", key),
                    provider_spec.key,
                    name,
                    protocol,
                    direction,
                    standard,
                    frequency,
                    data,
                    consumers,
                    active_from,
                    end,
                )
            )
        for (
            key,
            provider,
            name,
            protocol,
            direction,
            standard,
            frequency,
            data,
            consumers,
            state,
        ) in CURATED_INTERFACES:
            provider_spec = by_key[hand[provider]]
            active_from, end = self._interface_dates(rng, provider_spec)
            if state == "retired":
                end = end or self.today - days(rng, 60, 700)
                active_from = end - days(rng, 900, 3000)
            elif state == "planned":
                active_from, end = self.today + days(rng, 30, 200), None
            specs.append(
                InterfaceSpec(
                    xid("interface", key),
                    provider_spec.key,
                    name,
                    protocol,
                    direction,
                    standard,
                    frequency,
                    data,
                    [hand[c] for c in consumers],
                    active_from,
                    end,
                )
            )

        by_office = defaultdict(list)
        by_department = defaultdict(list)
        for app in apps:
            by_office[app.office].append(app.key)
            department = (
                self.offices[app.office].department if app.office in self.offices else "ENT"
            )
            by_department[department].append(app.key)
        all_keys = [a.key for a in apps]
        udp, portal = hand["udp"], hand["serviceportal"]
        # How many interfaces each application provides: fixed shares, shuffled, so that the
        # total (about 2.4 per application with the extras below) does not drift with the seed.
        counts = []
        for count, percent in [(0, 12), (1, 22), (3, 21), (4, 11), (5, 7)]:
            counts += [count] * round(len(apps) * percent / 100)
        counts = (counts + [2] * len(apps))[: len(apps)]
        rng.shuffle(counts)
        for app, count in zip(apps, counts, strict=True):
            department = (
                self.offices[app.office].department if app.office in self.offices else "ENT"
            )
            office = self.offices.get(app.office)
            topics = rng.sample(INTERFACE_TOPICS, count)
            for k, topic in enumerate(topics, start=1):
                protocol = weighted(rng, PROTOCOL_WEIGHTS)
                wanted = weighted(rng, [(1, 55), (2, 25), (3, 12), (4, 5), (6, 3)])
                consumers = []
                # Small offices have few other applications: draw again rather than lose
                # the interface (at most a few times, so the run stays deterministic and short).
                for _ in range(wanted + 4):
                    pool = weighted(
                        rng,
                        [
                            (by_office[app.office], 60),
                            (by_department[department], 25),
                            (all_keys, 15),
                        ],
                    )
                    candidate = rng.choice(pool)
                    if candidate != app.key and candidate not in consumers:
                        consumers.append(candidate)
                    if len(consumers) == wanted:
                        break
                if not consumers:
                    continue
                active_from, end = self._interface_dates(rng, app)
                data = [rng.choice(office.data)] if office and office.data else ["Vorgangsakten"]
                specs.append(
                    InterfaceSpec(
                        xid("interface", f"{app.index:05d}-{k}"),
                        app.key,
                        f"{app.label}: {topic}",
                        protocol,
                        weighted(rng, [(TO_CONSUMER, 70), (TO_PROVIDER, 15), (BOTH, 15)]),
                        (office.standard if office else "xdomea")
                        if protocol == P.XOEV_OSCI
                        else "",
                        rng.choice(PROTOCOL_FREQUENCIES[protocol]),
                        data,
                        consumers,
                        active_from,
                        end,
                    )
                )
                if rng.random() < 0.03:
                    # Real landscapes have cycles: the consumer reports back to the provider.
                    back = by_key[consumers[0]]
                    active_from, end = self._interface_dates(rng, back)
                    specs.append(
                        InterfaceSpec(
                            xid("interface", f"{app.index:05d}-{k}r"),
                            back.key,
                            f"{back.label}: Rückmeldung an {app.label}",
                            P.REST,
                            TO_CONSUMER,
                            "",
                            F.ON_DEMAND,
                            data,
                            [app.key],
                            active_from,
                            end,
                        )
                    )
            if app.key != udp and rng.random() < 0.12:
                active_from, end = self._interface_dates(rng, app)
                specs.append(
                    InterfaceSpec(
                        xid("interface", f"{app.index:05d}-udp"),
                        app.key,
                        f"{app.label}: Datenexport an die Urbane Datenplattform",
                        weighted(rng, [(P.FILE_TRANSFER, 60), (P.MESSAGE_QUEUE, 40)]),
                        TO_CONSUMER,
                        "",
                        F.DAILY,
                        ["Statistikdaten"],
                        [udp],
                        active_from,
                        end,
                    )
                )
            if (
                app.citizen
                and app.key != portal
                and app.index > len(HAND_APPS)
                and rng.random() < 0.3
            ):
                active_from, end = self._interface_dates(rng, app)
                standard = office.standard if office else "xdomea"
                specs.append(
                    InterfaceSpec(
                        xid("interface", f"{app.index:05d}-ozg"),
                        app.key,
                        f"{app.label}: Online-Antragsannahme ({standard})",
                        P.XOEV_OSCI,
                        TO_PROVIDER,
                        standard,
                        F.ON_DEMAND,
                        list(office.data[:1]) if office and office.data else [],
                        [portal],
                        active_from,
                        end,
                    )
                )
        for spec in specs:
            spec.personal_data = any(self.data_object_personal.get(d) for d in spec.data_objects)
        return specs

    def build_interfaces(
        self, writer: Writer, apps: list[AppSpec], app_ids: dict, data_objects: dict
    ) -> None:
        specs = self.interface_specs(apps)
        specs_by_key = {a.key: a for a in apps}
        existing = {
            external_id: (pk, provider)
            for external_id, pk, provider in Interface.objects.filter(
                external_id__startswith="demo:interface:"
            ).values_list("external_id", "pk", "provider_id")
        }
        new = []
        for spec in specs:
            if spec.key in existing:
                continue
            provider = specs_by_key[spec.provider]
            new.append(
                Interface(
                    external_id=spec.key,
                    name=spec.name,
                    provider_id=app_ids[spec.provider],
                    direction=spec.direction,
                    protocol=spec.protocol,
                    data_standard=spec.standard,
                    frequency=spec.frequency,
                    personal_data=spec.personal_data,
                    owner_team_id=self.teams[provider.fields["owner_team"]].pk,
                    active_from=spec.active_from,
                    end_of_life=spec.end_of_life,
                )
            )
        writer.bulk(Interface, new)
        existing = {
            external_id: (pk, provider)
            for external_id, pk, provider in Interface.objects.filter(
                external_id__startswith="demo:interface:"
            ).values_list("external_id", "pk", "provider_id")
        }
        demo_interfaces = {pk for pk, _provider in existing.values()}
        links = set(
            pair
            for pair in InterfaceConsumer.objects.values_list("interface_id", "consumer_id")
            if pair[0] in demo_interfaces
        )
        new_links, data_rows = [], []
        for spec in specs:
            interface_id, provider_id = existing[spec.key]
            for consumer in spec.consumers:
                consumer_id = app_ids[consumer]
                # The provider is taken from the stored interface: an interface written by an
                # earlier run must never be consumed by its own provider.
                if consumer_id == provider_id or (interface_id, consumer_id) in links:
                    continue
                links.add((interface_id, consumer_id))
                new_links.append(
                    InterfaceConsumer(
                        interface_id=interface_id, consumer_id=consumer_id, provider_id=provider_id
                    )
                )
            data_rows += [
                {"interface_id": interface_id, "dataobject_id": data_objects[d]}
                for d in spec.data_objects
            ]
        writer.bulk(InterfaceConsumer, new_links)
        writer.links(Interface.data_objects.through, data_rows, "Interface data objects")

    # --- services ---------------------------------------------------------------------------

    def build_services(
        self, writer: Writer, units: dict, apps: list[AppSpec], app_ids: dict
    ) -> None:
        existing = set(
            Service.objects.filter(code__in=[s[0] for s in SERVICES]).values_list("code", flat=True)
        )
        new = [
            factories.ServiceFactory.build(
                code=code, name=name, kind=kind, owner_team=self.teams[team]
            )
            for code, name, kind, team, _apps, _offices, _office in SERVICES
            if code not in existing
        ]
        writer.bulk(Service, new)
        service_ids = dict(
            Service.objects.filter(code__in=[s[0] for s in SERVICES]).values_list("code", "pk")
        )
        generated_by_office = defaultdict(list)
        for app in apps:
            if app.index > len(HAND_APPS) and app.kind == SP:
                generated_by_office[app.office].append(app.key)
        app_rows, unit_rows = [], []
        all_units = [
            u for code, u in units.items() if code in self.offices or code in dict(ENTERPRISES)
        ]
        for code, _name, _kind, _team, keys, offices, office in SERVICES:
            realised = [xid("app", k) for k in keys]
            if office:
                realised += generated_by_office[office][:3]
            app_rows += [
                {"service_id": service_ids[code], "application_id": app_ids[k]} for k in realised
            ]
            consumers = all_units if offices == ["*"] else [units[o] for o in offices]
            unit_rows += [{"service_id": service_ids[code], "orgunit_id": u.pk} for u in consumers]
        writer.links(Service.applications.through, app_rows, "Service applications")
        writer.links(Service.consumer_org_units.through, unit_rows, "Service consumers")

    # --- all --------------------------------------------------------------------------------

    def build(self) -> Counter:
        self.created_users = 0
        demo_users = self.build_demo_users()
        writer = Writer(demo_users["admin"])
        units = self.build_org_units(writer)
        self.build_people_and_teams(writer, units, demo_users)
        vendors = self.build_vendors(writer)
        components = self.build_components(writer, vendors)
        data_objects = self.build_data_objects(writer)
        self.layers = self.stack_choices()
        apps, app_ids = self.build_applications(writer, units, vendors, components)
        self.build_interfaces(writer, apps, app_ids, data_objects)
        self.build_services(writer, units, apps, app_ids)
        writer.created["User"] += self.created_users
        return writer.created


COUNTED_MODELS = [
    OrgUnit,
    Team,
    Vendor,
    ITComponent,
    DataObject,
    Application,
    ApplicationComponent,
    Responsibility,
    SoftwarePackage,
    Interface,
    InterfaceConsumer,
    Service,
]


def build_demo_city(
    seed: int = 1, scale: int = 1, stdout=None, today: datetime.date | None = None
) -> dict:
    """Build (or complete) the demo city; returns what was created and the totals per model.

    The result is `{"seed", "scale", "seconds", "created": {model: n}, "total": {model: n}}`;
    a second run with the same seed and scale creates nothing.
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    started = time.perf_counter()
    city = DemoCity(seed, scale, today or datetime.date.today())
    with transaction.atomic():
        created = city.build()
    User = get_user_model()
    total = {model.__name__: model.objects.count() for model in COUNTED_MODELS}
    total["User"] = User.objects.count()
    result = {
        "seed": seed,
        "scale": scale,
        "seconds": round(time.perf_counter() - started, 2),
        "created": {
            name: created.get(name, 0) for name in [*total, *sorted(set(created) - set(total))]
        },
        "total": total,
    }
    if stdout is not None:
        stdout.write(f"Demo city (seed {seed}, scale {scale}) in {result['seconds']} s:\n")
        for name, count in total.items():
            stdout.write(f"  {name:<22} {count:>7}  ({result['created'][name]} new)\n")
        if not sum(result["created"].values()):
            stdout.write("Nothing to do: the demo city was already complete.\n")
    return result

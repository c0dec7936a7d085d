"""The architecture demo: capability map, technology categories, tech radar, ADRs and standard
exceptions on top of the demo city.

`build_architecture_demo(seed, scale)` runs after `cmdb.demo.build_demo_city` (it needs the
demo users, org units, IT components, applications and interfaces; subjects that are missing
are skipped and reported) and, where they exist, after the ITSM and sourcing demos. Everything
the architects decide goes through the services (`record_decision`, `accept_decision`,
`supersede_decision`, `set_standard`, `grant_exception`, `create_capability`,
`set_capability_support`) as the demo user `architect`, so history and rules are the real ones:

- a capability map of a German city administration: nine level-1 capabilities (Bürgerservice
  … IT-Basisdienste) with level-2 and level-3 capabilities beneath (CAP-1, CAP-1.2,
  CAP-1.2.3; about 60 in all). The demo applications are linked to leaf capabilities from
  their owning office and their name (the generated applications are named after the topics of
  their office, e.g. "Statistik Baumkataster"): specialist procedures ("Fachverfahren …",
  "Vorgangsbearbeitung …") support the matching leaf primarily, portals and mobile/online
  front ends secondarily, evaluations ("Statistik …", "Auswertung …") partially; archives,
  registers, planning and documentation tools are not mapped yet; the shared platforms have
  hand-made links. Some capabilities are served by many
  applications (e.g. Grünflächen und Friedhöfe: the capability-overlap rule fires), most by
  one or two;
- a technology category tree (Betriebssysteme › Windows Server / Linux, Datenbanken,
  Laufzeitumgebungen › Java / PHP / Python / Web-Frameworks, Webserver und Anwendungsserver,
  Office und Kollaboration, Cloud-Dienste › EU / Nicht-EU, Middleware und Integration,
  Virtualisierung) holding the demo components;
- a tech radar: approved (current PostgreSQL, Debian 12/13, Nextcloud, Keycloak, Linux and
  EU clouds as categories), tolerated (Windows Server as a category, Windows Server
  2019/2022, Oracle Database), retired (Windows Server 2012 / 2012 R2, PHP 5.6/7.x,
  PostgreSQL ≤ 12, Debian ≤ 10, RHEL 7), prohibited (Microsoft 365 for confidential data,
  Oracle JDK 8 without support contract), candidates (Python 3.13/3.14, Proxmox VE). The
  standards start on 1 January of past years; one change lies in the future: Windows Server
  2019 becomes retired on 1 January of next year, so the radar differs by date;
- ten ADRs in every status (accepted, proposed, rejected, deprecated, and "Oracle Database
  als Standard-Datenbank" superseded by "PostgreSQL als Standard-Datenbank");
- standard exceptions for applications still on retired technology, resting on the accepted
  ADR "Befristeter Weiterbetrieb von Altplattformen": some valid, some expired. The service
  refuses expiry dates in the past, so the expired ones are granted with a future date and
  then moved into the past with a queryset `update()`: this simulates time passing since the
  exception was granted (the history keeps the granted date);
- one application found during capability mapping without an owning team ("Schatten-IT"), so
  that the missing-owner rule has a finding (the city demo assigns an owner everywhere).

Determinism: the capability links follow fixed tables and the applications' names; choices
among equally fitting applications are made in the order of their external_id. Dates are
relative to `today` (default: the current date), mostly 1 January of a year, so a rerun in
the same year finds them again.

Idempotency: capabilities and categories are keyed by code, decisions by title, standards by
subject and valid_from, exceptions by application, standard and decision, capability links by
application and capability; only what is missing is created, a second run creates nothing.
"""

# ruff: noqa: E501  (the catalogues below are tables: one row per line reads better)

import datetime
import time

from django.contrib.auth import get_user_model
from django.db import transaction

from architecture.choices import DecisionStatus, StandardStatus, SupportLevel
from architecture.models import (
    ApplicationCapability,
    ArchitectureDecision,
    Capability,
    StandardException,
    TechCategory,
    TechnologyStandard,
)
from architecture.services.capabilities import create_capability, set_capability_support
from architecture.services.decisions import (
    deprecate_decision,
    grant_exception,
    record_decision,
    reject_decision,
    set_standard,
    supersede_decision,
)
from cmdb.choices import (
    ApplicationKind,
    Criticality,
    Environment,
    Hosting,
    ProtectionNeed,
    Protocol,
)
from cmdb.lifecycle import application_alive_q
from cmdb.models import Application, ApplicationComponent, Interface, ITComponent, OrgUnit
from landkarte.services import save_with_history

# fmt: off

# code, name, offices (owning org unit codes whose applications fall back here), keywords
# (topics in application names). Level-1 and level-2 entries have no offices or keywords.
CAPABILITIES = [
    ("CAP-1", "Bürgerservice", (), ()),
    ("CAP-1.1", "Melde-, Pass- und Personenstandswesen", (), ()),
    ("CAP-1.1.1", "Melde- und Ausweiswesen", ("33",), ("Meldewesen", "Melderegisterauskunft", "Bürgerbüro", "Ausweiswesen", "Führungszeugnisse", "Terminvergabe")),
    ("CAP-1.1.2", "Personenstandswesen", ("34",), ("Geburtenbeurkundung", "Eheschließung", "Sterbefallbeurkundung", "Namensrecht")),
    ("CAP-1.2", "Bürgerkontakt und Onlinedienste", (), ()),
    ("CAP-1.2.1", "Onlinedienste und Nutzerkonto (OZG)", (), ()),
    ("CAP-1.2.2", "Kfz-Zulassung und Fahrerlaubnis", ("36",), ("Fahrzeugzulassung", "Fahrerlaubnis", "Schwertransporte", "Parkausweise", "Verkehrslenkung")),
    ("CAP-2", "Ordnung und Sicherheit", (), ()),
    ("CAP-2.1", "Ordnungsverwaltung", (), ()),
    ("CAP-2.1.1", "Gewerbe- und Ordnungsangelegenheiten", ("32",), ("Gewerbeüberwachung", "Gaststättenerlaubnis", "Sondernutzung", "Fundsachen", "Waffenrecht", "Marktwesen", "Verkehrsüberwachung")),
    ("CAP-2.1.2", "Ausländer- und Einbürgerungswesen", ("35",), ("Aufenthaltstitel", "Einbürgerung", "Visaverfahren", "Fachkräfteeinwanderung")),
    ("CAP-2.2", "Gefahrenabwehr", (), ()),
    ("CAP-2.2.1", "Brand- und Katastrophenschutz, Rettungsdienst", ("37",), ("Einsatzplanung", "Brandschau", "Atemschutz", "Gerätewartung", "Rettungsdienst", "Katastrophenschutz")),
    ("CAP-2.2.2", "Lebensmittel- und Veterinärüberwachung", ("39",), ("Lebensmittelkontrolle", "Tierseuchen", "Tierschutz")),
    ("CAP-3", "Bauen und Umwelt", (), ()),
    ("CAP-3.1", "Planen und Bauen", (), ()),
    ("CAP-3.1.1", "Stadtplanung und Stadtentwicklung", ("61", "81"), ("Bauleitplanung", "Flächennutzung", "Städtebauförderung", "Bürgerbeteiligung", "Stadtentwicklungsplanung", "Quartiersmanagement", "Sozialmonitoring")),
    ("CAP-3.1.2", "Geoinformation und Vermessung", ("62",), ("Liegenschaftskataster", "Stadtgrundkarte", "Luftbilder", "Gutachterausschuss", "Bodenrichtwerte")),
    ("CAP-3.1.3", "Bauaufsicht und Baugenehmigung", ("63", "60"), ("Baugenehmigung", "Bauüberwachung", "Abgeschlossenheit", "Werbeanlagen", "Bauakten", "Erschließungsbeiträge", "Baulastenverzeichnis", "Denkmalschutz")),
    ("CAP-3.2", "Infrastruktur und Mobilität", (), ()),
    ("CAP-3.2.1", "Straßen und Verkehrsinfrastruktur", ("66",), ("Straßenkataster", "Baustellenkoordination", "Brückenprüfung", "Straßenbeleuchtung", "Winterdienst", "Aufgrabungen")),
    ("CAP-3.2.2", "Verkehrsmanagement und Parkraum", ("68",), ("Parkraumbewirtschaftung", "Verkehrsplanung", "Radverkehr", "Verkehrszählung", "Lichtsignalanlagen")),
    ("CAP-3.3", "Umwelt, Klima und Grün", (), ()),
    ("CAP-3.3.1", "Umwelt- und Klimaschutz", ("70", "71"), ("Immissionsschutz", "Altlasten", "Gewässerschutz", "Naturschutz", "Lärmkartierung", "Klimamonitoring", "Energieberatung", "Förderprogramme Klima")),
    ("CAP-3.3.2", "Grünflächen, Friedhöfe und Forst", ("67", "82"), ("Baumkataster", "Friedhofsverwaltung", "Spielplatzkontrolle", "Grünpflege", "Forsteinrichtung", "Holzverkauf", "Waldschutz")),
    ("CAP-4", "Soziales und Jugend", (), ()),
    ("CAP-4.1", "Soziale Leistungen und Gesundheit", (), ()),
    ("CAP-4.1.1", "Grundsicherung, Sozialhilfe und Asylbewerberleistungen", ("50",), ("Grundsicherung", "Hilfe zur Pflege", "Eingliederungshilfe", "Bildung und Teilhabe", "Schwerbehindertenrecht", "Betreuungsbehörde", "Asylbewerberleistungen")),
    ("CAP-4.1.2", "Wohngeld und Wohnraumförderung", ("64",), ("Wohngeld", "Wohnberechtigungsschein", "Wohnraumförderung", "Zweckentfremdung")),
    ("CAP-4.1.3", "Gesundheitsschutz", ("53",), ("Infektionsschutz", "Impfwesen", "Trinkwasserüberwachung", "Amtsärztlicher Dienst", "Schuleingangsuntersuchung", "Sozialpsychiatrie")),
    ("CAP-4.2", "Kinder, Jugend und Familie", (), ()),
    ("CAP-4.2.1", "Kindertagesbetreuung", ("51",), ("Kindertagesbetreuung",)),
    ("CAP-4.2.2", "Hilfen zur Erziehung und Kinderschutz", (), ("Hilfen zur Erziehung", "Kinderschutz", "Jugendgerichtshilfe", "Beistandschaften")),
    ("CAP-4.2.3", "Familienleistungen", (), ("Elterngeld", "Unterhaltsvorschuss")),
    ("CAP-5", "Bildung und Kultur", (), ()),
    ("CAP-5.1", "Schule und Weiterbildung", (), ()),
    ("CAP-5.1.1", "Schulverwaltung", ("40",), ("Schülerbeförderung", "Schulentwicklung", "Lernmittel", "Schulanmeldung", "Ganztagsbetreuung")),
    ("CAP-5.1.2", "Volkshochschule und Bibliothek", ("43", "42"), ("Kursverwaltung", "Dozentenverwaltung", "Prüfungen", "Ausleihe", "Katalog", "Onleihe", "Leseförderung")),
    ("CAP-5.2", "Kultur, Sport und Tourismus", (), ()),
    ("CAP-5.2.1", "Museen und Stadtarchiv", ("45", "47"), ("Sammlungsverwaltung", "Ausstellungen", "Ticketing", "Archivierung", "Digitalisierung", "Lesesaal")),
    ("CAP-5.2.2", "Kultur, Sport und Tourismus", ("41", "83", "52"), ("Kulturförderung", "Veranstaltungen", "Künstlerdatenbank", "Tourismusmarketing", "Stadtführungen", "Gästeinformation", "Sportstättenbelegung", "Sportförderung", "Bäderbetrieb")),
    ("CAP-6", "Finanzen", (), ()),
    ("CAP-6.1", "Haushalt und Rechnungswesen", (), ()),
    ("CAP-6.1.1", "Haushaltsplanung und Controlling", ("20",), ("Haushaltsplanung", "Controlling", "Kosten- und Leistungsrechnung", "Beteiligungsmanagement", "Fördermittel", "Anlagenbuchhaltung")),
    ("CAP-6.1.2", "Zahlungsverkehr und Vollstreckung", ("21",), ("Zahlungsverkehr", "Vollstreckung", "Mahnwesen", "Barkasse")),
    ("CAP-6.1.3", "Kommunale Steuern und Abgaben", ("22",), ("Hundesteuer", "Gewerbesteuer", "Grundsteuer", "Vergnügungssteuer", "Zweitwohnungsteuer")),
    ("CAP-6.2", "Liegenschaften und Gebäude", (), ()),
    ("CAP-6.2.1", "Liegenschaftsverwaltung", ("23", "80"), ("Grundstücksverkehr", "Erbbaurechte", "Mietverwaltung", "Pachtverträge", "Gewerbeflächen", "Unternehmensservice", "Fördermittelberatung")),
    ("CAP-6.2.2", "Gebäudemanagement und Hochbau", ("24", "65"), ("Gebäudemanagement", "Energiecontrolling", "Schließanlagen", "Reinigung", "Instandhaltung", "Fuhrpark", "Bauprojekte", "Ausschreibungen", "Baukostencontrolling")),
    ("CAP-7", "Personal", (), ()),
    ("CAP-7.1", "Personalmanagement", (), ()),
    ("CAP-7.1.1", "Entgeltabrechnung und Zeitwirtschaft", ("11",), ("Stellenplan", "Beihilfe", "Reisekosten")),
    ("CAP-7.1.2", "Personalgewinnung und -entwicklung", (), ("Bewerbungsverfahren", "Fortbildung", "Personalentwicklung", "Arbeitsschutz")),
    ("CAP-8", "Steuerung und Organisation", (), ()),
    ("CAP-8.1", "Politische Steuerung und Recht", (), ()),
    ("CAP-8.1.1", "Gremien, Wahlen und Statistik", ("10", "15"), ("Gremienarbeit", "Wahlvorbereitung", "Bevölkerungsstatistik", "Kommunalstatistik", "Umfragen")),
    ("CAP-8.1.2", "Recht, Verträge und Vergabe", ("30",), ("Vergabe", "Prozessführung", "Satzungsverwaltung", "Vertragsverwaltung")),
    ("CAP-8.2", "Verwaltungsorganisation", (), ()),
    ("CAP-8.2.1", "Organisation, Innerer Dienst und Rechnungsprüfung", ("14",), ("Postverteilung", "Organisationsverfügungen", "Raumbuchung", "Botendienst", "Beschwerdemanagement", "Prüfungsplanung", "Prüfberichte", "Belegprüfung")),
    ("CAP-8.2.2", "Presse- und Öffentlichkeitsarbeit", ("13",), ("Pressemitteilungen", "Veranstaltungskalender", "Bildarchiv", "Social Media")),
    ("CAP-9", "IT-Basisdienste", (), ()),
    ("CAP-9.1", "Arbeitsplatz und IT-Betrieb", (), ()),
    ("CAP-9.1.1", "Identitäts- und Zugriffsmanagement", (), ()),
    ("CAP-9.1.2", "E-Mail, Kalender und Zusammenarbeit", (), ()),
    ("CAP-9.1.3", "Arbeitsplatzbereitstellung und IT-Betrieb", ("12",), ("Softwareverteilung", "Druckmanagement", "Mobilgeräteverwaltung", "Lizenzverwaltung", "Inventarisierung", "Monitoring", "Protokollierung", "Datensicherung")),
    ("CAP-9.2", "Fachverfahrensplattformen", (), ()),
    ("CAP-9.2.1", "Dokumentenmanagement und E-Akte", (), ()),
    ("CAP-9.2.2", "Integration und Datenaustausch", (), ()),
    ("CAP-9.2.3", "Geodaten- und Datenplattformen", (), ()),
]

P_, S_, X_ = SupportLevel.PRIMARY, SupportLevel.SECONDARY, SupportLevel.PARTIAL

# Hand-made links of the named demo applications (cmdb.demo.HAND_APPS): key → (code, level).
HAND_LINKS = {
    "keycloak": [("CAP-9.1.1", P_), ("CAP-1.2.1", X_)],
    "active-directory": [("CAP-9.1.1", P_)],
    "edirectory": [("CAP-9.1.1", S_)],
    "exchange": [("CAP-9.1.2", P_)],
    "m365": [("CAP-9.1.2", P_)],
    "opendesk": [("CAP-9.1.2", S_)],
    "nextcloud": [("CAP-9.1.2", X_)],
    "webex": [("CAP-9.1.2", X_)],
    "lotus": [("CAP-9.1.2", X_)],
    "citrix": [("CAP-9.1.3", P_)],
    "telefonie": [("CAP-9.1.2", X_)],
    "ticket": [("CAP-9.1.3", P_)],
    "openproject": [("CAP-8.2.1", X_)],
    "webmethods": [("CAP-9.2.2", P_)],
    "bebpo": [("CAP-9.2.2", S_), ("CAP-8.1.2", X_)],
    "dvelop": [("CAP-9.2.1", P_)],
    "enaio": [("CAP-9.2.1", S_), ("CAP-3.1.3", X_)],
    "serviceportal": [("CAP-1.2.1", P_)],
    "udp": [("CAP-9.2.3", P_)],
    "intranet": [("CAP-8.2.2", S_)],
    "stadtportal": [("CAP-8.2.2", P_), ("CAP-1.2.1", X_)],
    "sap-fi": [("CAP-6.1.1", P_), ("CAP-6.1.2", P_)],
    "sap-pscd": [("CAP-6.1.3", P_)],
    "sap-refx": [("CAP-6.2.1", P_)],
    "sap-hcm": [("CAP-7.1.1", P_)],
    "loga": [("CAP-7.1.1", P_)],
    "paisy": [("CAP-7.1.1", S_)],
    "zeiterfassung": [("CAP-7.1.1", P_)],
    "bewerber": [("CAP-7.1.2", P_)],
    "infoma": [("CAP-6.1.1", S_)],
    "epaybl": [("CAP-6.1.2", S_), ("CAP-1.2.1", X_)],
    "hundesteuer": [("CAP-6.1.3", P_)],
    "grundsteuer": [("CAP-6.1.3", P_)],
    "cafm": [("CAP-6.2.2", P_)],
    "vergabe": [("CAP-8.1.2", P_)],
    "fuhrpark": [("CAP-6.2.2", S_)],
    "pruefsoftware": [("CAP-8.2.1", P_)],
    "ok-ewo": [("CAP-1.1.1", P_)],
    "ausweis": [("CAP-1.1.1", P_)],
    "termin": [("CAP-1.1.1", P_)],
    "autista": [("CAP-1.1.2", P_)],
    "auslaender": [("CAP-2.1.2", P_)],
    "kfz": [("CAP-1.2.2", P_)],
    "fahrerlaubnis": [("CAP-1.2.2", P_)],
    "ok-gewerbe": [("CAP-2.1.1", P_)],
    "owi21": [("CAP-2.1.1", P_)],
    "fundbuero": [("CAP-2.1.1", X_)],
    "els": [("CAP-2.2.1", P_)],
    "balvi": [("CAP-2.2.2", P_)],
    "wahl": [("CAP-8.1.1", P_)],
    "statistik": [("CAP-8.1.1", S_)],
    "sessionnet": [("CAP-8.1.1", P_)],
    "asv": [("CAP-5.1.1", P_)],
    "bibliothek": [("CAP-5.1.2", P_)],
    "museum": [("CAP-5.2.1", P_)],
    "scopearchiv": [("CAP-5.2.1", P_)],
    "sportstaetten": [("CAP-5.2.2", P_)],
    "open-prosoz": [("CAP-4.1.1", P_)],
    "asylblg": [("CAP-4.1.1", P_)],
    "jugendhilfe": [("CAP-4.2.2", P_)],
    "little-bird": [("CAP-4.2.1", P_)],
    "elterngeld": [("CAP-4.2.3", P_)],
    "unterhalt": [("CAP-4.2.3", P_)],
    "wohngeld": [("CAP-4.1.2", P_)],
    "survnet": [("CAP-4.1.3", P_)],
    "sormas": [("CAP-4.1.3", S_)],
    "octoware": [("CAP-4.1.3", P_)],
    "probaug": [("CAP-3.1.3", P_)],
    "bauantrag": [("CAP-3.1.3", S_), ("CAP-1.2.1", X_)],
    "bauleitplanung": [("CAP-3.1.1", P_)],
    "arcgis": [("CAP-9.2.3", P_), ("CAP-3.1.2", S_)],
    "geoportal": [("CAP-3.1.2", S_), ("CAP-9.2.3", X_)],
    "alkis": [("CAP-3.1.2", P_)],
    "baumkataster": [("CAP-3.3.2", P_)],
    "friedhof": [("CAP-3.3.2", P_)],
    "strassenkataster": [("CAP-3.2.1", P_)],
    "baustellen": [("CAP-3.2.1", P_)],
    "maengelmelder": [("CAP-3.2.1", X_), ("CAP-8.2.1", X_)],
    "uis": [("CAP-3.3.1", P_)],
    "immissionen": [("CAP-3.3.1", S_)],
    "klimamonitor": [("CAP-3.3.1", X_)],
    "verkehrsrechner": [("CAP-3.2.2", P_)],
    "parkraum": [("CAP-3.2.2", P_)],
    "fahrgastinfo": [("CAP-3.2.2", X_)],
    "abfall-app": [("CAP-1.2.1", X_)],
}

# Technology categories: code, name, parent code, description.
CATEGORIES = [
    ("TC-OS", "Betriebssysteme", None, "Server-Betriebssysteme"),
    ("TC-OS-WIN", "Windows Server", "TC-OS", "Microsoft Windows Server in allen Releases"),
    ("TC-OS-LNX", "Linux", "TC-OS", "Linux-Distributionen für Server"),
    ("TC-DB", "Datenbanken", None, "Relationale und spaltenorientierte Datenbanksysteme"),
    ("TC-RT", "Laufzeitumgebungen", None, "Sprachen, Laufzeiten und Frameworks"),
    ("TC-RT-JAVA", "Java", "TC-RT", "JDKs und JREs"),
    ("TC-RT-PHP", "PHP", "TC-RT", ""),
    ("TC-RT-PY", "Python", "TC-RT", ""),
    ("TC-RT-FW", "Web-Frameworks", "TC-RT", ""),
    ("TC-WEB", "Webserver und Anwendungsserver", None, "Webserver, Servlet-Container, Anwendungsserver"),
    ("TC-OFF", "Office und Kollaboration", None, "Büroanwendungen, E-Mail, Dateiaustausch"),
    ("TC-CLD", "Cloud-Dienste", None, "Öffentliche Cloud-Plattformen"),
    ("TC-CLD-EU", "Cloud-Dienste EU-Anbieter", "TC-CLD", "Anbieter mit Sitz und Konzernmutter in der EU"),
    ("TC-CLD-NEU", "Cloud-Dienste Nicht-EU-Anbieter", "TC-CLD", "Anbieter mit Konzernmutter außerhalb der EU (CLOUD Act)"),
    ("TC-MW", "Middleware und Integration", None, "Identität, Nachrichten, Integration, Kontextbroker"),
    ("TC-VIRT", "Virtualisierung und Container", None, "Hypervisoren, Terminalserver, Containerplattformen"),
]

# Which components go into which category: by product name (exact), else by component key.
CATEGORY_BY_PRODUCT = {
    "Microsoft Windows Server": "TC-OS-WIN",
    "Debian": "TC-OS-LNX", "Ubuntu": "TC-OS-LNX", "Red Hat Enterprise Linux": "TC-OS-LNX",
    "SUSE Linux Enterprise Server": "TC-OS-LNX", "Univention Corporate Server": "TC-OS-LNX",
    "PostgreSQL": "TC-DB", "Oracle Database": "TC-DB", "Microsoft SQL Server": "TC-DB", "SAP HANA": "TC-DB",
    "Oracle JDK": "TC-RT-JAVA", "Eclipse Temurin": "TC-RT-JAVA",
    "PHP": "TC-RT-PHP", "Python": "TC-RT-PY", "Django": "TC-RT-FW", "Masterportal": "TC-RT-FW",
    "nginx": "TC-WEB", "Apache Tomcat": "TC-WEB", "Oracle WebLogic Server": "TC-WEB",
    "Microsoft 365": "TC-OFF", "LibreOffice": "TC-OFF", "Collabora Online": "TC-OFF",
    "Nextcloud Hub": "TC-OFF", "Open-Xchange App Suite": "TC-OFF", "Microsoft Exchange Server": "TC-OFF",
    "Microsoft SharePoint Server": "TC-OFF", "Microsoft Office LTSC": "TC-OFF", "HCL Notes/Domino": "TC-OFF",
    "STACKIT Cloud": "TC-CLD-EU", "IONOS Cloud": "TC-CLD-EU", "OVHcloud Public Cloud": "TC-CLD-EU",
    "Amazon Web Services": "TC-CLD-NEU", "Microsoft Azure": "TC-CLD-NEU", "Google Cloud Platform": "TC-CLD-NEU",
    "Keycloak": "TC-MW", "Apache Kafka": "TC-MW", "RabbitMQ": "TC-MW", "webMethods Integration Server": "TC-MW",
    "Governikus Middleware": "TC-MW", "FIWARE Orion-LD Context Broker": "TC-MW",
    "VMware vSphere": "TC-VIRT", "Proxmox Virtual Environment": "TC-VIRT",
    "Citrix Virtual Apps and Desktops": "TC-VIRT", "Red Hat OpenShift Container Platform": "TC-VIRT",
}
# Microsoft 365 is also a cloud service of a non-EU group.
EXTRA_CATEGORIES = {"m365": ["TC-CLD-NEU"]}

# ADRs: key, title, final status, years ago decided, context, decision, consequences,
# related application keys, component keys, interface keys.
ADRS = [
    ("oracle", "Oracle Database als Standard-Datenbank für Fachverfahren", "superseded", 9,
     "Die Fachverfahren der Stadt nutzen unterschiedliche Datenbanken; Betrieb, Sicherung und Lizenzierung sind uneinheitlich. Das Rechenzentrum betreibt bereits eine Oracle-Umgebung mit Enterprise-Lizenzen.",
     "Neue Fachverfahren werden auf Oracle Database betrieben, sofern der Hersteller sie unterstützt. Andere Datenbanken bedürfen einer Ausnahme.",
     "Einheitlicher Betrieb durch das Team Datenbankbetrieb; steigende Lizenzkosten und Abhängigkeit von einem US-Hersteller.",
     [], ["oracle-database-19", "oracle-database-12.1"], []),
    ("postgresql", "PostgreSQL als Standard-Datenbank", "accepted", 3,
     "Die Lizenz- und Supportkosten für Oracle Database sind seit der Umstellung auf Prozessor-Lizenzen stark gestiegen. Fast alle Hersteller kommunaler Fachverfahren unterstützen inzwischen PostgreSQL; das Team Datenbankbetrieb hat Erfahrung damit.",
     "PostgreSQL in einer vom Hersteller unterstützten Hauptversion ist die Standard-Datenbank für neue und migrierte Fachverfahren. Oracle Database wird bis zum Ende der Verträge toleriert; PostgreSQL-Versionen ohne Community-Support (≤ 12) sind ausgemustert.",
     "Migrationsplanung für die Oracle-Verfahren; Aufbau eines hochverfügbaren PostgreSQL-Clusters; Schulung des Datenbankbetriebs.",
     [], ["postgresql-16", "postgresql-17", "postgresql-18", "oracle-database-19"], []),
    ("oss-first", "Open-Source-First bei Neubeschaffungen", "accepted", 4,
     "Der Koalitionsvertrag des Bundes und die Deutsche Verwaltungscloud-Strategie fordern digitale Souveränität. Die Stadt will Abhängigkeiten von einzelnen Herstellern verringern und Eigenentwicklungen mit anderen Kommunen teilen.",
     "Bei jeder Neubeschaffung wird geprüft, ob eine Open-Source-Lösung die Anforderungen erfüllt; sie wird bei vergleichbarer Wirtschaftlichkeit bevorzugt. Eigenentwicklungen werden unter einer freien Lizenz (EUPL) veröffentlicht.",
     "Vergabeunterlagen enthalten Souveränitätskriterien; Marktanalysen dokumentieren die geprüften Open-Source-Alternativen; Mehraufwand für Betrieb und Support wird eingeplant.",
     ["nextcloud", "openproject"], ["nextcloud-hub", "collabora-online", "libreoffice"], []),
    ("keycloak", "Zentrale Identitätsverwaltung über Keycloak", "accepted", 3,
     "Fachverfahren und Onlinedienste verwalten eigene Benutzerkonten; Ein- und Austritte werden verzögert nachgezogen, Passwörter mehrfach vergeben. Das Onlinezugangsgesetz verlangt die Anbindung an Nutzerkonten.",
     "Alle webbasierten Anwendungen authentifizieren über den zentralen Keycloak-Identitätsanbieter (OIDC, ersatzweise SAML 2.0). Das Active Directory bleibt führende Quelle der Beschäftigtenkonten.",
     "Single Sign-on für Beschäftigte; Fachverfahren ohne OIDC/SAML-Unterstützung werden bei der nächsten Ausschreibung ersetzt; der Identitätsanbieter wird geschäftskritisch betrieben.",
     ["keycloak", "active-directory", "serviceportal"], ["keycloak"], ["idp-oidc", "idp-saml"]),
    ("non-eu", "Keine personenbezogenen Daten in Nicht-EU-Clouds", "accepted", 2,
     "Nach dem Urteil des EuGH (Schrems II) und wegen des US CLOUD Act ist die Übermittlung personenbezogener Daten an Anbieter mit Konzernmutter außerhalb der EU rechtlich riskant. Einzelne Ämter nutzen SaaS-Angebote von US-Konzernen.",
     "Vertrauliche personenbezogene Daten (Schutzbedarf hoch oder sehr hoch) werden nur in der Stadt, beim kommunalen IT-Dienstleister oder bei EU-Anbietern ohne Nicht-EU-Konzernmutter verarbeitet. Microsoft 365 ist für solche Daten untersagt.",
     "Bestehende Nutzungen werden inventarisiert und bis zum Ablauf der Verträge abgelöst; der Datenschutz prüft Ausnahmen; souveräne Alternativen (openDesk, STACKIT) werden erprobt.",
     ["m365", "webex"], ["m365", "aws", "azure", "google-cloud"], []),
    ("xoev", "XÖV-Standards für Fachverfahrensschnittstellen", "accepted", 5,
     "Fachverfahren tauschen Daten über proprietäre Dateiformate und Datenbankkopplungen aus. Der IT-Planungsrat hat XÖV-Standards (XMeld, XBau, XPersonenstand …) verbindlich gemacht.",
     "Schnittstellen zwischen Fachverfahren und zu anderen Behörden nutzen den einschlägigen XÖV-Standard über OSCI oder die Integrationsplattform, wo einer existiert. Direkte Datenbankkopplungen werden nicht mehr neu eingerichtet.",
     "Hersteller müssen XÖV-Konformität nachweisen; die Integrationsplattform wird zum zentralen Vermittler; Altschnittstellen werden bei Releasewechseln umgestellt.",
     ["webmethods", "ok-ewo", "bebpo"], ["governikus-mw"], []),
    ("legacy", "Befristeter Weiterbetrieb von Altplattformen", "accepted", 1,
     "Mehrere Fachverfahren laufen noch auf ausgemusterten Plattformen (Windows Server 2012, RHEL 7, alte PostgreSQL- und PHP-Versionen), weil die Hersteller neue Releases erst später liefern.",
     "Ausnahmen vom Technologiestandard werden je Anwendung befristet erteilt, höchstens für 12 Monate, mit Migrationsplan und zusätzlicher Absicherung (Netzsegmentierung, erweiterter Support).",
     "Das Architekturboard überwacht die Fristen; abgelaufene Ausnahmen werden eskaliert; Kosten für erweiterten Support werden den Fachämtern zugeordnet.",
     [], ["windows-server-2012", "rhel-7", "postgresql-9.6", "php-7.4"], []),
    ("notes", "Lotus Notes als Plattform für Fachanwendungen", "deprecated", 12,
     "Für kleine Fachanwendungen (Anträge, Verzeichnisse) fehlte eine Entwicklungsplattform; die Stadt nutzte Lotus Notes bereits für E-Mail.",
     "Kleine Fachanwendungen werden als Notes-Datenbanken entwickelt.",
     "Zahlreiche Notes-Anwendungen entstanden; seit der Umstellung der E-Mail auf Exchange fehlt das Know-how, die Entscheidung ist überholt und wird nicht mehr angewendet.",
     ["lotus"], ["notes-9"], []),
    ("m365-all", "Einführung von Microsoft 365 für alle Arbeitsplätze", "rejected", 1,
     "Die Lizenzen für Office LTSC 2021 laufen aus; Microsoft bietet Kommunen Microsoft 365 mit Cloud-Speicher und Teams an.",
     "Alle Arbeitsplätze werden auf Microsoft 365 (E3) umgestellt, einschließlich Exchange Online und OneDrive.",
     "Abgelehnt: Die Verarbeitung vertraulicher personenbezogener Daten in der Cloud eines US-Konzerns widerspricht der Entscheidung zu Nicht-EU-Clouds; der Datenschutz hat widersprochen.",
     ["m365", "exchange"], ["m365", "office-ltsc-2021"], []),
    ("opendesk", "Souveräner Arbeitsplatz mit openDesk", "proposed", 0,
     "Die Stadt braucht eine Alternative zu Microsoft 365 für Zusammenarbeit, Dateiablage und Videokonferenzen, die den Anforderungen an digitale Souveränität genügt.",
     "Nach erfolgreichem Pilot im Amt für Digitalisierung und IT wird openDesk (Nextcloud, Open-Xchange, Collabora, Jitsi) schrittweise für alle Arbeitsplätze eingeführt.",
     "Schulungsbedarf; Migration der Postfächer von Exchange; Betrieb beim ZenDiS oder einem kommunalen Rechenzentrum.",
     ["opendesk", "nextcloud"], ["nextcloud-hub", "ox-app-suite", "collabora-online"], []),
]

# Tech radar: subject ("component:key" / "category:code"), status, start (years from today,
# on 1 January; 1 = next year), ADR key or None, rationale.
A, T, R, X, CAND = (StandardStatus.APPROVED, StandardStatus.TOLERATED, StandardStatus.RETIRED,
                    StandardStatus.PROHIBITED, StandardStatus.CANDIDATE)
STANDARDS = [
    ("category:TC-OS-LNX", A, -5, None, "Linux ist die bevorzugte Server-Plattform."),
    ("category:TC-OS-WIN", T, -4, None, "Windows Server nur, wo Fachverfahren es verlangen."),
    ("category:TC-CLD-EU", A, -3, "non-eu", "EU-Cloud-Anbieter ohne Nicht-EU-Konzernmutter."),
    ("category:TC-CLD-NEU", T, -2, "non-eu", "Nur ohne vertrauliche personenbezogene Daten."),
    ("component:postgresql-15", A, -3, "postgresql", "Standard-Datenbank."),
    ("component:postgresql-16", A, -3, "postgresql", "Standard-Datenbank."),
    ("component:postgresql-17", A, -2, "postgresql", "Standard-Datenbank."),
    ("component:postgresql-18", A, -1, "postgresql", "Standard-Datenbank (aktuelle Hauptversion)."),
    ("component:debian-12", A, -3, None, "Standard-Linux im Rechenzentrum."),
    ("component:debian-13", A, -1, None, "Standard-Linux im Rechenzentrum (aktuelle Version)."),
    ("component:nextcloud-hub", A, -4, "oss-first", "Dateiaustausch und Zusammenarbeit."),
    ("component:keycloak", A, -3, "keycloak", "Zentraler Identitätsanbieter."),
    ("component:temurin-21", A, -2, "oss-first", "Java-Laufzeit ohne Lizenzkosten."),
    ("component:windows-server-2019", T, -4, None, "Toleriert bis zur Migration auf Windows Server 2022/2025."),
    ("component:windows-server-2019", R, 1, None, "Ausgemustert: Ende des erweiterten Supports rückt näher, neue Installationen nur noch mit 2022/2025."),
    ("component:windows-server-2022", T, -3, None, "Toleriert für Fachverfahren, die Windows verlangen."),
    ("component:oracle-database-19", T, -3, "postgresql", "Toleriert bis zum Vertragsende; neue Verfahren auf PostgreSQL."),
    ("component:oracle-database-23", T, -1, "postgresql", "Toleriert bis zum Vertragsende; neue Verfahren auf PostgreSQL."),
    ("component:oracle-database-12.1", R, -4, "postgresql", "Ohne Herstellersupport."),
    ("component:windows-server-2012", R, -3, None, "Kein Support mehr (Extended Security Updates ausgelaufen)."),
    ("component:windows-server-2012-r2", R, -3, None, "Kein Support mehr (Extended Security Updates ausgelaufen)."),
    ("component:php-5.6", R, -6, None, "Ohne Sicherheitsupdates."),
    ("component:php-7.1", R, -5, None, "Ohne Sicherheitsupdates."),
    ("component:php-7.3", R, -4, None, "Ohne Sicherheitsupdates."),
    ("component:php-7.4", R, -3, None, "Ohne Sicherheitsupdates."),
    ("component:postgresql-9.2", R, -3, "postgresql", "Ohne Community-Support."),
    ("component:postgresql-9.3", R, -3, "postgresql", "Ohne Community-Support."),
    ("component:postgresql-9.4", R, -3, "postgresql", "Ohne Community-Support."),
    ("component:postgresql-9.6", R, -3, "postgresql", "Ohne Community-Support."),
    ("component:postgresql-11", R, -3, "postgresql", "Ohne Community-Support."),
    ("component:postgresql-12", R, -2, "postgresql", "Ohne Community-Support."),
    ("component:debian-7", R, -6, None, "Ohne (LTS-)Sicherheitsupdates."),
    ("component:debian-9", R, -5, None, "Ohne (LTS-)Sicherheitsupdates."),
    ("component:debian-10", R, -3, None, "Ohne (LTS-)Sicherheitsupdates."),
    ("component:rhel-7", R, -2, None, "Wartungsphase beendet; nur mit kostenpflichtigem ELS."),
    ("component:m365", X, -2, "non-eu", "Untersagt für vertrauliche personenbezogene Daten (US-Konzernmutter, CLOUD Act)."),
    ("component:oracle-jdk-8", X, -3, None, "Untersagt ohne Supportvertrag (Lizenzrisiko, keine Sicherheitsupdates)."),
    ("component:python-3.13", CAND, -1, None, "Kandidat für Eigenentwicklungen."),
    ("component:python-3.14", CAND, 0, None, "Kandidat für Eigenentwicklungen."),
    ("component:proxmox-ve", CAND, -1, "oss-first", "Erprobung als Alternative zu VMware vSphere."),
]

# Exceptions: component key of a retired standard, how many of its users get one, expired?
# (The first users in order of their external_id.)
EXCEPTIONS = [
    ("rhel-7", 2, False, "Hersteller liefert das Release für RHEL 9 erst im nächsten Quartal; erweiterter Support (ELS) ist gebucht."),
    ("postgresql-11", 1, False, "Migration auf PostgreSQL 17 ist für das nächste Wartungsfenster geplant."),
    ("php-7.4", 1, False, "Neuentwicklung auf aktuellem Framework läuft; bis dahin nur intern erreichbar."),
    ("windows-server-2012", 2, True, "Fachverfahren war nur für Windows Server 2012 freigegeben; Migration zugesagt."),
    ("postgresql-9.6", 1, True, "Datenbank-Upgrade sollte mit dem Releasewechsel des Herstellers erfolgen."),
]

# The application found during capability mapping without an owning team.
SHADOW_APP = {
    "external_id": "demo:app:arch-shadow-fristen",
    "name": "Fristenkontrolle Bauaufsicht (Access-Datenbank)",
    "office": "63",
    "capability": "CAP-3.1.3",
    "description": "Bei der Erhebung der Fähigkeitslandkarte gefundene Access-Datenbank zur Fristenkontrolle; kein verantwortliches Team benannt.",
}

# fmt: on

CHANGE_REASON = "architecture demo"
# Generated applications whose capability has not been mapped yet (archives, registers,
# planning and documentation tools: the mapping is work in progress, as in every city).
UNMAPPED_PREFIXES = {"Archiv", "Datenbank", "Register", "Planung", "Dokumentation"}


def _date(today: datetime.date, years: int) -> datetime.date:
    return datetime.date(today.year + years, 1, 1)


class ArchitectureDemo:
    def __init__(self, seed: int, scale: int, today: datetime.date | None):
        self.seed = seed
        self.scale = scale
        self.today = today or datetime.date.today()
        self.skipped: list[str] = []
        self.created: dict[str, int] = {}

    def count(self, name: str, n: int = 1) -> None:
        self.created[name] = self.created.get(name, 0) + n

    def architect(self):
        user = get_user_model().objects.filter(username="architect").first()
        if user is None:
            raise RuntimeError(
                "Demo user architect is missing: run cmdb.demo.build_demo_city first."
            )
        return user

    # --- lookups ----------------------------------------------------------------------------

    def load(self) -> None:
        self.components = {
            c.external_id.removeprefix("demo:component:"): c
            for c in ITComponent.objects.filter(external_id__startswith="demo:component:")
        }
        self.apps = {
            a.external_id.removeprefix("demo:app:"): a
            for a in Application.objects.filter(external_id__startswith="demo:app:")
            .select_related("owner_org_unit")
            .order_by("external_id")
        }
        self.interfaces = {
            i.external_id.removeprefix("demo:interface:"): i
            for i in Interface.objects.filter(external_id__startswith="demo:interface:")
        }

    def pick(self, table: dict, keys, kind: str) -> list:
        found = []
        for key in keys:
            if key in table:
                found.append(table[key])
            else:
                self.skipped.append(f"{kind} {key}")
        return found

    # --- capabilities -----------------------------------------------------------------------

    def build_capabilities(self, user) -> dict:
        existing = {c.code: c for c in Capability.objects.filter(code__startswith="CAP-")}
        for code, name, _offices, _keywords in CAPABILITIES:
            if code in existing:
                continue
            parent_code = code.rsplit(".", 1)[0] if "." in code else None
            existing[code] = create_capability(
                user=user, name=name, code=code, parent=existing.get(parent_code)
            )
            self.count("Capability")
        return existing

    def capability_links(self) -> list[tuple[str, str, str]]:
        """(app key, capability code, support level) in a fixed order."""
        leaves = [row for row in CAPABILITIES if row[0].count(".") == 2]
        fallback: dict[str, str] = {}
        for code, _name, offices, _keywords in leaves:
            for office in offices:
                fallback.setdefault(office, code)
        keywords = [(kw, code) for code, _n, _o, kws in leaves for kw in kws]
        keywords.sort(key=lambda pair: -len(pair[0]))  # longest first: "Förderprogramme Klima"
        links = []
        for key, app in self.apps.items():
            if key in HAND_LINKS:
                links.extend((key, code, level) for code, level in HAND_LINKS[key])
                continue
            if key.startswith("arch-"):
                continue
            code = next((c for kw, c in keywords if kw in app.name), None)
            code = code or fallback.get(app.owner_org_unit.code)
            if code is None:
                continue
            first = app.name.split(" ", 1)[0]
            if first in UNMAPPED_PREFIXES:
                continue
            if first in ("Statistik", "Auswertung"):
                level = SupportLevel.PARTIAL
            elif first in ("Fachverfahren", "Vorgangsbearbeitung"):
                level = SupportLevel.PRIMARY
            else:  # "Portal …", "… online", "… mobil"
                level = SupportLevel.SECONDARY
            links.append((key, code, level))
        return links

    def build_capability_support(self, user, capabilities: dict) -> None:
        existing = set(ApplicationCapability.objects.values_list("application_id", "capability_id"))
        for key, code, level in self.capability_links():
            app, capability = self.apps[key], capabilities[code]
            if (app.pk, capability.pk) in existing:
                continue
            set_capability_support(
                user=user, application=app, capability=capability, support_level=level
            )
            existing.add((app.pk, capability.pk))
            self.count("ApplicationCapability")

    def build_shadow_app(self, user, capabilities: dict) -> None:
        spec = SHADOW_APP
        app = Application.objects.filter(external_id=spec["external_id"]).first()
        if app is None:
            unit = OrgUnit.objects.filter(code=spec["office"]).first()
            if unit is None:
                self.skipped.append(f"org unit {spec['office']}")
                return
            app = Application(
                external_id=spec["external_id"],
                name=spec["name"],
                description=spec["description"],
                kind=ApplicationKind.OWN_DEVELOPMENT,
                owner_org_unit=unit,
                owner_team=None,
                criticality=Criticality.ADMINISTRATIVE,
                confidentiality=ProtectionNeed.HIGH,
                personal_data=True,
                hosting=Hosting.CITY_DATA_CENTRE,
                functional_fit=2,
                technical_fit=1,
                active_date=_date(self.today, -9),
                phase_out_date=_date(self.today, 1),
            )
            save_with_history(app, user, "found during capability mapping")
            self.count("Application")
        if not ApplicationCapability.objects.filter(application=app).exists():
            set_capability_support(
                user=user,
                application=app,
                capability=capabilities[spec["capability"]],
                support_level=SupportLevel.PARTIAL,
            )
            self.count("ApplicationCapability")

    # --- technology categories ------------------------------------------------------------

    def build_categories(self, user) -> dict:
        existing = {c.code: c for c in TechCategory.objects.filter(code__startswith="TC-")}
        for code, name, parent, description in CATEGORIES:
            if code in existing:
                continue
            category = TechCategory(
                code=code, name=name, parent=existing.get(parent), description=description
            )
            category._history_user = user
            category._change_reason = CHANGE_REASON
            category.save()
            existing[code] = category
            self.count("TechCategory")
        through = TechCategory.components.through
        links = set(through.objects.values_list("techcategory_id", "itcomponent_id"))
        new = []
        for key, component in sorted(self.components.items()):
            codes = [CATEGORY_BY_PRODUCT.get(component.name)] + EXTRA_CATEGORIES.get(key, [])
            for code in codes:
                if code is None:
                    continue
                pair = (existing[code].pk, component.pk)
                if pair not in links:
                    links.add(pair)
                    new.append(through(techcategory_id=pair[0], itcomponent_id=pair[1]))
        through.objects.bulk_create(new)
        self.count("TechCategory.components", len(new))
        return existing

    # --- decisions --------------------------------------------------------------------------

    def build_decisions(self, user) -> dict:
        existing = {d.title: d for d in ArchitectureDecision.objects.all()}
        decisions = {}
        for row in ADRS:
            key, title, status, years, context, decision, consequences, apps, comps, ifaces = row
            adr = existing.get(title)
            if adr is not None:
                decisions[key] = adr
                continue
            decided = datetime.date(self.today.year - years, 3, 15)
            if decided > self.today:
                decided = self.today
            initial = (
                DecisionStatus.ACCEPTED
                if status in ("accepted", "superseded", "deprecated")
                else DecisionStatus.PROPOSED
            )
            adr = record_decision(
                user=user,
                title=title,
                context=context,
                decision=decision,
                consequences=consequences,
                status=initial,
                decided_at=decided if initial == DecisionStatus.ACCEPTED else None,
                review_date=datetime.date(self.today.year + 1, 6, 30),
                applications=self.pick(self.apps, apps, "application"),
                components=self.pick(self.components, comps, "component"),
                interfaces=self.pick(self.interfaces, ifaces, "interface"),
            )
            self.count("ArchitectureDecision")
            if status == "deprecated":
                adr = deprecate_decision(adr, user=user, reason="nicht mehr angewendet")
            elif status == "rejected":
                adr = reject_decision(adr, user=user, reason="Einspruch des Datenschutzes")
            decisions[key] = adr
        # The PostgreSQL decision supersedes the Oracle one.
        old, new = decisions["oracle"], decisions["postgresql"]
        if old.status == DecisionStatus.ACCEPTED and new.supersedes_id is None:
            supersede_decision(old, new, user=user)
            decisions["oracle"].refresh_from_db()
            decisions["postgresql"].refresh_from_db()
        return decisions

    # --- tech radar -------------------------------------------------------------------------

    def build_standards(self, user, categories: dict, decisions: dict) -> dict:
        existing = {
            (s.component_id, s.category_id, s.valid_from): s
            for s in TechnologyStandard.objects.all()
        }
        standards = {}
        for subject, status, years, decision, rationale in STANDARDS:
            kind, key = subject.split(":", 1)
            if kind == "component":
                component = self.components.get(key)
                if component is None:
                    self.skipped.append(f"component {key}")
                    continue
                subject_kw = {"component": component}
                lookup = (component.pk, None)
            else:
                subject_kw = {"category": categories[key]}
                lookup = (None, categories[key].pk)
            valid_from = _date(self.today, years)
            found = existing.get((*lookup, valid_from))
            if found is None:
                found = set_standard(
                    user=user,
                    status=status,
                    valid_from=valid_from,
                    rationale=rationale,
                    decision=decisions.get(decision) if decision else None,
                    **subject_kw,
                )
                self.count("TechnologyStandard")
            if found.valid_from <= self.today:
                standards[key] = found  # the latest standard valid today
        return standards

    # --- exceptions -------------------------------------------------------------------------

    def build_exceptions(self, user, standards: dict, decisions: dict) -> None:
        decision = decisions["legacy"]
        alive = set(
            Application.objects.filter(application_alive_q(self.today)).values_list("pk", flat=True)
        )
        for key, how_many, expired, reason in EXCEPTIONS:
            standard = standards.get(key)
            if standard is None:
                self.skipped.append(f"standard for {key}")
                continue
            users = list(
                ApplicationComponent.objects.filter(
                    component=standard.component,
                    environment=Environment.PRODUCTION,
                    application_id__in=alive,
                )
                .select_related("application")
                .order_by("application__external_id", "application_id")
            )
            for use in users[:how_many]:
                app = use.application
                if StandardException.objects.filter(
                    application=app, standard=standard, decision=decision
                ).exists():
                    continue
                months = 2 if expired else 9
                exception = grant_exception(
                    user=user,
                    application=app,
                    standard=standard,
                    decision=decision,
                    reason=reason,
                    expires_on=self.today + datetime.timedelta(days=30 * months),
                    today=self.today,
                )
                self.count("StandardException")
                if expired:
                    # Simulates time passing: the exception was granted for a few months and
                    # has run out since (the service refuses an expiry date in the past).
                    StandardException.objects.filter(pk=exception.pk).update(
                        expires_on=self.today - datetime.timedelta(days=45)
                    )
                    self.count("expired exceptions")

    # --- xöv interfaces ---------------------------------------------------------------------

    def link_xoev_interfaces(self, decisions: dict) -> None:
        adr = decisions["xoev"]
        if adr.interfaces.exists():
            return
        interfaces = Interface.objects.filter(protocol=Protocol.XOEV_OSCI).order_by(
            "external_id", "pk"
        )[:6]
        adr.interfaces.add(*interfaces)

    def build(self) -> None:
        user = self.architect()
        self.load()
        capabilities = self.build_capabilities(user)
        self.build_capability_support(user, capabilities)
        self.build_shadow_app(user, capabilities)
        categories = self.build_categories(user)
        decisions = self.build_decisions(user)
        self.link_xoev_interfaces(decisions)
        standards = self.build_standards(user, categories, decisions)
        self.build_exceptions(user, standards, decisions)


COUNTED_MODELS = [
    Capability,
    ApplicationCapability,
    TechCategory,
    TechnologyStandard,
    ArchitectureDecision,
    StandardException,
]


def _totals() -> dict:
    total = {model.__name__: model.objects.count() for model in COUNTED_MODELS}
    total["TechCategory.components"] = TechCategory.components.through.objects.count()
    return total


def build_architecture_demo(
    seed: int = 1, scale: int = 1, today: datetime.date | None = None, stdout=None
) -> dict:
    """Build (or complete) the architecture demo on the demo city; returns
    `{"seed", "scale", "seconds", "created": {name: n}, "total": {name: n}, "skipped": [...]}`.
    A second run with the same seed and scale creates nothing. (The architecture data do not
    grow with `scale`: the capability map links whatever applications the city has.)"""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    started = time.perf_counter()
    demo = ArchitectureDemo(seed, scale, today)
    with transaction.atomic():
        before = _totals()
        demo.build()
        total = _totals()
    created = {name: total[name] - before[name] for name in total}
    created["Application"] = demo.created.get("Application", 0)
    created["expired exceptions"] = demo.created.get("expired exceptions", 0)
    result = {
        "seed": seed,
        "scale": scale,
        "seconds": round(time.perf_counter() - started, 2),
        "created": created,
        "total": total,
        "skipped": sorted(set(demo.skipped)),
    }
    if stdout is not None:
        stdout.write(f"Architecture demo (seed {seed}, scale {scale}) in {result['seconds']} s:\n")
        for name, count in total.items():
            stdout.write(f"  {name:<24} {count:>7}  ({created[name]} new)\n")
        for item in result["skipped"]:
            stdout.write(f"  skipped: {item}\n")
        if not sum(created.values()):
            stdout.write("Nothing to do: the architecture demo was already complete.\n")
    return result

"""The ITSM demo: a year of incidents, problems and changes on top of the demo city.

`build_itsm_demo(seed, scale)` is called after `cmdb.demo.build_demo_city` and needs what that
builds: the demo users (`admin`, `desk`, `change`), the teams with their members, the
applications with their responsibilities and interfaces, and the service catalogue. It adds:

- service levels: the default calendar and service level (`ensure_default_calendar`), a
  round-the-clock calendar with tighter targets for identity and access management and for the
  fire brigade's control centre, an extended "Bürgerservice" calendar for the registration
  office, and closing days on 24 and 31 December on the default calendar;
- incidents over the 365 days before `today` (`INCIDENTS_PER_SCALE` × scale, i.e. 2,000 at
  scale 1 and 100,000 at scale 50: incidents come from users and applications, so their number
  grows with the landscape, about 8 a year per application); opening times mostly in working
  hours; priorities mostly P3/P4; a lifecycle per incident (first-level fixes at the service
  desk, dispatch to the team that supports the application, misroutings, pending phases,
  reopenings, cancellations) whose SLA fields come from the clock functions of
  `itsm.services.sla`; a few major incidents with child incidents; the newest tickets still
  open (new, assigned, in progress, pending) as seen at the moment of the build;
- problems (`PROBLEMS_PER_SCALE` × √scale: the desk and the platforms behind the problems grow
  more slowly than the landscape): known errors with workarounds on the shared platforms
  (identity provider, directory, document management, e-mail, Citrix, ...), problems under
  investigation, resolved and closed ones, with their incidents linked;
- changes (`CHANGES_PER_SCALE` × √scale over the past year plus upcoming ones): standard changes
  from pre-approved templates, normal and emergency changes, about 10 % failed or rolled back,
  CAB approvals, risk from `itsm.services.risk.assess_risk`; upcoming changes that collide with
  each other (so that `change_conflicts` has something to show) and freeze windows around the
  turn of the year with one emergency change inside.

Texts are German, like the names and descriptions of the demo city.

Determinism: every random choice comes from a `random.Random` seeded from `seed` and the section
name. Dates are relative to `today`; the incident timeline is evaluated at `now` (the moment of
the build when `today` is the current date, else 10:00 on `today`), which only decides how far
the newest tickets have come.

Idempotency: tickets are keyed by their number (`INC-<year>-<n:06d>`, `PRB-…`, `CHG-…`,
numbered in order of opening within each calendar year; everything opens before midnight at the
start of `today`), the small catalogues by their unique names. Only missing objects are written,
and `TicketCounter` rows are raised to the highest number used, so that tickets opened later
through the services continue the sequence. A later run without an explicit `today` reuses the
date of the first run (the creation date of the demo's round-the-clock calendar): otherwise the
year boundary would move and shift the numbering, and a run a week later would add tickets.
Numbers are not reserved: a ticket opened through the services *before* the demo was built may
hold a number the demo wants, and the demo then keeps the existing ticket.

Volume rows are written in bulk (`bulk_create_with_history` with the demo `admin` as history
user and "demo data" as the reason; many-to-many rows and timeline events with plain
`bulk_create`). Change risk needs the changes and their scope in the database, so changes are
inserted first, assessed with `assess_risk`, updated, and only then given their history records
(with their many-to-many scope). `assess_risk` runs with its dependency walk served from memory
(`DependentsIndex`): in the database it costs about half a second per application at scale 50.

Measured on SQLite: scale 1 (2,000 incidents, 15,000 timeline events, 40 problems, 174 changes)
about 3 s after the demo city's 1 s; scale 50 (100,000 incidents, 757,000 events, 283 problems,
1,170 changes) about 130 s after the city's 45 s (`make bench` reports the whole `seed_demo`
time). A second run takes well under a second at scale 1 (it plans everything again, and
simulates only the major incidents that changes refer to).
"""

# ruff: noqa: E501  (the catalogues below are tables: one row per line reads better)

import datetime
import itertools
import math
import random
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from simple_history.models import HistoricalRecords

from cmdb.choices import LIFECYCLE_DATE_FIELDS, Criticality, LifecyclePhase, ResponsibilityRole
from cmdb.demo import BATCH_SIZE, CHANGE_REASON, Writer, weighted
from cmdb.graph import GraphNode
from cmdb.models import (
    Application,
    ApplicationComponent,
    InterfaceConsumer,
    Responsibility,
    Service,
    Team,
)
from itsm.choices import (
    ApprovalDecision,
    ChangeOutcome,
    ChangeRisk,
    ChangeState,
    ChangeType,
    IncidentEventKind,
    IncidentState,
    PendingReason,
    Priority,
    ProblemState,
    ResolutionCode,
)
from itsm.models import (
    BusinessCalendar,
    Change,
    ChangeApproval,
    ChangeTemplate,
    ClosingDay,
    FreezeWindow,
    Incident,
    IncidentCategory,
    IncidentEvent,
    Problem,
    ServiceLevel,
    ServiceLevelTarget,
    TicketCounter,
    WorkingHours,
)
from itsm.services import sla
from itsm.services.risk import assess_risk, exceeds

INCIDENTS_PER_SCALE = 2000
PROBLEMS_PER_SCALE = 40
CHANGES_PER_SCALE = 150
UPCOMING_CHANGES_PER_SCALE = 14
MAJOR_INCIDENTS_PER_SCALE = 8
HISTORY_DAYS = 365
FAILURE_SHARE = 0.1  # of the implemented changes without a fixed outcome
AUTO_CLOSE_BUSINESS_DAYS = 5  # as `close_resolved_incidents` does by default

T = datetime.time
UTC = datetime.UTC
S = IncidentState
C = IncidentCategory
R = ResolutionCode
MC = Criticality.MISSION_CRITICAL
BC = Criticality.BUSINESS_CRITICAL
BO = Criticality.BUSINESS_OPERATIONAL
AD = Criticality.ADMINISTRATIVE

# --------------------------------------------------------------------------------------------
# Catalogues
# --------------------------------------------------------------------------------------------
# fmt: off

ROUND_THE_CLOCK = "Rund um die Uhr"
CALENDARS = [
    # name, weekday → [(start, end)] (end 00:00 = midnight at the end of the day)
    (ROUND_THE_CLOCK, {day: [(T(0, 0), T(0, 0))] for day in range(7)}),
    ("Bürgerservice", {**{day: [(T(7, 0), T(18, 0))] for day in range(5)}, 5: [(T(8, 0), T(12, 0))]}),
]

# service code, service level name, calendar, {priority: (response, resolution)} business minutes
SERVICE_LEVELS = [
    ("TS-02", "Identitäts- und Zugriffsverwaltung (7×24)", ROUND_THE_CLOCK,
     {"p1": (15, 120), "p2": (30, 240), "p3": (60, 960), "p4": (240, 2880)}),
    ("BS-19", "Gefahrenabwehr und Rettungsdienst (7×24)", ROUND_THE_CLOCK,
     {"p1": (10, 60), "p2": (15, 180), "p3": (60, 720), "p4": (240, 2880)}),
    ("BS-01", "Meldewesen (Bürgerservice)", "Bürgerservice",
     {"p1": (15, 180), "p2": (30, 360), "p3": (60, 960), "p4": (240, 1920)}),
]

DESK = "Service Desk"

# Incident kinds: weight, service code, resolver team (None: the application's team)
INCIDENT_KINDS = [("workplace", 18), ("access", 16), ("mail", 8), ("network", 5), ("app", 53)]
KIND_SETUP = {
    "workplace": ("TS-03", "Workplace Services", [("citrix", 3), ("m365", 2), ("nextcloud", 1)]),
    "access": ("TS-02", "Identity & Access", [("active-directory", 6), ("keycloak", 4)]),
    "mail": ("TS-01", "Workplace Services", [("exchange", 6), ("m365", 4)]),
    "network": ("TS-10", "Network", [("telefonie", 1)]),
    "app": (None, None, []),
}
# route: desk (first-level fix), direct (dispatched to the resolver), escalate (desk tries,
# then the resolver), misroute (a wrong team first)
ROUTES = {
    "workplace": [("desk", 40), ("direct", 45), ("escalate", 10), ("misroute", 5)],
    "access": [("desk", 55), ("direct", 35), ("escalate", 5), ("misroute", 5)],
    "mail": [("desk", 30), ("direct", 55), ("escalate", 10), ("misroute", 5)],
    "network": [("desk", 10), ("direct", 80), ("misroute", 10)],
    "app": [("desk", 15), ("direct", 60), ("escalate", 15), ("misroute", 10)],
}
MISROUTE_TEAMS = ["Application Operations", "Workplace Services", "Infrastructure Operations", "Network", "Database Operations"]

# Shared platforms get more incidents than their criticality alone suggests.
PLATFORM_WEIGHT = {
    "keycloak": 3, "active-directory": 2, "dvelop": 4, "exchange": 2, "m365": 2, "citrix": 3,
    "webmethods": 2, "serviceportal": 3, "sap-fi": 3, "ok-ewo": 3, "epaybl": 2, "nextcloud": 2,
    "arcgis": 2, "enaio": 2, "open-prosoz": 2, "probaug": 2, "kfz": 2, "telefonie": 1,
}
CRITICALITY_WEIGHT = {MC: 6, BC: 4, BO: 2, AD: 1}

ROOMS = ["Rathaus, Zimmer 2.14", "Technisches Rathaus, 3. OG", "Bürgerbüro Nord", "Außenstelle Weststadt", "Feuerwache 1", "Stadtbibliothek, Ausleihe", "Verwaltungsgebäude Marktplatz, EG", "Bauhof, Werkstatt"]
SOFTWARE = ["Adobe Acrobat Pro", "QGIS", "Microsoft Visio", "Notepad++", "PDF24", "Greenshot", "Microsoft Project"]
SITES = ["Bauhof", "Feuerwache Süd", "Bürgerbüro Ost", "Friedhofsverwaltung", "Kläranlage", "Musikschule"]
CALLERS_WITHOUT_ACCOUNT = ["Hausmeister Grundschule am Park", "Praktikantin Bürgerbüro", "Externer Dienstleister Gebäudereinigung", "Ratsmitglied (Fraktionsgeschäftsstelle)", "Auszubildender Bauhof"]

# title, description, resolution notes, category, resolution code
TICKETS = {
    "workplace": [
        ("Drucker druckt nicht", "Der Etagendrucker ({room}) zeigt „Offline“ an, Druckaufträge bleiben in der Warteschlange.", "Druckerwarteschlange geleert und Treiber neu zugewiesen; Testdruck erfolgreich.", C.HARDWARE, R.SOLVED_PERMANENTLY),
        ("Laptop startet nicht mehr", "Das Notebook bleibt beim Start mit schwarzem Bildschirm hängen.", "Gerät getauscht, Daten aus dem Home-Laufwerk wiederhergestellt.", C.HARDWARE, R.SOLVED_PERMANENTLY),
        ("Zweiter Monitor wird nicht erkannt", "An der Dockingstation wird nur ein Bildschirm angezeigt.", "Firmware der Dockingstation aktualisiert; beide Monitore funktionieren.", C.HARDWARE, R.SOLVED_PERMANENTLY),
        ("Citrix-Sitzung friert ein", "Die Citrix-Sitzung reagiert nach einigen Minuten nicht mehr, nur Abmelden hilft.", "Hängende Sitzung auf dem Server beendet und Benutzerprofil zurückgesetzt.", C.SOFTWARE, R.SOLVED_PERMANENTLY),
        ("Softwareinstallation benötigt: {software}", "Für die Sachbearbeitung wird {software} benötigt; die Genehmigung der Amtsleitung liegt vor.", "{software} über die Softwareverteilung bereitgestellt.", C.INQUIRY, R.SOLVED_PERMANENTLY),
        ("VPN-Verbindung im Homeoffice bricht ab", "Die VPN-Verbindung trennt sich alle paar Minuten, Fachverfahren sind dann nicht erreichbar.", "VPN-Client aktualisiert; Verbindung seitdem stabil.", C.NETWORK, R.SOLVED_PERMANENTLY),
        ("Scanner legt Dokumente nicht in der Ablage ab", "Gescannte Dokumente kommen im Scan-Ordner nicht an.", "Scan-to-Folder-Ziel neu eingerichtet.", C.HARDWARE, R.SOLVED_PERMANENTLY),
        ("Headset wird in Videokonferenzen nicht erkannt", "Im Webex-Meeting ist kein Ton zu hören, das Headset wird nicht angeboten.", "Audiotreiber aktualisiert und Standardgerät gesetzt.", C.HARDWARE, R.USER_INSTRUCTION),
        ("Netzlaufwerk H: nicht verbunden", "Nach der Anmeldung fehlt das persönliche Laufwerk H:.", "Anmeldeskript korrigiert, Laufwerk wieder verbunden.", C.SOFTWARE, R.SOLVED_PERMANENTLY),
        ("Bildschirm flackert", "Der Monitor flackert in unregelmäßigen Abständen.", "Monitor ausgetauscht.", C.HARDWARE, R.SOLVED_PERMANENTLY),
    ],
    "access": [
        ("Konto gesperrt nach Passwortablauf", "Nach Ablauf des Passworts ist keine Anmeldung mehr möglich, das Konto ist gesperrt.", "Konto entsperrt und Passwort zurückgesetzt; Anwenderin zur Passwortänderung angeleitet.", C.ACCESS, R.SOLVED_PERMANENTLY),
        ("Passwort vergessen", "Der Anrufer hat sein Passwort nach dem Urlaub vergessen.", "Identität per Rückruf geprüft, Passwort zurückgesetzt.", C.ACCESS, R.SOLVED_PERMANENTLY),
        ("Anmeldung an {target} nicht möglich", "Beim Anmelden an {target} erscheint „Ungültige Anmeldedaten“, obwohl die Windows-Anmeldung funktioniert.", "Gruppenmitgliedschaft im Active Directory korrigiert; Anmeldung funktioniert.", C.ACCESS, R.SOLVED_PERMANENTLY),
        ("Berechtigung für {target} fehlt", "Nach dem Wechsel der Abteilung fehlen die Rechte für {target}.", "Rolle gemäß genehmigtem Berechtigungsantrag zugewiesen.", C.ACCESS, R.SOLVED_PERMANENTLY),
        ("Neue Mitarbeiterin benötigt Zugang zu {target}", "Zum Dienstantritt am Montag wird ein Zugang zu {target} benötigt.", "Zugang eingerichtet, Zugangsdaten an die Amtsleitung übermittelt.", C.INQUIRY, R.SOLVED_PERMANENTLY),
        ("Zweiter Faktor verloren", "Das Diensthandy mit der Authenticator-App wurde getauscht, die Anmeldung fordert den alten Faktor.", "Zweiten Faktor zurückgesetzt und neu registriert.", C.ACCESS, R.SOLVED_PERMANENTLY),
        ("Single Sign-on fragt wiederholt nach dem Passwort", "Beim Öffnen von {target} wird immer wieder das Passwort abgefragt.", "Browser-Cache und Kerberos-Tickets bereinigt; SSO funktioniert.", C.ACCESS, R.USER_INSTRUCTION),
    ],
    "mail": [
        ("Postfach voll", "Es können keine E-Mails mehr gesendet werden, das Postfach ist voll.", "Postfachgröße erhöht und Archivierungsregel eingerichtet.", C.SOFTWARE, R.SOLVED_PERMANENTLY),
        ("Kalenderfreigabe funktioniert nicht", "Die Vertretung sieht den Kalender der Amtsleitung nicht.", "Stellvertretungsrechte neu gesetzt.", C.SOFTWARE, R.SOLVED_PERMANENTLY),
        ("E-Mails an externe Empfänger werden nicht zugestellt", "E-Mails an ein Ingenieurbüro kommen mit Unzustellbarkeitsbericht zurück.", "Empfängerdomäne stand auf einer Sperrliste; Eintrag entfernt.", C.SOFTWARE, R.SOLVED_PERMANENTLY),
        ("Funktionspostfach wird nicht angezeigt", "Das Funktionspostfach des Amtes erscheint nicht mehr in Outlook.", "Automapping-Berechtigung neu vergeben.", C.SOFTWARE, R.SOLVED_PERMANENTLY),
        ("Outlook startet nur im abgesicherten Modus", "Outlook stürzt beim Start ab und bietet nur den abgesicherten Modus an.", "Fehlerhaftes Add-in deaktiviert, Profil neu angelegt.", C.SOFTWARE, R.SOLVED_PERMANENTLY),
        ("Abwesenheitsnotiz lässt sich nicht einschalten", "Beim Einschalten der Abwesenheitsnotiz erscheint ein Serverfehler.", "Einstellung über Outlook im Web gesetzt; Anwender angeleitet.", C.SOFTWARE, R.USER_INSTRUCTION),
    ],
    "network": [
        ("Telefon ohne Freizeichen", "Das Tischtelefon ({room}) hat kein Freizeichen.", "Telefon neu registriert, Port am Switch aktiviert.", C.NETWORK, R.SOLVED_PERMANENTLY),
        ("Netzwerkdose ohne Verbindung", "Nach dem Umzug ins Büro {room} gibt es an der Netzwerkdose keine Verbindung.", "Dose gepatcht und VLAN zugewiesen.", C.NETWORK, R.SOLVED_PERMANENTLY),
        ("WLAN im Sitzungssaal instabil", "Während der Ausschusssitzung bricht das WLAN mehrfach ab.", "Access Point ausgetauscht.", C.NETWORK, R.SOLVED_PERMANENTLY),
        ("Außenstelle {site}: Verbindung sehr langsam", "Fachverfahren laden an der Außenstelle {site} extrem langsam.", "Überlastete Standleitung: Bandbreite beim Provider erhöht.", C.NETWORK, R.SOLVED_PERMANENTLY),
        ("Anrufweiterleitung funktioniert nicht", "Anrufe werden trotz eingerichteter Weiterleitung nicht umgeleitet.", "Weiterleitungsprofil in der Telefonanlage korrigiert.", C.NETWORK, R.SOLVED_PERMANENTLY),
    ],
    "app": [
        ("{app}: Fehlermeldung beim Speichern eines Vorgangs", "Beim Speichern erscheint eine Fehlermeldung mit Code 500, der Vorgang bleibt ungespeichert.", "Fehlerhaften Datensatz bereinigt, Speichern wieder möglich.", C.SOFTWARE, R.SOLVED_PERMANENTLY),
        ("{app} reagiert sehr langsam", "Seit heute Morgen dauert jeder Seitenwechsel in {app} mehr als 30 Sekunden.", "Anwendungsserver neu gestartet, Speicherauslastung wieder normal.", C.SOFTWARE, R.SOLVED_PERMANENTLY),
        ("{app}: Bescheiddruck schlägt fehl", "Beim Druck von Bescheiden bricht {app} mit einem Vorlagenfehler ab.", "Druckvorlage repariert und neu eingespielt.", C.SOFTWARE, R.SOLVED_PERMANENTLY),
        ("{app} nicht erreichbar", "{app} lässt sich nicht aufrufen, der Browser meldet eine Zeitüberschreitung.", "Dienst neu gestartet; Anwendung wieder erreichbar.", C.SOFTWARE, R.SOLVED_PERMANENTLY),
        ("{app}: Daten aus der Schnittstelle fehlen", "Die nächtliche Datenübernahme ist nicht in {app} angekommen.", "Schnittstellenlauf manuell nachgeholt; Daten vollständig.", C.DATA, R.SOLVED_PERMANENTLY),
        ("{app}: Berechnung im Bescheid falsch", "Im Bescheid wird ein falscher Betrag ausgewiesen.", "Parametertabelle korrigiert, betroffene Bescheide neu berechnet.", C.DATA, R.SOLVED_PERMANENTLY),
        ("Frage zur Bedienung von {app}", "Wie kann in {app} ein abgeschlossener Vorgang wieder geöffnet werden?", "Vorgehen telefonisch erklärt und Anleitung zugesandt.", C.INQUIRY, R.USER_INSTRUCTION),
        ("{app}: Export nach Excel bricht ab", "Der Export von Auswertungen bricht ohne Meldung ab.", "Exportgrenze angehoben; Export funktioniert.", C.SOFTWARE, R.SOLVED_PERMANENTLY),
        ("{app}: Zertifikatswarnung beim Aufruf", "Der Browser warnt beim Aufruf von {app} vor einem unsicheren Zertifikat.", "Zertifikatskette im Browserprofil aktualisiert.", C.SECURITY, R.SOLVED_PERMANENTLY),
        ("{app}: Vorgang lässt sich nicht abschließen", "Der Abschluss-Button bleibt ausgegraut, obwohl alle Pflichtfelder gefüllt sind.", "Fehlender Statuswert in den Stammdaten ergänzt.", C.SOFTWARE, R.SOLVED_PERMANENTLY),
        ("{app}: Suche liefert keine Treffer", "Die Suche nach Aktenzeichen findet auch vorhandene Vorgänge nicht.", "Suchindex neu aufgebaut.", C.SOFTWARE, R.SOLVED_PERMANENTLY),
        ("{app}: Verdächtige Anmeldeversuche", "Die Anwenderin hat eine Benachrichtigung über Anmeldeversuche aus dem Ausland erhalten.", "Konto vorsorglich gesperrt und Passwort zurückgesetzt; keine Kompromittierung festgestellt.", C.SECURITY, R.SOLVED_PERMANENTLY),
    ],
}

PENDING_NOTES = {
    PendingReason.AWAITING_CALLER: ["Rückfrage an den Anrufer: Bitte einen Screenshot der Fehlermeldung senden.", "Termin für die Fernwartung mit der Anwenderin vereinbart.", "Warten auf Rückmeldung, ob der Fehler nach dem Neustart weiterhin auftritt."],
    PendingReason.AWAITING_VENDOR: ["Störung beim Hersteller gemeldet, Hotfix angefragt.", "Ticket beim kommunalen IT-Dienstleister eröffnet.", "Hersteller analysiert die übermittelten Protokolle."],
    PendingReason.AWAITING_CHANGE: ["Behebung erfordert einen Change; Umsetzung im nächsten Wartungsfenster."],
    PendingReason.AWAITING_PROBLEM: ["Ursache wird im Problem {problem} untersucht."],
}
AGENT_COMMENTS = ["Wir haben Ihre Meldung erhalten und prüfen den Sachverhalt.", "Seit wann tritt der Fehler auf, und sind Kolleginnen und Kollegen ebenfalls betroffen?", "Bitte melden Sie sich einmal ab und wieder an und versuchen Sie es erneut.", "Wir melden uns, sobald wir Neues wissen."]
CALLER_COMMENTS = ["Der Fehler tritt weiterhin auf.", "Screenshot anbei.", "Danke, ich probiere es aus.", "Es betrifft inzwischen das ganze Sachgebiet."]
WORK_NOTES = ["Logdateien geprüft: Fehler im Anwendungsserver protokolliert.", "Mit der Fachbetreuung abgestimmt.", "Fernwartung durchgeführt, Fehler nachgestellt.", "KEDB geprüft, kein passender bekannter Fehler.", "Testsystem zeigt das gleiche Verhalten."]
REOPEN_REASONS = ["Fehler tritt erneut auf.", "Die Lösung funktioniert nur teilweise.", "Nach dem Neustart wieder derselbe Fehler."]
CANCEL_REASONS = ["Doppelt erfasst.", "Die Anruferin hat das Problem selbst gelöst, bevor wir uns melden konnten.", "Irrtümlich angelegt."]
NOT_REPRODUCIBLE = "Fehler trat bei der Prüfung nicht mehr auf; der Anrufer meldet sich bei erneutem Auftreten."
DUPLICATE = "Bereits unter einer anderen Meldung erfasst; dort weiterbearbeitet."

# app key, title, description, resolution, child title, resolved by an emergency change
MAJORS = [
    ("keycloak", "Großstörung: Anmeldung über Keycloak für angebundene Verfahren gestört", "Seit {time} schlagen Anmeldungen über den zentralen Identitätsanbieter fehl. Betroffen sind das Serviceportal und zahlreiche Fachverfahren.", "Datenbankverbindungspool des Keycloak-Clusters erschöpft; Cluster neu gestartet und Pool vergrößert.", "Anmeldung an {app} nicht möglich", False),
    ("dvelop", "Großstörung: E-Akte (d.velop) nicht verfügbar", "Seit {time} lassen sich in der E-Akte keine Dokumente öffnen oder ablegen.", "Dokumentenspeicher vollgelaufen; Volume erweitert und Dienste neu gestartet.", "E-Akte: Dokumente lassen sich nicht öffnen", False),
    ("exchange", "Großstörung: Keine E-Mail-Zustellung", "Seit {time} werden keine E-Mails zugestellt, weder intern noch extern.", "Transportdienst nach fehlgeschlagenem Sicherheitsupdate hängen geblieben; Update per Notfall-Change zurückgenommen.", "Keine E-Mails seit heute Morgen", True),
    ("serviceportal", "Großstörung: Serviceportal nicht erreichbar", "Seit {time} ist das Serviceportal für Bürgerinnen und Bürger nicht erreichbar; Onlinedienste und Nutzerkonto sind betroffen.", "Abgelaufenes TLS-Zertifikat am Loadbalancer per Notfall-Change erneuert.", "Bürgeranfrage: Onlinedienst nicht erreichbar", True),
    ("telefonie", "Großstörung: Telefonanlage Rathaus ausgefallen", "Seit {time} sind im Rathaus keine ein- und ausgehenden Anrufe möglich.", "Defekte Netzteilkarte im Media Gateway getauscht.", "Telefon ohne Freizeichen", False),
    ("citrix", "Großstörung: Citrix-Anmeldung für alle Nutzenden gestört", "Seit {time} können keine Citrix-Sitzungen gestartet werden.", "Zertifikat des Lizenzservers abgelaufen; per Notfall-Change erneuert.", "Citrix-Anmeldung schlägt fehl", True),
    ("ok-ewo", "Großstörung: Einwohnermeldewesen OK.EWO nicht verfügbar", "Seit {time} ist OK.EWO nicht erreichbar; die Bürgerbüros können keine Anliegen bearbeiten.", "Störung im Rechenzentrum des kommunalen IT-Dienstleisters; Failover auf das Ausweichrechenzentrum durchgeführt.", "Bürgerbüro: Meldeverfahren nicht erreichbar", False),
    ("active-directory", "Großstörung: Anmeldung an den Arbeitsplätzen dauert sehr lange", "Seit {time} dauert die Anmeldung an den Arbeitsplätzen mehrere Minuten; Fachverfahren melden Zeitüberschreitungen.", "Replikationsfehler eines Domain Controllers behoben; Controller neu synchronisiert.", "Anmeldung am PC dauert mehrere Minuten", False),
]
MAJOR_NOTES = ["Major Incident ausgerufen; Krisenkommunikation an alle Ämter versandt.", "Hersteller und Rechenzentrum eingebunden; Analyse läuft.", "Ursache eingegrenzt, Behebung wird vorbereitet."]
MAJOR_UPDATES = ["Störungsmeldung: Die Störung ist bekannt, wir arbeiten mit Hochdruck an der Behebung.", "Zwischenstand: Ursache gefunden, Behebung läuft. Nächste Information in 30 Minuten."]

KE, INV, RES, CLO, NEW = ProblemState.KNOWN_ERROR, ProblemState.INVESTIGATING, ProblemState.RESOLVED, ProblemState.CLOSED, ProblemState.NEW

# app keys, state, title, description, root cause, workaround, symptom (incident title), category
PROBLEMS = [
    (["keycloak"], KE, "Keycloak: Sitzungen laufen nach Token-Erneuerung vorzeitig ab", "Nutzende werden in Verfahren mit OIDC-Anbindung nach etwa 30 Minuten abgemeldet, obwohl sie aktiv arbeiten.", "Die Lebensdauer der Refresh-Tokens im Realm ist kürzer als die Sitzungsdauer der Clients; einige Clients erneuern das Token nicht rechtzeitig.", "Seite neu laden (F5): die Anmeldung erfolgt ohne erneute Passworteingabe. Für betroffene Clients ist die Leerlaufzeit vorübergehend auf 60 Minuten erhöht.", "Abmeldung nach 30 Minuten trotz Aktivität", C.ACCESS),
    (["keycloak"], KE, "SAML-Anmeldung scheitert nach Zertifikatswechsel des Identitätsanbieters", "Nach dem jährlichen Wechsel des Signaturzertifikats scheitern SAML-Anmeldungen an einzelnen Verfahren.", "Service Provider haben das neue Signaturzertifikat nicht aus den Metadaten übernommen.", "Metadaten am Service Provider manuell neu einlesen; bis dahin Anmeldung über den dokumentierten Notfallzugang.", "SAML-Anmeldung schlägt fehl", C.ACCESS),
    (["keycloak"], CLO, "Keycloak: E-Mails zum Zurücksetzen des Passworts kommen nicht an", "Externe Nutzende des Serviceportals erhalten keine E-Mail zum Zurücksetzen des Passworts.", "Die Absenderadresse war nicht im SPF-Eintrag der Domäne; Empfänger wiesen die E-Mails ab.", "Passwort durch den Service Desk nach Identitätsprüfung zurücksetzen.", "Passwort-Reset-E-Mail kommt nicht an", C.ACCESS),
    (["active-directory"], KE, "Konten werden nach Passwortänderung wiederholt gesperrt", "Nach einer Passwortänderung werden Konten innerhalb weniger Minuten erneut gesperrt.", "Alte Anmeldedaten in gespeicherten Verbindungen (Diensthandy, Netzlaufwerke, Druckerfreigaben) erzeugen Fehlversuche.", "Gespeicherte Kennwörter in der Anmeldeinformationsverwaltung und auf dem Diensthandy löschen, danach Konto entsperren.", "Konto wird immer wieder gesperrt", C.ACCESS),
    (["active-directory"], KE, "Gruppenrichtlinien werden an Außenstellen nicht angewendet", "An Außenstellen mit schmalbandiger Anbindung fehlen Laufwerkszuordnungen und Drucker.", "Langsame-Verbindung-Erkennung überspringt die Verarbeitung der Richtlinien.", "gpupdate /force ausführen und neu anmelden; bei Bedarf Laufwerk manuell verbinden.", "Laufwerke und Drucker fehlen an der Außenstelle", C.NETWORK),
    (["active-directory"], KE, "Neue Konten erst nach Stunden in Fachverfahren verfügbar", "Neu angelegte Konten können sich erst am nächsten Tag an Fachverfahren anmelden.", "Die LDAP-Synchronisation der Fachverfahren läuft nur nachts.", "Synchronisation über die Fachbetreuung manuell anstoßen.", "Neues Konto: Anmeldung an {app} nicht möglich", C.ACCESS),
    (["dvelop"], KE, "E-Akte: Dokumente öffnen sich nur schreibgeschützt", "Dokumente lassen sich nicht bearbeiten, weil sie angeblich von einer anderen Person ausgecheckt sind.", "Check-out-Sperren bleiben nach einem Abbruch der Office-Integration bestehen.", "Sperre im Kontextmenü über „Bearbeitung abbrechen“ lösen oder durch die Fachbetreuung entsperren lassen.", "E-Akte: Dokument nur schreibgeschützt", C.SOFTWARE),
    (["dvelop"], KE, "E-Akte: Volltextsuche findet neue Dokumente erst nach Stunden", "Neu abgelegte Dokumente werden in der Volltextsuche erst am Folgetag gefunden.", "Der Indexierungsdienst arbeitet die Warteschlange tagsüber nur teilweise ab.", "Über Aktenzeichen oder Dokumenteigenschaften suchen statt über den Volltext.", "E-Akte: Suche findet neue Dokumente nicht", C.SOFTWARE),
    (["dvelop"], RES, "E-Akte: Import aus der Scan-Straße bricht bei großen PDF-Dateien ab", "Große Bauakten aus der Scan-Straße werden nicht importiert.", "Das Upload-Limit des Reverse Proxy lag bei 100 MB.", "PDF-Dateien in Teile unter 80 MB aufteilen.", "E-Akte: Import großer Scans schlägt fehl", C.SOFTWARE),
    (["exchange"], KE, "Outlook: Freigegebene Kalender werden nicht synchronisiert", "Kalender von Kolleginnen, deren Postfach bereits in Microsoft 365 liegt, werden lokal nicht aktualisiert.", "In der Hybrid-Konfiguration werden Ordnerberechtigungen zwischen lokalem Exchange und Exchange Online nicht aufgelöst.", "Kalender in Outlook im Web öffnen oder beide Postfächer in dieselbe Umgebung migrieren lassen.", "Freigegebener Kalender wird nicht aktualisiert", C.SOFTWARE),
    (["exchange"], KE, "Zustellverzögerung bei E-Mails mit großen Anhängen", "E-Mails mit Anhängen über 20 MB kommen mit Stunden Verspätung an.", "Der Virenscanner am Mail-Gateway prüft große Anhänge in einer eigenen, langsamen Warteschlange.", "Große Dateien über einen Nextcloud-Freigabelink versenden.", "E-Mail mit Anhang kommt verspätet an", C.SOFTWARE),
    (["m365"], KE, "Teams-Besprechungen: Einwahl per Telefon nicht möglich", "Externe Teilnehmende können sich nicht per Telefon in Besprechungen einwählen.", "Nicht allen Organisatoren ist eine Audiokonferenz-Lizenz zugewiesen.", "Besprechung von einem Konto mit Audiokonferenz-Lizenz einladen lassen (Sekretariat).", "Telefoneinwahl in Besprechung fehlt", C.SOFTWARE),
    (["m365"], KE, "OneDrive: Synchronisation bricht bei langen Dateipfaden ab", "Die Synchronisation meldet Fehler und bleibt stehen.", "Pfade über 400 Zeichen durch tief verschachtelte Ordner aus der Altablage.", "Ordnerstruktur abflachen bzw. Dateinamen kürzen; betroffene Dateien in der Fehlerliste von OneDrive anzeigen lassen.", "OneDrive synchronisiert nicht mehr", C.SOFTWARE),
    (["citrix"], KE, "Citrix: Drucker werden in der Sitzung nicht zugeordnet", "Nach dem Start einer Citrix-Sitzung fehlen die lokalen Drucker.", "Der Universal Print Driver kollidiert mit herstellerspezifischen Treibern einzelner Modelle.", "Drucker in der Sitzung über „Geräte und Drucker“ manuell hinzufügen oder über PDF drucken.", "Citrix: Drucker fehlt in der Sitzung", C.SOFTWARE),
    (["citrix"], KE, "Citrix: Schwarzer Bildschirm beim Start veröffentlichter Anwendungen", "Veröffentlichte Anwendungen starten gelegentlich nur mit schwarzem Fenster.", "Noch offen: Verdacht auf Profil-Container, die beim Trennen nicht sauber ausgehängt werden.", "Sitzung abmelden statt trennen und Anwendung erneut starten.", "Citrix: Anwendung startet mit schwarzem Bildschirm", C.SOFTWARE),
    (["webmethods"], KE, "Integrationsplattform: Nachrichten bleiben nach Neustart in der Warteschlange", "Nach einem Neustart der Integrationsplattform werden Nachrichten nicht weitergeleitet.", "Trigger werden nach dem Neustart nicht automatisch aktiviert.", "Trigger in der Administrationsoberfläche manuell aktivieren (Betriebshandbuch Kapitel 4.2).", "{app}: Daten aus der Schnittstelle fehlen", C.DATA),
    (["serviceportal"], KE, "Serviceportal: Hochladen von Nachweisen auf Mobilgeräten schlägt fehl", "Bürgerinnen und Bürger können Fotos von Nachweisen auf dem Smartphone nicht hochladen.", "HEIC-Fotos von iOS-Geräten werden nicht in PDF umgewandelt.", "Fotos als JPG speichern bzw. einen Screenshot hochladen; die Sachbearbeitung nimmt Nachweise auch per E-Mail an.", "Bürgeranfrage: Upload im Serviceportal schlägt fehl", C.SOFTWARE),
    (["epaybl", "sap-fi"], KE, "ePayBL: Zahlungen werden doppelt verbucht", "Einzelne Online-Zahlungen erscheinen doppelt in der Finanzbuchhaltung.", "Bei einer Zeitüberschreitung wiederholt der Zahlungsverkehrsprovider die Bestätigung.", "Doppelte Buchungen über die Liste „ePayBL-Duplikate“ in SAP stornieren.", "Online-Zahlung doppelt verbucht", C.DATA),
    (["nextcloud"], RES, "Nextcloud: Freigabelinks für Externe laufen sofort ab", "Freigabelinks für externe Partner sind direkt nach dem Erstellen ungültig.", "Nach dem Update stand das Standard-Ablaufdatum auf 0 Tage.", "Ablaufdatum beim Erstellen des Links manuell setzen.", "Nextcloud-Freigabelink ungültig", C.SOFTWARE),
    (["telefonie"], KE, "Telefonie: Anrufe auf Sammelrufnummern brechen nach 30 Sekunden ab", "Anrufe auf die Sammelrufnummern der Bürgerbüros brechen nach etwa 30 Sekunden ab.", "Der SIP-Session-Timer des Providers weicht von der Einstellung der Telefonanlage ab.", "Anrufende an die Direktdurchwahl verweisen; Rückruf anbieten.", "Anruf auf Sammelrufnummer bricht ab", C.NETWORK),
    (["ok-ewo", "citrix"], KE, "OK.EWO: Druck von Meldebescheinigungen in Citrix dauert minutenlang", "Der Druck von Meldebescheinigungen dauert im Bürgerbüro mehrere Minuten.", "Die Druckumleitung großer Formulare über den Citrix-Druckertreiber ist langsam.", "Bescheinigung als PDF exportieren und lokal drucken.", "OK.EWO: Druck dauert sehr lange", C.SOFTWARE),
    (["sap-fi"], KE, "SAP: Anordnungen aus Fachverfahren hängen in der Eingangsschnittstelle", "Zahlungsanordnungen aus Fachverfahren kommen nicht in der Finanzbuchhaltung an.", "Die IDoc-Verarbeitung bricht bei Sonderzeichen im Verwendungszweck ab.", "IDoc nach Korrektur des Verwendungszwecks erneut verarbeiten (Fachbetreuung Kämmerei).", "Anordnung kommt nicht in SAP an", C.DATA),
    (["probaug", "arcgis"], KE, "ProBauG: GIS-Karte im Bauantrag lädt nicht", "Die Kartenansicht im Baugenehmigungsverfahren bleibt leer.", "Der WMS-Dienst der Geodateninfrastruktur ist nach dem ArcGIS-Update unter einer neuen Adresse erreichbar.", "Karte im Geoportal öffnen und Flurstück manuell übernehmen.", "ProBauG: Karte bleibt leer", C.SOFTWARE),
    (["open-prosoz"], CLO, "OPEN/PROSOZ: Bescheide ohne Rechtsbehelfsbelehrung gedruckt", "Nach dem Update fehlt auf Bescheiden die Rechtsbehelfsbelehrung.", "Ein Textbaustein wurde beim Update nicht migriert.", "Rechtsbehelfsbelehrung als Anlage manuell beifügen.", "Bescheid ohne Rechtsbehelfsbelehrung", C.DATA),
    (["webex", "citrix"], KE, "Webex: Bildschirmfreigabe aus Citrix nicht möglich", "In Citrix-Sitzungen lässt sich der Bildschirm in Webex nicht freigeben.", "Die Webex-Optimierung für virtuelle Desktops ist nicht installiert.", "Webex im lokalen Browser statt in der Citrix-Sitzung starten.", "Webex: Bildschirmfreigabe funktioniert nicht", C.SOFTWARE),
    (["kfz"], INV, "i-Kfz: Rückfragen des KBA werden nicht angezeigt", "Rückfragen des Kraftfahrt-Bundesamts zu Online-Zulassungen erscheinen nicht in der Sachbearbeitung.", "", "", "KFZ-Zulassung: Rückfrage fehlt", C.DATA),
    (["arcgis"], INV, "ArcGIS: Kartendienste nach dem nächtlichen Neustart langsam", "Kartendienste brauchen morgens bis zu einer Minute für den ersten Aufruf.", "", "", "Kartendienst lädt sehr langsam", C.SOFTWARE),
    (["enaio"], INV, "enaio: Ablage aus Fachverfahren mit falschem Aktenzeichen", "Dokumente aus Fachverfahren landen gelegentlich in einer falschen Akte.", "", "", "enaio: Dokument in falscher Akte", C.DATA),
]

# title, description, root cause, workaround, symptom, category (for other applications)
GENERIC_PROBLEMS = [
    ("{app}: Sporadische Zeitüberschreitungen zum Monatsende", "Zum Monatsende häufen sich Zeitüberschreitungen.", "Langlaufende Auswertungen sperren Tabellen während der Sachbearbeitung.", "Auswertungen außerhalb der Kernzeit starten.", "{app} reagiert sehr langsam", C.SOFTWARE),
    ("{app}: Schnittstellenlauf bricht nachts ab", "Die nächtliche Datenübernahme bricht in unregelmäßigen Abständen ab.", "Das Zertifikat des Schnittstellenpartners wird nicht automatisch erneuert.", "Lauf morgens manuell starten (Betriebshandbuch).", "{app}: Daten aus der Schnittstelle fehlen", C.DATA),
    ("{app}: Druckvorlagen nach Update fehlerhaft", "Nach dem letzten Update sind Seitenumbrüche in Bescheiden verschoben.", "Geänderte Schriftmetrik im neuen Berichtsgenerator.", "Bescheide als PDF erzeugen und prüfen, bevor sie gedruckt werden.", "{app}: Bescheiddruck schlägt fehl", C.SOFTWARE),
    ("{app}: Speicherfehler bei Sonderzeichen in Namen", "Vorgänge mit Namen wie „Łukasz“ oder „Øster“ lassen sich nicht speichern.", "Fehlerhafte Zeichensatzkonvertierung (Latin-1 nach UTF-8) in der Datenbankschicht.", "Namen vorübergehend in Umschrift erfassen und im Bemerkungsfeld vermerken.", "{app}: Fehlermeldung beim Speichern eines Vorgangs", C.DATA),
    ("{app}: Sitzungsabbrüche bei längerer Inaktivität", "Nach einer Besprechungspause ist die Sitzung beendet und Eingaben gehen verloren.", "Leerlauf-Timeout der Firewall kürzer als das Sitzungs-Timeout der Anwendung.", "Vor Pausen speichern; Sitzung durch Neuladen erneuern.", "{app}: Sitzung wird ständig beendet", C.SOFTWARE),
]

TEMPLATES = [
    # key, name, description, implementation, back-out, test, max risk
    ("patch", "Monatliches Windows-Patching", "Einspielen der monatlichen Sicherheitsupdates (Patchday) auf den Windows-Servern einer Wartungsgruppe.",
     "1. Snapshots der virtuellen Maschinen\n2. Updates über WSUS freigeben und installieren\n3. Neustart in der festgelegten Reihenfolge\n4. Dienste und Fachverfahren prüfen",
     "Snapshot zurückspielen bzw. Update deinstallieren.", "Anmeldung und Kernfunktionen prüfen; Monitoring ohne Warnungen.", ChangeRisk.MEDIUM),
    ("cert", "Zertifikatserneuerung", "Erneuerung eines TLS-Serverzertifikats vor Ablauf.",
     "Zertifikat bei der Zertifizierungsstelle beantragen, auf Server bzw. Loadbalancer einspielen, Dienst neu laden.",
     "Altes, noch gültiges Zertifikat wieder einspielen.", "Aufruf im Browser, Zertifikatskette prüfen, Monitoring.", ChangeRisk.LOW),
    ("firewall", "Firewall-Regel (Standard)", "Freischaltung einer Verbindung gemäß genehmigtem Kommunikationsbedarf (Standardports, interne Netze).",
     "Regel im Firewall-Management anlegen, im Vier-Augen-Prinzip prüfen, aktivieren.", "Regel deaktivieren.", "Verbindungstest von der Quelle zum Ziel.", ChangeRisk.LOW),
    ("database", "Datenbank-Minor-Update", "Einspielen eines Minor-Releases (Fehler- und Sicherheitskorrekturen) einer Datenbank.",
     "Sicherung erstellen, Dienst stoppen, Pakete aktualisieren, Dienst starten.", "Vorherige Paketversion installieren, bei Bedarf Sicherung zurückspielen.", "Verbindung der Anwendung und Stichproben der Fachbetreuung.", ChangeRisk.MEDIUM),
]
TEMPLATE_SHARE = [("patch", 30), ("cert", 25), ("firewall", 25), ("database", 20)]
TEMPLATE_TEAMS = {"patch": "Infrastructure Operations", "cert": "Application Operations", "firewall": "Network", "database": "Database Operations"}

# title, description, reason
NORMAL_CHANGES = [
    ("{app}: Update auf Version {version}", "Einspielen des Hersteller-Releases mit Fehlerkorrekturen und gesetzlichen Änderungen.", "Gesetzliche Änderungen zum Stichtag; Herstellersupport nur für aktuelle Versionen."),
    ("{app}: Hotfix des Herstellers einspielen", "Einspielen eines Hotfixes für gemeldete Fehler.", "Behebt Fehler, die die Sachbearbeitung seit Wochen behindern."),
    ("{app}: Umzug auf neue Server (Windows Server 2022)", "Neuaufbau der Anwendungsserver und Umzug der Anwendung.", "Das Betriebssystem der Altserver erreicht das Supportende."),
    ("{app}: Anbindung an Keycloak (Single Sign-on)", "Umstellung der Anmeldung auf den zentralen Identitätsanbieter.", "Einheitliche Anmeldung, Abschaffung lokaler Konten."),
    ("{app}: Erweiterung der Schnittstelle", "Zusätzliche Datenfelder in der Schnittstelle gemäß neuer Version des XÖV-Standards.", "Pflichtumstellung auf die neue Standardversion."),
    ("{app}: Anpassung der Bescheidvorlagen", "Überarbeitung der Bescheidvorlagen nach Rechtsänderung.", "Rechtsänderung zum Quartalsbeginn."),
    ("{app}: Datenbank-Upgrade auf neue Hauptversion", "Upgrade der Datenbank auf die nächste Hauptversion.", "Die eingesetzte Version erreicht das Ende der Unterstützung."),
    ("{app}: Aktivierung des Moduls Online-Antrag", "Freischaltung des Online-Antrags und Anbindung an das Serviceportal.", "Umsetzung des Onlinezugangsgesetzes."),
]
EMERGENCY_CHANGES = [
    ("Notfall-Change: Sicherheitsupdate {app} (kritische Schwachstelle)", "Einspielen des Sicherheitsupdates außerhalb des regulären Wartungsfensters.", "Der Hersteller meldet eine aktiv ausgenutzte Schwachstelle (CVSS 9.8); BSI-Warnmeldung liegt vor."),
    ("Notfall-Change: Abgelaufenes Zertifikat {app} ersetzen", "Ersatz eines abgelaufenen Zertifikats.", "Das Zertifikat ist abgelaufen; die Anwendung ist für Nutzende nicht erreichbar."),
    ("Notfall-Change: Wiederherstellung {app} nach Ausfall", "Wiederherstellung der Anwendung aus der Sicherung.", "Die Anwendung ist nach einem Hardwaredefekt nicht verfügbar."),
]
NORMAL_PLANS = (
    "1. Ankündigung an die Fachbereiche\n2. Sicherung (Snapshot, Datenbank-Backup)\n3. Installation gemäß Herstelleranleitung\n4. Funktionstest durch die Fachbetreuung\n5. Freigabe",
    "Snapshot und Datenbanksicherung zurückspielen; Wiederanlauf der Vorversion in höchstens 60 Minuten.",
    "Testdrehbuch der Fachbetreuung: Anmeldung, Vorgang anlegen, Bescheid drucken, Schnittstellenlauf.",
)
EMERGENCY_PLANS = (
    "Umsetzung durch den Betrieb mit Hersteller am Telefon; Fachbereiche werden per Störungsmeldung informiert.",
    "Rückkehr zum Stand vor der Maßnahme über Snapshot.",
    "Funktionsprüfung der Kernfunktionen und Rückmeldung der betroffenen Ämter.",
)
OUTCOME_NOTES = {
    ChangeOutcome.SUCCESSFUL: ["Umsetzung wie geplant, Funktionstest erfolgreich.", "Ohne Auffälligkeiten umgesetzt.", "Umgesetzt; Fachbetreuung hat die Funktion bestätigt."],
    ChangeOutcome.FAILED: ["Update brach bei der Datenbankmigration ab; die Anwendung startete danach nur eingeschränkt. Hersteller analysiert.", "Nach der Umsetzung Fehler in der Schnittstelle; Nacharbeit am Folgetag erforderlich."],
    ChangeOutcome.ROLLED_BACK: ["Nach der Umsetzung Fehler im Bescheiddruck; Rückfall auf den Snapshot gemäß Back-out-Plan.", "Funktionstest fehlgeschlagen; Änderung zurückgenommen, neuer Termin wird abgestimmt."],
}
REVIEW_NOTES = {
    ChangeOutcome.SUCCESSFUL: "Post-Implementation-Review: Ziel erreicht, keine Störungen infolge der Änderung.",
    ChangeOutcome.FAILED: "Post-Implementation-Review: Testumgebung wich von der Produktion ab. Maßnahme: Testdaten und Konfiguration angleichen, erneuter Termin nach erfolgreichem Test.",
    ChangeOutcome.ROLLED_BACK: "Post-Implementation-Review: Back-out hat funktioniert. Maßnahme: Abnahmetest mit der Fachbetreuung vor dem nächsten Versuch.",
}
STANDARD_REVIEW = "Standard change completed as planned."

# fmt: on

DEMO_USERNAMES = ["admin", "desk", "change", "architect"]
MONTHS = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@contextmanager
def acting_as(user):
    """Attribute history records of saves that do not set `_history_user` (such as those in
    `sla.ensure_default_calendar`) to `user`, as the history middleware does for requests."""
    context = HistoricalRecords.context
    previous = getattr(context, "request", None)
    context.request = SimpleNamespace(user=user)
    try:
        yield
    finally:
        if previous is None:
            del context.request
        else:
            context.request = previous


class _Targets:
    """`service_level.targets.filter(priority=…).first()` without a query."""

    def __init__(self, by_priority: dict):
        self.by_priority = by_priority

    def filter(self, priority):
        return SimpleNamespace(first=lambda: self.by_priority.get(priority))


@dataclass
class Level:
    """A service level in memory: what the SLA clock reads, with the calendar as a Schedule."""

    pk: int
    calendar: sla.Schedule
    targets: _Targets


@dataclass
class Clock:
    """The SLA fields of an incident, driven by the clock functions of `itsm.services.sla`
    (they work on any incident-like object) and copied onto the Incident afterwards. A real
    Incident cannot carry the in-memory service level, and with a real one the clock functions
    would query the database on every call."""

    priority: str
    opened_at: datetime.datetime
    service_level: Level
    service: object = None
    response_due: datetime.datetime | None = None
    resolution_due: datetime.datetime | None = None
    responded_at: datetime.datetime | None = None
    resolved_at: datetime.datetime | None = None
    paused_since: datetime.datetime | None = None
    paused_minutes: int = 0
    response_minutes: int | None = None
    resolution_minutes: int | None = None
    response_breached: bool = False
    resolution_breached: bool = False

    SLA_FIELDS = (
        "response_due",
        "resolution_due",
        "responded_at",
        "resolved_at",
        "paused_since",
        "paused_minutes",
        "response_minutes",
        "resolution_minutes",
        "response_breached",
        "resolution_breached",
    )


@dataclass
class AppInfo:
    pk: int
    key: str
    name: str
    criticality: str
    owner_team_id: int
    owner_org_unit_id: int
    start: datetime.date | None
    end: datetime.date | None
    hand: bool

    def alive(self, day: datetime.date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or self.end > day)


@dataclass
class IncidentPlan:
    opened_at: datetime.datetime
    kind: str
    title: str
    description: str
    resolution: str
    category: str
    code: str
    impact: str
    urgency: str
    priority: str
    service_id: int | None
    app_ids: list
    resolver_id: int
    route: str
    caller_id: int | None = None
    caller_name: str = ""
    org_unit_id: int | None = None
    number: str = ""
    is_major: bool = False
    parent: "IncidentPlan | None" = None
    children: list = field(default_factory=list)
    problem: "ProblemPlan | None" = None
    by_change: bool = False
    forced: str | None = None
    long_pending: bool = False
    # filled in by the simulation
    resolved_final: datetime.datetime | None = None
    closed_final: datetime.datetime | None = None
    first_team_id: int | None = None
    first_assignee_id: int | None = None


@dataclass
class ProblemPlan:
    app_keys: list
    state: str
    title: str
    description: str
    root_cause: str
    workaround: str
    symptom: str
    category: str
    opened_at: datetime.datetime
    known_at: datetime.datetime | None = None
    resolved_at: datetime.datetime | None = None
    closed_at: datetime.datetime | None = None
    number: str = ""
    fix_change: "ChangePlan | None" = None
    incidents: list = field(default_factory=list)


@dataclass
class ChangePlan:
    requested_at: datetime.datetime
    title: str
    description: str
    reason: str
    change_type: str
    template: str | None
    app_ids: list
    owner_team_id: int
    planned_start: datetime.datetime
    planned_end: datetime.datetime
    phase: str  # done, cancelled, rejected, draft, assessment, authorization, scheduled
    component_ids: list = field(default_factory=list)
    outcome: str | None = None
    freeze_override_reason: str = ""
    number: str = ""
    plans: tuple = ("", "", "")


class DependentsIndex:
    """`cmdb.graph.dependents(app, None, as_of)` answered from memory.

    `assess_risk` walks the whole dependency graph for every affected application; on the
    demo city at scale 50 (12,500 applications, where nearly every application reaches all
    others) one walk in the database takes about half a second, and the demo assesses a
    thousand changes. This index loads the edges once and walks them with numpy; it follows
    `cmdb.graph._edges_sql` (an edge is alive when its interface and both applications are)
    and `cmdb.lifecycle.application_alive_q` exactly, which a test checks against the SQL walk.
    Only the unlimited walk that risk needs is served, as one node per application (created
    once: a walk at scale 50 returns 12,500 of them) with depth and path left empty.
    """

    NULL = -1

    def __init__(self):
        fields = [name for _phase, name in LIFECYCLE_DATE_FIELDS]
        self.phases = [LifecyclePhase(phase) for phase, _name in LIFECYCLE_DATE_FIELDS]
        rows = list(Application.objects.order_by("pk").values_list("pk", *fields))
        self.ids = np.array([row[0] for row in rows], dtype=np.int64)
        self.position = {pk: i for i, pk in enumerate(self.ids.tolist())}
        self.nodes = [GraphNode(application_id=pk, depth=0) for pk in self.ids.tolist()]
        self.dates = np.array(
            [[self.ordinal(value) for value in row[1:]] for row in rows], dtype=np.int64
        ).reshape(len(rows), len(fields))
        edges = list(
            InterfaceConsumer.objects.values_list(
                "consumer_id", "provider_id", "interface__active_from", "interface__end_of_life"
            )
        )
        self.consumer = np.array([self.position[e[0]] for e in edges], dtype=np.int64)
        self.provider = np.array([self.position[e[1]] for e in edges], dtype=np.int64)
        self.active_from = np.array([self.ordinal(e[2]) for e in edges], dtype=np.int64)
        self.end_of_life = np.array([self.ordinal(e[3]) for e in edges], dtype=np.int64)
        self.cached = {}  # the graph of one date at a time

    @classmethod
    def ordinal(cls, day) -> int:
        return day.toordinal() if day is not None else cls.NULL

    def alive_apps(self, on: int):
        """`application_alive_q`: in phase-in, active or phase-out on `on`, or no dates."""
        dates, null = self.dates, self.dates == self.NULL
        alive = null.all(axis=1)
        for phase in (LifecyclePhase.PHASE_IN, LifecyclePhase.ACTIVE, LifecyclePhase.PHASE_OUT):
            index = self.phases.index(phase)
            condition = ~null[:, index] & (dates[:, index] <= on)
            for later in range(index + 1, dates.shape[1]):
                condition &= null[:, later] | (dates[:, later] > on)
            alive |= condition
        return alive

    def graph(self, as_of):
        """Edges provider → consumer alive on `as_of` (all without a date), as CSR arrays."""
        if as_of in self.cached:
            return self.cached[as_of]
        if as_of is None:
            keep = np.ones(len(self.consumer), dtype=bool)
        else:
            on = as_of.toordinal()
            apps = self.alive_apps(on)
            keep = (
                ((self.active_from == self.NULL) | (self.active_from <= on))
                & ((self.end_of_life == self.NULL) | (self.end_of_life > on))
                & apps[self.consumer]
                & apps[self.provider]
            )
        providers, consumers = self.provider[keep], self.consumer[keep]
        order = np.argsort(providers, kind="stable")
        counts = np.bincount(providers, minlength=len(self.ids))
        indptr = np.concatenate(([0], np.cumsum(counts)))
        self.cached = {as_of: (indptr, consumers[order])}
        return self.cached[as_of]

    def dependents(self, app, depth=None, as_of=None):
        if depth is not None:
            raise NotImplementedError("only the unlimited walk is served from memory")
        start = self.position.get(app.pk if isinstance(app, Application) else int(app))
        if start is None:
            return []
        indptr, indices = self.graph(as_of)
        seen = np.zeros(len(self.ids), dtype=bool)
        seen[start] = True
        frontier = np.array([start], dtype=np.int64)
        found, nodes = [], self.nodes
        while len(frontier):
            starts, counts = indptr[frontier], indptr[frontier + 1] - indptr[frontier]
            total = int(counts.sum())
            if not total:
                break
            offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
            frontier = np.unique(indices[offsets])
            frontier = frontier[~seen[frontier]]
            seen[frontier] = True
            found += [nodes[i] for i in frontier.tolist()]
        return found


def business_days_later(schedule: sla.Schedule, start: datetime.datetime, days: int):
    """Like `itsm.services.incidents.business_days_later`, on an in-memory schedule (in UTC:
    the same wall-clock time may not exist on the day the clocks go forward)."""
    moment = start.astimezone(schedule.zone)
    remaining = days
    while remaining > 0:
        moment += datetime.timedelta(days=1)
        if schedule.intervals(moment.date()):
            remaining -= 1
    return moment.astimezone(UTC)


def sqrt_volume(per_scale: int, scale: int) -> int:
    return round(per_scale * math.sqrt(scale))


# --------------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------------


class ItsmDemo:
    def __init__(self, seed: int, scale: int, today: datetime.date, now: datetime.datetime):
        self.seed = seed
        self.scale = scale
        self.today = today
        # Every instant is kept in UTC: aware datetimes that share a tzinfo compare by wall
        # clock, which is wrong across daylight-saving changes.
        self.now = now.astimezone(UTC)
        self.zone = timezone.get_current_timezone()
        self.cutoff = self.local(today, T(0, 0))  # everything opens before this instant
        self.numbers_used: dict[tuple[str, int], int] = defaultdict(int)

    def rng(self, section: str) -> random.Random:
        return random.Random(f"{self.seed}:itsm:{section}")

    def local(self, day: datetime.date, at: datetime.time) -> datetime.datetime:
        """The instant of a local wall-clock time, in UTC."""
        return datetime.datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)

    # --- the demo city ----------------------------------------------------------------------

    def load_city(self) -> None:
        User = get_user_model()
        self.users = {u.username: u for u in User.objects.filter(username__in=DEMO_USERNAMES)}
        missing = sorted(set(DEMO_USERNAMES) - set(self.users))
        if missing:
            raise ValueError(
                "Build the demo city first (cmdb.demo.build_demo_city): demo users "
                f"{', '.join(missing)} are missing."
            )
        self.admin = self.users["admin"]
        teams = list(Team.objects.order_by("name"))
        self.teams = {t.name: t for t in teams}
        if DESK not in self.teams:
            raise ValueError("Build the demo city first: the demo teams are missing.")
        self.team_names = {t.pk: t.name for t in teams}
        member_rows = list(Team.members.through.objects.values_list("team_id", "user_id"))
        self.usernames = dict(
            User.objects.filter(pk__in={u for _t, u in member_rows}).values_list("pk", "username")
        )
        for user in self.users.values():
            self.usernames[user.pk] = user.username
        self.members: dict[int, list[int]] = defaultdict(list)
        for team_id, user_id in member_rows:
            self.members[team_id].append(user_id)
        for team_id in self.members:
            self.members[team_id].sort(key=self.usernames.__getitem__)
        # A caller's org unit is that of their first team (by name), as open_incident does.
        self.user_unit = {}
        for team in teams:
            for user_id in self.members.get(team.pk, []):
                self.user_unit.setdefault(user_id, team.org_unit_id)
        central = {"Service Desk", "Infrastructure Operations", "Database Operations"}
        central |= {"Identity & Access", "Application Operations", "Network", "Workplace Services"}
        self.callers = sorted(
            {u for t in teams if t.name not in central for u in self.members.get(t.pk, [])},
            key=self.usernames.__getitem__,
        )
        self.callers_by_unit = defaultdict(list)
        for user_id in self.callers:
            self.callers_by_unit[self.user_unit[user_id]].append(user_id)
        self.desk_id = self.teams[DESK].pk

        apps = Application.objects.filter(external_id__startswith="demo:app:").order_by(
            "external_id"
        )
        self.apps: list[AppInfo] = []
        for row in apps.values(
            "pk",
            "external_id",
            "name",
            "criticality",
            "owner_team_id",
            "owner_org_unit_id",
            "phase_in_date",
            "active_date",
            "end_of_life_date",
        ):
            key = row["external_id"].removeprefix("demo:app:")
            self.apps.append(
                AppInfo(
                    pk=row["pk"],
                    key=key,
                    name=row["name"],
                    criticality=row["criticality"],
                    owner_team_id=row["owner_team_id"],
                    owner_org_unit_id=row["owner_org_unit_id"],
                    start=row["phase_in_date"] or row["active_date"],
                    end=row["end_of_life_date"],
                    hand=not key.isdigit(),
                )
            )
        if not self.apps:
            raise ValueError("Build the demo city first: there are no demo applications.")
        self.app_by_key = {a.key: a for a in self.apps}
        self.incident_apps = self.app_table(
            lambda a: CRITICALITY_WEIGHT[a.criticality] * PLATFORM_WEIGHT.get(a.key, 1)
        )
        self.critical_apps = self.app_table(lambda a: CRITICALITY_WEIGHT[a.criticality])
        self.any_apps = self.app_table(lambda a: 1)
        self.app_by_pk = {a.pk: a for a in self.apps}
        self.responsibilities = defaultdict(list)
        for app_id, role, team_id in (
            Responsibility.objects.filter(team__isnull=False)
            .order_by("application_id", "role", "team__name")
            .values_list("application_id", "role", "team_id")
        ):
            self.responsibilities[app_id].append((role, team_id))
        self.providers = defaultdict(set)
        self.consumers = defaultdict(set)
        for consumer, provider in InterfaceConsumer.objects.values_list(
            "consumer_id", "provider_id"
        ):
            if consumer in self.app_by_pk and provider in self.app_by_pk:
                self.providers[consumer].add(provider)
                self.consumers[provider].add(consumer)
        self.services = {}
        for service in Service.objects.order_by("code"):
            self.services[service.code] = service
        self.service_apps = defaultdict(list)
        self.app_services = defaultdict(list)
        for service_id, app_id in Service.applications.through.objects.values_list(
            "service_id", "application_id"
        ):
            self.service_apps[service_id].append(app_id)
        code_of = {s.pk: code for code, s in self.services.items()}
        for service_id, app_ids in self.service_apps.items():
            for app_id in app_ids:
                self.app_services[app_id].append(service_id)
        for app_id in self.app_services:
            # business services first, then by code
            self.app_services[app_id].sort(
                key=lambda pk: (not code_of[pk].startswith("BS"), code_of[pk])
            )
        self.app_components = defaultdict(list)
        for app_id, component_id, name in (
            ApplicationComponent.objects.filter(environment="production")
            .order_by("application_id", "component__name", "component__version")
            .values_list("application_id", "component_id", "component__name")
        ):
            self.app_components[app_id].append((component_id, name))
        self.windows_apps = [
            a
            for a in self.apps
            if a.criticality != MC
            and any("Windows Server" in n for _c, n in self.app_components[a.pk])
        ]
        self.database_uses = [
            (a, c, n)
            for a in self.apps
            for c, n in self.app_components[a.pk]
            if n in ("PostgreSQL", "Oracle Database", "Microsoft SQL Server")
        ]

    def by_key(self, ids) -> list[int]:
        """Application ids in the order of their keys (stable across databases)."""
        return sorted(ids, key=lambda pk: self.app_by_pk[pk].key)

    def member(self, rng, team_id: int, exclude=()) -> int | None:
        options = [u for u in self.members.get(team_id, []) if u not in exclude]
        return rng.choice(options) if options else None

    def team(self, name: str) -> int:
        return self.teams[name].pk

    def number(self, prefix: str, when: datetime.datetime) -> str:
        year = when.astimezone(self.zone).year
        self.numbers_used[(prefix, year)] += 1
        return f"{prefix}-{year}-{self.numbers_used[(prefix, year)]:06d}"

    # --- service levels ---------------------------------------------------------------------

    def build_service_levels(self, writer: Writer) -> None:
        with acting_as(self.admin):
            before = (
                BusinessCalendar.objects.count(),
                ServiceLevel.objects.count(),
                ServiceLevelTarget.objects.count(),
                WorkingHours.objects.count(),
            )
            default_calendar, _default_level = sla.ensure_default_calendar()
            after = (
                BusinessCalendar.objects.count(),
                ServiceLevel.objects.count(),
                ServiceLevelTarget.objects.count(),
                WorkingHours.objects.count(),
            )
        for name, b, a in zip(
            ["BusinessCalendar", "ServiceLevel", "ServiceLevelTarget", "WorkingHours"],
            before,
            after,
            strict=True,
        ):
            writer.created[name] += a - b
        calendars = {c.name: c for c in BusinessCalendar.objects.all()}
        for name, week in CALENDARS:
            calendar = calendars.get(name)
            if calendar is None:
                calendar = writer.save(BusinessCalendar(name=name))
                calendars[name] = calendar
            if not calendar.working_hours.exists():
                for weekday, intervals in week.items():
                    for start, end in intervals:
                        writer.save(
                            WorkingHours(calendar=calendar, weekday=weekday, start=start, end=end)
                        )
        levels = {sl.service_id: sl for sl in ServiceLevel.objects.all()}
        for code, name, calendar_name, targets in SERVICE_LEVELS:
            service = self.services.get(code)
            if service is None:
                continue
            level = levels.get(service.pk)
            if level is None:
                level = writer.save(
                    ServiceLevel(name=name, service=service, calendar=calendars[calendar_name])
                )
            existing = set(level.targets.values_list("priority", flat=True))
            for priority, (response, resolution) in targets.items():
                if priority not in existing:
                    writer.save(
                        ServiceLevelTarget(
                            service_level=level,
                            priority=priority,
                            response_minutes=response,
                            resolution_minutes=resolution,
                        )
                    )
        # 24 and 31 December are closing days of the city administration.
        closed = set(default_calendar.closing_days.values_list("date", flat=True))
        first_year = (self.today - datetime.timedelta(days=HISTORY_DAYS)).year
        for year in range(first_year, self.today.year + 2):
            for day, name in ((24, "Heiligabend"), (31, "Silvester")):
                date = datetime.date(year, 12, day)
                if date not in closed:
                    writer.save(ClosingDay(calendar=default_calendar, date=date, name=name))

        # In memory: every calendar as a Schedule, every service level with its targets.
        schedules = {
            c.pk: sla.schedule_for(c)
            for c in BusinessCalendar.objects.prefetch_related("working_hours", "closing_days")
        }
        self.levels = {}  # service id (None: default) → Level
        for level in ServiceLevel.objects.prefetch_related("targets"):
            self.levels[level.service_id] = Level(
                pk=level.pk,
                calendar=schedules[level.calendar_id],
                targets=_Targets({t.priority: t for t in level.targets.all()}),
            )
        self.default_schedule = schedules[default_calendar.pk]

    def level_for(self, service_id, priority):
        """Like `sla.service_level_for`: the service's own level if it has a target for the
        priority, else the default level."""
        level = self.levels.get(service_id)
        if level is not None and level.targets.by_priority.get(priority) is not None:
            return level, level.targets.by_priority[priority]
        level = self.levels[None]
        return level, level.targets.by_priority[priority]

    # --- incidents: who, what, when -----------------------------------------------------------

    def opening_days(self) -> tuple[list, list]:
        days, weights = [], []
        schedule = self.default_schedule
        for back in range(HISTORY_DAYS, 0, -1):
            day = self.today - datetime.timedelta(days=back)
            if day.weekday() >= 5:
                weight = 0.04
            elif day.month == 12 and day.day in (24, 31):
                weight = 0.15
            elif not schedule.is_working_day(day):
                weight = 0.05
            else:
                weight = {0: 1.2, 1: 1.05, 2: 1.0, 3: 1.0, 4: 0.8}[day.weekday()]
                if day.month in (7, 8) or (day.month == 12 and day.day > 24):
                    weight *= 0.75
            days.append(day)
            weights.append(weight)
        return days, weights

    def opening_time(self, rng, day: datetime.date) -> datetime.datetime:
        if day.weekday() >= 5:
            hour = rng.randint(7, 19)
        else:
            hours = [(h, 0.15) for h in range(0, 6)] + [
                (6, 1), (7, 6), (8, 14), (9, 14), (10, 12), (11, 10), (12, 6),
                (13, 9), (14, 9), (15, 7), (16, 4), (17, 2), (18, 1), (19, 1),
                (20, 0.6), (21, 0.4), (22, 0.3), (23, 0.2),
            ]  # fmt: skip
            if day.weekday() == 4:
                hours = [(h, w * 0.6 if h >= 13 else w) for h, w in hours]
            hour = weighted(rng, hours)
        moment = self.local(day, T(hour, rng.randint(0, 59), rng.randint(0, 59)))
        return moment.astimezone(UTC)

    def app_table(self, weight) -> tuple[list, list]:
        """All demo applications with cumulative weights, for repeated weighted picks (a
        landscape at scale 50 has 12,500 applications)."""
        return self.apps, list(itertools.accumulate(weight(app) for app in self.apps))

    def pick_app(self, rng, table, day) -> AppInfo:
        """A weighted pick among the applications alive on `day`."""
        apps, cumulative = table
        for _ in range(50):
            app = rng.choices(apps, cum_weights=cumulative)[0]
            if app.alive(day):
                return app
        return app

    def resolver_for(self, rng, app: AppInfo) -> int:
        support = [
            t
            for role, t in self.responsibilities[app.pk]
            if role == ResponsibilityRole.SUPPORT and t != self.desk_id
        ]
        operations = [t for role, t in self.responsibilities[app.pk] if role == ResponsibilityRole.OPERATIONS]  # fmt: skip
        options = []
        if support:
            options.append((rng.choice(support), 45))
        options.append((app.owner_team_id, 35))
        if operations:
            options.append((rng.choice(operations), 20))
        team_id = weighted(rng, options)
        if not self.members.get(team_id):
            team_id = self.team("Application Operations")
        return team_id

    def caller(self, rng, plan: IncidentPlan, app: AppInfo | None) -> None:
        roll = rng.random()
        if roll < 0.03:
            plan.caller_name = rng.choice(CALLERS_WITHOUT_ACCOUNT)
            plan.org_unit_id = self.user_unit[rng.choice(self.callers)]
            return
        if (
            app is not None
            and not app.hand
            and roll < 0.75
            and self.callers_by_unit.get(app.owner_org_unit_id)
        ):
            caller = rng.choice(self.callers_by_unit[app.owner_org_unit_id])
        else:
            caller = rng.choice(self.callers)
        plan.caller_id = caller
        plan.org_unit_id = self.user_unit[caller]

    def classify(self, rng, app: AppInfo | None) -> tuple[str, str, str]:
        impact_weights = [("high", 10), ("medium", 55), ("low", 35)]
        if app is not None and app.criticality == MC:
            impact_weights = [("high", 20), ("medium", 55), ("low", 25)]
        impact = weighted(rng, impact_weights)
        urgency = weighted(rng, [("high", 12), ("medium", 50), ("low", 38)])
        return impact, urgency, sla.priority_for(impact, urgency)

    def plan_incident(self, rng, opened_at, table) -> IncidentPlan:
        day = opened_at.astimezone(self.zone).date()
        kind = weighted(rng, INCIDENT_KINDS)
        service_code, resolver_name, platform_keys = KIND_SETUP[kind]
        app = None
        app_ids = []
        if kind != "app":
            options = [
                (k, w)
                for k, w in platform_keys
                if k in self.app_by_key and self.app_by_key[k].alive(day)
            ]
            if options:
                app = self.app_by_key[weighted(rng, options)]
                app_ids.append(app.pk)
        ticket = rng.choice(TICKETS[kind])
        title, description, resolution, category, code = ticket
        target = None
        if "{target}" in title + description + resolution or kind == "app":
            target = self.pick_app(rng, table, day)
            if target.pk not in app_ids:
                app_ids.append(target.pk)
        if kind == "app":
            app = target
            # Sometimes a shared platform it depends on is affected too.
            shared = [
                p
                for p in self.by_key(self.providers[app.pk])
                if self.app_by_pk[p].key in PLATFORM_WEIGHT
            ]
            if shared and rng.random() < 0.2:
                app_ids.append(rng.choice(shared))
        values = {
            "app": target.name if target else "",
            "target": target.name if target else "",
            "room": rng.choice(ROOMS),
            "software": rng.choice(SOFTWARE),
            "site": rng.choice(SITES),
        }
        if kind == "app":
            service_id = (self.app_services.get(app.pk) or [None])[0]
            resolver = self.resolver_for(rng, app)
        else:
            service = self.services.get(service_code)
            service_id = service.pk if service else None
            resolver = self.team(resolver_name)
        impact, urgency, priority = self.classify(rng, app)
        route = weighted(rng, ROUTES[kind])
        if kind == "app" and category == C.INQUIRY:
            route = "desk" if rng.random() < 0.6 else route
        if rng.random() < 0.10:
            code = R.NOT_REPRODUCIBLE
            resolution = NOT_REPRODUCIBLE
        elif rng.random() < 0.03:
            code = R.DUPLICATE
            resolution = DUPLICATE
        plan = IncidentPlan(
            opened_at=opened_at, kind=kind, title=title.format(**values)[:300],
            description=description.format(**values), resolution=resolution.format(**values),
            category=category, code=code, impact=impact, urgency=urgency, priority=priority,
            service_id=service_id, app_ids=app_ids, resolver_id=resolver, route=route,
        )  # fmt: skip
        self.caller(rng, plan, app)
        return plan

    def plan_majors(self, rng) -> list[IncidentPlan]:
        count = sqrt_volume(MAJOR_INCIDENTS_PER_SCALE, self.scale)
        majors = []
        backs = sorted(rng.sample(range(14, HISTORY_DAYS - 5), count), reverse=True)
        for i, back in enumerate(backs):
            key, title, description, resolution, child_title, by_change = MAJORS[i % len(MAJORS)]
            app = self.app_by_key.get(key)
            if app is None:
                continue
            day = self.today - datetime.timedelta(days=back)
            while not self.default_schedule.is_working_day(day):
                day -= datetime.timedelta(days=1)
            opened = self.local(day, T(rng.randint(7, 10), rng.randint(0, 59), rng.randint(0, 59)))
            service_id = (self.app_services.get(app.pk) or [None])[0]
            major = IncidentPlan(
                opened_at=opened, kind="major", title=title,
                description=description.format(time=f"{opened.astimezone(self.zone):%H:%M} Uhr"),
                resolution=resolution, category=C.SOFTWARE if key != "telefonie" else C.NETWORK,
                code=R.RESOLVED_BY_CHANGE if by_change else R.SOLVED_PERMANENTLY,
                impact="high", urgency="high", priority=sla.priority_for("high", "high"),
                service_id=service_id, app_ids=[app.pk], resolver_id=app.owner_team_id,
                route="direct", is_major=True, by_change=by_change,
            )  # fmt: skip
            self.caller(rng, major, None)
            consumers = [
                c for c in self.by_key(self.consumers[app.pk]) if self.app_by_pk[c].alive(day)
            ]
            for _ in range(rng.randint(3, 10)):
                child_app = (
                    self.app_by_pk[rng.choice(consumers)]
                    if "{app}" in child_title and consumers
                    else app
                )
                child = IncidentPlan(
                    opened_at=opened + datetime.timedelta(minutes=rng.randint(3, 90), seconds=rng.randint(0, 59)),
                    kind="child", title=child_title.format(app=child_app.name),
                    description=f"Meldung im Zusammenhang mit {title}.", resolution=resolution,
                    category=major.category, code=R.RESOLVED_BY_PARENT,
                    impact="medium", urgency=weighted(rng, [("high", 1), ("medium", 2)]),
                    priority="", service_id=service_id,
                    app_ids=list(dict.fromkeys([child_app.pk, app.pk])),
                    resolver_id=major.resolver_id, route="child", parent=major,
                )  # fmt: skip
                child.priority = sla.priority_for(child.impact, child.urgency)
                self.caller(rng, child, child_app)
                major.children.append(child)
            majors.append(major)
        return majors

    def plan_incidents(self) -> list[IncidentPlan]:
        rng = self.rng("incidents")
        total = INCIDENTS_PER_SCALE * self.scale
        majors = self.plan_majors(self.rng("majors"))
        children = sum(len(m.children) for m in majors)
        days, weights = self.opening_days()
        count = max(0, total - len(majors) - children)
        chosen = rng.choices(days, weights, k=count)
        table = self.incident_apps
        plans = [self.plan_incident(rng, self.opening_time(rng, day), table) for day in chosen]
        for major in majors:
            plans.append(major)
            plans.extend(major.children)
        plans = [p for p in plans if p.opened_at < self.cutoff]
        plans.sort(key=lambda p: (p.opened_at, p.title))
        for plan in plans:
            plan.number = self.number("INC", plan.opened_at)
        return plans

    # --- problems ---------------------------------------------------------------------------

    def problem_dates(self, rng, plan: ProblemPlan) -> None:
        state = plan.state
        ranges = {NEW: (3, 30), INV: (10, 120), KE: (40, 330), RES: (150, 330), CLO: (180, 350)}
        low, high = ranges.get(state, (30, 300))
        day = self.today - datetime.timedelta(days=rng.randint(low, high))
        while day.weekday() >= 5:
            day -= datetime.timedelta(days=1)
        plan.opened_at = self.local(day, T(rng.randint(8, 15), rng.randint(0, 59)))
        if plan.workaround and state in (KE, RES, CLO):
            plan.known_at = plan.opened_at + datetime.timedelta(
                days=rng.randint(2, 20), hours=rng.randint(0, 5)
            )
        if state in (RES, CLO):
            plan.resolved_at = plan.opened_at + datetime.timedelta(
                days=rng.randint(30, 110), hours=rng.randint(0, 6)
            )
        if state == CLO:
            plan.closed_at = plan.resolved_at + datetime.timedelta(days=rng.randint(10, 30))
        for name in ("known_at", "resolved_at", "closed_at"):
            value = getattr(plan, name)
            if value is not None and value >= self.cutoff:
                setattr(plan, name, self.cutoff - datetime.timedelta(hours=rng.randint(20, 200)))

    def plan_problems(self, incidents: list[IncidentPlan]) -> list[ProblemPlan]:
        rng = self.rng("problems")
        total = max(sqrt_volume(PROBLEMS_PER_SCALE, self.scale), 1)
        plans = []
        for keys, state, title, description, cause, workaround, symptom, category in PROBLEMS:
            if not all(k in self.app_by_key for k in keys):
                continue
            plan = ProblemPlan(
                keys, state, title, description, cause, workaround, symptom, category, self.cutoff
            )
            plans.append(plan)
        # Other problems on the applications with the most incidents.
        counts = Counter(p.app_ids[0] for p in incidents if p.kind == "app" and p.app_ids)
        busiest = [
            self.app_by_pk[pk]
            for pk, _n in sorted(counts.items(), key=lambda kv: (-kv[1], self.app_by_pk[kv[0]].key))
            if self.app_by_pk[pk].key not in PLATFORM_WEIGHT
        ]
        states = [(KE, 35), (INV, 25), (NEW, 10), (RES, 12), (CLO, 13), (ProblemState.CANCELLED, 5)]
        for i in range(max(0, total - len(plans))):
            app = busiest[i % len(busiest)] if busiest else rng.choice(self.apps)
            title, description, cause, workaround, symptom, category = GENERIC_PROBLEMS[
                i % len(GENERIC_PROBLEMS)
            ]
            state = weighted(rng, states)
            known = state in (KE, RES, CLO) or (state == INV and rng.random() < 0.3)
            plan = ProblemPlan(
                [app.key], state, title.format(app=app.name)[:300], description,
                cause if state in (RES, CLO) or (state == KE and rng.random() < 0.7) else "",
                workaround if known else "", symptom, category, self.cutoff,
            )  # fmt: skip
            plans.append(plan)
        for plan in plans:
            self.problem_dates(rng, plan)
        plans.sort(key=lambda p: (p.opened_at, p.title))
        for plan in plans:
            plan.number = self.number("PRB", plan.opened_at)
        self.link_incidents(self.rng("problem-links"), plans, incidents)
        return plans

    def link_incidents(self, rng, problems: list[ProblemPlan], incidents: list[IncidentPlan]):
        by_app = defaultdict(list)
        for plan in incidents:
            if plan.kind in ("major", "child"):
                continue
            for app_id in plan.app_ids:
                by_app[app_id].append(plan)
        for problem in problems:
            if problem.state == ProblemState.CANCELLED:
                continue
            app_ids = [self.app_by_key[k].pk for k in problem.app_keys]
            end = problem.resolved_at or self.cutoff
            # Incidents from the month before it was opened; further back if there are few.
            for days_before in (30, 120, HISTORY_DAYS):
                start = problem.opened_at - datetime.timedelta(days=days_before)
                candidates = sorted(
                    {
                        id(p): p
                        for a in app_ids
                        for p in by_app[a]
                        if p.problem is None and start <= p.opened_at < end
                    }.values(),
                    key=lambda p: p.number,
                )
                if len(candidates) >= 3:
                    break
            wanted = rng.randint(6, 20) if problem.workaround else rng.randint(2, 8)
            for incident in rng.sample(candidates, min(wanted, len(candidates))):
                incident.problem = problem
                problem.incidents.append(incident)
                app = self.app_by_pk[incident.app_ids[0]]
                incident.title = problem.symptom.format(app=app.name)[:300]
                incident.category = problem.category
                incident.description = f"{incident.title}. {problem.description}"
                if problem.known_at and incident.opened_at >= problem.known_at:
                    incident.code = R.SOLVED_WORKAROUND
                    incident.resolution = (
                        f"Workaround aus {problem.number} angewendet: {problem.workaround}"
                    )
                elif (
                    problem.resolved_at
                    and incident.opened_at >= problem.resolved_at - datetime.timedelta(days=3)
                ):
                    incident.code = R.RESOLVED_BY_CHANGE
                    incident.resolution = f"Behoben durch die Fehlerbehebung zu {problem.number}."

    # --- incidents: lifecycle ---------------------------------------------------------------

    def choose_showcase(self, rng, plans: list[IncidentPlan]) -> None:
        """Make sure the newest tickets show every open state, whatever the time of the build:
        the ten newest tickets with some working time since they were opened are forced into
        new, assigned, in progress, pending and resolved."""
        states = [S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.PENDING, S.RESOLVED] * 2
        picked = 0
        for plan in reversed(plans):
            if picked == len(states):
                break
            if plan.kind in ("major", "child"):
                continue
            level, _target = self.level_for(plan.service_id, plan.priority)
            elapsed = sla.business_minutes_between(level.calendar, plan.opened_at, self.now)
            if 60 <= elapsed <= 1200:
                plan.forced = states[picked]
                picked += 1
        # Some old tickets wait for a vendor for months.
        old = [
            p
            for p in plans
            if p.kind == "app"
            and self.now - p.opened_at > datetime.timedelta(days=20)
            and self.now - p.opened_at < datetime.timedelta(days=150)
        ]
        for plan in rng.sample(old, min(len(old), max(3, len(plans) // 150))):
            if plan.forced is None:
                plan.long_pending = True

    def simulate(self, rng, plan: IncidentPlan):
        """Run the incident through its lifecycle up to `now`: the Incident (unsaved) and its
        timeline events (as dicts)."""
        level, target = self.level_for(plan.service_id, plan.priority)
        schedule = level.calendar
        t0 = plan.opened_at
        clock = Clock(priority=plan.priority, opened_at=t0, service_level=level)
        clock.response_due = sla.add_business_minutes(schedule, t0, target.response_minutes)
        clock.resolution_due = sla.add_business_minutes(schedule, t0, target.resolution_minutes)
        sla.refresh_breaches(clock, t0)
        steps = self.plan_steps(rng, plan, schedule, target)
        desk_agent = self.desk_agent(rng)
        creator = plan.caller_id if plan.caller_id and rng.random() < 0.35 else desk_agent
        record = {
            "state": S.NEW, "team": None, "assignee": None, "reassignments": 0, "reopens": 0,
            "pending_reason": "", "code": "", "notes": "", "closed_at": None, "version": 1,
        }  # fmt: skip
        events = [self.event(t0, IncidentEventKind.CREATED, creator, plan.title, True)]

        def move(when, target_state, author, text="", **data):
            events.append(
                self.event(
                    when,
                    IncidentEventKind.STATE_CHANGE,
                    author,
                    text,
                    True,
                    record["state"],
                    target_state,
                    data,
                )
            )
            record["state"] = target_state

        for when, action, args in steps:
            if when > self.now:
                break
            record["version"] += action not in ("comment", "work_note")
            if action == "assign":
                team, assignee = args["team"], args["assignee"]
                previous = (record["team"], record["assignee"])
                if record["team"] and record["team"] != team:
                    record["reassignments"] += 1
                record["team"], record["assignee"] = team, assignee
                if record["state"] == S.PENDING:
                    sla.resume(clock, when)
                    record["pending_reason"] = ""
                if record["state"] != S.ASSIGNED:
                    move(when, S.ASSIGNED, args["by"])
                sla.record_response(clock, when)
                events.append(
                    self.event(when, IncidentEventKind.ASSIGNMENT, args["by"], args.get("note", ""), False, data={
                        "team": team, "assignee": assignee,
                        "previous_team": previous[0], "previous_assignee": previous[1],
                    })
                )  # fmt: skip
            elif action == "start":
                if record["state"] == S.PENDING:
                    sla.resume(clock, when)
                    record["pending_reason"] = ""
                sla.record_response(clock, when)
                move(when, S.IN_PROGRESS, record["assignee"])
            elif action == "pending":
                record["pending_reason"] = args["reason"]
                sla.record_response(clock, when)
                sla.pause(clock, when)
                move(when, S.PENDING, record["assignee"], args["note"], reason=args["reason"])
            elif action in ("comment", "work_note"):
                kind = (
                    IncidentEventKind.COMMENT
                    if action == "comment"
                    else IncidentEventKind.WORK_NOTE
                )
                author = record["assignee"] if args["who"] == "agent" else plan.caller_id
                events.append(self.event(when, kind, author, args["text"], action == "comment"))
            elif action == "link":
                events.append(
                    self.event(
                        when,
                        IncidentEventKind.LINK,
                        args["by"],
                        plan.problem.number,
                        False,
                        data={"problem": args["problem"]},
                    )
                )
            elif action == "resolve":
                record["code"], record["notes"] = args["code"], args["notes"]
                record["pending_reason"] = ""
                sla.record_response(clock, when)
                sla.record_resolution(clock, when)
                move(
                    when,
                    S.RESOLVED,
                    args.get("by") or record["assignee"] or desk_agent,
                    args["notes"],
                )
            elif action == "reopen":
                sla.reopen(clock, when)
                record["reopens"] += 1
                record["code"] = record["notes"] = ""
                move(
                    when, S.IN_PROGRESS, plan.caller_id or desk_agent, args["reason"], reopened=True
                )
            elif action == "close":
                record["closed_at"] = when
                move(when, S.CLOSED, args["by"])
            elif action == "cancel":
                record["closed_at"] = when
                record["pending_reason"] = ""
                clock.paused_since = None
                move(when, S.CANCELLED, args["by"], args["reason"])
        if record["state"] in (S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.PENDING):
            sla.refresh_breaches(clock, self.now)
        plan.resolved_final = clock.resolved_at
        plan.closed_final = record["closed_at"]
        incident = Incident(
            number=plan.number, title=plan.title, description=plan.description,
            category=plan.category, state=record["state"], impact=plan.impact,
            urgency=plan.urgency, priority=plan.priority, caller_id=plan.caller_id,
            caller_name=plan.caller_name, caller_org_unit_id=plan.org_unit_id,
            service_id=plan.service_id, assigned_team_id=record["team"],
            assignee_id=record["assignee"], is_major=plan.is_major,
            pending_reason=record["pending_reason"], resolution_code=record["code"],
            resolution_notes=record["notes"], opened_at=t0, closed_at=record["closed_at"],
            reopen_count=record["reopens"], reassignment_count=record["reassignments"],
            service_level_id=level.pk, version=record["version"],
            **{name: getattr(clock, name) for name in Clock.SLA_FIELDS},
        )  # fmt: skip
        return incident, events

    def event(self, at, kind, author, text="", public=False, from_state="", to_state="", data=None):
        return {
            "at": at, "kind": kind, "author_id": author, "text": text, "is_public": public,
            "from_state": from_state, "to_state": to_state, "data": data or {},
        }  # fmt: skip

    def desk_agent(self, rng) -> int:
        desk = self.users["desk"].pk
        if rng.random() < 0.25 and desk in self.members[self.desk_id]:
            return desk
        return self.member(rng, self.desk_id) or desk

    def plan_steps(self, rng, plan: IncidentPlan, schedule, target) -> list:
        """The lifecycle as (when, action, args), in order; `simulate` stops at `now`."""
        if plan.kind == "child":
            return self.child_steps(rng, plan)
        t0 = plan.opened_at

        def at(offset):
            return sla.add_business_minutes(schedule, t0, max(0, round(offset))).astimezone(UTC)

        response, resolution = target.response_minutes, target.resolution_minutes
        elapsed = sla.business_minutes_between(schedule, t0, self.now) if plan.forced else 0
        severe = plan.priority in (Priority.P1, Priority.P2)
        # When the ticket is picked up (business minutes after opening); some late.
        if rng.random() < (0.12 if severe else 0.07):
            r = response * rng.uniform(1.1, 3.5)
        else:
            r = response * rng.uniform(0.05, 0.95)
        r = max(1, r)
        # Work needed (business minutes, pauses excluded); some beyond the target.
        if plan.route == "desk":
            work = max(5, resolution * rng.uniform(0.01, 0.25))
        elif rng.random() < (0.16 if severe else 0.08):
            work = resolution * rng.uniform(1.05, 2.5)
        else:
            work = resolution * min(0.98, rng.betavariate(2, 3) * 1.2)
        if plan.is_major:
            work = rng.randint(150, 600)
        steps = []
        dispatcher = self.desk_agent(rng)
        resolver = plan.resolver_id
        team_agent = self.member(rng, resolver) or dispatcher
        if plan.route in ("desk", "escalate"):
            first_team, first_agent = self.desk_id, dispatcher
        elif plan.route == "misroute":
            wrong = [self.team(n) for n in MISROUTE_TEAMS if self.team(n) != resolver]
            first_team = rng.choice(wrong)
            first_agent = self.member(rng, first_team) or dispatcher
        else:
            first_team, first_agent = resolver, team_agent
        if plan.route == "desk":
            resolver, team_agent = first_team, first_agent

        if plan.forced == S.NEW:
            r = elapsed + rng.randint(5, 240)
        elif plan.forced:
            r = rng.randint(1, max(1, elapsed // 4))
        offset = r
        steps.append(
            (at(offset), "assign", {"team": first_team, "assignee": first_agent, "by": dispatcher})
        )
        if rng.random() < 0.02 and not plan.forced and not plan.is_major:
            cancel = offset + rng.randint(5, 240)
            steps.append(
                (at(cancel), "cancel", {"by": dispatcher, "reason": rng.choice(CANCEL_REASONS)})
            )
            return steps
        start = offset + rng.randint(0, 10 if plan.is_major else 90 if severe else 360)
        if plan.forced == S.ASSIGNED:
            start = elapsed + rng.randint(5, 300)
        elif plan.forced:
            start = rng.randint(int(r) + 1, max(int(r) + 1, elapsed // 2))
        if plan.route in ("escalate", "misroute") and plan.forced != S.ASSIGNED:
            if plan.route == "escalate":
                steps.append((at(start), "start", {}))
                steps.append(
                    (
                        at(start + 1),
                        "work_note",
                        {
                            "who": "agent",
                            "text": "Erstlösung nicht möglich, weiter an den zuständigen Fachbetrieb.",
                        },
                    )
                )
            handover = start + rng.randint(10, 240)
            if plan.forced:
                handover = start + 1
            steps.append((at(handover), "assign", {
                "team": resolver, "assignee": team_agent, "by": first_agent,
                "note": f"Zuständig ist {self.team_names[resolver]}.",
            }))  # fmt: skip
            start = handover + rng.randint(0, 120)
            if plan.forced:
                start = handover + 1
        steps.append((at(start), "start", {}))
        if plan.is_major:
            for i, note in enumerate(MAJOR_NOTES):
                steps.append((at(start + 5 + 20 * i), "work_note", {"who": "agent", "text": note}))
            for i, update in enumerate(MAJOR_UPDATES):
                steps.append((at(start + 15 + 30 * i), "comment", {"who": "agent", "text": update}))
        # the resolution, counted in business minutes without pauses
        resolved = max(work, start + 10)
        if plan.forced == S.IN_PROGRESS:
            resolved = elapsed + rng.randint(30, 1500)
        elif plan.forced == S.RESOLVED:
            resolved = rng.randint(int(start) + 2, max(int(start) + 2, elapsed - 1))
        elif plan.forced in (S.NEW, S.ASSIGNED):
            resolved = max(resolved, start + 60)
        paused = 0
        wants_pause = (
            plan.forced == S.PENDING
            or plan.long_pending
            or (not plan.forced and not plan.is_major and rng.random() < 0.22)
        )
        if wants_pause:
            pause_at = start + (resolved - start) * rng.uniform(0.2, 0.7)
            if plan.forced == S.PENDING:
                pause_at = rng.randint(int(start) + 1, max(int(start) + 1, elapsed - 1))
            problem = plan.problem
            if (
                problem is not None
                and problem.state in (INV, KE)
                and problem.opened_at <= at(pause_at)
                and rng.random() < 0.6
            ):
                reason = PendingReason.AWAITING_PROBLEM
            elif plan.long_pending:
                reason = PendingReason.AWAITING_VENDOR
            else:
                reason = weighted(rng, [
                    (PendingReason.AWAITING_CALLER, 55), (PendingReason.AWAITING_VENDOR, 30),
                    (PendingReason.AWAITING_CHANGE, 15),
                ])  # fmt: skip
            length = {
                PendingReason.AWAITING_CALLER: (60, 2400), PendingReason.AWAITING_VENDOR: (480, 9600),
                PendingReason.AWAITING_CHANGE: (960, 7200), PendingReason.AWAITING_PROBLEM: (960, 9600),
            }[reason]  # fmt: skip
            paused = rng.randint(*length)
            if plan.forced == S.PENDING:
                paused = elapsed - pause_at + rng.randint(60, 3000)
                resolved = max(resolved, pause_at + 30)
            elif plan.long_pending:
                paused = 100_000  # beyond now: still waiting
            note = rng.choice(PENDING_NOTES[reason]).format(
                problem=plan.problem.number if plan.problem else ""
            )
            steps.append((at(pause_at), "pending", {"reason": reason, "note": note}))
            resume = at(pause_at + paused)
            if reason == PendingReason.AWAITING_CALLER and rng.random() < 0.6:
                # Callers answer in office hours, whatever the service level's calendar.
                answer = self.office_time(at(pause_at), rng.randint(10, 600))
                if answer < resume:
                    comment = {"who": "caller", "text": rng.choice(CALLER_COMMENTS)}
                    steps.append((answer, "comment", comment))
            steps.append((resume, "start", {}))
        if plan.problem is not None:
            link_at = max(
                t0 + datetime.timedelta(minutes=30),
                plan.problem.opened_at + datetime.timedelta(hours=1),
            )
            steps.append((link_at, "link", {"by": self.users["desk"].pk, "problem": None}))
        if not plan.forced and rng.random() < 0.35:
            steps.append(
                (
                    at(start + (resolved - start) * rng.uniform(0.05, 0.4)),
                    "comment",
                    {"who": "agent", "text": rng.choice(AGENT_COMMENTS)},
                )
            )
        if not plan.forced and rng.random() < 0.25:
            steps.append(
                (
                    at(start + (resolved - start) * rng.uniform(0.1, 0.6)),
                    "work_note",
                    {"who": "agent", "text": rng.choice(WORK_NOTES)},
                )
            )
        final = resolved + paused
        steps.append((at(final), "resolve", {"code": plan.code, "notes": plan.resolution}))
        if not plan.forced and not plan.is_major and rng.random() < 0.045:
            reopened = self.office_time(at(final), rng.randint(30, 1500))
            steps.append((reopened, "reopen", {"reason": rng.choice(REOPEN_REASONS)}))
            final = sla.business_minutes_between(schedule, t0, reopened) + rng.randint(30, 900)
            again = max(at(final), reopened + datetime.timedelta(minutes=1))
            steps.append((again, "resolve", {"code": plan.code, "notes": plan.resolution}))
        resolved_at = max(step[0] for step in steps if step[1] == "resolve")
        if plan.is_major:
            close_at = business_days_later(schedule, resolved_at, 2)
            steps.append((close_at, "close", {"by": self.users["admin"].pk}))
        elif plan.caller_id and rng.random() < 0.35 and plan.forced != S.RESOLVED:
            confirmed = self.office_time(resolved_at, rng.randint(5, 1200))
            steps.append((confirmed, "close", {"by": plan.caller_id}))
        else:
            close_at = business_days_later(schedule, resolved_at, AUTO_CLOSE_BUSINESS_DAYS)
            steps.append((close_at, "close", {"by": self.users["admin"].pk}))
        steps.sort(key=lambda s: s[0])
        return steps

    def office_time(self, start: datetime.datetime, minutes: int) -> datetime.datetime:
        """`minutes` of office hours (the default calendar) after `start`: when callers act."""
        return max(
            sla.add_business_minutes(self.default_schedule, start, minutes).astimezone(UTC),
            start + datetime.timedelta(minutes=1),
        )

    def child_steps(self, rng, plan: IncidentPlan) -> list:
        """A child of a major incident follows its parent: it is resolved with it."""
        parent = plan.parent
        steps = []
        if parent.resolved_final is None:
            return steps
        if rng.random() < 0.5:
            when = plan.opened_at + datetime.timedelta(minutes=rng.randint(2, 20))
            if when < parent.resolved_final:
                steps.append((when, "assign", {
                    "team": parent.first_team_id or parent.resolver_id,
                    "assignee": parent.first_assignee_id or self.member(rng, parent.resolver_id),
                    "by": self.desk_agent(rng), "note": f"Gehört zur Großstörung {parent.number}.",
                }))  # fmt: skip
        steps.append((max(parent.resolved_final, plan.opened_at + datetime.timedelta(minutes=1)), "resolve", {
            "code": R.RESOLVED_BY_PARENT, "notes": parent.resolution, "by": self.users["desk"].pk,
        }))  # fmt: skip
        if parent.closed_final is not None:
            steps.append(
                (max(parent.closed_final, steps[-1][0]), "close", {"by": self.users["admin"].pk})
            )
        return steps

    def build_incidents(self, writer: Writer, plans: list[IncidentPlan], problem_ids: dict) -> None:
        self.choose_showcase(self.rng("showcase"), plans)
        existing = set(
            Incident.objects.filter(number__in=[p.number for p in plans]).values_list(
                "number", flat=True
            )
        )
        simulated = []  # (plan, incident, events)
        # Parents before children: children follow their parent's resolution. Major incidents
        # are always simulated: their emergency changes start from their resolution. Each
        # incident draws from its own stream, so skipping the existing ones changes nothing.
        wanted = [p for p in plans if p.number not in existing or p.is_major]
        for plan in sorted(wanted, key=lambda p: p.kind == "child"):
            incident, events = self.simulate(self.rng(f"lifecycle:{plan.number}"), plan)
            if plan.is_major:
                assignment = next(
                    (e for e in events if e["kind"] == IncidentEventKind.ASSIGNMENT), None
                )
                if assignment:
                    plan.first_team_id = assignment["data"]["team"]
                    plan.first_assignee_id = assignment["data"]["assignee"]
            if plan.problem is not None:
                incident.problem_id = problem_ids.get(plan.problem.number)
                for event in events:
                    if event["kind"] == IncidentEventKind.LINK:
                        event["data"]["problem"] = incident.problem_id
            simulated.append((plan, incident, events))
        # Majors get their children in a second pass (the parent needs its primary key).
        for wave in (False, True):
            batch = [
                (p, i, e)
                for p, i, e in simulated
                if (p.kind == "child") == wave and p.number not in existing
            ]
            if wave:
                numbers = {p.parent.number for p, _i, _e in batch}
                parents = dict(
                    Incident.objects.filter(number__in=numbers).values_list("number", "pk")
                )
                for plan, incident, _events in batch:
                    incident.parent_id = parents[plan.parent.number]
            created = writer.bulk(Incident, [incident for _p, incident, _e in batch])
            through = Incident.applications.through
            links = [
                through(incident_id=incident.pk, application_id=app_id)
                for (plan, _i, _e), incident in zip(batch, created, strict=True)
                for app_id in plan.app_ids
            ]
            through.objects.bulk_create(links, batch_size=BATCH_SIZE)
            writer.created["Incident applications"] += len(links)
            events = [
                IncidentEvent(incident_id=incident.pk, **event)
                for (_p, _i, plan_events), incident in zip(batch, created, strict=True)
                for event in plan_events
            ]
            writer.bulk(IncidentEvent, events)

    # --- problems: writing ------------------------------------------------------------------

    def build_problems(self, writer: Writer, plans: list[ProblemPlan]) -> dict:
        rng = self.rng("problem-teams")
        existing = set(
            Problem.objects.filter(number__in=[p.number for p in plans]).values_list(
                "number", flat=True
            )
        )
        new, scopes = [], []
        for plan in plans:
            app = self.app_by_key[plan.app_keys[0]]
            team_id = app.owner_team_id
            known = plan.known_at is not None or (plan.state == KE and bool(plan.workaround))
            problem = Problem(
                number=plan.number, title=plan.title, description=plan.description,
                state=plan.state, root_cause=plan.root_cause,
                workaround=plan.workaround if plan.state != NEW else "",
                is_known_error=known and bool(plan.workaround), assigned_team_id=team_id,
                assignee_id=self.member(rng, team_id), opened_at=plan.opened_at,
                resolved_at=plan.resolved_at, closed_at=plan.closed_at,
                version=1 + [NEW, INV, KE, RES, CLO].index(plan.state) if plan.state in (NEW, INV, KE, RES, CLO) else 3,
            )  # fmt: skip
            if plan.state == ProblemState.CANCELLED:
                problem.closed_at = plan.opened_at + datetime.timedelta(days=rng.randint(5, 40))
                problem.closed_at = min(
                    problem.closed_at, self.cutoff - datetime.timedelta(hours=1)
                )
            if plan.number in existing:
                continue
            new.append(problem)
            scopes.append([self.app_by_key[k].pk for k in plan.app_keys])
        created = writer.bulk(Problem, new)
        through = Problem.applications.through
        rows = [
            through(problem_id=problem.pk, application_id=app_id)
            for problem, app_ids in zip(created, scopes, strict=True)
            for app_id in app_ids
        ]
        through.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        writer.created["Problem applications"] += len(rows)
        return dict(
            Problem.objects.filter(number__in=[p.number for p in plans]).values_list("number", "pk")
        )

    # --- changes ----------------------------------------------------------------------------

    def build_catalogue(self, writer: Writer) -> None:
        existing = {t.name: t for t in ChangeTemplate.objects.all()}
        self.templates = {}
        for key, name, description, implementation, backout, test, max_risk in TEMPLATES:
            template = existing.get(name)
            if template is None:
                template = writer.save(
                    ChangeTemplate(
                        name=name, description=description, implementation_plan=implementation,
                        backout_plan=backout, test_plan=test, max_risk=max_risk,
                    )
                )  # fmt: skip
            self.templates[key] = template
        # Freeze windows around the last and the next turn of the year.
        self.freezes = []
        existing = {f.name: f for f in FreezeWindow.objects.all()}
        for year in (self.today.year - 1, self.today.year):
            name = f"Jahreswechsel {year}/{(year + 1) % 100:02d}"
            start = self.local(datetime.date(year, 12, 20), T(0, 0))
            end = self.local(datetime.date(year + 1, 1, 7), T(0, 0))
            window = existing.get(name)
            if window is None:
                window = writer.save(
                    FreezeWindow(
                        name=name, start=start, end=end, applies_to_all=True,
                        reason="Jahresabschluss der Kämmerei und Personalabrechnung; reduzierte Besetzung über die Feiertage. Nur Notfall-Changes.",
                    )
                )  # fmt: skip
            self.freezes.append((window.start, window.end))

    def in_freeze(self, start, end) -> bool:
        return any(start < f_end and f_start < end for f_start, f_end in self.freezes)

    def window(self, rng, day, kind: str):
        """A planned window on a day: evenings for most work, Saturday mornings for bigger
        normal changes, office hours for small standard changes."""
        if kind == "patch":
            start, hours = T(18, 0), 4
        elif kind in ("cert", "firewall"):
            start, hours = T(rng.choice([7, 16, 17]), rng.choice([0, 30])), 0.5
        elif kind == "database":
            start, hours = T(19, 0), 2
        elif kind == "emergency":
            start, hours = T(rng.randint(6, 21), rng.choice([0, 15, 30, 45])), rng.choice([1, 2, 3])
        elif day.weekday() == 5:
            start, hours = T(8, 0), 6
        else:
            start, hours = T(18, 0), 4
        begin = self.local(day, start)
        return begin, begin + datetime.timedelta(hours=hours)

    def pick_day(self, rng, low: int, high: int, kind: str) -> datetime.date:
        """A day `low`..`high` days from today (negative: past) for a change of this kind."""
        for _ in range(50):
            day = self.today + datetime.timedelta(days=rng.randint(low, high))
            if kind == "normal" and day.weekday() == 6:
                continue
            if kind != "normal" and kind != "emergency" and day.weekday() >= 5:
                continue
            if (
                kind != "emergency"
                and not self.default_schedule.is_working_day(day)
                and day.weekday() < 5
            ):
                continue
            start, end = self.window(random.Random(0), day, kind)
            if kind != "emergency" and self.in_freeze(start, end):
                continue
            return day
        return day

    def requester(self, rng, team_id: int) -> int:
        change_user = self.users["change"].pk
        return self.member(rng, team_id, exclude=[change_user]) or self.users["architect"].pk

    def standard_change(self, rng, template: str, day, past: bool) -> ChangePlan | None:
        team_id = self.team(TEMPLATE_TEAMS[template])
        components = []
        if template == "patch":
            windows = [a for a in self.windows_apps if a.alive(day)]
            apps = rng.sample(windows, min(len(windows), rng.randint(2, 4)))
            group = "ABCD"[rng.randint(0, 3)]
            title = f"Monatliches Windows-Patching {MONTHS[day.month - 1]} – Wartungsgruppe {group}"
            components = sorted(
                {c for a in apps for c, n in self.app_components[a.pk] if "Windows Server" in n}
            )
        elif template == "cert":
            apps = [self.pick_app(rng, self.critical_apps, day)]
            title = f"Zertifikatserneuerung {apps[0].name}"
        elif template == "firewall":
            app = self.pick_app(rng, self.any_apps, day)
            providers = [self.app_by_pk[p] for p in self.by_key(self.providers[app.pk])]
            other = rng.choice(providers) if providers else None
            apps = [app] + ([other] if other else [])
            title = (
                f"Firewall-Regel: {app.name} → {other.name}"
                if other
                else f"Firewall-Regel für {app.name}"
            )
        else:
            with_db = [(a, c, n) for a, c, n in self.database_uses if a.alive(day)]
            if not with_db:
                return None
            app, component, name = rng.choice(with_db)
            apps, components = [app], [component]
            title = f"Datenbank-Minor-Update {name} für {app.name}"
        if not apps:
            return None
        start, end = self.window(rng, day, template)
        requested = start - datetime.timedelta(days=rng.randint(2, 10), hours=rng.randint(0, 6))
        t = self.templates[template]
        return ChangePlan(
            requested_at=requested, title=title[:200], description=t.description,
            reason="Regelmäßige Wartung gemäß Betriebshandbuch.", change_type=ChangeType.STANDARD,
            template=template, app_ids=[a.pk for a in apps], owner_team_id=team_id,
            planned_start=start, planned_end=end, phase="done" if past else "scheduled",
            component_ids=components, plans=(t.implementation_plan, t.backout_plan, t.test_plan),
        )  # fmt: skip

    def normal_change(self, rng, day, past: bool, app=None, title=None) -> ChangePlan:
        app = app or self.pick_app(rng, self.incident_apps, day)
        template, description, reason = rng.choice(NORMAL_CHANGES)
        version = f"{rng.randint(3, 24)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}"
        title = title or template.format(app=app.name, version=version)
        start, end = self.window(rng, day, "normal")
        requested = start - datetime.timedelta(days=rng.randint(7, 30), hours=rng.randint(0, 8))
        team_id = (
            app.owner_team_id
            if self.members.get(app.owner_team_id)
            else self.team("Application Operations")
        )
        return ChangePlan(
            requested_at=requested, title=title[:200], description=description, reason=reason,
            change_type=ChangeType.NORMAL, template=None, app_ids=[app.pk], owner_team_id=team_id,
            planned_start=start, planned_end=end, phase="done" if past else "scheduled",
            plans=NORMAL_PLANS,
        )  # fmt: skip

    def emergency_change(self, rng, start, app, title=None, hours=2) -> ChangePlan:
        template, description, reason = rng.choice(EMERGENCY_CHANGES)
        team_id = (
            app.owner_team_id
            if self.members.get(app.owner_team_id)
            else self.team("Application Operations")
        )
        return ChangePlan(
            requested_at=start - datetime.timedelta(hours=rng.randint(1, 10)),
            title=(title or template.format(app=app.name))[:200], description=description,
            reason=reason, change_type=ChangeType.EMERGENCY, template=None, app_ids=[app.pk],
            owner_team_id=team_id, planned_start=start,
            planned_end=start + datetime.timedelta(hours=hours),
            phase="done" if start < self.cutoff else "scheduled", plans=EMERGENCY_PLANS,
        )  # fmt: skip

    def plan_changes(
        self, incidents: list[IncidentPlan], problems: list[ProblemPlan]
    ) -> list[ChangePlan]:
        rng = self.rng("changes")
        plans: list[ChangePlan] = []
        total = sqrt_volume(CHANGES_PER_SCALE, self.scale)
        emergency_total = max(2, round(total * 0.08))
        # Emergency changes that ended major incidents.
        for major in incidents:
            if major.is_major and major.by_change and major.resolved_final:
                app = self.app_by_pk[major.app_ids[0]]
                start = major.resolved_final - datetime.timedelta(minutes=rng.randint(30, 90))
                change = self.emergency_change(
                    rng,
                    start,
                    app,
                    f"Notfall-Change zu {major.number}: {major.resolution}",
                    hours=1,
                )
                change.outcome = ChangeOutcome.SUCCESSFUL
                plans.append(change)
        # Fixes of resolved problems.
        for problem in problems:
            if problem.resolved_at is None:
                continue
            app = self.app_by_key[problem.app_keys[0]]
            day = (
                (problem.resolved_at - datetime.timedelta(days=rng.randint(1, 5)))
                .astimezone(self.zone)
                .date()
            )
            while (
                self.in_freeze(*self.window(random.Random(0), day, "normal")) or day.weekday() == 6
            ):
                day -= datetime.timedelta(days=1)
            change = self.normal_change(
                rng, day, True, app, f"Fehlerbehebung {problem.number}: {problem.title}"
            )
            change.reason = (
                f"Beseitigt die Ursache des Problems {problem.number}: {problem.root_cause}"
            )
            change.outcome = ChangeOutcome.SUCCESSFUL
            problem.fix_change = change
            plans.append(change)
        # The year of routine and project work.
        kinds = [("standard", 45), ("normal", 47), ("emergency", 8)]
        while len(plans) < total:
            kind = weighted(rng, kinds)
            if (
                kind == "emergency"
                and sum(p.change_type == ChangeType.EMERGENCY for p in plans) >= emergency_total
            ):
                kind = "normal"
            if kind == "standard":
                template = weighted(rng, TEMPLATE_SHARE)
                day = self.pick_day(rng, -HISTORY_DAYS + 7, -2, template)
                plan = self.standard_change(rng, template, day, True)
            elif kind == "normal":
                plan = self.normal_change(
                    rng, self.pick_day(rng, -HISTORY_DAYS + 30, -2, "normal"), True
                )
            else:
                day = self.pick_day(rng, -HISTORY_DAYS + 7, -2, "emergency")
                app = self.pick_app(rng, self.critical_apps, day)
                start, _end = self.window(rng, day, "emergency")
                plan = self.emergency_change(rng, start, app)
            if plan is not None and not (
                plan.change_type != ChangeType.EMERGENCY
                and self.in_freeze(plan.planned_start, plan.planned_end)
            ):
                plans.append(plan)
        # Upcoming work.
        for _ in range(sqrt_volume(UPCOMING_CHANGES_PER_SCALE, self.scale)):
            if rng.random() < 0.4:
                template = weighted(rng, TEMPLATE_SHARE)
                plan = self.standard_change(
                    rng, template, self.pick_day(rng, 2, 60, template), False
                )
            else:
                plan = self.normal_change(rng, self.pick_day(rng, 3, 60, "normal"), False)
            if plan is not None:
                plan.phase = weighted(
                    rng,
                    [("scheduled", 55), ("authorization", 20), ("assessment", 15), ("draft", 10)],
                )
                if plan.change_type == ChangeType.STANDARD and plan.phase == "authorization":
                    plan.phase = "scheduled"
                plans.append(plan)
        plans += self.conflicting_changes(rng)
        plans += self.freeze_emergencies(rng)
        for plan in plans:
            # An emergency change may go into a freeze window, with a recorded reason.
            if (
                plan.change_type == ChangeType.EMERGENCY
                and not plan.freeze_override_reason
                and self.in_freeze(plan.planned_start, plan.planned_end)
            ):
                plan.freeze_override_reason = (
                    "Störungsbehebung; kann nicht bis nach dem Freeze warten."
                )
        # Requested before the cutoff; numbered in order of request.
        for plan in plans:
            if plan.requested_at >= self.cutoff:
                plan.requested_at = self.cutoff - datetime.timedelta(hours=rng.randint(1, 72))
            plan.requested_at = min(
                plan.requested_at, plan.planned_start - datetime.timedelta(minutes=30)
            )
        plans.sort(key=lambda p: (p.requested_at, p.title))
        for plan in plans:
            plan.number = self.number("CHG", plan.requested_at)
        self.assign_outcomes(self.rng("change-outcomes"), plans)
        return plans

    def upcoming_day(self, offset: int, taken: set) -> datetime.date:
        """A working day from `offset` days ahead, outside freeze windows and not `taken`."""
        day = self.today + datetime.timedelta(days=offset)
        while (
            day in taken
            or not self.default_schedule.is_working_day(day)
            or self.in_freeze(self.local(day, T(0, 0)), self.local(day, T(23, 59)))
        ):
            day += datetime.timedelta(days=1)
        taken.add(day)
        return day

    def conflicting_changes(self, rng) -> list[ChangePlan]:
        """Upcoming changes that collide: the same application, or applications that depend
        on each other, in overlapping windows."""
        plans = []
        taken = set()

        def pair(
            offset,
            first_app,
            second_app,
            first_title,
            second_title,
            second_kind="normal",
            phases=("scheduled", "scheduled"),
        ):
            day = self.upcoming_day(offset, taken)
            if first_app is None or second_app is None:
                return
            first = self.normal_change(rng, day, False, first_app, first_title)
            if second_kind in self.templates:
                second = self.standard_change(rng, second_kind, day, False) or self.normal_change(
                    rng, day, False, second_app
                )
                if second_kind == "patch":
                    second.app_ids = list(dict.fromkeys([second_app.pk, *second.app_ids]))
                else:
                    second.app_ids = [second_app.pk]
                second.title = second_title[:200]
            else:
                second = self.normal_change(rng, day, False, second_app, second_title)
            second.planned_start = first.planned_start + datetime.timedelta(hours=1)
            second.planned_end = second.planned_start + datetime.timedelta(hours=2)
            first.phase, second.phase = phases
            plans.extend([first, second])

        keycloak = self.app_by_key.get("keycloak")
        pair(
            8,
            keycloak,
            keycloak,
            "Keycloak: Update auf die nächste Hauptversion",
            "Zertifikatserneuerung Keycloak (Signaturzertifikat)",
            "cert",
        )
        esb = self.app_by_key.get("webmethods")
        consumer = (
            next((self.app_by_pk[c] for c in self.by_key(self.consumers[esb.pk])), None)
            if esb
            else None
        )
        pair(
            15,
            esb,
            consumer,
            "Integrationsplattform webMethods: Wartung und Fixes",
            f"{consumer.name if consumer else ''}: Umstellung der Schnittstelle auf die Integrationsplattform",
            "normal",
            ("scheduled", "authorization"),
        )
        dms = self.app_by_key.get("dvelop")
        pair(
            22,
            dms,
            dms,
            "d.velop documents: Update auf das aktuelle Release",
            "Monatliches Windows-Patching – Wartungsgruppe E-Akte",
            "patch",
        )
        ad = self.app_by_key.get("active-directory")
        ad_consumer = (
            next((self.app_by_pk[c] for c in self.by_key(self.consumers[ad.pk])), None)
            if ad
            else None
        )
        pair(
            30,
            ad,
            ad_consumer,
            "Active Directory: Anhebung der Domänenfunktionsebene",
            f"{ad_consumer.name if ad_consumer else ''}: LDAP-Anbindung auf LDAPS umstellen",
            "normal",
            ("scheduled", "assessment"),
        )
        return plans

    def freeze_emergencies(self, rng) -> list[ChangePlan]:
        """One emergency change in each freeze window that lies within the next 60 days or
        has started already, with the reason why it could not wait."""
        plans = []
        citrix = self.app_by_key.get("citrix") or self.apps[0]
        idp = self.app_by_key.get("keycloak") or self.apps[0]
        for (start, _end), app in zip(self.freezes, (idp, citrix), strict=False):
            if start - self.cutoff > datetime.timedelta(days=60):
                continue
            moment = start + datetime.timedelta(days=rng.randint(3, 10), hours=rng.randint(9, 14))
            if start < self.cutoff <= moment:  # in the running freeze, but in the past
                moment = self.cutoff - datetime.timedelta(hours=12)
            if moment <= start:
                continue
            change = self.emergency_change(
                rng,
                moment,
                app,
                f"Notfall-Change: Sicherheitsupdate {app.name} (kritische Schwachstelle)",
            )
            change.freeze_override_reason = (
                "Aktiv ausgenutzte Schwachstelle (BSI-Warnmeldung, CVSS 9.8); das Risiko eines "
                "Angriffs über die Feiertage wiegt schwerer als das Änderungsrisiko."
            )
            change.outcome = ChangeOutcome.SUCCESSFUL if change.phase == "done" else None
            plans.append(change)
        return plans

    def assign_outcomes(self, rng, plans: list[ChangePlan]) -> None:
        """Past changes: a few rejected or cancelled; of the implemented ones (without a fixed
        outcome) `FAILURE_SHARE` failed or were rolled back, chosen by lot so that the share
        is the same for every seed."""
        done = [p for p in plans if p.phase == "done" and p.outcome is None]
        for plan in done:
            roll = rng.random()
            if plan.change_type == ChangeType.NORMAL and roll < 0.025:
                plan.phase = "rejected"
            elif roll < 0.055:
                plan.phase = "cancelled"
            else:
                plan.outcome = ChangeOutcome.SUCCESSFUL
        implemented = [p for p in done if p.outcome is not None]
        failures = rng.sample(implemented, round(len(implemented) * FAILURE_SHARE))
        for i, plan in enumerate(failures):
            plan.outcome = ChangeOutcome.FAILED if i % 2 else ChangeOutcome.ROLLED_BACK

    def build_changes(
        self, writer: Writer, plans: list[ChangePlan], problems: list[ProblemPlan]
    ) -> None:
        rng = self.rng("change-lifecycle")
        existing = set(
            Change.objects.filter(number__in=[p.number for p in plans]).values_list(
                "number", flat=True
            )
        )
        new = [p for p in plans if p.number not in existing]
        changes = []
        for plan in new:
            requester = self.requester(rng, plan.owner_team_id)
            change = Change(
                number=plan.number, title=plan.title, description=plan.description,
                change_type=plan.change_type,
                template=self.templates[plan.template] if plan.template else None,
                reason=plan.reason, implementation_plan=plan.plans[0], backout_plan=plan.plans[1],
                test_plan=plan.plans[2], state=ChangeState.DRAFT, requested_by_id=requester,
                owner_team_id=plan.owner_team_id,
                assignee_id=self.member(rng, plan.owner_team_id, exclude=[requester]) or requester,
                planned_start=plan.planned_start, planned_end=plan.planned_end,
                freeze_override_reason=plan.freeze_override_reason,
            )  # fmt: skip
            self.lifecycle(rng, plan, change)
            changes.append(change)
        # Risk needs the rows and their scope in the database: insert, assess, then record.
        Change.objects.bulk_create(changes, batch_size=BATCH_SIZE)
        writer.created["Change"] += len(changes)
        app_rows = [
            Change.applications.through(change_id=c.pk, application_id=a)
            for c, p in zip(changes, new, strict=True)
            for a in p.app_ids
        ]
        component_rows = [
            Change.components.through(change_id=c.pk, itcomponent_id=i)
            for c, p in zip(changes, new, strict=True)
            for i in p.component_ids
        ]
        Change.applications.through.objects.bulk_create(app_rows, batch_size=BATCH_SIZE)
        Change.components.through.objects.bulk_create(component_rows, batch_size=BATCH_SIZE)
        writer.created["Change applications"] += len(app_rows)
        writer.created["Change components"] += len(component_rows)
        approvals = []
        self.dependents_index = DependentsIndex() if new else None
        # By planned start: the index keeps the graph of one date at a time.
        ordered = sorted(
            zip(changes, new, strict=True), key=lambda cp: (cp[0].planned_start, cp[0].number)
        )
        for change, plan in ordered:
            if plan.phase != "draft":
                self.apply_risk(change)
                if change.change_type == ChangeType.STANDARD and exceeds(
                    change.risk, change.template.max_risk
                ):
                    # Too risky for the template: it went through the CAB as a normal change.
                    change.change_type = ChangeType.NORMAL
                    self.apply_risk(change)
                    self.lifecycle(rng, plan, change)
            approvals += self.approvals(rng, plan, change)
        Change.objects.bulk_update(
            changes,
            [
                "change_type",
                "risk",
                "risk_score",
                "risk_factors",
                "state",
                "outcome",
                "actual_start",
                "actual_end",
                "implementation_notes",
                "review_notes",
                "cancellation_reason",
                "closed_at",
                "version",
            ],
            batch_size=100,
        )
        history = Change.history.bulk_history_create(
            changes,
            default_user=self.admin,
            default_change_reason=CHANGE_REASON,
            batch_size=BATCH_SIZE,
        )
        by_change = {h.id: h for h in history}
        for field_name, rows, column in (
            ("applications", app_rows, "application_id"),
            ("components", component_rows, "itcomponent_id"),
        ):
            model = django_apps.get_model("itsm", f"HistoricalChange_{field_name}")
            model.objects.bulk_create(
                [
                    model(
                        id=row.pk,
                        change_id=row.change_id,
                        history=by_change[row.change_id],
                        **{column: getattr(row, column)},
                    )
                    for row in rows
                ],
                batch_size=BATCH_SIZE,
            )
        writer.bulk(ChangeApproval, approvals)
        # Problems and the changes that fixed them.
        numbers = dict(
            Change.objects.filter(number__in=[p.number for p in plans]).values_list("number", "pk")
        )
        problem_ids = dict(
            Problem.objects.filter(number__in=[p.number for p in problems]).values_list(
                "number", "pk"
            )
        )
        rows = [
            {"problem_id": problem_ids[p.number], "change_id": numbers[p.fix_change.number]}
            for p in problems
            if p.fix_change is not None and p.number in problem_ids
        ]
        writer.links(Problem.changes.through, rows, "Problem changes")

    def apply_risk(self, change: Change) -> None:
        """`assess_risk`, with its graph walk served from memory (see DependentsIndex)."""
        assessment = assess_risk(change, dependents_walk=self.dependents_index.dependents)
        change.risk = assessment.level
        change.risk_score = assessment.score
        change.risk_factors = assessment.factors

    def lifecycle(self, rng, plan: ChangePlan, change: Change) -> None:
        """State, actual window, outcome and closure from the plan and the (final) type."""
        standard = change.change_type == ChangeType.STANDARD
        change.actual_start = change.actual_end = change.closed_at = change.outcome = None
        change.implementation_notes = change.review_notes = change.cancellation_reason = ""
        phase = plan.phase
        if phase == "done":
            change.outcome = plan.outcome or ChangeOutcome.SUCCESSFUL
            change.actual_start = plan.planned_start + datetime.timedelta(
                minutes=rng.randint(0, 20)
            )
            duration = plan.planned_end - plan.planned_start
            if change.outcome == ChangeOutcome.SUCCESSFUL:
                duration *= rng.uniform(0.5, 1.0)
            else:
                duration *= rng.uniform(0.8, 1.4)
            change.actual_end = change.actual_start + duration
            change.implementation_notes = rng.choice(OUTCOME_NOTES[change.outcome])
            if standard and change.outcome == ChangeOutcome.SUCCESSFUL:
                change.state = ChangeState.CLOSED
                change.closed_at = change.actual_end
                change.review_notes = STANDARD_REVIEW
                change.version = 6
            else:
                closing = change.actual_end + datetime.timedelta(
                    days=rng.randint(1, 7), hours=rng.randint(0, 5)
                )
                if closing < self.cutoff:
                    change.state = ChangeState.CLOSED
                    change.closed_at = closing
                    change.review_notes = REVIEW_NOTES[change.outcome]
                    change.version = 9
                else:
                    change.state = ChangeState.REVIEW
                    change.version = 8
        elif phase == "cancelled":
            change.state = ChangeState.CANCELLED
            change.cancellation_reason = rng.choice([
                "Fachbereich hat den Termin abgesagt; neuer Change folgt.",
                "Durch einen anderen Change erledigt.",
                "Hersteller hat das Release zurückgezogen.",
            ])  # fmt: skip
            change.version = 4
        elif phase == "rejected":
            change.state = ChangeState.REJECTED
            change.version = 5
        elif phase == "scheduled":
            change.state = ChangeState.SCHEDULED
            change.version = 4 if standard else 6
        elif phase == "authorization":
            change.state = ChangeState.AUTHORIZATION
            change.version = 4
        elif phase == "assessment":
            change.state = ChangeState.ASSESSMENT
            change.version = 3
        else:
            change.state = ChangeState.DRAFT
            change.version = 1

    def approvals(self, rng, plan: ChangePlan, change: Change) -> list[ChangeApproval]:
        if change.change_type == ChangeType.STANDARD or change.state in (
            ChangeState.DRAFT, ChangeState.ASSESSMENT,
        ):  # fmt: skip
            return []
        if change.state == ChangeState.CANCELLED and rng.random() < 0.5:
            return []
        manager = self.users["change"]
        emergency = change.change_type == ChangeType.EMERGENCY
        earliest = plan.requested_at + (
            datetime.timedelta(minutes=20) if emergency else datetime.timedelta(days=1)
        )
        latest = min(plan.planned_start, self.cutoff) - datetime.timedelta(minutes=10)
        if latest <= earliest:
            earliest = latest - datetime.timedelta(minutes=30)

        def decided():
            return earliest + (latest - earliest) * rng.uniform(0.1, 0.9)

        role = "emergency_cab" if emergency else "change_manager"
        if change.state == ChangeState.REJECTED:
            return [
                ChangeApproval(
                    change=change, approver=manager, role="change_manager",
                    decision=ApprovalDecision.REJECTED, decided_at=decided(),
                    comment=rng.choice([
                        "Back-out-Plan unzureichend; bitte mit Zeitangaben und Verantwortlichen ergänzen.",
                        "Zeitfenster kollidiert mit dem Haushaltsabschluss; bitte neu planen.",
                    ]),
                )
            ]  # fmt: skip
        approvals = []
        if change.state != ChangeState.AUTHORIZATION or rng.random() < 0.5:
            approvals.append(
                ChangeApproval(
                    change=change, approver=manager, role=role, decision=ApprovalDecision.APPROVED,
                    decided_at=decided(),
                    comment="Freigegeben im Notfall-CAB." if emergency else "Freigegeben im CAB.",
                )
            )  # fmt: skip
        if change.change_type == ChangeType.NORMAL and change.risk == ChangeRisk.HIGH:
            owners = sorted(
                {self.app_by_pk[a].owner_team_id for a in plan.app_ids},
                key=self.team_names.__getitem__,
            )
            for team_id in owners:
                if change.state == ChangeState.AUTHORIZATION and rng.random() < 0.6:
                    continue
                approver = self.member(rng, team_id, exclude=[change.requested_by_id])
                if approver is None:
                    continue
                approvals.append(
                    ChangeApproval(
                        change=change, approver_id=approver, on_behalf_of_team_id=team_id,
                        decision=ApprovalDecision.APPROVED, decided_at=decided(),
                        comment="Fachliche Freigabe; Fachbereich ist informiert.",
                    )
                )  # fmt: skip
        return approvals

    # --- counters ---------------------------------------------------------------------------

    def raise_counters(self, writer: Writer) -> None:
        for (prefix, year), last in sorted(self.numbers_used.items()):
            counter, created = TicketCounter.objects.get_or_create(prefix=prefix, year=year)
            writer.created["TicketCounter"] += created
            if counter.last < last:
                counter.last = last
                counter.save(update_fields=["last"])

    # --- all --------------------------------------------------------------------------------

    def build(self) -> Counter:
        self.load_city()
        writer = Writer(self.admin)
        self.build_service_levels(writer)
        self.build_catalogue(writer)
        incidents = self.plan_incidents()
        problems = self.plan_problems(incidents)
        problem_ids = self.build_problems(writer, problems)
        self.build_incidents(writer, incidents, problem_ids)
        changes = self.plan_changes(incidents, problems)
        self.build_changes(writer, changes, problems)
        self.raise_counters(writer)
        return writer.created


COUNTED_MODELS = [
    BusinessCalendar,
    ServiceLevel,
    ClosingDay,
    Incident,
    IncidentEvent,
    Problem,
    ChangeTemplate,
    Change,
    ChangeApproval,
    FreezeWindow,
]


def demo_anchor_date() -> datetime.date | None:
    """The `today` of the first ITSM demo build: the day its round-the-clock calendar was
    created (None if there was no build yet)."""
    calendar = BusinessCalendar.objects.filter(name=ROUND_THE_CLOCK).first()
    return timezone.localdate(calendar.created) if calendar else None


def build_itsm_demo(
    seed: int = 1, scale: int = 1, today: datetime.date | None = None, stdout=None
) -> dict:
    """Build (or complete) a year of ITSM history on the demo city; returns what was created
    and the totals per model, like `cmdb.demo.build_demo_city`.

    The result is `{"seed", "scale", "today", "seconds", "created": {name: n},
    "total": {model: n}}`; a second run with the same seed and scale creates nothing.
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    started = time.perf_counter()
    if today is None:
        today = demo_anchor_date() or timezone.localdate()
    if today == timezone.localdate():
        now = timezone.now()
    else:
        now = datetime.datetime.combine(today, T(10, 0), tzinfo=timezone.get_current_timezone())
    demo = ItsmDemo(seed, scale, today, now)
    with transaction.atomic():
        created = demo.build()
    total = {model.__name__: model.objects.count() for model in COUNTED_MODELS}
    result = {
        "seed": seed,
        "scale": scale,
        "today": today.isoformat(),
        "seconds": round(time.perf_counter() - started, 2),
        "created": {
            name: created.get(name, 0) for name in [*total, *sorted(set(created) - set(total))]
        },
        "total": total,
    }
    if stdout is not None:
        stdout.write(
            f"ITSM demo (seed {seed}, scale {scale}, today {today}) in {result['seconds']} s:\n"
        )
        for name, count in total.items():
            stdout.write(f"  {name:<22} {count:>7}  ({result['created'][name]} new)\n")
        if not sum(result["created"].values()):
            stdout.write("Nothing to do: the ITSM demo was already complete.\n")
    return result

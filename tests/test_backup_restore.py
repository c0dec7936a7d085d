"""Backup and restore: `manage.py backup` dumps the database (history included), `manage.py
restore` loads it into an EMPTY database in another process (a new SQLite file, or on
PostgreSQL a second database on the same server), and that database holds exactly the same
rows: the same count for every model, every `Historical*` model included, and dumped again it
gives a byte-identical file (so every history row's user and reason, every tree's `lft`/`rght`
came back as they were).
"""

import gzip
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.db import connection

from cmdb.demo import build_demo_city
from cmdb.models import OrgUnit
from itsm.models import Incident
from itsm.services import sla
from itsm.services.incidents import assign_incident, open_incident, resolve_incident
from landkarte.management.commands.backup import ALWAYS_EXCLUDED, TOKEN_MODELS, dumped_models
from landkarte.models import APIToken

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


@pytest.fixture
def worked_city(make_user):
    """The demo city (org tree, applications, users: thousands of rows with history) plus an
    incident worked through the services (history rows with a user and a reason), a token and
    a session that must not travel."""
    build_demo_city(seed=3)
    sla.ensure_default_calendar()
    desk = get_user_model().objects.get(username="desk")
    incident = open_incident(user=desk, title="Mail is down", impact="high", urgency="high")
    team = desk.teams.first()
    incident = assign_incident(incident, user=desk, team=team, assignee=desk)
    resolve_incident(
        incident, user=desk, resolution_code="solved_permanently", resolution_notes="Restarted."
    )
    APIToken.issue(desk, name="script")
    session = SessionStore()
    session["probe"] = 1
    session.create()
    return incident


def database_env(tmp_path) -> tuple[dict, callable]:
    """Environment for a process that works on a new, empty database; and its cleanup."""
    env = {**os.environ, "SECRET_KEY": os.environ.get("SECRET_KEY", "backup-test-only")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if connection.vendor == "sqlite":
        env.pop("DATABASE_URL", None)
        env["LANDKARTE_DATA_DIR"] = str(tmp_path / "restored")
        return env, lambda: None
    assert connection.vendor == "postgresql"
    import psycopg

    # Django's own connection parameters (a unix-socket host may sit in OPTIONS).
    params = connection.get_connection_params()
    name = f"landkarte_restore_{uuid.uuid4().hex[:8]}"
    server = {key: params[key] for key in ("user", "password", "host", "port") if params.get(key)}
    server["dbname"] = "postgres"
    with psycopg.connect(**server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    credentials = quote(str(server.get("user", "")))
    if server.get("password"):
        credentials += ":" + quote(str(server["password"]))
    host = str(server.get("host", ""))
    if host.startswith("/"):
        env["DATABASE_URL"] = f"postgres://{credentials}@/{name}?host={quote(host)}"
    else:
        port = f":{server['port']}" if server.get("port") else ""
        env["DATABASE_URL"] = f"postgres://{credentials}@{host}{port}/{name}"

    def drop():
        with psycopg.connect(**server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return env, drop


def manage(env, *args) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_restore_into_an_empty_database_gives_back_every_row(worked_city, tmp_path):
    dump = tmp_path / "landkarte.json.gz"
    call_command("backup", str(dump))
    with gzip.open(dump, "rt", encoding="utf-8") as stream:
        rows = json.load(stream)
    in_file = Counter(row["model"] for row in rows)

    # The file holds every row of every model (history included), nothing of the excluded ones.
    models = dumped_models()
    history_models = [m for m in models if m._meta.model_name.startswith("historical")]
    assert len(history_models) >= 20
    for model in models:
        assert in_file[model._meta.label_lower] == model._base_manager.count(), model
    assert sum(in_file[m._meta.label_lower] for m in history_models) > 1000
    concrete = {m._meta.label_lower for m in apps.get_models() if not m._meta.proxy}
    left_out = concrete - {m._meta.label_lower for m in models}
    assert left_out == ALWAYS_EXCLUDED | TOKEN_MODELS
    assert not set(in_file) & left_out

    env, drop = database_env(tmp_path)
    try:
        restored = manage(env, "restore", str(dump))
        assert "counts and trees verified" in restored.stdout
        again = tmp_path / "again.json.gz"
        manage(env, "backup", str(again))
        # A restore into a database that holds data is refused.
        refused = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "restore", "--no-migrate", str(dump)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        drop()
    assert refused.returncode != 0
    assert "not empty" in refused.stderr

    with gzip.open(again, "rt", encoding="utf-8") as stream:
        rows_again = json.load(stream)
    assert Counter(row["model"] for row in rows_again) == in_file
    # Byte for byte: every field of every row, history and tree numbers included.
    with gzip.open(dump, "rb") as first, gzip.open(again, "rb") as second:
        assert first.read() == second.read()

    # Spot checks, stated plainly: the incident's history (who and why) and the org tree.
    incident = worked_city
    resolved = incident.history.filter(state="resolved").get()
    restored_row = next(
        row for row in rows_again
        if row["model"] == "itsm.historicalincident" and row["pk"] == resolved.history_id
    )  # fmt: skip
    assert restored_row["fields"]["history_user"] == ["desk"]
    assert restored_row["fields"]["history_change_reason"] == resolved.history_change_reason
    assert restored_row["fields"]["history_change_reason"]
    assert restored_row["fields"]["number"] == incident.number
    root = OrgUnit.objects.filter(parent__isnull=True).order_by("tree_id").first()
    restored_root = next(
        row for row in rows_again if row["model"] == "cmdb.orgunit" and row["pk"] == root.pk
    )
    assert (restored_root["fields"]["lft"], restored_root["fields"]["rght"]) == (1, root.rght)
    assert root.rght == 2 * root.get_descendant_count() + 2
    assert Incident.history.filter(number=incident.number).count() == sum(
        1
        for row in rows_again
        if row["model"] == "itsm.historicalincident" and row["fields"]["number"] == incident.number
    )

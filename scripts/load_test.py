#!/usr/bin/env python3
"""A bounded load run against gunicorn on PostgreSQL, optionally with a database outage.

    DATABASE_URL=postgres://… .venv/bin/python scripts/load_test.py --prepare --duration 30

It (1) with --prepare creates the database of DATABASE_URL if it is missing, migrates it and
loads the demo city (`seed_demo`); (2) issues an API token for the demo service-desk user `desk`;
(3) starts `gunicorn landkarte.wsgi -w WORKERS -b 127.0.0.1:PORT` (or, with --url, uses a server
already running on a loopback address); (4) runs several client threads for --duration seconds
or --requests requests, whichever comes first, with a mixed workload: the desk queue (GraphQL
`incidents(first: 50, …)` with filters), incident creation and transitions (assign, start work,
resolve, close) and comments by bearer token, dependency queries (`application { dependents }`),
impact analyses (`impactAnalysis(vendor:)`) and the queue page; (5) reports throughput and
latency percentiles per kind; (6) checks in the database that every write that was answered
with success is there (incidents, their states, comments); (7) stops gunicorn and revokes the
token. It exits non-zero on any error.

Fault mode (--outage-at S --outage-for S --stop-command CMD --start-command CMD): S seconds
into the run CMD stops the database server, and starts it again after the outage. Requests that
end between the stop and --recovery-grace seconds after the restart may fail, but only with a
clean 503 (JSON or HTML body, `Retry-After`); everything else counts as an error, the gunicorn
workers must be the same processes afterwards (no restart), and every write that succeeded
(before, during or after the outage) must be in the database. scripts/fault_test.sh wraps it.

Only loopback addresses are accepted: this is not a tool for testing someone else's server.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ipaddress
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DESK_USER = "desk"
OUTAGE_BACKOFF = 0.25  # seconds a client waits after a 503

WEIGHTS = {
    "queue": 30,
    "create": 12,
    "transition": 18,
    "comment": 8,
    "dependents": 14,
    "impact": 8,
    "page": 10,
}

QUEUE = """
query Queue($priority: [String], $state: [String], $search: String, $myTeams: Boolean,
            $orderBy: String) {
  incidents(first: 50, open: true, priority: $priority, state: $state, search: $search,
            myTeams: $myTeams, orderBy: $orderBy) {
    totalCount
    edges { node { id number title state priority resolutionDue resolutionBreached
                   assignedTeam { name } assignee { username } service { name } } }
  }
}"""

CREATE = """
mutation Create($input: IncidentCreateInput!) {
  incidentCreate(input: $input) { errors { field message code } incident { id number state } }
}"""

ASSIGN = """
mutation Assign($id: ID!, $team: ID!, $assignee: ID!) {
  incidentAssign(id: $id, team: $team, assignee: $assignee) {
    errors { field message code } incident { state }
  }
}"""

START = """
mutation Start($id: ID!) {
  incidentStartWork(id: $id) { errors { field message code } incident { state } }
}"""

RESOLVE = """
mutation Resolve($id: ID!) {
  incidentResolve(id: $id, resolutionCode: "solved_permanently",
                  resolutionNotes: "Fixed during the load run.") {
    errors { field message code } incident { state }
  }
}"""

CLOSE = """
mutation Close($id: ID!) {
  incidentClose(id: $id) { errors { field message code } incident { state } }
}"""

COMMENT = """
mutation Comment($id: ID!, $text: String!) {
  incidentComment(id: $id, text: $text) { errors { field message code } }
}"""

DEPENDENTS = """
query Dependents($id: ID!, $depth: Int) {
  application(id: $id) {
    name
    dependents(depth: $depth) { depth application { id name } }
    dependencies(depth: 1) { depth application { id name } }
  }
}"""

IMPACT = """
query Impact($vendor: ID!) {
  impactAnalysis(vendor: $vendor, depth: 3) {
    applications { depth application { name } }
    services { name }
    openIncidents { number }
  }
}"""

SETUP = """
query Setup {
  me { user { id username teams { id name } } }
  applications(first: 200, orderBy: "name") { edges { node { id } } }
  vendors(first: 100) { edges { node { id } } }
}"""

# incident state after each step of the desk's walk through an incident's life
NEXT_STEP = {
    "new": ("assign", "assigned"),
    "assigned": ("start", "in_progress"),
    "in_progress": ("resolve", "resolved"),
    "resolved": ("close", "closed"),
}


class LoadError(Exception):
    pass


@dataclass
class Sample:
    kind: str
    start: float
    end: float
    status: int
    ok: bool
    detail: str = ""

    @property
    def latency(self) -> float:
        return self.end - self.start


@dataclass
class Written:
    """What the server said it committed, to be found in the database afterwards."""

    incidents: dict[str, set[str]] = field(default_factory=dict)  # number → acceptable states
    comments: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)


# --- setup -----------------------------------------------------------------------------------


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as exc:
        raise LoadError(f"cannot resolve {host!r}") from exc
    if not addresses or not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise LoadError(f"refusing {url}: only loopback addresses (127.0.0.0/8, ::1) are allowed")


def django_env() -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "landkarte.settings"
    # Connections kept across requests (and health-checked), as in production.
    env.setdefault("CONN_MAX_AGE", "60")
    env.setdefault("SECRET_KEY", "landkarte-load-test-only")
    env["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    env["DEBUG"] = "0"
    # Plain HTTP on loopback: no redirect to HTTPS (production sits behind a TLS proxy).
    env["SECURE_SSL_REDIRECT"] = "0"
    return env


def create_database_if_missing(url: str) -> None:
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    name = config["NAME"]
    params = {
        "dbname": "postgres",
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or config.get("OPTIONS", {}).get("host"),
        "port": config.get("PORT") or None,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def prepare(args) -> None:
    create_database_if_missing(os.environ["DATABASE_URL"])
    manage = [sys.executable, str(ROOT / "manage.py")]
    started = time.monotonic()
    subprocess.run([*manage, "migrate", "--noinput"], env=django_env(), check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    migrated = time.monotonic()
    subprocess.run([*manage, "seed_demo", "--scale", str(args.scale)], env=django_env(),
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    print(
        f"prepared: migrate {migrated - started:.1f} s, seed_demo --scale {args.scale} "
        f"{time.monotonic() - migrated:.1f} s"
    )


def setup_django() -> None:
    for key, value in django_env().items():
        os.environ[key] = value
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def issue_token() -> tuple[int, str]:
    from django.contrib.auth import get_user_model
    from django.db import connections

    from landkarte.models import APIToken

    try:
        user = get_user_model().objects.get(username=DESK_USER)
    except get_user_model().DoesNotExist as exc:
        raise LoadError(f"no user {DESK_USER!r}: run with --prepare (seed_demo)") from exc
    token, raw = APIToken.issue(user, name="load test")
    connections.close_all()
    return token.pk, raw


def revoke_token(pk: int) -> None:
    from django.db import connections

    from landkarte.models import APIToken

    APIToken.objects.filter(pk=pk).delete()
    connections.close_all()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [
        str(VENV_BIN / "gunicorn"), "landkarte.wsgi", "-w", str(workers),
        "-b", f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "5",
        "--error-logfile", str(log),
    ]  # fmt: skip
    # The application's own log lines (Django logs every 5xx) go to the same file.
    with open(log, "ab") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=django_env(), stdout=output, stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    answer = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LoadError(f"gunicorn exited with {process.returncode}; see {log}")
        try:
            response = requests.get(f"{url}/login/", timeout=20, allow_redirects=False)
            if response.status_code == 200:
                return process, url
            answer = f"HTTP {response.status_code} {response.headers.get('Location', '')}"
        except requests.RequestException as exc:
            answer = type(exc).__name__
        time.sleep(0.2)
    stop_gunicorn(process)
    raise LoadError(f"gunicorn did not serve /login/ within 60 s ({answer}); see {log}")


def die_with_parent() -> None:
    """gunicorn gets SIGTERM when this script dies, even by SIGKILL (Linux prctl)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def stop_gunicorn(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def worker_pids(master: int) -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid …: comm may contain spaces, so split after the last ')'
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.add(int(entry.name))
    return pids


# --- the clients -----------------------------------------------------------------------------


class Client:
    def __init__(self, url: str, token: str, index: int, seed: int, data: dict, written: Written):
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.random = random.Random(seed * 1000 + index)
        self.index = index
        self.data = data
        self.written = written
        self.mine: dict[str, dict] = {}  # number → {"id", "state"} of incidents this client walks
        self.counter = 0

    def graphql(self, query: str, variables: dict) -> tuple[int, dict | None, str]:
        response = self.session.post(
            f"{self.url}/graphql/", json={"query": query, "variables": variables}, timeout=60
        )
        return response.status_code, decode(response), outage_detail(response)

    def run_one(self) -> Sample:
        kinds = list(WEIGHTS)
        kind = self.random.choices(kinds, weights=[WEIGHTS[k] for k in kinds])[0]
        if kind == "transition" and not self.walkable():
            kind = "create"
        if kind == "comment" and not self.mine:
            kind = "create"
        start = time.monotonic()
        try:
            status, ok, detail = getattr(self, f"do_{kind}")()
        except Exception as exc:  # a connection failure, or an answer of an unexpected shape
            status, ok, detail = 0, False, f"{type(exc).__name__}: {exc}"
        sample = Sample(kind, start, time.monotonic(), status, ok, detail)
        if detail == "clean 503":
            # A client backs off when told to (not the full Retry-After: the run watches how
            # fast the service comes back).
            time.sleep(OUTAGE_BACKOFF)
        return sample

    def walkable(self) -> list[str]:
        return [n for n, i in self.mine.items() if i["state"] in NEXT_STEP and not i["unsure"]]

    # each returns (HTTP status, success, detail)

    def do_queue(self):
        variables = self.random.choice(
            [
                {"myTeams": True, "orderBy": "resolution_due"},
                {"priority": ["p1", "p2"], "orderBy": "-opened_at"},
                {"state": ["new", "assigned"], "orderBy": "priority"},
                {"search": self.random.choice(["VPN", "Drucker", "Fehler", "INC", "login"])},
                {"orderBy": "-updated"},
            ]
        )
        status, body, detail = self.graphql(QUEUE, variables)
        return status, graphql_ok(status, body, "incidents"), detail or summary(body)

    def do_create(self):
        self.counter += 1
        app = self.random.choice(self.data["applications"])
        title = f"Load run client {self.index} incident {self.counter}"
        variables = {
            "input": {
                "title": title,
                "description": "Created by scripts/load_test.py.",
                "impact": self.random.choice(["high", "medium", "low"]),
                "urgency": self.random.choice(["high", "medium", "low"]),
                "applications": [app],
            }
        }
        status, body, detail = self.graphql(CREATE, variables)
        payload = mutation_payload(body, "incidentCreate")
        if status == 200 and payload and not payload["errors"] and payload["incident"]:
            incident = payload["incident"]
            self.mine[incident["number"]] = {
                "id": incident["id"], "state": incident["state"].lower(), "unsure": False
            }  # fmt: skip
            with self.written.lock:
                self.written.incidents[incident["number"]] = {incident["state"].lower()}
            return status, True, ""
        return status, False, detail or summary(body)

    def do_transition(self):
        number = self.random.choice(self.walkable())
        incident = self.mine[number]
        step, target = NEXT_STEP[incident["state"]]
        variables = {"id": incident["id"]}
        query = {"assign": ASSIGN, "start": START, "resolve": RESOLVE, "close": CLOSE}[step]
        if step == "assign":
            variables.update(team=self.data["team"], assignee=self.data["user"])
        name = {"assign": "incidentAssign", "start": "incidentStartWork",
                "resolve": "incidentResolve", "close": "incidentClose"}[step]  # fmt: skip
        status, body, detail = self.graphql(query, variables)
        payload = mutation_payload(body, name)
        if status == 200 and payload and not payload["errors"] and payload["incident"]:
            incident["state"] = payload["incident"]["state"].lower()
            with self.written.lock:
                self.written.incidents[number] = {incident["state"]}
            return (
                status,
                incident["state"] == target,
                "" if incident["state"] == target else (f"{step} gave state {incident['state']}"),
            )
        # Not confirmed: the step may or may not have been committed. Stop walking this one;
        # either state is acceptable in the final check.
        incident["unsure"] = True
        with self.written.lock:
            self.written.incidents[number] = {incident["state"], target}
        return status, False, detail or summary(body)

    def do_comment(self):
        number = self.random.choice(list(self.mine))
        self.counter += 1
        text = f"Load run comment {self.index}-{self.counter}"
        status, body, detail = self.graphql(COMMENT, {"id": self.mine[number]["id"], "text": text})
        payload = mutation_payload(body, "incidentComment")
        if status == 200 and payload is not None and not payload["errors"]:
            with self.written.lock:
                self.written.comments[number].append(text)
            return status, True, ""
        return status, False, detail or summary(body)

    def do_dependents(self):
        variables = {
            "id": self.random.choice(self.data["applications"]),
            "depth": self.random.choice([1, 2, 3]),
        }
        status, body, detail = self.graphql(DEPENDENTS, variables)
        return status, graphql_ok(status, body, "application"), detail or summary(body)

    def do_impact(self):
        status, body, detail = self.graphql(
            IMPACT, {"vendor": self.random.choice(self.data["vendors"])}
        )
        return status, graphql_ok(status, body, "impactAnalysis"), detail or summary(body)

    def do_page(self):
        params = self.random.choice([{}, {"priority": "p2"}, {"open": "true", "page": "2"}])
        response = self.session.get(f"{self.url}/incidents/", params=params, timeout=60)
        ok = response.status_code == 200 and "<h1" in response.text
        return response.status_code, ok, outage_detail(response) or f"page {response.status_code}"


def decode(response) -> dict | None:
    try:
        return response.json()
    except ValueError:
        return None


def outage_detail(response) -> str:
    """'clean 503' for a proper outage answer; '' otherwise."""
    if response.status_code != 503:
        return ""
    retry_after = response.headers.get("Retry-After", "")
    content_type = response.headers.get("Content-Type", "")
    clean_body = (
        (content_type.startswith("application/json") and (decode(response) or {}).get("errors"))
        or (content_type.startswith("text/html") and "<h1>" in response.text)
    )  # fmt: skip
    if retry_after.isdigit() and clean_body:
        return "clean 503"
    return f"unclean 503 (Retry-After {retry_after!r}, {content_type})"


def graphql_ok(status: int, body: dict | None, root: str) -> bool:
    return (
        status == 200 and body is not None and not body.get("errors")
        and (body.get("data") or {}).get(root) is not None
    )  # fmt: skip


def mutation_payload(body: dict | None, name: str) -> dict | None:
    if not body or body.get("errors"):
        return None
    return (body.get("data") or {}).get(name)


def summary(body: dict | None) -> str:
    if body is None:
        return "no JSON body"
    if body.get("errors"):
        return "errors: " + "; ".join(str(e.get("message"))[:120] for e in body["errors"])
    for value in (body.get("data") or {}).values():
        if isinstance(value, dict) and value.get("errors"):
            return "mutation errors: " + json.dumps(value["errors"])[:200]
    return json.dumps(body)[:200]


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Outage:
    stop_command: str
    start_command: str
    at: float
    duration: float
    stopped_at: float | None = None  # monotonic time when the stop command began
    started_at: float | None = None  # when the start command had returned
    failure: str = ""

    def run(self, t0: float) -> None:
        time.sleep(max(0.0, t0 + self.at - time.monotonic()))
        self.stopped_at = time.monotonic()
        print(f"  [{self.stopped_at - t0:5.1f} s] stopping the database: {self.stop_command}")
        result = subprocess.run(self.stop_command, shell=True, capture_output=True, text=True)
        if result.returncode:
            self.failure = f"stop command failed: {result.stderr.strip()}"
        time.sleep(self.duration)
        begin = time.monotonic()
        print(f"  [{begin - t0:5.1f} s] starting the database: {self.start_command}")
        result = subprocess.run(self.start_command, shell=True, capture_output=True, text=True)
        if result.returncode:
            self.failure = f"start command failed: {result.stderr.strip()}"
        self.started_at = time.monotonic()
        print(f"  [{self.started_at - t0:5.1f} s] database started")


def run_load(args, url: str, token: str) -> tuple[list[Sample], float, Written, Outage | None]:
    setup = Client(url, token, 0, args.seed, {}, Written())
    status, body, _ = setup.graphql(SETUP, {})
    if status != 200 or not body or body.get("errors"):
        raise LoadError(f"setup query failed: {status} {summary(body)}")
    me = body["data"]["me"]["user"]
    if not me["teams"]:
        raise LoadError(f"user {DESK_USER!r} is in no team")
    data = {
        "user": me["id"],
        "team": me["teams"][0]["id"],
        "applications": [e["node"]["id"] for e in body["data"]["applications"]["edges"]],
        "vendors": [e["node"]["id"] for e in body["data"]["vendors"]["edges"]],
    }
    if not data["applications"] or not data["vendors"]:
        raise LoadError("no applications or vendors: run with --prepare (seed_demo)")

    written = Written()
    samples: list[Sample] = []
    samples_lock = threading.Lock()
    budget = [args.requests]
    t0 = time.monotonic()
    deadline = t0 + args.duration

    def client_loop(index: int) -> None:
        client = Client(url, token, index, args.seed, data, written)
        while time.monotonic() < deadline:
            with samples_lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            sample = client.run_one()
            with samples_lock:
                samples.append(sample)

    outage = None
    threads = [threading.Thread(target=client_loop, args=(i + 1,)) for i in range(args.clients)]
    if args.outage_at is not None:
        outage = Outage(args.stop_command, args.start_command, args.outage_at, args.outage_for)
        threads.append(threading.Thread(target=outage.run, args=(t0,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - t0
    return samples, elapsed, written, outage


def verify_writes(written: Written) -> list[str]:
    """Every write the server confirmed is in the database."""
    from django.db import connections

    from itsm.models import Incident, IncidentEvent

    problems = []
    numbers = list(written.incidents)
    found = dict(Incident.objects.filter(number__in=numbers).values_list("number", "state"))
    for number, states in written.incidents.items():
        if number not in found:
            problems.append(f"incident {number} was created but is missing")
        elif found[number] not in states:
            problems.append(f"incident {number} is {found[number]}, expected {sorted(states)}")
        elif not Incident.history.filter(number=number).exists():
            problems.append(f"incident {number} has no history")
    texts = set(
        IncidentEvent.objects.filter(incident__number__in=list(written.comments)).values_list(
            "text", flat=True
        )
    )
    for number, comments in written.comments.items():
        problems.extend(
            f"comment {text!r} on {number} is missing" for text in comments if text not in texts
        )
    connections.close_all()
    return problems


def percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(samples: list[Sample], elapsed: float, args, expected: set[int]) -> str:
    by_kind = defaultdict(list)
    for sample in samples:
        by_kind[sample.kind].append(sample)
    outage = args.outage_at is not None
    lines = [
        "| kind | requests | ok |" + (" clean 503 in outage |" if outage else "")
        + " errors | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---:|---:|" + ("---:|" if outage else "") + "---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for kind in [*WEIGHTS, "all"]:
        rows = samples if kind == "all" else by_kind.get(kind, [])
        if not rows:
            continue
        ok = [s.latency * 1000 for s in rows if s.ok]
        latencies = ok or [0.0]
        unavailable = sum(1 for s in rows if id(s) in expected)
        errors = sum(1 for s in rows if not s.ok and id(s) not in expected)
        label = "**all**" if kind == "all" else kind
        lines.append(
            f"| {label} | {len(rows)} | {len(ok)} |" + (f" {unavailable} |" if outage else "")
            + f" {errors} | {percentile(latencies, 50):.0f} | {percentile(latencies, 90):.0f} | "
            f"{percentile(latencies, 99):.0f} | {max(latencies):.0f} |"
        )  # fmt: skip
    succeeded = sum(1 for s in samples if s.ok)
    lines.append("")
    lines.append(
        f"{len(samples)} requests in {elapsed:.1f} s = {len(samples) / elapsed:.1f} requests/s, "
        f"{succeeded / elapsed:.1f} successful/s ({args.clients} client threads, "
        f"{args.workers} gunicorn workers; latencies of the successful requests)"
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server on a loopback address (default: start "
                        "gunicorn)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--duration", type=float, default=30, help="seconds (default 30)")
    parser.add_argument("--requests", type=int, default=100_000, help="at most this many")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--prepare", action="store_true",
                        help="create the database if missing, migrate, seed_demo")  # fmt: skip
    parser.add_argument("--scale", type=int, default=1, help="seed_demo --scale (default 1)")
    parser.add_argument("--outage-at", type=float, help="stop the database after this many s")
    parser.add_argument("--outage-for", type=float, default=4, help="seconds (default 4)")
    parser.add_argument("--stop-command", help="shell command that stops the database server")
    parser.add_argument("--start-command", help="shell command that starts it again")
    parser.add_argument(
        "--recovery-grace",
        type=float,
        default=5,
        help="after the restart, 503s are accepted this long (default 5 s)",
    )
    parser.add_argument("--report", help="also write the result table (Markdown) to this file")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    # SIGTERM (timeout, CI cancel) unwinds like Ctrl-C: gunicorn is stopped, the token deleted.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("DATABASE_URL must name a PostgreSQL database (the load run is for PostgreSQL)")
        return 2
    if args.outage_at is not None and not (args.stop_command and args.start_command):
        print("--outage-at needs --stop-command and --start-command")
        return 2
    if args.url:
        try:
            require_loopback(args.url)
        except LoadError as exc:
            print(exc)
            return 2

    if args.prepare:
        try:
            prepare(args)
        except subprocess.CalledProcessError as exc:
            print(f"FAILED: {' '.join(exc.cmd[1:])} exited with {exc.returncode}")
            return 1
    setup_django()
    from django.db import DatabaseError

    try:
        token_pk, token = issue_token()
    except (LoadError, DatabaseError) as exc:
        print(f"FAILED: {exc}")
        return 1
    log = Path(tempfile.mkstemp(prefix="landkarte-gunicorn-", suffix=".log")[1])
    server = None
    try:
        if args.url:
            base = args.url.rstrip("/")
        else:
            server, base = start_gunicorn(args.workers, log)
        pids_before = worker_pids(server.pid) if server else set()
        print(
            f"load: {args.clients} clients for {args.duration:g} s (at most {args.requests} "
            f"requests) against {base}" + (f" ({args.workers} workers)" if server else "")
        )
        samples, elapsed, written, outage = run_load(args, base, token)
        pids_after = worker_pids(server.pid) if server else set()
    except LoadError as exc:
        print(f"FAILED: {exc}")
        return 1
    finally:
        if server is not None:
            stop_gunicorn(server)
        try:
            revoke_token(token_pk)
        except Exception as exc:  # the database may be down after a failed fault run
            print(f"could not delete the load-test token: {exc}")

    failures = []
    expected: set[int] = set()  # id() of the samples that were clean 503s in the outage
    if outage is not None:
        if outage.failure:
            failures.append(outage.failure)
        if outage.stopped_at is None or outage.started_at is None:
            failures.append("the outage did not happen within the run (raise --duration)")
        else:
            window_end = outage.started_at + args.recovery_grace
            for sample in samples:
                if (
                    not sample.ok and sample.detail == "clean 503"
                    and outage.stopped_at <= sample.end <= window_end
                ):  # fmt: skip
                    expected.add(id(sample))
            recovered = [s.end for s in samples if s.ok and s.start >= outage.started_at]
            after = [s for s in samples if s.start > window_end]
            t0 = min(s.start for s in samples)
            print(
                f"outage: database stopped at {outage.stopped_at - t0:.1f} s, started again at "
                f"{outage.started_at - t0:.1f} s; {len(expected)} clean 503 answers"
            )
            if recovered:
                print(f"recovered: first success {min(recovered) - outage.started_at:.2f} s after "
                      f"the restart; {len(after)} requests after the grace period")  # fmt: skip
            else:
                failures.append("no successful request after the database came back")
            if not after:
                failures.append("no requests after the grace period (raise --duration)")
        if server is not None and pids_before != pids_after:
            failures.append(
                f"gunicorn workers changed: {sorted(pids_before)} → {sorted(pids_after)}"
            )
        elif server is not None:
            print(f"gunicorn workers unchanged: {sorted(pids_after)}")

    errors = [s for s in samples if not s.ok and id(s) not in expected]
    table = report(samples, elapsed, args, expected)
    print(table)
    if args.report:
        Path(args.report).write_text(table + "\n")
    for sample in errors[:20]:
        failures.append(f"{sample.kind}: HTTP {sample.status} {sample.detail}")
    if len(errors) > 20:
        failures.append(f"… and {len(errors) - 20} more errors")

    try:
        problems = verify_writes(written)
    except Exception as exc:
        problems = [f"could not verify the writes: {exc}"]
    confirmed = len(written.incidents) + sum(len(c) for c in written.comments.values())
    print(
        f"writes verified: {len(written.incidents)} incidents (state and history), "
        f"{confirmed - len(written.incidents)} comments: {len(problems)} missing or wrong"
    )
    failures.extend(problems)

    if not samples:
        failures.append("no requests were made")
    if failures:
        print(f"FAILED ({len(errors)} errors):")
        for failure in failures:
            print(f"  - {failure}")
        print(f"gunicorn log: {log}")
        return 1
    log.unlink(missing_ok=True)
    print("PASSED: no errors" + (", clean 503s only during the outage" if outage else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

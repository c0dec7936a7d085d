"""The endoflife.date importer against a real local HTTP server that serves API v1 responses
derived from the recorded product files in tests/data/endoflife (MIT, endoflife.date)."""

from __future__ import annotations

import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from cmdb.choices import ComponentKind
from cmdb.models import ITComponent
from importers.endoflife import EndOfLifeImporter

DATA = Path(__file__).resolve().parent.parent / "data" / "endoflife"
TODAY = datetime.date(2026, 11, 29)  # fixed, so the derived is* flags do not drift
D = datetime.date


# -- API v1 responses derived from the product files --------------------------------------------


def _front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    _, block, _ = text.split("---\n", 2)
    return yaml.safe_load(block)


def _flag_and_date(value):
    """An endoflife.date union field (date or boolean) as API v1's isX/xFrom pair."""
    if isinstance(value, bool):
        return value, None
    if isinstance(value, datetime.date):
        return value <= TODAY, value.isoformat()
    return False, None


def api_response(product: str) -> dict:
    """`GET /api/v1/products/<product>/` as endoflife.date would answer it (the fields the
    importer needs and the required ones around them; see CHANGELOG_API.md)."""
    data = _front_matter(DATA / f"{product}.md")
    has_eoas = any("eoas" in r or "support" in r for r in data["releases"])
    has_eoes = any("eoes" in r or "extendedSupport" in r for r in data["releases"])
    releases = []
    for r in data["releases"]:
        is_lts, lts_from = _flag_and_date(r.get("lts", False))
        is_eol, eol_from = _flag_and_date(r.get("eol"))
        release = {
            "name": str(r["releaseCycle"]),
            "codename": r.get("codename"),
            "label": str(r.get("releaseLabel", r["releaseCycle"])),
            "releaseDate": r["releaseDate"].isoformat(),
            "isLts": is_lts,
            "ltsFrom": lts_from,
            "isEol": is_eol,
            "eolFrom": eol_from,
            "isMaintained": not is_eol,
            "latest": {"name": str(r["latest"]), "date": None, "link": r.get("link")}
            if r.get("latest")
            else None,
        }
        if has_eoas:
            release["isEoas"], release["eoasFrom"] = _flag_and_date(r.get("eoas", r.get("support")))
        if has_eoes:
            release["isEoes"], release["eoesFrom"] = _flag_and_date(
                r.get("eoes", r.get("extendedSupport"))
            )
        releases.append(release)
    return {
        "schema_version": "1.2.1",
        "generated_at": "2026-11-29T04:00:00+00:00",
        "last_modified": "2026-11-01T00:00:00+00:00",
        "result": {
            "name": product,
            "label": data["title"],
            "aliases": [],
            "category": data["category"],
            "tags": [data["category"]],
            "identifiers": [],
            "labels": {"eol": "Security Support"},
            "links": {"html": f"https://endoflife.date/{product}"},
            "releases": releases,
        },
    }


# -- a real HTTP server -------------------------------------------------------------------------


class FakeEndOfLife:
    """Routes: path -> list of (status, headers, body). Each request takes the first entry;
    the last entry stays and answers every later request. Unknown paths answer 404."""

    def __init__(self):
        self.routes: dict[str, list[tuple[int, dict, bytes]]] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()
        for product in ("postgresql", "windows-server", "python"):
            self.serve_json(product, api_response(product))

    def path(self, product: str) -> str:
        return f"/api/v1/products/{product}/"

    def serve_json(self, product: str, payload: dict, status: int = 200):
        self.routes[self.path(product)] = [
            (status, {"Content-Type": "application/json"}, json.dumps(payload).encode())
        ]

    def fail_first(self, product: str, status: int, headers: dict | None = None, times=1):
        body = b'{"error": "try again"}'
        failures = [(status, headers or {}, body)] * times
        self.routes[self.path(product)] = failures + self.routes[self.path(product)]

    def count(self, product: str) -> int:
        return self.requests.count(self.path(product))

    def answer(self, path: str):
        with self.lock:
            self.requests.append(path)
            queue = self.routes.get(path)
            if not queue:
                return 404, {"Content-Type": "text/html"}, b"<h1>Not found</h1>"
            return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def eol_server():
    fake = FakeEndOfLife()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            status, headers, body = fake.answer(self.path)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- helpers ------------------------------------------------------------------------------------


def component(product: str, cycle: str, name: str | None = None, **dates) -> ITComponent:
    return ITComponent.objects.create(
        name=name or product,
        version=cycle,
        kind=ComponentKind.DATABASE,
        eol_product=product,
        eol_cycle=cycle,
        **dates,
    )


def importer(server, **kwargs) -> EndOfLifeImporter:
    kwargs.setdefault("base_url", server.base_url)
    return EndOfLifeImporter(base_delay=0.01, **kwargs)


def dates(obj: ITComponent):
    obj.refresh_from_db()
    return obj.release_date, obj.end_of_support, obj.end_of_life


# -- tests --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_components_get_the_dates_of_their_cycle(eol_server, admin_user):
    pg = component("postgresql", "15")
    ws = component("windows-server", "2022", name="Windows Server")
    py = component("python", "3.12", name="Python")
    untouched = ITComponent.objects.create(name="Fachverfahren X", version="1", kind="runtime")

    result = importer(eol_server, user=admin_user).execute()

    assert result.written and result.errors == []
    assert (result.updated, result.unchanged, result.skipped) == (3, 0, 0)
    assert dates(pg) == (D(2022, 10, 13), None, D(2027, 11, 11))
    assert dates(ws) == (D(2021, 8, 18), D(2026, 10, 13), D(2031, 10, 14))
    assert dates(py) == (D(2023, 10, 2), D(2025, 4, 2), D(2028, 10, 31))
    assert dates(untouched) == (None, None, None)
    last = pg.history.first()
    assert last.history_user == admin_user
    assert last.history_change_reason == "import: endoflife.date"


@pytest.mark.django_db
def test_one_request_per_product_and_base_url_from_settings(eol_server, settings):
    settings.LANDKARTE_EOL_BASE_URL = eol_server.base_url
    for cycle in ("13", "14", "15", "16"):
        component("postgresql", cycle, name=f"PostgreSQL {cycle}")

    result = EndOfLifeImporter(base_delay=0.01).execute()

    assert result.updated == 4
    assert eol_server.requests == ["/api/v1/products/postgresql/"]


@pytest.mark.django_db
def test_unknown_product_is_reported_and_others_imported(eol_server):
    ghost = component("no-such-product", "1.0", release_date=D(2020, 1, 1))
    pg = component("postgresql", "16")

    imp = importer(eol_server)
    result = imp.execute()

    assert result.written and result.errors == []
    assert result.skipped == 1 and result.updated == 1
    ((row, reason),) = result.skipped_rows
    assert row == ghost.pk and "no-such-product" in reason and "404" in reason
    assert imp.not_found == [reason]
    assert dates(ghost) == (D(2020, 1, 1), None, None)
    assert dates(pg) == (D(2023, 9, 14), None, D(2028, 11, 9))


@pytest.mark.django_db
def test_unknown_cycle_is_reported(eol_server):
    missing = component("postgresql", "6.0")
    known = component("postgresql", "17")

    imp = importer(eol_server)
    result = imp.execute()

    assert result.skipped == 1 and result.updated == 1
    ((row, reason),) = result.skipped_rows
    assert row == missing.pk and "'6.0'" in reason and "postgresql" in reason
    assert imp.not_found == [reason]
    assert dates(missing) == (None, None, None)
    assert dates(known) == (D(2024, 9, 26), None, D(2029, 11, 8))


@pytest.mark.django_db
def test_429_with_retry_after_then_success(eol_server):
    eol_server.fail_first("windows-server", 429, {"Retry-After": "0"})
    ws = component("windows-server", "2025")
    slept = []

    result = importer(eol_server, sleep=lambda s: slept.append(s)).execute()

    assert result.updated == 1 and result.errors == []
    assert eol_server.count("windows-server") == 2
    assert slept == [0.0]  # Retry-After honoured instead of the back-off
    assert dates(ws) == (D(2024, 11, 1), D(2029, 11, 13), D(2034, 11, 14))


@pytest.mark.django_db
def test_500_then_success_with_exponential_back_off(eol_server):
    eol_server.fail_first("postgresql", 500, times=2)
    pg = component("postgresql", "14")
    slept = []

    result = importer(eol_server, sleep=lambda s: slept.append(s)).execute()

    assert result.updated == 1 and result.errors == []
    assert eol_server.count("postgresql") == 3
    assert slept == [0.01, 0.02]
    assert dates(pg)[0] == D(2021, 9, 30)


@pytest.mark.django_db
def test_real_sleep_and_retry_after_capped(eol_server):
    eol_server.fail_first("postgresql", 429, {"Retry-After": "3600"})
    pg = component("postgresql", "15")

    result = importer(eol_server, max_delay=0.05).execute()

    assert result.updated == 1 and eol_server.count("postgresql") == 2
    assert dates(pg)[2] == D(2027, 11, 11)


@pytest.mark.django_db
def test_persistent_failure_is_an_error_for_that_product_only(eol_server):
    eol_server.fail_first("python", 503, times=10)
    py = component("python", "3.12")
    pg = component("postgresql", "15")

    result = importer(eol_server).execute()

    assert eol_server.count("python") == 4  # max attempts
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error.value == "python" and "503" in error.expected
    assert result.written and result.updated == 1
    assert dates(py) == (None, None, None)
    assert dates(pg)[0] == D(2022, 10, 13)

    # All-or-nothing on request.
    pg.end_of_life = None
    pg.save()
    strict = importer(eol_server, skip_invalid=False).execute()
    assert not strict.written and dates(pg)[2] is None


@pytest.mark.django_db
def test_end_of_support_out_of_order_is_dropped_and_reported(eol_server):
    payload = api_response("windows-server")
    release = next(r for r in payload["result"]["releases"] if r["name"] == "2022")
    release["eoasFrom"] = "2032-01-01"  # after end of life 2031-10-14
    eol_server.serve_json("windows-server", payload)
    ws = component("windows-server", "2022")

    imp = importer(eol_server)
    result = imp.execute()

    assert result.updated == 1 and result.errors == []
    assert dates(ws) == (D(2021, 8, 18), None, D(2031, 10, 14))
    assert len(imp.adjusted) == 1 and "2032-01-01" in imp.adjusted[0]


@pytest.mark.django_db
def test_reimport_changes_nothing(eol_server):
    comps = [component("postgresql", "15"), component("windows-server", "2022")]
    first = importer(eol_server).execute()
    assert first.updated == 2
    history = [c.history.count() for c in comps]

    again = importer(eol_server).execute()

    assert (again.updated, again.unchanged) == (0, 2)
    assert [c.history.count() for c in comps] == history


@pytest.mark.django_db
def test_dry_run_writes_nothing(eol_server):
    pg = component("postgresql", "15")
    history = pg.history.count()

    result = importer(eol_server, dry_run=True).execute()

    assert result.dry_run and not result.written and result.updated == 1
    assert dates(pg) == (None, None, None)
    assert pg.history.count() == history


def _all_cycles(product: str) -> list[str]:
    return [str(r["releaseCycle"]) for r in _front_matter(DATA / f"{product}.md")["releases"]]


@pytest.mark.django_db
@pytest.mark.parametrize("product", ["windows-server", "python", "postgresql"])
def test_offline_files_give_the_same_dates_as_the_api(eol_server, product):
    comps = [component(product, cycle, name=f"{product} {cycle}") for cycle in _all_cycles(product)]

    online = importer(eol_server).execute()
    assert online.errors == [] and online.skipped == 0
    via_api = {c.pk: dates(c) for c in comps}
    ITComponent.objects.update(release_date=None, end_of_support=None, end_of_life=None)

    offline = EndOfLifeImporter(source_dir=DATA).execute()
    assert offline.errors == [] and offline.skipped == 0
    assert offline.updated == online.updated == len(comps)
    assert {c.pk: dates(c) for c in comps} == via_api
    assert eol_server.count(product) == 1  # offline made no request


@pytest.mark.django_db
def test_offline_unknown_product_is_reported():
    component("no-such-product", "1")
    imp = EndOfLifeImporter(source_dir=DATA)
    result = imp.execute()
    assert result.skipped == 1 and "no-such-product" in imp.not_found[0]


@pytest.mark.django_db
def test_command_api_and_offline(eol_server, admin_user):
    pg = component("postgresql", "15")
    component("postgresql", "6.0")
    out = StringIO()

    call_command("import_endoflife", "--base-url", eol_server.base_url, "--dry-run", stdout=out)
    assert "dry run" in out.getvalue() and "'6.0'" in out.getvalue()
    assert dates(pg) == (None, None, None)

    out = StringIO()
    call_command("import_endoflife", "--offline", str(DATA), "--as-user", "admin", stdout=out)
    text = out.getvalue()
    assert "updated 1" in text and "skipped 1" in text and "Not found (1)" in text
    assert dates(pg)[2] == D(2027, 11, 11)
    assert pg.history.first().history_user == admin_user

    with pytest.raises(CommandError):
        call_command("import_endoflife", "--as-user", "nobody", stdout=StringIO())

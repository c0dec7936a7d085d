"""Browser tests: Playwright drives Debian's chromium (never a downloaded browser) against a
live test server. Screenshots go to var/screenshots (not committed); axe-core, served from this
folder, checks accessibility."""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("LANDKARTE_SCREENSHOTS", ROOT / "var" / "screenshots"))
PASSWORD = "pw-for-tests-only"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
expect.set_options(timeout=10_000)


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Browser tests need Debian's chromium: apt-get install -y chromium")
    return path


@pytest.fixture(scope="package", autouse=True)
def allow_orm_beside_playwright():
    # Playwright's sync API runs an event loop in this thread; the tests still use the ORM
    # synchronously to prepare data, which Django would otherwise refuse. Only while these
    # tests run: other tests start subprocesses that must not inherit it.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def browser():
    # Package scope: Playwright's event loop must stop before the rest of the suite runs.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(language="en") -> a page at 1366×768 whose browser asks for that language."""
    contexts = []

    def make(language: str = "en"):
        context = browser.new_context(
            viewport={"width": 1366, "height": 768},
            locale={"en": "en-GB", "de": "de-DE"}[language],
            base_url=live_server.url,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page("en")


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").or_(page.get_by_label("Benutzername")).fill(username)
    page.get_by_label("Password").or_(page.get_by_label("Passwort")).fill(password)
    page.locator("form.stacked button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login/" not in page.url, f"sign-in as {username} failed"


def screenshot(page, name: str, language: str = "en") -> Path:
    """A full-page screenshot at the page's viewport into var/screenshots/<language>/."""
    target = SCREENSHOTS / language / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    return target


def accessibility_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations of the given impacts on the current page."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the page's CSP (script-src 'self') would
        # block an injected <script> element.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
            resultTypes: ['violations'],
        })"""
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def assert_accessible(page) -> None:
    violations = accessibility_violations(page)
    assert not violations, f"{page.url}: {violations}"

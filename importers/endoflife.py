"""Lifecycle dates of IT components from endoflife.date.

Every `ITComponent` with `eol_product` and `eol_cycle` gets `release_date`, `end_of_support`
and `end_of_life` from the release cycle of that product whose name equals `eol_cycle`.

Two sources, one mapping:

* API v1 (default): `GET {base}/api/v1/products/{product}/`, one request per product, with
  timeouts and retries (429 honouring `Retry-After`, 5xx and connection errors, exponential
  back-off). A release maps `releaseDate` → release date, `eoasFrom` → end of support,
  `eolFrom` → end of life.
* Offline: `source_dir` holds endoflife.date product files (`<product>.md`, Markdown with YAML
  front matter). A release maps `releaseDate`, `eoas` (or the older `support`) and `eol`; a
  boolean instead of a date means "no date" (the API's `eoasFrom`/`eolFrom` are null then too).

Reports: an unknown product (404, or no file offline) and an unknown cycle are *skipped* with
the reason (row = the component's primary key) and listed in `not_found`; an end of support
outside release … end of life is dropped and listed in `adjusted`; a product that cannot be
fetched (after retries, or an unreadable answer) is an *error* for that product, and the other
products are still imported (this importer defaults to `skip_invalid=True`; pass
`skip_invalid=False` for all-or-nothing). Unchanged components are not saved.
"""

from __future__ import annotations

import datetime
import email.utils
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests
import yaml
from django.conf import settings

from cmdb.models import ITComponent
from importers.base import Importer, Stage

DEFAULT_BASE_URL = "https://endoflife.date"
USER_AGENT = "landkarte-endoflife-importer/1"

RETRY_STATUSES = {429, 500, 502, 503, 504}


class ProductNotFound(Exception):
    """The product does not exist at the source (404, or no product file)."""


class FetchError(Exception):
    """The product could not be read: network, HTTP status after retries, malformed data."""


@dataclass(frozen=True)
class Cycle:
    release_date: datetime.date | None
    end_of_support: datetime.date | None
    end_of_life: datetime.date | None


def _as_date(value, field: str) -> datetime.date | None:
    """A date from an ISO string or a YAML date; None for null and for booleans."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise FetchError(f"{field}: {value!r} is not a date (YYYY-MM-DD)")


def cycles_from_api(payload) -> dict[str, Cycle]:
    """Release cycles by name from an API v1 product response."""
    try:
        releases = payload["result"]["releases"]
    except (KeyError, TypeError) as exc:
        raise FetchError("response has no result.releases") from exc
    if not isinstance(releases, list):
        raise FetchError("result.releases is not a list")
    cycles = {}
    for release in releases:
        if not isinstance(release, dict) or release.get("name") in (None, ""):
            raise FetchError(f"release without a name: {release!r}")
        name = str(release["name"])
        cycles[name] = Cycle(
            release_date=_as_date(release.get("releaseDate"), f"{name}.releaseDate"),
            end_of_support=_as_date(release.get("eoasFrom"), f"{name}.eoasFrom"),
            end_of_life=_as_date(release.get("eolFrom"), f"{name}.eolFrom"),
        )
    return cycles


def read_front_matter(text: str) -> dict:
    """The YAML front matter of a Markdown file (between the first two `---` lines)."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        raise FetchError("no YAML front matter (file does not start with ---)")
    end = next((i for i, line in enumerate(lines) if i and line.strip() == "---"), None)
    if end is None:
        raise FetchError("YAML front matter is not closed by ---")
    try:
        data = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        raise FetchError(f"invalid YAML front matter: {exc}") from exc
    if not isinstance(data, dict):
        raise FetchError("YAML front matter is not a mapping")
    return data


def cycles_from_product_file(text: str) -> dict[str, Cycle]:
    """Release cycles by name from an endoflife.date product file."""
    releases = read_front_matter(text).get("releases")
    if not isinstance(releases, list):
        raise FetchError("front matter has no releases list")
    cycles = {}
    for release in releases:
        if not isinstance(release, dict) or release.get("releaseCycle") in (None, ""):
            raise FetchError(f"release without a releaseCycle: {release!r}")
        name = str(release["releaseCycle"])
        support = release["eoas"] if "eoas" in release else release.get("support")
        cycles[name] = Cycle(
            release_date=_as_date(release.get("releaseDate"), f"{name}.releaseDate"),
            end_of_support=_as_date(support, f"{name}.eoas"),
            end_of_life=_as_date(release.get("eol"), f"{name}.eol"),
        )
    return cycles


class EndOfLifeImporter(Importer):
    name = "endoflife.date"

    def __init__(
        self,
        *,
        base_url: str | None = None,
        source_dir: str | Path | None = None,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 20.0),
        max_attempts: int = 4,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        skip_invalid: bool = True,
        sleep=time.sleep,
        **kwargs,
    ):
        super().__init__(skip_invalid=skip_invalid, **kwargs)
        self.base_url = (
            base_url or getattr(settings, "LANDKARTE_EOL_BASE_URL", None) or DEFAULT_BASE_URL
        ).rstrip("/")
        self.source_dir = Path(source_dir) if source_dir is not None else None
        self.session = session
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.not_found: list[str] = []
        """Human-readable lines: unknown products and cycles."""
        self.adjusted: list[str] = []
        """Human-readable lines: end-of-support dates dropped to keep the dates in order."""
        self.requests_made = 0

    # -- sources ---------------------------------------------------------------------------

    def product_url(self, product: str) -> str:
        return f"{self.base_url}/api/v1/products/{quote(product, safe='')}/"

    def _retry_delay(self, attempt: int, response: requests.Response | None) -> float:
        delay = self.base_delay * (2 ** (attempt - 1))
        if response is not None and response.status_code == 429:
            retry_after = (response.headers.get("Retry-After") or "").strip()
            if retry_after:
                try:
                    delay = float(retry_after)
                except ValueError:
                    try:
                        when = email.utils.parsedate_to_datetime(retry_after)
                        now = datetime.datetime.now(tz=when.tzinfo or datetime.UTC)
                        delay = (when - now).total_seconds()
                    except (TypeError, ValueError):
                        pass
        return min(max(delay, 0.0), self.max_delay)

    def fetch_api(self, session: requests.Session, product: str) -> dict[str, Cycle]:
        url = self.product_url(product)
        problem = ""
        for attempt in range(1, self.max_attempts + 1):
            response = None
            try:
                self.requests_made += 1
                response = session.get(
                    url, timeout=self.timeout, headers={"Accept": "application/json"}
                )
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            except requests.RequestException as exc:
                raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from exc
            else:
                if response.status_code == 404:
                    raise ProductNotFound(f"HTTP 404 from {url}")
                if response.status_code == 200:
                    try:
                        payload = response.json()
                    except ValueError as exc:
                        raise FetchError(f"{url}: response is not JSON") from exc
                    return cycles_from_api(payload)
                problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUSES:
                    raise FetchError(f"{url}: {problem}")
            if attempt < self.max_attempts:
                self.sleep(self._retry_delay(attempt, response))
        raise FetchError(f"{url}: {problem} after {self.max_attempts} attempts")

    def read_offline(self, product: str) -> dict[str, Cycle]:
        path = self.source_dir / f"{product}.md"
        if "/" in product or "\\" in product or not path.is_file():
            raise ProductNotFound(f"no product file {product}.md in {self.source_dir}")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise FetchError(f"{path}: {exc}") from exc
        try:
            return cycles_from_product_file(text)
        except FetchError as exc:
            raise FetchError(f"{path}: {exc}") from exc

    # -- import ----------------------------------------------------------------------------

    def run(self, stage: Stage) -> None:
        components = (
            ITComponent.objects.exclude(eol_product="")
            .exclude(eol_cycle="")
            .order_by("eol_product", "eol_cycle", "pk")
        )
        by_product: dict[str, list[ITComponent]] = defaultdict(list)
        for component in components:
            by_product[component.eol_product.strip()].append(component)
        total = sum(len(items) for items in by_product.values())
        done = 0
        session = None
        if self.source_dir is None:
            session = self.session or requests.Session()
            session.headers.setdefault("User-Agent", USER_AGENT)
        try:
            for product, items in by_product.items():
                self.import_product(stage, session, product, items)
                done += len(items)
                stage.tick(done, total)
        finally:
            if session is not None and self.session is None:
                session.close()

    def import_product(self, stage, session, product: str, items: list[ITComponent]) -> None:
        try:
            if self.source_dir is None:
                cycles = self.fetch_api(session, product)
            else:
                cycles = self.read_offline(product)
        except ProductNotFound as exc:
            for component in items:
                reason = f"{component}: product {product!r} not found ({exc})"
                self.not_found.append(reason)
                stage.skipped(component.pk, reason)
            return
        except FetchError as exc:
            stage.error(None, "eol_product", product, f"a readable endoflife.date product ({exc})")
            return
        for component in items:
            cycle_name = component.eol_cycle.strip()
            cycle = cycles.get(cycle_name)
            if cycle is None:
                reason = f"{component}: cycle {cycle_name!r} not found in product {product!r}"
                self.not_found.append(reason)
                stage.skipped(component.pk, reason)
                continue
            self.apply(stage, component, cycle)

    def apply(self, stage: Stage, component: ITComponent, cycle: Cycle) -> None:
        released, support, eol = cycle.release_date, cycle.end_of_support, cycle.end_of_life
        if released and eol and eol < released:
            stage.error(
                component.pk,
                "end_of_life",
                eol.isoformat(),
                f"on or after the release date {released.isoformat()} "
                f"({component.eol_product} {component.eol_cycle}); component left unchanged",
            )
            return
        if support and ((released and support < released) or (eol and support > eol)):
            self.adjusted.append(
                f"{component}: end of support {support.isoformat()} dropped, not between "
                f"release {released} and end of life {eol}"
            )
            support = None
        values = {"release_date": released, "end_of_support": support, "end_of_life": eol}
        changed = [name for name, value in values.items() if getattr(component, name) != value]
        if not changed:
            stage.unchanged(component)
            return
        for name in changed:
            setattr(component, name, values[name])
        component._history_user = self.user
        component._change_reason = self.change_reason
        component.save(update_fields=[*changed, "updated"])
        stage.updated(component)

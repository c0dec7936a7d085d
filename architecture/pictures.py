"""Server-side SVG pictures of the architecture pages: columns of labelled boxes joined by
arrows (a dependency neighbourhood, an impact analysis), a lifecycle timeline and a tech
radar. Presentation only: what is drawn comes from the services; every picture has a text
equivalent on its page."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

# Fill colours (all with dark text, contrast above 4.5:1); the column headings and the lists
# next to each picture say what a box is, so colour never carries meaning alone.
FILLS = {
    "focus": "#cfe3f7",
    "start": "#fde6e9",
    "app": "#f3f5f7",
    "service": "#e3f2e6",
    "org": "#fff1d6",
    "subject": "#e8e0f5",
}
STROKE = "#4a4a4a"

NODE_WIDTH = 180
NODE_HEIGHT = 30
COLUMN_GAP = 60
ROW_GAP = 10
HEADER = 34
MAX_LABEL = 26


@dataclass(frozen=True)
class Node:
    key: str
    label: str
    kind: str = "app"
    """focus, start, app, service, org or subject (colour only)."""


@dataclass(frozen=True)
class Column:
    title: str
    nodes: list[Node]


def _short(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def columns_svg(
    columns: list[Column],
    edges: list[tuple[str, str]],
    label: str,
    max_per_column: int = 30,
) -> SafeString:
    """Columns of boxes left to right with arrows for `edges` (key → key). A column with more
    than `max_per_column` boxes shows the first ones and "+ n more"."""
    columns = [c for c in columns if c.nodes]
    positions: dict[str, tuple[float, float]] = {}
    body: list[str] = []
    tallest = 0
    for index, column in enumerate(columns):
        x = index * (NODE_WIDTH + COLUMN_GAP) + 4
        shown = column.nodes[:max_per_column]
        rows = len(shown) + (1 if len(column.nodes) > max_per_column else 0)
        tallest = max(tallest, rows)
        body.append(
            f'<text x="{x}" y="18" font-weight="700">{escape(_short(column.title, 30))}</text>'
        )
        for row, node in enumerate(shown):
            y = HEADER + row * (NODE_HEIGHT + ROW_GAP)
            positions.setdefault(node.key, (x, y))
            fill = FILLS.get(node.kind, FILLS["app"])
            width = 2 if node.kind in ("focus", "subject") else 1
            body.append(
                f"<g><title>{escape(node.label)}</title>"
                f'<rect x="{x}" y="{y}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="4" '
                f'fill="{fill}" stroke="{STROKE}" stroke-width="{width}"></rect>'
                f'<text x="{x + 8}" y="{y + 19}">{escape(_short(node.label))}</text></g>'
            )
        if len(column.nodes) > max_per_column:
            y = HEADER + len(shown) * (NODE_HEIGHT + ROW_GAP) + 19
            more = len(column.nodes) - max_per_column
            body.append(
                f'<text x="{x + 8}" y="{y}">'
                f"{escape(_('+ %(count)d more') % {'count': more})}</text>"
            )
    lines = []
    seen = set()
    for source, target in edges:
        if (source, target) in seen or source not in positions or target not in positions:
            continue
        seen.add((source, target))
        (x1, y1), (x2, y2) = positions[source], positions[target]
        if x1 == x2:
            continue
        if x1 > x2:
            (x1, y1), (x2, y2) = (x2, y2), (x1, y1)
        lines.append(
            f'<line x1="{x1 + NODE_WIDTH}" y1="{y1 + NODE_HEIGHT / 2}" x2="{x2 - 2}" '
            f'y2="{y2 + NODE_HEIGHT / 2}" stroke="#767676" stroke-width="1.2" '
            f'marker-end="url(#arrow)"></line>'
        )
    width = max(1, len(columns)) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP + 8
    height = HEADER + max(1, tallest) * (NODE_HEIGHT + ROW_GAP) + 4
    svg = (
        f'<svg class="graph-picture" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg" style="max-width:{width}px">'
        f"<title>{escape(label)}</title>"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#767676"></path></marker></defs>' + "".join(lines) + "".join(body) + "</svg>"
    )
    return mark_safe(svg)


# --- lifecycle timeline ----------------------------------------------------------------------


def timeline_svg(
    milestones: list[tuple[str, datetime.date, bool]], on: datetime.date, width: int = 640
) -> SafeString:
    """A line with one dot per dated milestone (label, date, reached: filled when reached) and
    a dashed mark at `on`; empty without milestones."""
    if not milestones:
        return mark_safe("")
    first = min([date for _label, date, _reached in milestones] + [on])
    last = max([date for _label, date, _reached in milestones] + [on])
    span = max(1, (last - first).days)
    left = right = 20
    plot = width - left - right

    def x_of(day: datetime.date) -> float:
        return left + plot * (day - first).days / span

    title = escape(_("Lifecycle timeline"))
    parts = [
        f'<svg class="chart lifecycle-timeline" role="img" aria-label="{title}" '
        f'width="{width}" height="70" viewBox="0 0 {width} 70" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{title}</title>',
        f'<line x1="{left}" y1="30" x2="{width - right}" y2="30" stroke="{STROKE}" '
        f'stroke-width="2"></line>',
    ]
    for index, (label, date, reached) in enumerate(milestones):
        x = x_of(date)
        fill = "#0a4d8c" if reached else "#ffffff"
        y_text = 16 if index % 2 == 0 else 56
        parts.append(
            f'<circle cx="{x:.1f}" cy="30" r="6" fill="{fill}" stroke="#0a4d8c" '
            f'stroke-width="2"></circle><text x="{x:.1f}" y="{y_text}" text-anchor="middle" '
            f'font-size="11">{escape(str(label))} {date.isoformat()}</text>'
        )
    x = x_of(on)
    parts.append(
        f'<line x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="40" stroke="#b00020" '
        f'stroke-width="2" stroke-dasharray="3 2"></line>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))


# --- tech radar ------------------------------------------------------------------------------

RING_FILLS = ["#e3f2e6", "#eef6f0", "#fff8e8", "#fff1d6", "#fde6e9"]
SECTOR_LINE = "#c4c4c4"


@dataclass(frozen=True)
class Blip:
    number: int
    label: str
    sector: int
    ring: int


def radar_svg(
    sectors: list[str], rings: list[str], blips: list[Blip], label: str, size: int = 560
) -> SafeString:
    """A radar: rings from the centre outwards (`rings`, innermost first), one sector per
    category; each blip a numbered dot (the numbers are in the table next to the picture)."""
    centre = size / 2
    outer = centre - 24
    ring_width = outer / max(1, len(rings))
    parts = [
        f'<svg class="chart radar" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {size} {size}" width="{size}" height="{size}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>'
    ]
    for index in reversed(range(len(rings))):
        radius = ring_width * (index + 1)
        fill = RING_FILLS[index % len(RING_FILLS)]
        parts.append(
            f'<circle cx="{centre}" cy="{centre}" r="{radius:.1f}" fill="{fill}" '
            f'stroke="{SECTOR_LINE}"></circle>'
        )
    count = max(1, len(sectors))
    for index in range(count):
        angle = 2 * math.pi * index / count - math.pi / 2
        x = centre + outer * math.cos(angle)
        y = centre + outer * math.sin(angle)
        parts.append(
            f'<line x1="{centre}" y1="{centre}" x2="{x:.1f}" y2="{y:.1f}" '
            f'stroke="{SECTOR_LINE}"></line>'
        )
    for index, name in enumerate(rings):
        parts.append(
            f'<text x="{centre + 3}" y="{centre - ring_width * index - 4:.1f}" '
            f'font-size="11">{escape(name)}</text>'
        )
    for index, name in enumerate(sectors):
        angle = 2 * math.pi * (index + 0.5) / count - math.pi / 2
        x = centre + (outer + 12) * math.cos(angle)
        y = centre + (outer + 12) * math.sin(angle)
        anchor = "start" if math.cos(angle) > 0.2 else "end" if math.cos(angle) < -0.2 else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-weight="700" '
            f'font-size="11">{escape(_short(name, 22))}</text>'
        )
    # Spread the blips of one sector and ring over the cell.
    cells: dict[tuple[int, int], list[Blip]] = {}
    for blip in blips:
        cells.setdefault((blip.sector, blip.ring), []).append(blip)
    for (sector, ring), members in cells.items():
        start = 2 * math.pi * sector / count - math.pi / 2
        span = 2 * math.pi / count
        for position, blip in enumerate(members):
            per_arc = max(1, int(span * ring_width * (ring + 0.5) / 22))
            lane, slot = divmod(position, per_arc)
            lanes = max(1, math.ceil(len(members) / per_arc))
            radius = ring_width * (ring + (lane + 0.5) / lanes)
            angle = start + span * (slot + 0.5) / min(per_arc, len(members) - lane * per_arc)
            x = centre + radius * math.cos(angle)
            y = centre + radius * math.sin(angle)
            parts.append(
                f"<g><title>{escape(blip.label)}</title>"
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="#ffffff" stroke="#0a4d8c" '
                f'stroke-width="1.5"></circle>'
                f'<text x="{x:.1f}" y="{y + 3.5:.1f}" text-anchor="middle" font-size="9">'
                f"{blip.number}</text></g>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))

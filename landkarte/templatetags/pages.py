"""Template helpers every page uses: sortable column headers, paging links that keep the
filters, SLA countdowns and small SVG charts (served inline: no chart library, no CDN)."""

from __future__ import annotations

import datetime
from html import escape

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

register = template.Library()


@register.inclusion_tag("landkarte/_sort_header.html", takes_context=True)
def sort_header(context, label, key, css_class=""):
    """A column header that sorts by `key`; a second click reverses the order."""
    request = context["request"]
    current = context.get("sort") or ""
    params = request.GET.copy()
    params.pop("page", None)
    descending = current == key
    params["sort"] = f"-{key}" if descending else key
    state = "none"
    if current == key:
        state = "ascending"
    elif current == f"-{key}":
        state = "descending"
    return {"label": label, "url": "?" + params.urlencode(), "state": state, "css_class": css_class}


@register.simple_tag(takes_context=True)
def page_url(context, page_number):
    """The current URL with another page number (filters and sort kept)."""
    params = context["request"].GET.copy()
    params["page"] = page_number
    return "?" + params.urlencode()


def _minutes_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h"
    if hours:
        return f"{sign}{hours} h {mins:02d} min"
    return f"{sign}{mins} min"


@register.inclusion_tag("landkarte/_sla.html")
def sla_countdown(due, done_at=None, paused=False, now=None):
    """Time left until an SLA target, coloured by urgency: breached, due within an hour, within
    four hours, later. Calendar time: the exact business-time clock is in the SLA record."""
    if due is None:
        return {"css": "sla-none", "text": _("no target"), "due": None}
    if done_at is not None:
        met = done_at <= due
        return {
            "css": "sla-ok" if met else "sla-breached",
            "text": _("met") if met else _("missed"),
            "due": due,
        }
    if paused:
        return {"css": "sla-paused", "text": _("paused"), "due": due}
    now = now or timezone.now()
    minutes = int((due - now).total_seconds() // 60)
    if minutes < 0:
        css, text = "sla-breached", _("overdue by %(time)s") % {"time": _minutes_text(-minutes)}
    elif minutes < 60:
        css, text = "sla-due", _minutes_text(minutes)
    elif minutes < 240:
        css, text = "sla-soon", _minutes_text(minutes)
    else:
        css, text = "sla-ok", _minutes_text(minutes)
    return {"css": css, "text": text, "due": due}


@register.simple_tag
def bar_chart(rows, label="", unit="", width=420, max_value=None, label_width=150):
    """Horizontal bars for `rows` [(label, value), ...] as inline SVG with a text alternative.
    Values of None are shown as "–" without a bar. Long row labels are shortened to fit
    `label_width` pixels (the full label is the tooltip)."""
    rows = list(rows)
    bar_height, gap, value_width = 18, 6, 60
    max_chars = max(6, label_width // 7)
    height = max(1, len(rows)) * (bar_height + gap)
    values = [v for _, v in rows if v is not None]
    top = max_value or (max(values) if values else 0) or 1
    plot = width - label_width - value_width
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(str(label))}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(str(label))}</title>",
    ]
    for index, (name, value) in enumerate(rows):
        y = index * (bar_height + gap)
        text_y = y + bar_height - 5
        name = escape(str(name))
        short = name if len(name) <= max_chars else name[: max_chars - 1] + "…"
        parts.append(f'<text x="0" y="{text_y}"><title>{name}</title>{short}</text>')
        if value is None:
            parts.append(f'<text x="{label_width}" y="{text_y}">–</text>')
            continue
        bar = max(1.0, plot * float(value) / float(top)) if value else 0
        parts.append(
            f'<rect x="{label_width}" y="{y}" width="{bar:.1f}" height="{bar_height}" '
            f'fill="#0a4d8c"></rect>'
        )
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        parts.append(f'<text x="{label_width + bar + 4:.1f}" y="{text_y}">{shown}{unit}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


@register.filter
def minutes(value):
    """Business minutes as "2 h 05 min"."""
    if value is None or value == "":
        return "–"
    return _minutes_text(int(round(float(value))))


@register.filter
def days_until(value, today=None):
    if value is None:
        return None
    today = today or timezone.localdate()
    if isinstance(value, datetime.datetime):
        value = value.date()
    return (value - today).days

"""`roster --html`: one self-contained HTML file to open in a browser on this laptop.

Everything is inside the file (styles, bar charts as inline SVG): it loads nothing from
anywhere, and its Content-Security-Policy forbids it to, so opening it tells no one. Every
answer is hostile until escaped: students can type anything, including markup. The table
streams as pledges are opened; the counts, known only at the end, are written after it and
shown first by the stylesheet.
"""

import base64
import hashlib
from collections.abc import Iterator
from datetime import date
from html import escape
from typing import Any, TextIO

from organizer.roster import Tally, conflict_sentence
from organizer.roster_counts import Counts, countable, summary_heading
from organizer.roster_formats import answer_text

STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem;color:#1b1b1b;
background:#fff;display:flex;flex-direction:column}
h1{font-size:1.6rem;margin:.5rem 0}
.warning{background:#fff4d6;border:2px solid #8a5a00;border-radius:6px;padding:.5rem 1rem}
header{order:-2}
#counts{order:-1}
.chart{margin:1rem 0 1.5rem}
.chart h3{margin:.25rem 0;font-size:1.1rem}
svg text{font:14px system-ui,sans-serif;fill:#1b1b1b}
svg rect.bar{fill:#0a4fa6}
table{border-collapse:collapse;width:100%;margin:1rem 0}
caption{text-align:left;font-weight:700;font-size:1.2rem;padding:.5rem 0}
th,td{border:1px solid #8c8c8c;padding:.3rem .5rem;text-align:left;vertical-align:top}
td{white-space:pre-wrap;overflow-wrap:anywhere}
thead th{background:#eef2f8;position:sticky;top:0}
tbody tr:nth-child(even){background:#f6f6f6}
"""
BAR_HEIGHT = 24
LABEL_WIDTH = 260
CHART_WIDTH = 720
LABEL_CHARS = 34


def _e(value: Any) -> str:
    """Escaped for HTML text and quoted attributes (SVG included): & < > " ' all become entities."""
    return escape(str(value), quote=True)


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")
    return f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"


def _head(title: str, campaign_id: str, today: date) -> str:
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_csp()}\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>Roster: {_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>Roster: {_e(title)}</h1>\n"
        f"<p>Campaign {_e(campaign_id)}, opened on this laptop on {today.isoformat()}. "
        "<a href=\"#counts\">Counts</a> · <a href=\"#pledges\">All pledges</a></p>\n"
        "<p class=\"warning\"><strong>Private:</strong> this file holds students' answers in "
        "plain text. Keep it on this laptop; do not upload, email or print it; delete it when "
        "you are done.</p></header>\n"
    )


def _table_start(fields: list[dict[str, Any]]) -> str:
    heads = "".join(f"<th scope=\"col\">{_e(f['label']['en'])}</th>" for f in fields)
    return ("<main id=\"pledges\">\n<table>\n<caption>All pledges</caption>\n"
            f"<thead><tr><th scope=\"col\">Received</th>{heads}</tr></thead>\n<tbody>\n")


def _row(row: dict[str, Any], fields: list[dict[str, Any]]) -> str:
    cells = "".join(f"<td>{_e(answer_text(f, row['answers'].get(f['id'])))}</td>" for f in fields)
    return f"<tr><td>{_e(row['received_day'])}</td>{cells}</tr>\n"


def _chart(field_spec: dict[str, Any], counter: Any, total: int) -> str:
    """A horizontal bar chart in inline SVG, with a text alternative for screen readers."""
    items = counter.most_common()
    height = BAR_HEIGHT * len(items) + 8
    room = CHART_WIDTH - LABEL_WIDTH - 90
    heading = summary_heading(field_spec)
    parts = [f"<section class=\"chart\">\n<h3>{_e(heading)}</h3>\n"
             f"<svg role=\"img\" width=\"{CHART_WIDTH}\" height=\"{height}\" "
             f"viewBox=\"0 0 {CHART_WIDTH} {height}\" aria-label=\"{_e(heading)}: "
             + _e(", ".join(f"{label} {n}" for label, n in items)) + "\">\n"]
    for i, (label, n) in enumerate(items):
        y = 4 + i * BAR_HEIGHT
        width = max(1, round(room * n / max(total, 1)))
        short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        parts.append(
            f"<g><title>{_e(label)}: {n}</title>"
            f"<text x=\"0\" y=\"{y + 17}\">{_e(short)}</text>"
            f"<rect class=\"bar\" x=\"{LABEL_WIDTH}\" y=\"{y + 3}\" width=\"{width}\" "
            f"height=\"{BAR_HEIGHT - 6}\"/>"
            f"<text x=\"{LABEL_WIDTH + width + 6}\" y=\"{y + 17}\">{n} "
            f"({100 * n / max(total, 1):.0f}%)</text></g>\n")
    parts.append("</svg>\n</section>\n")
    return "".join(parts)


def _counts(fields: list[dict[str, Any]], tally: Tally) -> str:
    parts = [f"<section id=\"counts\">\n<h2>Counts</h2>\n<p>{tally.opened} pledges.</p>\n"]
    if tally.unopened or tally.missing_key:
        parts.append(f"<p class=\"warning\">{tally.unopened + tally.missing_key} pledges could "
                     "not be opened here and are left out (see the command's messages).</p>\n")
    if tally.duplicates:
        one = tally.duplicates == 1
        parts.append(f"<p class=\"warning\">{tally.duplicates} "
                     f"{'pledge repeats' if one else 'pledges repeat'} an earlier pledge (the same "
                     "nonce and answers: the server stored it more than once) and "
                     f"{'is' if one else 'are'} left out.</p>\n")
    if tally.conflicts:
        parts.append(f"<p class=\"warning\">{_e(conflict_sentence(tally.conflicts))} Pledge ids: "
                     f"{_e(', '.join(sorted(tally.conflicting)))}.</p>\n")
    for f in countable(fields):
        counter = tally.counts.get(f["id"])
        if counter:
            parts.append(_chart(f, counter, tally.opened))
    parts.append("</section>\n")
    return "".join(parts)


def write_html(rows: Iterator[dict[str, Any]], out: TextIO, *, title: str, campaign_id: str,
               fields: list[dict[str, Any]], tally: Tally, today: date) -> None:
    """Stream the table, counting as rows pass, then the charts (shown first by the CSS)."""
    counts = Counts(fields, tally)
    out.write(_head(title, campaign_id, today))
    out.write(_table_start(fields))
    for row in rows:
        counts.add(row)
        out.write(_row(row, fields))
    out.write("</tbody>\n</table>\n</main>\n")
    out.write(_counts(fields, counts.finish()))
    out.write("</body>\n</html>\n")

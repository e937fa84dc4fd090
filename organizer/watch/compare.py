"""Judging what a client received against what this release serves: one plain sentence per
difference, naming what differs (a header, a script, the embedded answer), never a raw dump."""

import re
from typing import Any

from organizer.printable import printable

# Headers that may differ from the release's own, because a proxy or compression adds them.
TRANSPORT = {"date", "content-length", "content-encoding", "transfer-encoding", "connection",
             "keep-alive", "vary", "server"}
RELEASE_META = re.compile(r'<meta name="generator" content="Pledgebox ([^"<>]{1,40})">')
_SCRIPT = re.compile(r"<script\b", re.IGNORECASE)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_CAMPAIGN = re.compile(r"data-campaign='([^']*)'")


def page_release(html: str) -> str | None:
    found = RELEASE_META.search(html)
    return found.group(1) if found else None


def expected_headers(manifest: dict[str, Any], kind: str, secure: bool,
                     content_type: str | None = None) -> dict[str, str]:
    """What this release sends with a page, a static file or an API answer (as recorded)."""
    h = manifest["headers"]
    want = dict(h[kind])
    if content_type is not None:
        want["Content-Type"] = content_type
    if secure:
        want["Strict-Transport-Security"] = h["hsts"]
    return want


def _csp_sources(value: str) -> dict[str, set[str]]:
    directives = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = set(words[1:])
    return directives


def csp_difference(expected: str, got: str) -> str:
    want, have = _csp_sources(expected), _csp_sources(got)
    notes = []
    for name in sorted(set(want) | set(have)):
        extra = sorted(have.get(name, set()) - want.get(name, set()))
        missing = sorted(want.get(name, set()) - have.get(name, set()))
        if name not in have:
            notes.append(f"{name} is missing")
        elif extra:
            notes.append(f"{name} allows {' '.join(extra)} too")
        elif missing:
            notes.append(f"{name} lacks {' '.join(missing)}")
    return "; ".join(notes) or "its wording differs"


# The header a deployment's onion profile adds (deploy/Caddyfile): Tor Browser offers to move to that
# address. Its address is the operator's, unknown to this release; its shape and path are not, and
# visit.py holds every answer of a round to one address: a server pointing some clients at another
# onion (a phishing copy of the site) is reported.
_ONION_LOCATION = re.compile(r"http://([a-z2-7]{56}\.onion)(/[^\s]*)")


def onion_location(values: list[str], path: str) -> tuple[str | None, str | None]:
    """(the onion address offered, None) when the header is as a deployment sends it for `path`,
    else (None, the sentence saying what is wrong)."""
    found = _ONION_LOCATION.fullmatch(values[0]) if len(values) == 1 else None
    if found is None or found.group(2) != path:
        return None, (f"the Onion-Location header points Tor Browser elsewhere: "
                      f"{printable(' | '.join(values), limit=160)!r}")
    return found.group(1), None


def header_differences(want: dict[str, str], got: list[tuple[str, str]], path: str = "") -> list[str]:
    found: dict[str, list[str]] = {}
    for name, value in got:
        found.setdefault(name.lower(), []).append(value)
    notes = []
    for name, value in want.items():
        values = found.get(name.lower(), [])
        if not values:
            notes.append(f"the {name} header is missing")
        elif values != [value]:
            if name == "Content-Security-Policy" and len(values) == 1:
                notes.append(f"the Content-Security-Policy differs: {csp_difference(value, values[0])}")
            else:
                notes.append(f"the {name} header differs: {printable(' | '.join(values), limit=160)!r}")
    notes += _extra_headers({n.lower() for n in want}, found, path)
    vary = [v.strip().lower() for value in found.get("vary", []) for v in value.split(",")]
    if any(v != "accept-encoding" for v in vary):
        notes.append(f"the Vary header differs: {printable(', '.join(vary), limit=80)!r}")
    return notes


def _extra_headers(expected: set[str], found: dict[str, list[str]], path: str) -> list[str]:
    notes = []
    for name, values in found.items():
        if name in expected or name in TRANSPORT:
            continue
        if name == "onion-location":
            note = onion_location(values, path)[1]
            if note:
                notes.append(note)
        else:
            notes.append(f"an extra header {printable(name, limit=60)}: {printable(values[0], limit=120)!r}")
    return notes


def _first_difference(expected: str, got: str) -> int:
    n = min(len(expected), len(got))
    for i in range(n):
        if expected[i] != got[i]:
            return i
    return n


def html_difference(expected: str, got: str, embedded: str) -> str:
    """The most telling sentence about how `got` differs from the release's `expected` page."""
    want_scripts, have_scripts = len(_SCRIPT.findall(expected)), len(_SCRIPT.findall(got))
    if have_scripts != want_scripts:
        return f"the page has {have_scripts} scripts where this release has {want_scripts}"
    if _INLINE_SCRIPT.findall(expected) != _INLINE_SCRIPT.findall(got):
        return "the page's own script differs from this release's"
    if embedded:
        carried = _CAMPAIGN.search(got)
        if carried is None or carried.group(1) != embedded:
            return "the campaign answer embedded in the page differs from the campaign's API answer"
    at = _first_difference(expected, got)
    want = printable(expected[max(0, at - 30):at + 50], limit=90)
    have = printable(got[max(0, at - 30):at + 50], limit=90)
    return f"the HTML differs at character {at}: this release has {want!r}, the page has {have!r}"

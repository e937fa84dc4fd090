"""The student page's preview: the draft's form in the pledge page's markup and the server's own CSS.

Before publishing there is no campaign for the server to render, and organizer/ never imports
server/, so the preview cannot be the server's page itself. What it is instead: the same markup
(organizer/app/templates/campaigns/phone.html follows server/templates/pledge.html), the same
sentences (copied with their Spanish from the server's catalog), and the server's real stylesheet:
this app reads the server's front page, follows its stylesheet link (same origin only; assets
are addressed by content, so the link is the way to the current file), and serves those bytes
from its own origin (the CSP allows nothing else). It never follows a redirect (another host's
bytes would become the app's CSS, and a redirect could point into the laptop's network). If the
server cannot be reached, or redirects, the preview says its look is missing.
"""

import html
import re
import threading
import urllib.error
import urllib.request
from datetime import date
from typing import Any
from urllib.parse import urljoin, urlsplit

from babel.dates import format_date
from markupsafe import Markup, escape

from organizer.client import OPENER

LEGACY_STYLESHEET = "/static/css/pledgebox.css"  # servers before content-addressed assets
TIMEOUT = 10
MAX_BYTES = 256 * 1024
_LINK = re.compile(r'<link rel="stylesheet" href="([^"]+)"')
_REF = re.compile(r'([^<]*)<span class="coalition-ref">([^<]*)</span>([^<]*)')

_cache: dict[str, bytes] = {}
_lock = threading.Lock()


def _get(url: str) -> bytes | None:
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    try:
        with OPENER.open(url, timeout=TIMEOUT) as resp:  # http(s) only, checked above
            data: bytes = resp.read(MAX_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError):  # a 30x is an HTTPError here
        return None
    return data if len(data) <= MAX_BYTES else None


def _stylesheet_address(server: str) -> str:
    """The stylesheet the server's own pages link to (its address names its content), if any."""
    page = _get(server.rstrip("/") + "/")
    found = _LINK.search(page.decode("utf-8", "replace")) if page else None
    if found is None:
        return server.rstrip("/") + LEGACY_STYLESHEET
    address = urljoin(server.rstrip("/") + "/", html.unescape(found.group(1)))
    same = urlsplit(address)[:2] == urlsplit(server)[:2]
    return address if same else server.rstrip("/") + LEGACY_STYLESHEET


def server_stylesheet(server: str) -> bytes | None:
    """The pledge page's CSS as the coalition's server serves it now (kept in memory), or None."""
    with _lock:
        if server in _cache:
            return _cache[server]
    data = _get(_stylesheet_address(server))
    if data is None:
        return None
    with _lock:
        _cache[server] = data
    return data


def long_date(iso: str, lang: str, style: str = "long") -> str:
    """A date as the pledge page writes it (Intl's long or full style in the page's language)."""
    return format_date(date.fromisoformat(iso), format=style, locale=lang)


def with_date(sentence: str, iso: str, lang: str, coalition: str = "") -> Markup:
    """A page sentence with its {date} as a <time> element and its {coalition} filled in, escaped."""
    day = Markup('<time class="date" datetime="{}">{}</time>').format(iso, long_date(iso, lang))
    before, _, after = str(sentence).partition("{date}")
    parts = [escape(p).replace("{coalition}", escape(coalition)) for p in (before, after)]
    return parts[0] + day + parts[1]


def with_coalition(sentence: str, coalition: str) -> Markup:
    """The catalog's sentence, whose one <span class="coalition-ref"> names the readers, with the
    coalition's name in it; everything else in the sentence is text, escaped."""
    found = _REF.fullmatch(str(sentence))
    if found is None:
        return escape(sentence)
    before, name, after = found.groups()
    return Markup('{}<span class="coalition-ref">{}</span>{}').format(before, coalition or name, after)


def in_language(descriptor: dict[str, Any], lang: str) -> dict[str, Any]:
    """Title, description and coalition name in `lang` where given, else the top-level text."""
    extra = descriptor.get("i18n", {}).get(lang, {}) if lang != descriptor["languages"][0] else {}
    return {key: extra.get(key) or descriptor.get(key, "")
            for key in ("title", "description", "coalition_name")}


def label(text: dict[str, str], lang: str) -> tuple[str, str]:
    """(text, its language): the page's language where the organizers wrote it, else English."""
    if lang in text:
        return text[lang], lang
    return text.get("en", ""), "en"


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]

"""The student page's preview: the draft's form in the pledge page's markup and the server's own CSS.

Before publishing there is no campaign for the server to render, and organizer/ never imports
server/, so the preview cannot be the server's page itself. What it is instead: the same markup
(organizer/app/templates/campaigns/phone.html follows server/templates/pledge.html), the same
sentences (copied with their Spanish from the server's catalog), and the server's real stylesheet,
fetched by this app from the coalition's own server and served from this app's origin (the CSP
allows nothing else). If the server cannot be reached, the preview says its look is missing.
"""

import threading
import urllib.error
import urllib.request
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_date

STYLESHEET = "/static/css/pledgebox.css"
TIMEOUT = 10
MAX_BYTES = 256 * 1024

_cache: dict[str, bytes] = {}
_lock = threading.Lock()


def server_stylesheet(server: str) -> bytes | None:
    """The pledge page's CSS as the coalition's server serves it now (kept in memory), or None."""
    with _lock:
        if server in _cache:
            return _cache[server]
    if urlsplit(server).scheme not in ("http", "https"):
        return None
    try:
        with urllib.request.urlopen(server.rstrip("/") + STYLESHEET, timeout=TIMEOUT) as resp:  # noqa: S310
            data: bytes = resp.read(MAX_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError):
        return None
    if len(data) > MAX_BYTES:
        return None
    with _lock:
        _cache[server] = data
    return data


def long_date(iso: str, lang: str) -> str:
    """A date as the pledge page writes it (Intl's long style in the page's language)."""
    return format_date(date.fromisoformat(iso), format="long", locale=lang)


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

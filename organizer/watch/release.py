"""What this release serves: its manifests (built by `python -m server.watch_manifest`, since the
organizer tool may not import server/) and the pages rendered from them for one campaign.

A manifest holds each student page as literal text and named slots. Filling the slots from a
campaign's public data (its API answer, once its signatures check) with the same rules the
server uses (crypto/page_view.py) gives the exact bytes the server must send. Earlier releases'
manifests sit beside this one's (`manifests/<release>.json`), so a server not yet upgraded is
compared with what it should serve, not with what this one does.
"""

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from markupsafe import escape

from crypto.encoding import b64u_decode
from crypto.page_view import descriptor_fields, embedded_campaign, page_languages, preview_words

MANIFESTS = Path(__file__).parent / "manifests"
FORMAT = 1


@dataclass(frozen=True)
class Release:
    name: str
    data: dict[str, Any]

    @property
    def languages(self) -> list[str]:
        return list(self.data["languages"])

    def static(self, path: str) -> dict[str, str] | None:
        found = self.data["static"].get(path)
        return dict(found) if isinstance(found, dict) else None


@cache
def releases() -> dict[str, Release]:
    """Every release this tool knows, by the name its pages carry."""
    found = {}
    for path in sorted(MANIFESTS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") == FORMAT:
            found[str(data["release"])] = Release(str(data["release"]), data)
    return found


def own_release() -> Release:
    current = json.loads((MANIFESTS / "current.json").read_text(encoding="utf-8"))
    return releases()[str(current["release"])]


def page_json(value: Any) -> str:
    """JSON as Flask's `tojson` writes it into a page (Jinja's policy sorts keys; ASCII; HTML-safe).
    tests/unit/test_watch_manifest.py checks it against the server's own filter."""
    text = json.dumps(value, ensure_ascii=True, sort_keys=True)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("'", "\\u0027"))


def page_language(descriptor: dict[str, Any], asked: str, supported: list[str]) -> str:
    """The language the server answers a client asking for `asked` (server/i18n.py)."""
    offered = [lang for lang in supported if lang in set(page_languages(descriptor))] or supported
    return asked if asked in offered else offered[0]


def _action_line(release: Release, d: dict[str, Any], lang: str) -> str:
    try:
        day = date.fromisoformat(str(d.get("action_date")))
    except ValueError:
        return ""
    pattern = str(release.data["words"][lang]["action_day"])
    return pattern.replace("%(date)s", format_date(day, format="long", locale=lang))


def _fill(chunks: list[Any], values: dict[str, str]) -> str:
    return "".join(values[c["slot"]] if isinstance(c, dict) else c for c in chunks)


def pledge_page(release: Release, origin: str, view: dict[str, Any], announcements: list[Any],
                lang: str) -> str:
    """The pledge page this release serves in `lang` for the campaign whose API answer is `view`."""
    descriptor = b64u_decode(str(view["descriptor"]))
    d = descriptor_fields(descriptor)
    title, description = preview_words(d, lang, _action_line(release, d, lang))
    campaign_id = str(view["campaign_id"])
    values = {"campaign_id": campaign_id, "title": str(escape(title)),
              "description": str(escape(description)),
              "image": str(escape(f"{origin}/p/{campaign_id}/card.png?lang={lang}")),
              "campaign": page_json(embedded_campaign(view, descriptor)),
              "announcements": page_json(announcements)}
    return _fill(release.data["pledge"][lang]["titled" if title else "untitled"], values)


def withdraw_page(release: Release, lang: str) -> str:
    return _fill(release.data["withdraw"][lang], {})

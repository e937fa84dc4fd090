"""This release's page manifest: what the server serves students, recorded for the organizers'
page watch (organizer/watch/, docs/page-watch.md), which may not import server/.

The pages are rendered here by the server's own templates with a marker in place of each value
that depends on a campaign (its id, its signed answer, its announcements, its public words);
the watch fills the same places from the campaign's public data and compares the whole page byte
for byte. Static files are recorded by their SHA-256, security headers as the server sets them.
`python -m server.watch_manifest` writes organizer/watch/manifests/current.json; a unit test
fails when the committed file no longer matches the code, so a change to a template, a script,
a translation or a header cannot ship without it.
"""

import hashlib
import json
import logging
import re
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask, render_template
from flask_babel import gettext

from migrations import upgrade
from server import assets, cards, create_app, db, headers, i18n
from server.config import Config
from server.release import RELEASE

FORMAT = 1
TARGET = Path(__file__).resolve().parent.parent / "organizer" / "watch" / "manifests" / "current.json"
# Markers: letters only, so neither escaping nor JSON changes them. Each stands for one slot.
_MARK = "Zx9PledgeboxWatchSlot"
SLOTS = {"campaign_id": f"{_MARK}Id", "campaign": f'"{_MARK}Campaign"',
         "announcements": f'"{_MARK}Announcements"', "title": f"{_MARK}Title",
         "description": f"{_MARK}Description", "image": f"{_MARK}Image"}
_SPLIT = re.compile("(" + "|".join(re.escape(m) for m in sorted(SLOTS.values(), key=len, reverse=True)) + ")")
_NAMES = {marker: name for name, marker in SLOTS.items()}


def _chunks(html: str) -> list[Any]:
    """The page as literal strings and {"slot": name} places."""
    return [{"slot": _NAMES[part]} if part in _NAMES else part
            for part in _SPLIT.split(html) if part != ""]


def _pledge(app: Flask, lang: str, titled: bool) -> list[Any]:
    with app.test_request_context(f"/p/{SLOTS['campaign_id']}?lang={lang}"):
        preview = ({"title": SLOTS["title"], "description": SLOTS["description"],
                    "image": SLOTS["image"], "width": cards.WIDTH, "height": cards.HEIGHT}
                   if titled else {})
        return _chunks(render_template(
            "pledge.html", campaign_id=SLOTS["campaign_id"], campaign=SLOTS["campaign"][1:-1],
            announcements=SLOTS["announcements"][1:-1], js_messages=i18n.js_messages("pledge"),
            preview=preview))


def _withdraw(app: Flask, lang: str) -> list[Any]:
    with app.test_request_context(f"/withdraw?lang={lang}"):
        return _chunks(render_template("withdraw.html", js_messages=i18n.js_messages("withdraw")))


def _words(app: Flask, lang: str) -> dict[str, str]:
    """Server sentences the watch needs to fill a slot (the preview's action-day line)."""
    with app.test_request_context(f"/withdraw?lang={lang}"):
        return {"action_day": str(gettext("Action day: %(date)s"))}


def assets_url(app: Flask, path: str) -> str:
    with app.test_request_context("/"):
        return assets.asset_url(path)


def _served(app: Flask, url: str) -> dict[str, str]:
    """The headers the server sends for `url`, less those a proxy or compression may change."""
    response = app.test_client().get(url)
    return {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "date")}


def _headers(app: Flask) -> dict[str, Any]:
    """Headers as served (over plain HTTP; HSTS is added over HTTPS): a page, a static file, an
    API answer. The watch expects exactly these, whatever server/headers.py becomes."""
    page = _served(app, "/withdraw?lang=en")
    static = _served(app, assets_url(app, "favicon.svg"))
    api = _served(app, "/api/v1/campaigns/AAAAAAAAAAAAAAAAAAAAAA")  # unknown: same headers as any answer
    return {"page": page, "static": {k: v for k, v in static.items() if k != "Content-Type"},
            "api": api, "hsts": headers.HSTS}


def build(app: Flask) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "release": RELEASE,
        "languages": list(i18n.SUPPORTED),
        "pledge": {lang: {"titled": _pledge(app, lang, True), "untitled": _pledge(app, lang, False)}
                   for lang in i18n.SUPPORTED},
        "withdraw": {lang: _withdraw(app, lang) for lang in i18n.SUPPORTED},
        "words": {lang: _words(app, lang) for lang in i18n.SUPPORTED},
        "static": {path: {"sha256": hashlib.sha256(a.data).hexdigest(), "digest": a.digest,
                          "content_type": _served(app, assets_url(app, path))["Content-Type"]}
                   for path, a in assets.assets().items()},
        "headers": _headers(app),
    }


def render_manifest() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(instance_path=Path(tmp), database_url=f"sqlite:///{tmp}/m.db",
                        purge_in_background=False)
        app = create_app(config)
        upgrade(db.bind(config.database_url))  # an empty database: the API answers 404, not 503
        return json.dumps(build(app), ensure_ascii=False, indent=1) + "\n"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    TARGET.write_text(render_manifest(), encoding="utf-8")
    logging.getLogger("pledgebox.watch_manifest").info("wrote %s", TARGET)


if __name__ == "__main__":
    main()

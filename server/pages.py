"""Server-rendered pages: the pledge page, the withdraw page and a short index, in two languages."""

import json
from datetime import date
from typing import Any

from flask import Blueprint, Flask, Response, render_template, url_for
from flask_babel import format_date, gettext

from server import cards, i18n
from server.limits import limiter, pledge_limits
from server.runtime import instant
from server.store.announcements import campaign_announcements
from server.store.campaigns import live_campaign, public_view

bp = Blueprint("pages", __name__)
DESCRIPTION_CHARS = 200


def _descriptor(raw: bytes) -> dict[str, Any]:
    """Only for the page's language and link previews: the browser checks the signed descriptor."""
    try:
        d = json.loads(raw)
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}


def _words(d: dict[str, Any], lang: str, key: str) -> str:
    """A descriptor's text in `lang` (protocol 1.1 i18n), else its first language's, as the page."""
    own = d.get("i18n", {}).get(lang) if isinstance(d.get("i18n"), dict) else None
    languages = d.get("languages")
    first = languages[0] if isinstance(languages, list) and languages else "en"
    if lang != first and isinstance(own, dict) and isinstance(own.get(key), str) and own[key]:
        return str(own[key])
    value = d.get(key)
    return value if isinstance(value, str) else ""


def _embedded(view: dict[str, Any], descriptor: bytes) -> dict[str, Any]:
    """The campaign answer as the page carries it: the descriptor as its text where it is UTF-8
    (text compresses, base64 does not: about 0.7 KB less on the wire), which the page turns back
    into the exact signed bytes; without the unsigned coalition name, which a 1.1 page never shows."""
    try:
        text = descriptor.decode("utf-8")
    except UnicodeDecodeError:
        return view
    rest = {k: v for k, v in view.items() if k not in ("descriptor", "coalition_name")}
    return {**rest, "descriptor_text": text}


def _action_line(d: dict[str, Any]) -> str:
    try:
        day = date.fromisoformat(str(d.get("action_date")))
    except ValueError:
        return ""
    return gettext("Action day: %(date)s", date=format_date(day, format="long"))


def _preview(campaign_id: str, d: dict[str, Any]) -> dict[str, Any]:
    """og: tags for link previews in group chats: public words of the descriptor, nothing else."""
    lang = i18n.current_language()
    title = _words(d, lang, "title")
    text = " ".join(_words(d, lang, "description").split())
    if len(text) > DESCRIPTION_CHARS:
        text = text[: DESCRIPTION_CHARS - 1].rsplit(" ", 1)[0] + "…"
    lead = " · ".join(part for part in (_words(d, lang, "coalition_name"), _action_line(d)) if part)
    description = f"{lead}. {text}" if lead and text else lead or text
    return {"title": title, "description": description,
            "image": url_for("pages.card", campaign_id=campaign_id, lang=lang, _external=True),
            "width": cards.WIDTH, "height": cards.HEIGHT}


@bp.get("/")
def index() -> str:
    return render_template("index.html")


@bp.get("/p/<campaign_id>")
@limiter.limit(pledge_limits.reads)
def pledge_page(campaign_id: str) -> str:
    now = instant()
    campaign = live_campaign(campaign_id, now)
    d = _descriptor(bytes(campaign.descriptor))
    languages = d.get("languages")
    i18n.offer_languages(languages if isinstance(languages, list) else [])
    # The campaign answer and its announcements ride along in the page: no round trip after it
    # on a slow phone. The page verifies them exactly as it would verify the API's answers.
    view = _embedded(public_view(campaign), bytes(campaign.descriptor))
    return render_template("pledge.html", campaign_id=campaign_id, campaign=view,
                           announcements=campaign_announcements(campaign, now),
                           js_messages=i18n.js_messages("pledge"), preview=_preview(campaign_id, d))


@bp.get("/p/<campaign_id>/card.png")
@limiter.limit(pledge_limits.reads)
def card(campaign_id: str) -> Response:
    campaign = live_campaign(campaign_id, instant())
    d = _descriptor(bytes(campaign.descriptor))
    languages = d.get("languages")
    i18n.offer_languages(languages if isinstance(languages, list) else [])
    lang = i18n.current_language()
    png = cards.render(_words(d, lang, "title"), _words(d, lang, "coalition_name"), _action_line(d),
                       gettext("Pledge privately with Pledgebox"))
    return Response(png, mimetype="image/png")


@bp.get("/withdraw")
def withdraw_page() -> str:
    return render_template("withdraw.html", js_messages=i18n.js_messages("withdraw"))


def init_app(app: Flask) -> None:
    i18n.init_app(app)

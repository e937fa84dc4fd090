"""Server-rendered pages: the pledge page, the withdraw page and a short index, in two languages."""

from datetime import date
from typing import Any

from flask import Blueprint, Flask, Response, render_template, url_for
from flask_babel import format_date, gettext

from crypto.page_view import descriptor_fields, embedded_campaign, page_languages, preview_words, words
from server import cards, i18n
from server.limits import limiter, pledge_limits
from server.release import RELEASE
from server.runtime import instant
from server.store.announcements import campaign_announcements
from server.store.campaigns import live_campaign, public_view

bp = Blueprint("pages", __name__)


def _action_line(d: dict[str, Any]) -> str:
    try:
        day = date.fromisoformat(str(d.get("action_date")))
    except ValueError:
        return ""
    return gettext("Action day: %(date)s", date=format_date(day, format="long"))


def _preview(campaign_id: str, d: dict[str, Any]) -> dict[str, Any]:
    """og: tags for link previews in group chats: public words of the descriptor, nothing else."""
    lang = i18n.current_language()
    title, description = preview_words(d, lang, _action_line(d))
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
    d = descriptor_fields(bytes(campaign.descriptor))
    i18n.offer_languages(page_languages(d))
    # The campaign answer and its announcements ride along in the page: no round trip after it
    # on a slow phone. The page verifies them exactly as it would verify the API's answers.
    view = embedded_campaign(public_view(campaign), bytes(campaign.descriptor))
    return render_template("pledge.html", campaign_id=campaign_id, campaign=view,
                           announcements=campaign_announcements(campaign, now),
                           js_messages=i18n.js_messages("pledge"), preview=_preview(campaign_id, d))


@bp.get("/p/<campaign_id>/card.png")
@limiter.limit(pledge_limits.reads)
def card(campaign_id: str) -> Response:
    campaign = live_campaign(campaign_id, instant())
    d = descriptor_fields(bytes(campaign.descriptor))
    i18n.offer_languages(page_languages(d))
    lang = i18n.current_language()
    png = cards.render(words(d, lang, "title"), words(d, lang, "coalition_name"), _action_line(d),
                       gettext("Pledge privately with Pledgebox"))
    return Response(png, mimetype="image/png")


@bp.get("/withdraw")
def withdraw_page() -> str:
    return render_template("withdraw.html", js_messages=i18n.js_messages("withdraw"))


def init_app(app: Flask) -> None:
    i18n.init_app(app)
    # Every page says which release serves it, so an organizer's page watch knows what to
    # compare it with (docs/page-watch.md).
    app.jinja_env.globals["release"] = RELEASE

"""Sharing a campaign: the link with a copy button, the QR code (PNG/SVG downloads), a printable
poster in both languages, and ready captions for an Instagram post."""

from typing import Any

from flask import Response, render_template, request
from flask_babel import force_locale, gettext

from organizer import campaigns
from organizer import share as sharing
from organizer.app import preview
from organizer.app.helpers import current_session
from organizer.app.i18n import SUPPORTED
from organizer.app.views.campaign_bp import bp


def _campaign(campaign_id: str) -> tuple[dict[str, Any], str]:
    session = current_session()
    item = campaigns.find(session, campaign_id)
    return item["descriptor"], campaigns.share_link(session, campaign_id)


def _texts(d: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Title and action day in each language, as students will read them."""
    return {lang: {**preview.in_language(d, lang), "day": preview.long_date(d["action_date"], lang)}
            for lang in SUPPORTED}


@bp.get("/<campaign_id>/share")
def share(campaign_id: str) -> str:
    d, link = _campaign(campaign_id)
    texts = _texts(d)
    captions = {}
    for lang in SUPPORTED:
        with force_locale(lang):
            captions[lang] = render_template("share/caption.txt", t=texts[lang], link=link).strip()
    return render_template("share/show.html", campaign_id=campaign_id, d=d, link=link,
                           captions=captions, texts=texts)


@bp.get("/<campaign_id>/qr.<kind>")
def qr(campaign_id: str, kind: str) -> Response:
    d, link = _campaign(campaign_id)
    if kind == "png":
        body, mimetype = sharing.qr_png(link), "image/png"
    elif kind == "svg":
        body, mimetype = sharing.qr_svg(link, title=d["title"]), "image/svg+xml"
    else:
        return Response(status=404)
    reply = Response(body, mimetype=mimetype)
    if request.args.get("download"):
        reply.headers["Content-Disposition"] = f'attachment; filename="pledge-qr.{kind}"'
    return reply


def _poster_words() -> dict[str, dict[str, str]]:
    words = {}
    for lang in SUPPORTED:
        with force_locale(lang):
            words[lang] = {
                "scan": gettext("Scan to pledge"),
                "private": gettext("Private: your answers are encrypted on your phone and only "
                                   "the organizers can read them. No name needed."),
                "day": gettext("Action day")}
    return words


@bp.get("/<campaign_id>/poster")
def poster(campaign_id: str) -> str:
    d, link = _campaign(campaign_id)
    return render_template("share/poster.html", campaign_id=campaign_id, d=d, link=link,
                           texts=_texts(d), words=_poster_words())

"""Announcements: short signed news students see on the campaign page, in English and Spanish."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from crypto import CryptoError
from organizer import announce, campaigns
from organizer.app.helpers import current_session, fail, notify
from organizer.app.i18n import user_message
from organizer.errors import UserError

bp = Blueprint("news", __name__)


@bp.get("/campaigns/<campaign_id>/announcements")
def index(campaign_id: str, typed: dict[str, str] | None = None) -> str:
    session = current_session()
    item = campaigns.find(session, campaign_id)
    posted, bad = announce.list_posted(session, campaign_id)
    return render_template("announcements.html", item=item, posted=list(reversed(posted)), bad=bad,
                           max_text=announce.MAX_TEXT, typed=typed or {})


@bp.post("/campaigns/<campaign_id>/announcements")
def post(campaign_id: str) -> Response | tuple[str, int]:
    session = current_session()
    typed = {k: request.form.get(k, "") for k in ("message_en", "message_es")}
    try:
        body = announce.for_campaign(session, campaign_id, typed["message_en"],
                                     typed["message_es"].strip() or None)  # campaign's zone day
        announce.post(session, campaign_id, body)
    except (UserError, CryptoError) as exc:  # the page again, the messages as typed
        notify(user_message(exc), "error")
        return index(campaign_id, typed), 400
    notify(_("Posted. Students see it at the top of the campaign page."))
    return redirect(url_for("news.index", campaign_id=campaign_id), code=303)


@bp.post("/campaigns/<campaign_id>/announcements/<announcement_id>/delete")
def delete(campaign_id: str, announcement_id: str) -> Response:
    session = current_session()
    try:
        campaigns.find(session, campaign_id)
        announce.delete(session, campaign_id, announcement_id)
    except (UserError, CryptoError) as exc:
        return fail(exc, "news.index", campaign_id=campaign_id)
    notify(_("Taken back. Students no longer see it when they open the page."))
    return redirect(url_for("news.index", campaign_id=campaign_id), code=303)

"""The start page: where to begin (first run, joining), or the coalition's campaigns at a glance."""

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from organizer import campaigns, coalition, members, start_over
from organizer.app.guard import state
from organizer.app.helpers import current_session, synced
from organizer.app.watching import watch_line
from organizer.link_life import link_life, reminder_ics

bp = Blueprint("home", __name__)


def optional_url(endpoint: str, **values: Any) -> str | None:
    """A link to a page another Blueprint may add later (the wizard's); None until it exists."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


@bp.get("/")
def index() -> str | Response:
    if not state().keystore_path.exists():
        return redirect(url_for("start.welcome"), code=303)
    session = current_session()
    me = session.identity.fingerprint
    if not session.data.get("coalition"):
        return render_template("start_here.html")
    status = synced(session)
    listed = campaigns.list_campaigns(session) if status["status"] == "active" else []
    alone = session.signing_key() is not None and status["status"] == "active" and \
        start_over.sole_admin(members.organizers(session), me)
    return render_template("home.html", campaigns=listed, status=status, sole_admin=alone,
                           fingerprint=me, name=session.coalition.get("name", ""),
                           optional_url=optional_url, watch_line=watch_line() if listed else None,
                           life=link_life(status, coalition.utc_today()))


@bp.get("/reminder.ics")
def reminder() -> Response:
    """A calendar reminder to open Pledgebox before the share links stop, made here (no network)."""
    session = current_session()
    today = coalition.utc_today()
    life = link_life(synced(session), today)
    body = reminder_ics(life, today, _("Open Pledgebox"), _(
        "Open Pledgebox (the app or any command) before %(day)s so your share links keep working.",
        day=life.last_day.isoformat()))
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": "attachment; filename=pledgebox-reminder.ics"})

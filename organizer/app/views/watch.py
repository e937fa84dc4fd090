"""The page watch's page: its state, every difference seen and its evidence, what to do now."""

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

from organizer.app.watching import app_watch, campaign_titles, client_label, post_messages, watch_line

bp = Blueprint("watch", __name__)


@bp.get("/watch")
def index() -> str:
    watch = app_watch()
    with watch.status.lock:
        alarms, last = list(watch.status.alarms), watch.status.last
    return render_template("watch.html", line=watch_line(), alarms=alarms, last=last,
                           posts=post_messages(), titles=campaign_titles(), client_label=client_label)


@bp.post("/watch/check")
def check() -> Response:
    app_watch().check_now()
    return redirect(url_for("watch.index"), code=303)

"""Joining with an invite, starting a coalition, and the settings: the server's address, the passphrase."""

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from crypto import CryptoError
from organizer import campaigns, coalition, members, passphrase
from organizer.app.helpers import current_session, fail, notify
from organizer.app.i18n import current_language, user_message
from organizer.errors import BadInput, UserError
from organizer.session import Session

bp = Blueprint("coalition", __name__)


@bp.route("/join", methods=["GET", "POST"])
def join() -> str | Response:
    session = current_session()
    if request.method == "POST":
        try:
            invite = members.Invite.decode(request.form.get("invite", ""))
            members.join(session, invite)
        except (UserError, CryptoError) as exc:
            return fail(exc, "coalition.join")
        return redirect(url_for("coalition.joined"), code=303)
    return render_template("join.html")


def _status(session: Session) -> str:
    """Our status on the server (fetching any keys wrapped to us), or the last one we know when
    the server cannot be asked: the page then keeps saying "waiting" and asks again later."""
    try:
        return str(coalition.sync(session)["status"])
    except (UserError, CryptoError):
        return str(session.coalition.get("status", "pending"))


@bp.get("/join/words")
def joined() -> str:
    session = current_session()
    return render_template("joined.html", fingerprint=session.identity.fingerprint,
                           name=session.coalition.get("name", ""), status=_status(session),
                           role=session.coalition.get("role", ""))


@bp.get("/join/status.json")
def join_status() -> Response:
    """Polled by the joined page's script: "active" once an admin has approved us."""
    return jsonify({"version": _status(current_session())})


@bp.route("/coalition/new", methods=["GET", "POST"])
def create() -> str | tuple[str, int] | Response:
    session = current_session()
    typed = {k: request.form.get(k, "") for k in ("name", "server", "setup_code")}
    if request.method == "POST":
        try:
            coalition.create(session, typed["server"], typed["setup_code"], typed["name"].strip())
        except (UserError, CryptoError) as exc:  # the page again, with everything as typed
            notify(user_message(exc), "error")
            return render_template("coalition_new.html", typed=typed), 400
        notify(_("Your coalition is ready, and you are its first admin."))
        return redirect(url_for("home.index"), code=303)
    return render_template("coalition_new.html", typed=typed)


@bp.route("/settings", methods=["GET", "POST"])
def server() -> str | Response:
    session = current_session()
    if request.method == "POST":
        try:
            address = coalition.set_server(session, request.form.get("server", ""))
        except (UserError, CryptoError) as exc:
            return fail(exc, "coalition.server")
        notify(_("Saved. This app now talks to %(address)s.", address=address))
        return redirect(url_for("coalition.server"), code=303)
    return render_template("settings.html", address=session.data.get("server") or "",
                           path=session.keystore.path, min_length=passphrase.MIN_LENGTH)


@bp.post("/settings/passphrase")
def change_passphrase() -> Response:
    """A new passphrase, checked against the names a guesser tries first for this coalition."""
    session, form = current_session(), request.form
    try:
        if form.get("passphrase", "") != form.get("passphrase_again", ""):
            raise BadInput(_("The two passphrases differ; type the same one twice."))
        session.change_passphrase(form.get("current", ""), form.get("passphrase", ""),
                                  campaigns.passphrase_context(session), current_language())
    except (UserError, CryptoError) as exc:
        return fail(exc, "coalition.server")  # the notice shows at the top of the page
    notify(_("Your passphrase is changed. Backups you made before still open with the old one: "
             "download a new backup now and delete the old ones."))
    return redirect(url_for("coalition.server"), code=303)

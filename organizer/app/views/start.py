"""First run (make or restore a keystore), unlock and lock, the backup download, the language."""

from datetime import date
from pathlib import Path

from flask import Blueprint, Response, g, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WResponse

from crypto import CryptoError
from organizer import backup, campaigns, coalition, passphrase, start_over
from organizer.app.guard import state
from organizer.app.helpers import current_session, fail, notify, own_page
from organizer.app.i18n import SUPPORTED, current_language
from organizer.errors import BadInput, UserError
from organizer.session import Session, restore_backup

bp = Blueprint("start", __name__)


@bp.get("/welcome")
def welcome() -> str | WResponse:
    if state().keystore_path.exists():
        return redirect(url_for("home.index"), code=303)
    return render_template("welcome.html", suggestion=passphrase.generate(current_language()),
                           min_bits=passphrase.MIN_BITS, path=state().keystore_path)


@bp.post("/welcome/create")
def create() -> WResponse:
    chosen, again = request.form.get("passphrase", ""), request.form.get("passphrase_again", "")
    try:
        if chosen != again:
            raise BadInput(_("The two passphrases differ; type the same one twice."))
        session = Session.create(state().keystore_path, chosen, lang=current_language())
    except (UserError, CryptoError) as exc:
        return fail(exc, "start.welcome")
    state().unlock(session)
    return redirect(url_for("start.created"), code=303)


@bp.get("/welcome/done")
def created() -> str:
    return render_template("created.html", path=state().keystore_path)


@bp.post("/welcome/restore")
def restore() -> WResponse:
    upload = request.files.get("backup")
    try:
        if upload is None or not upload.filename:
            raise BadInput(_("Choose your backup file first."))
        session = restore_backup(state().keystore_path, upload.read(), request.form.get("passphrase", ""))
    except (UserError, CryptoError) as exc:
        return fail(exc, "start.welcome")
    state().unlock(session)
    return redirect(url_for("start.restored"), code=303)


@bp.get("/welcome/restored")
def restored() -> str:
    """What the backup brought back, and how many campaigns the server still has for it."""
    session = current_session()
    found = backup.contents(session)
    live: int | None = None
    if found.status == "active":
        try:
            live = len(campaigns.list_campaigns(session))
        except (UserError, CryptoError):
            live = None  # offline, or the server refuses: the page says it could not count
    return render_template("restored.html", found=found, live=live)


@bp.post("/passphrase/estimate")
def estimate() -> Response:
    """The strength meter asks here, so the page and the CLI share one estimator and minimum."""
    bits = passphrase.estimate_bits(request.form.get("passphrase", ""))
    return jsonify(bits=round(bits, 1), min_bits=passphrase.MIN_BITS,
                   strong_enough=bits >= passphrase.MIN_BITS)


@bp.route("/unlock", methods=["GET", "POST"])
def unlock() -> str | WResponse:
    app_state = state()
    if not app_state.keystore_path.exists():
        return redirect(url_for("start.welcome"), code=303)
    target = own_page(request.values.get("next"))
    if app_state.session is not None:
        return redirect(target, code=303)
    if request.method == "POST":
        try:
            app_state.unlock(Session.open(app_state.keystore_path, request.form.get("passphrase", "")))
        except (UserError, CryptoError) as exc:
            return fail(exc, "start.unlock", next=target)
        return redirect(target, code=303)
    return render_template("unlock.html", next=target, path=app_state.keystore_path)


@bp.get("/start-over")
def start_over_page() -> str | WResponse:
    """A forgotten passphrase: what starting again means, before anything is moved."""
    if not state().keystore_path.exists():
        return redirect(url_for("start.welcome"), code=303)
    if state().session is not None:
        return redirect(url_for("home.index"), code=303)  # unlocked: the passphrase is known
    return render_template("start_over.html", path=state().keystore_path)


@bp.post("/start-over")
def start_over_confirmed() -> WResponse:
    """Set the keystore aside (renamed, never deleted) and begin a new one, to join again."""
    app_state = state()
    if app_state.session is not None or not app_state.keystore_path.exists():
        return redirect(url_for("home.index"), code=303)
    if request.form.get("confirm") != "yes":
        return fail(BadInput(_("Tick the box first: it says what starting again means.")),
                    "start.start_over_page")
    try:
        aside = start_over.set_aside(app_state.keystore_path, date.today())
    except OSError:
        return fail(BadInput(_("The keystore file could not be moved aside, so nothing was "
                               "changed. Check that its folder can be written to.")),
                    "start.start_over_page")
    notify(_("Your old keystore is kept at %(path)s, in case you remember its passphrase. Now "
             "make a new keystore, then choose “Join with an invite” and paste the invite an "
             "admin sends you.", path=str(aside)))
    return redirect(url_for("start.welcome"), code=303)


@bp.post("/lock")
def lock() -> WResponse:
    state().lock_now()
    if request.form.get("then") == "start-over":  # removed from the coalition: join again
        return redirect(url_for("start.start_over_page"), code=303)
    notify(_("Locked. Your keys are out of this app's memory until you type the passphrase again."))
    return redirect(url_for("start.unlock"), code=303)


@bp.get("/backup", endpoint="backup")
def download_backup() -> Response:
    """The keystore file as it is on disk: sealed with the passphrase, safe to keep elsewhere.
    Named by coalition, day and key version; downloading it answers the app's request for one."""
    path: Path = state().keystore_path
    if not path.exists():
        return Response(status=404)
    session, today = state().session, coalition.utc_today()
    if session is not None:
        backup.mark_saved(session, today)
        session.save()
    return send_file(path, mimetype="application/json", as_attachment=True,
                     download_name=backup.file_name(session, today), max_age=0)


@bp.get("/language/<code>")
def language(code: str) -> WResponse:
    if code in SUPPORTED:
        g.browser.lang = code
    return redirect(own_page(request.args.get("next")), code=303)

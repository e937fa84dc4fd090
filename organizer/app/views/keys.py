"""The coalition's encryption key: which versions this laptop holds, rotation and re-encryption."""

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from organizer import rotation
from organizer.app.helpers import current_session, start_job, synced
from organizer.app.jobs import Job

bp = Blueprint("keys", __name__)


def reencrypt_summary(tally: rotation.Resealed) -> str:
    parts = [ngettext("%(num)d item was re-encrypted to the new key.",
                      "%(num)d items were re-encrypted to the new key.", tally.resealed)
             if tally.resealed else _("Nothing stored needed re-encrypting.")]
    failed = tally.unopened + tally.missing_key
    if failed:
        parts.append(ngettext(
            "%(num)d item could not be opened with your keys and stays on its old key.",
            "%(num)d items could not be opened with your keys and stay on their old key.", failed))
    if tally.pruned:
        parts.append(ngettext("%(num)d old key version is no longer needed and was deleted.",
                              "%(num)d old key versions are no longer needed and were deleted.",
                              len(tally.pruned)))
    return " ".join(parts)


@bp.get("/keys")
def index() -> str:
    session = current_session()
    me = synced(session)
    return render_template("keys.html", key=me["encryption_key"],
                           versions=session.encryption_versions())


@bp.post("/keys/rotate")
def rotate() -> Response:
    session = current_session()
    also = request.form.get("reencrypt") == "yes"

    def work(job: Job) -> str:
        if also:
            job.set_total(rotation.stored_total(session))
        version, tally = rotation.rotate_then_reencrypt(session, also, progress=job.step)
        done = _("The key is now version %(version)s.", version=version)
        return done + " " + (reencrypt_summary(tally) if tally else "")

    return start_job(_("Changing the key"), url_for("keys.index"), work)


@bp.post("/keys/reencrypt")
def reencrypt() -> Response:
    session = current_session()

    def work(job: Job) -> str:
        job.set_total(rotation.stored_total(session))
        return reencrypt_summary(rotation.reencrypt(session, progress=job.step))

    return start_job(_("Re-encrypting"), url_for("keys.index"), work)

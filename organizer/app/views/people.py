"""The coalition's organizers (invite, compare safety words, approve, remove) and its directory."""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from crypto import CryptoError
from crypto.identity import safety_number
from organizer import contacts, invite_records, members, names, rotation
from organizer.app.helpers import current_session, fail, notify, start_job, synced
from organizer.app.jobs import Job
from organizer.app.views.keys import reencrypt_summary
from organizer.errors import BadInput, UserError
from organizer.session import Session

bp = Blueprint("people", __name__)


def _version(session: Session, listed: list[dict[str, Any]]) -> str:
    """What the organizers page shows that someone else can change: who is listed, in which role
    and status, and which of our invites are still open. The page's script compares it."""
    seen = [[o["fingerprint"], o["role"], o["status"]] for o in listed]
    seen.append([i["id"] for i in invite_records.open_invites(session, listed)])
    return hashlib.blake2b(json.dumps(seen).encode(), digest_size=16).hexdigest()


@bp.get("/organizers")
def organizers() -> str:
    session = current_session()
    synced(session)
    listed = members.organizers(session)
    previews = members.pending_previews(session, listed) if session.signing_key() else {}
    shown = getattr(g.browser, "invite", None)
    return render_template("organizers.html", organizers=listed, me=session.identity.fingerprint,
                           invite=shown, roles=members.ROLES, previews=previews,
                           names=names.names_for(session, listed),
                           invite_state=invite_records.invite_state(session, listed, shown["id"])
                           if shown else None,
                           open_invites=[{**i, "until": _day(i["expires_at"])} for i in
                                         invite_records.open_invites(session, listed)],
                           version=_version(session, listed))


def _day(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).date().isoformat()


@bp.get("/organizers/changes.json")
def changes() -> Response:
    """Polled by the page's script (behind the same guard as every page), so a join shows up
    without a reload; a background request, it never keeps the app unlocked."""
    session = current_session()
    return jsonify({"version": _version(session, members.organizers(session))})


@bp.post("/organizers/invite")
def invite() -> Response:
    role, days = request.form.get("role", "member"), request.form.get("days", "7")
    try:
        if role not in members.ROLES or not days.isdigit() or not 1 <= int(days) <= 30:
            raise BadInput(_("Choose a role and between 1 and 30 days."))
        made, expires_at = members.create_invite(current_session(), role, int(days))
    except (UserError, CryptoError) as exc:
        return fail(exc, "people.organizers")
    g.browser.invite = {"text": made.encode(), "role": role, "id": made.record_id,
                        "until": _day(expires_at)}
    return redirect(url_for("people.organizers", _anchor="invite"), code=303)


@bp.post("/organizers/approve")
def approve() -> Response:
    fingerprint = request.form.get("fingerprint", "")
    try:
        if request.form.get("compared") != "yes":
            raise BadInput(_("First compare the safety words aloud, then tick the box."))
        role = request.form.get("role") or None  # only asked for another admin's invite
        approved = members.approve(current_session(), fingerprint, role)
        if request.form.get("name", "").strip():
            names.set_name(current_session(), approved["fingerprint"], request.form["name"])
    except (UserError, CryptoError) as exc:
        return fail(exc, "people.organizers")
    notify(_("Approved as %(role)s. The organizer with safety number %(number)s can now read "
             "your coalition's pledges.",
             role=_("admin") if approved["role"] == "admin" else _("member"),
             number=safety_number(approved["fingerprint"])))
    return redirect(url_for("people.organizers"), code=303)


@bp.post("/organizers/name")
def name() -> Response:
    """A name for an organizer, kept in this keystore only (organizer/names.py)."""
    try:
        given = names.set_name(current_session(), request.form.get("fingerprint", ""),
                               request.form.get("name", ""))
    except (UserError, CryptoError) as exc:
        return fail(exc, "people.organizers")
    notify(_("Name saved on this laptop only.") if given else _("Name cleared."))
    return redirect(url_for("people.organizers"), code=303)


@bp.get("/organizers/<fingerprint>/remove")
def confirm_remove(fingerprint: str) -> str:
    session = current_session()
    listed = members.organizers(session)
    target = members.find(listed, fingerprint)
    return render_template("remove.html", target=target,
                           name=names.names_for(session, [target]).get(target["fingerprint"]))


@bp.post("/organizers/<fingerprint>/remove")
def remove(fingerprint: str) -> Response:
    session = current_session()
    also = request.form.get("reencrypt") == "yes"
    try:
        members.find(members.organizers(session), fingerprint)
    except (UserError, CryptoError) as exc:
        return fail(exc, "people.organizers")

    def work(job: Job) -> str:
        members.remove(session, fingerprint)
        if also:
            job.set_total(rotation.stored_total(session))
        version, tally = rotation.rotate_then_reencrypt(session, also, progress=job.step)
        done = _("Removed. The key was changed to version %(version)s, so they cannot read "
                 "anything sent from now on.", version=version)
        return done + " " + (reencrypt_summary(tally) if tally else _(
            "Re-encrypt on the Keys page so their old keys open nothing stored either."))

    return start_job(_("Removing an organizer"), url_for("people.organizers"), work)


@bp.route("/contacts", methods=["GET", "POST"])
def contacts_page() -> str | Response:
    session = current_session()
    if request.method == "POST":
        try:
            if request.form.get("delete") == "yes":
                contacts.delete_card(session)
                notify(_("Your card is deleted from the directory."))
            else:
                contacts.set_card(session, {f: request.form.get(f, "") for f in contacts.FIELDS})
                notify(_("Your card is saved, locked so only your coalition can read it."))
        except (UserError, CryptoError) as exc:
            return fail(exc, "people.contacts_page")
        return redirect(url_for("people.contacts_page"), code=303)
    listing = contacts.list_cards(session)
    mine = next((c for c in listing.cards if c["fingerprint"] == session.identity.fingerprint), {})
    return render_template("contacts.html", listing=listing, mine=mine, fields=contacts.FIELDS,
                           required=contacts.REQUIRED)

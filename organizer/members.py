"""A coalition's organizers from the tool's side: invites, joining, the verified list, approve, remove.

The server keeps the list, but the tool trusts only what the coalition signing key vouches for:
an active organizer counts only with an admin's approval signature over both of their keys and
their role. So a server cannot slip in a key of its own and have the next rotation wrap the
coalition's secrets to it. Fingerprints this keystore has seen removed are remembered, so a
server cannot quietly bring a removed organizer back either (see docs/coalitions.md).
"""

import json
import secrets
from dataclasses import dataclass
from typing import Any

from crypto import BadSignature, CryptoError, invites
from crypto.encoding import b64u_decode, b64u_encode
from crypto.identity import fingerprint, safety_number, safety_words
from crypto.statements import organizer_message, verify_statement
from organizer import backup, invite_records, keyring
from organizer.client import Client
from organizer.coalition import approval, sync, verify_key, wrap_all
from organizer.errors import BadInput, KeyMismatch, NeedsAdmin, UserError
from organizer.session import Session

INVITE_PREFIX = "pledgebox-invite:"
INVITE_VERSION = 2  # 1: the raw token went to the server at join (issue 17, finding 1)
ROLES = ("member", "admin")
STATUSES = ("pending", "active", "removed")


class BadInvite(BadInput):
    """This is not a Pledgebox invite: copy the whole line the admin sent you (pledgebox-invite:…)."""


class OldInvite(BadInput):
    """This invite was made by an older version of Pledgebox and can no longer be used safely: ask
    the admin who sent it for a new invite."""


class RoleNeeded(BadInput):
    """Your keystore did not make the invite this newcomer used, so it cannot check their role: ask
    the admin who invited them, then run approve again with --role member or --role admin."""


DAMAGED_ENTRY = ("The server's record of this newcomer is damaged: do not approve, and tell your "
                 "coalition.")


@dataclass(frozen=True)
class PendingApproval:
    """What an admin sees before signing: the newcomer's entry and the role they would get."""

    target: dict[str, Any]
    role: str | None  # None: not our invite, the admin must say the role
    vouched: bool  # True: the role comes from this keystore's own record of the invite


@dataclass(frozen=True)
class Invite:
    server: str
    coalition_id: str
    coalition_name: str
    signing_key: str
    role: str
    secret: bytes  # never sent to the server: it derives the locator and the binding's key

    @property
    def record_id(self) -> str:
        return invite_records.record_id(self.secret)

    def encode(self) -> str:
        body = {"v": INVITE_VERSION, "server": self.server, "coalition_id": self.coalition_id,
                "coalition_name": self.coalition_name, "signing_key": self.signing_key,
                "role": self.role, "secret": b64u_encode(self.secret)}
        return INVITE_PREFIX + b64u_encode(json.dumps(body, separators=(",", ":")).encode("utf-8"))

    @classmethod
    def decode(cls, text: str) -> "Invite":
        text = text.strip()
        if not text.startswith(INVITE_PREFIX):
            raise BadInvite()
        try:
            body = json.loads(b64u_decode(text.removeprefix(INVITE_PREFIX)))
            version = body.get("v")
        except (ValueError, TypeError, AttributeError, CryptoError) as exc:
            raise BadInvite() from exc
        if version == 1:
            raise OldInvite()
        try:
            if version != INVITE_VERSION or body["role"] not in ROLES:
                raise BadInvite()
            b64u_decode(body["signing_key"], length=32)
            return cls(str(body["server"]), str(body["coalition_id"]), str(body["coalition_name"]),
                       body["signing_key"], body["role"],
                       b64u_decode(body["secret"], length=invites.SECRET_BYTES))
        except (ValueError, KeyError, TypeError, AttributeError, CryptoError) as exc:
            raise BadInvite() from exc


def create_invite(session: Session, role: str, days: int) -> tuple[Invite, int]:
    """A fresh 256-bit secret; the server gets only the hash of the locator derived from it, so
    neither it nor a leak of its database can spend the invite or forge a newcomer's binding.
    Returns the invite and when it expires (epoch seconds, by this laptop's clock, or the server's
    if that is sooner: the server refuses a join after its own expiry)."""
    if session.signing_key() is None:
        raise NeedsAdmin("Only admins can invite organizers; ask one of your coalition's admins.")
    secret = secrets.token_bytes(invites.SECRET_BYTES)  # Invite.record_id names its record
    reply = session.client().post("/api/v1/org/invites", {
        "locator_hash": b64u_encode(invites.locator_hash(invites.locator(secret))), "role": role,
        "days": days})
    expires_at = invite_records.record(session, secret, role, days)
    session.save()
    coalition = session.coalition
    invite = Invite(session.data["server"], coalition["coalition_id"], coalition.get("name", ""),
                    coalition["signing_key"], role, secret)
    server_says = reply.get("expires_at") if isinstance(reply, dict) else None
    return invite, min(expires_at, server_says) if isinstance(server_says, int) else expires_at


def join(session: Session, invite: Invite) -> dict[str, Any]:
    """Register this identity as a pending organizer; pin the coalition key the invite carries."""
    if session.data.get("coalition"):
        raise BadInput("This keystore already belongs to a coalition; use another --keystore "
                       "(run `pledgebox --keystore NEW.json init` first).")
    identity = session.identity
    client = Client(invite.server, identity.fingerprint, identity.sign_secret, session.transport)
    binding = invites.invite_binding(invites.mac_key(invite.secret), invite.coalition_id,
                                     identity.sign_public, identity.box_public)
    me = client.post("/api/v1/org/join", {
        "invite_locator": b64u_encode(invites.locator(invite.secret)),
        "invite_binding": b64u_encode(binding),
        "organizer": {"sign_public": b64u_encode(identity.sign_public),
                      "box_public": b64u_encode(identity.box_public)}})
    if me["coalition_id"] != invite.coalition_id or me["signing_key"] != invite.signing_key:
        raise KeyMismatch()
    session.data["server"] = client.base_url
    session.data["coalition"] = {
        "coalition_id": invite.coalition_id, "name": me["coalition_name"],
        "signing_key": invite.signing_key, "organizer_id": me["organizer_id"],
        "role": me["role"], "status": me["status"], "removed": []}
    verify_key(session, me["encryption_key"])
    keyring.record_seen(session, int(me["encryption_key"]["version"]))
    session.save()
    return me


def _check(session: Session, o: dict[str, Any], removed: set[str]) -> None:
    sign_public = b64u_decode(o["sign_public"], length=32)
    box_public = b64u_decode(o["box_public"], length=32)
    if fingerprint(sign_public, box_public) != o["fingerprint"] or o["role"] not in ROLES \
            or o["status"] not in STATUSES:
        raise KeyMismatch("The server listed an organizer whose keys do not match their "
                          "fingerprint: do not trust this server, and tell your coalition.")
    if o["fingerprint"] in removed and o["status"] != "removed":
        raise KeyMismatch(f"The server lists organizer {o['fingerprint'][:8]}… as {o['status']} "
                          "although they were removed: do not trust this server.")
    if o["status"] != "active":
        return
    try:
        verify_statement(session.signing_public,
                         organizer_message(session.coalition_id, o["role"], sign_public, box_public),
                         b64u_decode(o["approval_signature"] or "", length=64))
    except (BadSignature, ValueError):
        raise KeyMismatch(f"The server lists organizer {o['fingerprint'][:8]}… as active without "
                          "your coalition's approval: do not trust this server.") from None


def organizers(session: Session) -> list[dict[str, Any]]:
    """The coalition's organizers, each checked against the coalition key, with safety number and
    (English) safety words; the app shows words in the page's language."""
    listed = session.client().get("/api/v1/org/organizers")["organizers"]
    removed = set(session.coalition.setdefault("removed", []))
    for o in listed:
        _check(session, o, removed)
        o["safety_words"] = safety_words(o["fingerprint"])
        o["safety_number"] = safety_number(o["fingerprint"])
    newly = {o["fingerprint"] for o in listed if o["status"] == "removed"} - removed
    if newly:
        session.coalition["removed"] = sorted(removed | newly)
        session.save()
    return listed


def find(listed: list[dict[str, Any]], text: str) -> dict[str, Any]:
    """The organizer with exactly this fingerprint. Never a prefix: a server can grind a pending
    entry sharing any short prefix with the one meant, and have the wrong one removed or approved."""
    text = text.strip().lower()
    matches = [o for o in listed if o["fingerprint"] == text]
    if len(matches) != 1:
        raise BadInput(f"No organizer has the fingerprint {text!r}; give the full 40-character "
                       "fingerprint (see `pledgebox organizer list`).")
    return matches[0]


def preview_approval(session: Session, fp: str) -> PendingApproval:
    """The pending newcomer `fp` and the role approval would give them, checked, signing nothing.

    The role is never the server's word alone: it comes from this keystore's record of the invite
    (which must agree with the server), or, for another admin's invite, from the admin (role None).
    """
    if session.signing_key() is None:
        raise NeedsAdmin("Only admins can approve organizers; ask one of your coalition's admins.")
    target = find(organizers(session), fp)
    if target["status"] != "pending":
        raise BadInput(f"That organizer is {target['status']}, not waiting for approval.")
    role = invite_records.vouched_role(session, target)
    return PendingApproval(target, role, role is not None)


def pending_previews(session: Session, listed: list[dict[str, Any]]
                     ) -> dict[str, PendingApproval | UserError]:
    """Each pending newcomer's approval preview, or the error saying why it must not be approved.

    For a face that lists every newcomer at once (the app): one listing, no request per newcomer.
    """
    found: dict[str, PendingApproval | UserError] = {}
    for target in listed:
        if target["status"] != "pending":
            continue
        try:
            role = invite_records.vouched_role(session, target)
            found[target["fingerprint"]] = PendingApproval(target, role, role is not None)
        except UserError as exc:
            found[target["fingerprint"]] = exc
        except CryptoError:
            found[target["fingerprint"]] = KeyMismatch(DAMAGED_ENTRY)
    return found


def approve(session: Session, fp: str, role: str | None = None) -> dict[str, Any]:
    """Sign the newcomer's keys and role and wrap every key version we hold to them.

    Approval takes the full fingerprint, not a prefix: typing it (or reading its safety words)
    is the out-of-band check that these are the keys the newcomer really holds. `role` is required
    when this keystore did not make their invite, and must then match what the server lists.
    Returns the newcomer's entry as checked here, with "role" the role signed (not the server's
    echo), for a face to show next to the safety words.
    """
    sync(session)  # a rolled-back key stops here (amendment 5): nothing is signed or wrapped
    pending = preview_approval(session, fp)
    target, checked = pending.target, role_to_sign(pending, role)
    signing = session.signing_key()
    if signing is None:  # preview_approval refused non-admins already; this is for the type checker
        raise NeedsAdmin()
    sign_public = b64u_decode(target["sign_public"], length=32)
    box_public = b64u_decode(target["box_public"], length=32)
    keys = {v: session.encryption_key(v) for v in session.encryption_versions()}
    session.client().post(
        f"/api/v1/org/organizers/{target['fingerprint']}/approve", {
            "approval_signature": approval(session.coalition_id, signing, checked, sign_public,
                                           box_public),
            "wrapped": wrap_all(session.coalition_id, box_public, checked, signing, keys)})
    invite_records.forget(session, target)
    backup.mark_due(session, "approval")
    session.save()
    return {**target, "role": checked, "status": "active"}


def role_to_sign(pending: PendingApproval, role: str | None) -> str:
    """The role approval would sign, given what the admin said (None: nothing); refuses conflicts."""
    listed = pending.target["role"]
    if role is not None and role not in ROLES:
        raise BadInput("The role must be member or admin.")
    if pending.role is None and role is None:
        raise RoleNeeded()
    if role is not None and role != (pending.role or listed):
        raise KeyMismatch(f"You said {role}, but the server lists this newcomer as {listed}: do "
                          "not approve until you have checked with the admin who invited them.")
    return pending.role or listed


def remove(session: Session, fp: str) -> dict[str, Any]:
    """Revoke an organizer on the server at once and remember here that they were removed."""
    if session.signing_key() is None:
        raise NeedsAdmin("Only admins can remove organizers; ask one of your coalition's admins.")
    target = find(organizers(session), fp)
    if target["fingerprint"] == session.identity.fingerprint:
        raise BadInput("You cannot remove yourself; ask another admin to do it.")
    session.client().request("DELETE", f"/api/v1/org/organizers/{target['fingerprint']}")
    removed = set(session.coalition.setdefault("removed", []))
    session.coalition["removed"] = sorted(removed | {target["fingerprint"]})
    session.save()
    return target


def active(listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in listed if o["status"] == "active"]

"""The invites this keystore made, so approval never takes a newcomer's role from the server alone.

For each invite the inviting admin's tool keeps the token's hash (as the server knows it), the role
it was made for, when it expires, and the binding key derived from the token (crypto/invites.py; the
server cannot derive it). A pending organizer's entry names the invite it used and carries the
newcomer's MAC over their keys under that key. So at approval the tool knows the role it meant, and
that these keys came from whoever held that invite; a server that flips the role column, or moves a
newcomer onto another invite, is caught. An invite made from another keystore cannot be checked
here: approval then needs the role said explicitly (see members.approve).
"""

import time
from typing import Any

from crypto.encoding import b64u_decode, b64u_encode
from crypto.invites import binding_key, binding_ok, token_hash
from organizer.errors import KeyMismatch
from organizer.session import Session

# Records stay this long past their invite's expiry: a newcomer who joined in time may be approved late.
KEEP_AFTER_EXPIRY = 60 * 86400


def _records(session: Session) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = session.coalition.setdefault("invites", {})
    return records


def record(session: Session, token: bytes, role: str, expires_at: int) -> None:
    """Remember an invite the server accepted (the caller saves the keystore)."""
    records = _records(session)
    for key in [k for k, r in records.items() if r["expires_at"] + KEEP_AFTER_EXPIRY < time.time()]:
        del records[key]
    records[b64u_encode(token_hash(token))] = {
        "role": role, "expires_at": int(expires_at), "binding_key": b64u_encode(binding_key(token))}


def vouched_role(session: Session, target: dict[str, Any]) -> str | None:
    """The role our own record gives the invite `target` joined with, or None if it is not ours.

    Raises KeyMismatch when it is ours but the server's role differs or the keys are not bound to it.
    """
    found = _records(session).get(target.get("invite_hash") or "")
    if found is None:
        return None
    binding = b64u_decode(target.get("invite_binding") or "")
    if not binding_ok(b64u_decode(found["binding_key"], length=32), session.coalition_id,
                      b64u_decode(target["sign_public"], length=32),
                      b64u_decode(target["box_public"], length=32), binding):
        raise KeyMismatch("The server says this organizer joined with one of your invites, but "
                          "their keys are not the ones that invite's holder sent: do not approve, "
                          "and tell your coalition.")
    if found["role"] != target["role"]:
        raise KeyMismatch(f"You invited this organizer as {found['role']}, but the server now "
                          f"lists them as {target['role']}: do not trust this server, and tell "
                          "your coalition.")
    return str(found["role"])


def forget(session: Session, target: dict[str, Any]) -> None:
    """An invite approves one organizer: drop its record once used (the caller saves)."""
    _records(session).pop(target.get("invite_hash") or "", None)

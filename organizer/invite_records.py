"""The invites this keystore made, so approval never takes a newcomer's role from the server alone.

For each invite the inviting admin's tool keeps the role it was made for, when it expires (by this
laptop's clock: never by the server's word, or a server could keep a record alive for ever), and
the MAC key derived from the invite's secret (crypto/invites.py). The server receives nothing that
derives that key. A pending organizer's entry carries the newcomer's MAC over their keys; the tool
looks for the record whose key verifies it, whatever invite the server says they used. So at
approval the tool knows the role it meant, and that these keys came from whoever held that invite;
a server that flips the role column, or moves a newcomer onto another invite, is caught. An invite
made from another keystore cannot be checked here: approval then needs the role said explicitly
(see members.approve). Records of protocol 1.0 invites (a key the server could derive) are never
trusted and are dropped.
"""

import time
from typing import Any

from crypto import CryptoError, invites
from crypto.encoding import b64u_decode, b64u_encode
from organizer.errors import KeyMismatch
from organizer.session import Session

RECORD_VERSION = 2
# Records stay this long past their invite's expiry: a newcomer who joined in time may be approved
# a little late. Short, because a record is what makes a join vouched for: an invite leaked after
# its days, presented to a compromised server that ignores expiry, must not be vouched for.
KEEP_AFTER_EXPIRY_DAYS = 14


def now() -> float:
    """This laptop's clock (a function, so a test can move it)."""
    return time.time()


def _records(session: Session) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = session.coalition.setdefault("invites", {})
    return records


def _live(record: dict[str, Any]) -> bool:
    return record.get("v") == RECORD_VERSION and isinstance(record.get("expires_at"), int) \
        and record["expires_at"] + KEEP_AFTER_EXPIRY_DAYS * 86400 > now()


def prune(session: Session) -> None:
    """Drop records past their time and records of the old format (the caller saves)."""
    records = _records(session)
    for key in [k for k, r in records.items() if not _live(r)]:
        del records[key]


def record_id(secret: bytes) -> str:
    """The name of an invite's record: the hash the server knows it by (b64u)."""
    return b64u_encode(invites.locator_hash(invites.locator(secret)))


def record(session: Session, secret: bytes, role: str, days: int) -> int:
    """Remember an invite the server accepted (the caller saves); returns its expiry by our clock."""
    prune(session)
    expires_at = int(now()) + days * 86400
    _records(session)[record_id(secret)] = {
        "v": RECORD_VERSION, "role": role, "expires_at": expires_at,
        "mac_key": b64u_encode(invites.mac_key(secret))}
    return expires_at


def _bound(session: Session, target: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Our live record whose MAC key verifies the newcomer's binding over their keys, if any."""
    try:
        binding = b64u_decode(target.get("invite_binding") or "", length=32)
        sign_public = b64u_decode(target["sign_public"], length=32)
        box_public = b64u_decode(target["box_public"], length=32)
    except (CryptoError, ValueError):
        return None
    for name, found in _records(session).items():
        if _live(found) and invites.binding_ok(b64u_decode(found["mac_key"], length=32),
                                               session.coalition_id, sign_public, box_public,
                                               binding):
            return name, found
    return None


def vouched_role(session: Session, target: dict[str, Any]) -> str | None:
    """The role our own record gives the invite `target` is bound to, or None if none of ours.

    Raises KeyMismatch when the server names one of our invites but the keys are not bound to
    it, or when the role the server lists differs from the one we invited them as.
    """
    bound = _bound(session, target)
    if bound is None:
        named = _records(session).get(target.get("invite_hash") or "")
        if named is not None and _live(named):
            raise KeyMismatch("The server says this organizer joined with one of your invites, "
                              "but their keys are not the ones that invite's holder sent: do not "
                              "approve, and tell your coalition.")
        return None
    role = str(bound[1]["role"])
    if role != target["role"]:
        raise KeyMismatch(f"You invited this organizer as {role}, but the server now "
                          f"lists them as {target['role']}: do not trust this server, and tell "
                          "your coalition.")
    return role


def forget(session: Session, target: dict[str, Any]) -> None:
    """An invite approves one organizer: drop its record once used (the caller saves)."""
    bound = _bound(session, target)
    if bound is not None:
        del _records(session)[bound[0]]
    prune(session)


def used_by(session: Session, listed: list[dict[str, Any]]) -> dict[str, str]:
    """Which of our live invites a listed organizer's keys are bound to: record id -> fingerprint.
    Only a binding that verifies counts, so a server cannot mark an invite used (or unused)."""
    found: dict[str, str] = {}
    for target in listed:
        if target.get("status") == "removed":
            continue
        bound = _bound(session, target)
        if bound is not None:
            found[bound[0]] = target["fingerprint"]
    return found


def open_invites(session: Session, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """This keystore's invites that nobody has used yet and that have not expired (by this
    laptop's clock), soonest to expire first: what the app lists as still valid."""
    used = used_by(session, listed)
    return sorted(({"id": key, "role": r["role"], "expires_at": r["expires_at"]}
                   for key, r in _records(session).items()
                   if _live(r) and r["expires_at"] > now() and key not in used),
                  key=lambda r: r["expires_at"])


def invite_state(session: Session, listed: list[dict[str, Any]], key: str) -> tuple[str, str | None]:
    """What became of one invite: ("open", None), ("used", fingerprint of who joined with it), or
    ("gone", None) when its record is no more (approved, expired, or made before an upgrade)."""
    used = used_by(session, listed)
    if key in used:
        return "used", used[key]
    found = _records(session).get(key)
    if found is None or not _live(found) or found["expires_at"] <= now():
        return "gone", None
    return "open", None

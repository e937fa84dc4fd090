"""The coalition's organizer directory: each organizer's card, signed by them, sealed to the coalition.

A card is JSON holding its author's fingerprint and coalition, signed with the author's own
Ed25519 key, then padded to 1 KiB buckets and sealed to the coalition's current encryption key
(`crypto.envelope.seal_bytes`). The server sees only same-sized ciphertexts. Because anyone with
the public key could seal a card, the signature inside is what makes a card trustworthy: readers
check it against the author's key, which the coalition's approval signature vouches for.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from crypto import BadEnvelope, BadSignature
from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import open_bytes, seal_bytes
from crypto.statements import sign_statement, verify_statement
from organizer import coalition, members
from organizer.errors import BadInput, NoSecretForVersion, ServerRefused
from organizer.printable import all_safe
from organizer.session import Session

# Domain separation for the author's signature over a card (no other statement starts like this).
_CARD = b"pledgebox/v1/directory-card\x00"
FIELDS = ("name", "school", "role", "signal", "phone", "email")
REQUIRED = ("name", "school", "role")
MAX_LENGTH = 200


@dataclass
class Listing:
    cards: list[dict[str, Any]] = field(default_factory=list)
    unreadable: int = 0


def _message(body: dict[str, Any]) -> bytes:
    return _CARD + json.dumps(body, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False).encode("utf-8")


def _clean(card: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name in FIELDS:
        value = card.get(name)
        if value is None or value == "":
            continue
        value = str(value).strip()
        if len(value) > MAX_LENGTH or not all_safe(value):  # no C0/C1 controls, no bidi overrides
            raise BadInput(f"The {name} may be at most {MAX_LENGTH} characters on one line.")
        out[name] = value
    missing = [n for n in REQUIRED if not out.get(n)]
    if missing:
        raise BadInput(f"Your card needs a {missing[0]} (add --{missing[0]} …).")
    return out


def seal_card(session: Session, card: dict[str, Any], public_key: bytes) -> bytes:
    identity = session.identity
    body = {"v": 1, "coalition_id": session.coalition_id, "fingerprint": identity.fingerprint,
            "card": _clean(card)}
    signature = sign_statement(identity.sign_secret, _message(body))
    plaintext = json.dumps({**body, "signature": b64u_encode(signature)}, ensure_ascii=False)
    return seal_bytes(public_key, plaintext.encode("utf-8"))


def open_card(session: Session, entry: dict[str, Any], sign_public: bytes) -> dict[str, str]:
    """Open one entry and check that its author signed it for this coalition; raise BadEnvelope."""
    key = session.encryption_key(entry["key_version"])
    body = json.loads(open_bytes(key.public, key.secret, b64u_decode(entry["ciphertext"])))
    if not isinstance(body, dict) or body.get("v") != 1:
        raise BadEnvelope("not a directory card")
    signature = b64u_decode(body.pop("signature", ""), length=64)
    if body.get("fingerprint") != entry["fingerprint"] or body.get("coalition_id") != session.coalition_id:
        raise BadEnvelope("card of another organizer or coalition")
    try:
        verify_statement(sign_public, _message(body), signature)
    except BadSignature as exc:
        raise BadEnvelope("card not signed by its organizer") from exc
    card = {k: str(v) for k, v in body["card"].items() if k in FIELDS}
    if not all(all_safe(v) and len(v) <= MAX_LENGTH for v in card.values()):
        raise BadEnvelope("a card with control characters")  # another organizer's tool let them by
    return card


def list_cards(session: Session) -> Listing:
    """Every active organizer's card that opens and verifies; the rest are only counted."""
    keys = {o["fingerprint"]: b64u_decode(o["sign_public"], length=32)
            for o in members.active(members.organizers(session))}
    listing = Listing()
    for entry in session.client().get("/api/v1/org/directory")["entries"]:
        try:
            if entry["fingerprint"] not in keys:
                raise BadEnvelope("not an active organizer")
            card = open_card(session, entry, keys[entry["fingerprint"]])
        except (BadEnvelope, NoSecretForVersion, ValueError, KeyError, TypeError, AttributeError):
            listing.unreadable += 1
            continue
        listing.cards.append({"fingerprint": entry["fingerprint"], **card})
    return listing


def set_card(session: Session, updates: dict[str, str | None]) -> dict[str, str]:
    """Store this organizer's card, keeping fields not given from the card already stored."""
    me = coalition.sync(session)
    mine = session.identity.fingerprint
    current = next((c for c in list_cards(session).cards if c["fingerprint"] == mine), {})
    card = _clean({**{k: v for k, v in current.items() if k != "fingerprint"},
                   **{k: v for k, v in updates.items() if v is not None}})
    try:
        _put(session, card, me["encryption_key"])
    except ServerRefused:
        fresh = coalition.sync(session)
        if fresh["encryption_key"]["version"] == me["encryption_key"]["version"]:
            raise
        _put(session, card, fresh["encryption_key"])  # rotated meanwhile: seal again, once
    return card


def _put(session: Session, card: dict[str, str], key: dict[str, Any]) -> None:
    sealed = seal_card(session, card, b64u_decode(key["public_key"], length=32))
    session.client().request("PUT", "/api/v1/org/directory", {
        "key_version": key["version"], "ciphertext": b64u_encode(sealed)})


def delete_card(session: Session) -> None:
    coalition.sync(session)
    session.client().request("DELETE", "/api/v1/org/directory")

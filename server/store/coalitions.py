"""Coalitions, their organizers, encryption keys and the secrets wrapped to each organizer."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from crypto import BadSignature
from crypto import _primitives as primitives
from crypto.encoding import b64u_encode
from crypto.identity import fingerprint
from crypto.ids import new_id
from crypto.statements import encryption_key_message, organizer_message, verify_statement
from server.db import database
from server.errors import BadRequest, Conflict, Forbidden
from server.models import Coalition, EncryptionKey, Organizer, SetupCode, WrappedSecret
from server.store.campaigns import current_key, key_json


@dataclass(frozen=True)
class SignedKey:
    version: int
    not_after: str
    public_key: bytes
    signature: bytes


@dataclass(frozen=True)
class Wrapped:
    kind: str
    version: int
    ciphertext: bytes


def issue_setup_code(now: float, valid_seconds: int) -> str:
    """A one-time code with 128 bits of entropy; only its BLAKE2b hash is stored.

    Drawn like an id so it never starts with '-': `--setup-code -x…` would read as an option.
    """
    code = new_id()
    SetupCode.create(code_hash=primitives.blake2b(code.encode()), expires_at=int(now) + valid_seconds)
    return code


def _spend_setup_code(code: str, now: float) -> None:
    deleted = SetupCode.delete().where(
        SetupCode.code_hash == primitives.blake2b(code.encode()),
        SetupCode.expires_at >= int(now)).execute()
    if deleted != 1:
        raise Forbidden("This setup code is unknown, used or expired; ask the operator for a new one.")


def check_signed_key(coalition_id: str, signing_key: bytes, key: SignedKey) -> None:
    message = encryption_key_message(coalition_id, key.version, key.not_after, key.public_key)
    try:
        verify_statement(signing_key, message, key.signature)
    except BadSignature:
        raise BadRequest("The encryption key is not signed by the coalition signing key.") from None


def check_approval(coalition: Coalition, role: str, sign_public: bytes, box_public: bytes,
                   signature: bytes) -> None:
    message = organizer_message(coalition.id, role, sign_public, box_public)
    try:
        verify_statement(bytes(coalition.signing_key), message, signature)
    except BadSignature:
        raise BadRequest("The approval is not signed by the coalition's signing key.") from None


def create_coalition(*, code: str, coalition_id: str, name: str, signing_key: bytes, key: SignedKey,
                     sign_public: bytes, box_public: bytes, approval: bytes,
                     wrapped: list[Wrapped], now: float, today: date) -> Organizer:
    """Spend a setup code and register a coalition with its first organizer, an admin."""
    check_signed_key(coalition_id, signing_key, key)
    if key.version != 1:
        raise BadRequest("A new coalition starts at encryption key version 1.")
    with database.atomic():
        if Coalition.get_or_none(Coalition.id == coalition_id) is not None:
            raise Conflict("A coalition with this id already exists.")
        _spend_setup_code(code, now)
        coalition = Coalition.create(id=coalition_id, name=name, signing_key=signing_key,
                                     created_day=today)
        check_approval(coalition, "admin", sign_public, box_public, approval)
        EncryptionKey.create(coalition=coalition, version=1, public_key=key.public_key,
                             not_after=key.not_after, signature=key.signature)
        organizer = Organizer.create(
            id=new_id(), coalition=coalition, fingerprint=fingerprint(sign_public, box_public),
            sign_public=sign_public, box_public=box_public, role="admin", status="active",
            approval_signature=approval)
        store_wrapped(organizer, wrapped)
    return organizer


def store_wrapped(organizer: Organizer, wrapped: list[Wrapped]) -> None:
    for w in wrapped:
        if w.kind == "signing" and organizer.role != "admin":
            raise BadRequest("Only admins hold the coalition signing key.")
        (WrappedSecret.insert(organizer=organizer, kind=w.kind, version=w.version,
                              ciphertext=w.ciphertext)
         .on_conflict(conflict_target=[WrappedSecret.organizer, WrappedSecret.kind,
                                       WrappedSecret.version],
                      preserve=[WrappedSecret.ciphertext])
         .execute())


def organizer_json(o: Organizer) -> dict[str, Any]:
    return {
        "organizer_id": o.id, "fingerprint": o.fingerprint, "role": o.role, "status": o.status,
        "sign_public": b64u_encode(bytes(o.sign_public)),
        "box_public": b64u_encode(bytes(o.box_public)),
        "approval_signature": (b64u_encode(bytes(o.approval_signature))
                               if o.approval_signature is not None else None),
        "invite_hash": b64u_encode(bytes(o.invite_hash)) if o.invite_hash is not None else None,
        "invite_binding": (b64u_encode(bytes(o.invite_binding))
                           if o.invite_binding is not None else None),
    }


def whoami(o: Organizer) -> dict[str, Any]:
    """Everything an organizer's tool syncs: coalition, keys and the secrets wrapped to it."""
    coalition: Coalition = o.coalition
    wrapped = WrappedSecret.select().where(WrappedSecret.organizer == o).order_by(
        WrappedSecret.kind, WrappedSecret.version)
    return {
        **organizer_json(o),
        "coalition_id": coalition.id, "coalition_name": coalition.name,
        "signing_key": b64u_encode(bytes(coalition.signing_key)),
        "encryption_key": key_json(current_key(coalition.id)),
        "wrapped": [{"kind": w.kind, "version": w.version,
                     "ciphertext": b64u_encode(bytes(w.ciphertext))} for w in wrapped],
    }


def refresh_key(coalition: Coalition, key: SignedKey) -> None:
    """Re-sign the current key with a later not_after (tools: when fewer than 25 of 30 days remain)."""
    check_signed_key(coalition.id, bytes(coalition.signing_key), key)
    current = current_key(coalition.id)
    if key.version != current.version or key.public_key != bytes(current.public_key):
        raise Conflict("Only the current encryption key can be refreshed.")
    if key.not_after < current.not_after:
        raise BadRequest("A refresh may not move not_after earlier.")
    EncryptionKey.update(not_after=key.not_after, signature=key.signature).where(
        EncryptionKey.coalition == coalition, EncryptionKey.version == key.version).execute()

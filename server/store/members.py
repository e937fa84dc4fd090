"""A coalition's organizers: one-time invites, joining, approval, removal, and the encrypted directory.

Every function takes the acting organizer's coalition and looks rows up *within* it, so an
organizer of one coalition can never reach another's: a stranger's fingerprint is simply unknown.
Changes to who belongs to a coalition take the coalition's row lock first (`lock_coalition`), so
an approval, a removal and a key rotation never interleave.
"""

from dataclasses import dataclass
from typing import Any

from crypto.encoding import b64u_encode
from crypto.envelope import ciphertext_length_ok
from crypto.identity import fingerprint
from crypto.ids import new_id
from crypto.invites import locator_hash
from server.errors import ApiError, BadCiphertextLength, Conflict, Forbidden, StaleKey
from server.models import Coalition, DirectoryEntry, Invite, Organizer, WrappedSecret
from server.store.campaigns import current_key, key_json
from server.store.coalitions import Wrapped, check_approval, store_wrapped

ROLES = ("member", "admin")
INVITE_DAYS_DEFAULT = 7
INVITE_DAYS_MAX = 30
LOCATOR_BYTES = 32


class UnknownOrganizer(ApiError):
    status, code, message = 404, "unknown_organizer", "Your coalition has no organizer with this fingerprint."


class BadInvite(ApiError):
    status, code = 403, "bad_invite"
    message = "This invite is unknown, already used or expired; ask an admin for a new one."


class OldInvite(ApiError):
    """A protocol 1.0 invite (raw token at join): its binding could be forged by a server."""

    status, code = 400, "old_invite"
    message = ("This invite was made by an older version of Pledgebox and can no longer be used; "
               "update Pledgebox and ask an admin for a new invite.")


@dataclass(frozen=True)
class DirectoryCard:
    key_version: int
    ciphertext: bytes


def lock_coalition(coalition_id: str) -> None:
    """Take the coalition's row lock for the rest of the transaction (a no-op write does it on
    PostgreSQL and SQLite alike), so membership and key changes are serialised per coalition."""
    Coalition.update(name=Coalition.name).where(Coalition.id == coalition_id).execute()


def create_invite(coalition_id: str, hashed_locator: bytes, role: str, days: int, now: float) -> int:
    """Store only the hash of the invite's locator (crypto/invites.py); return when it expires.

    The column keeps its protocol 1.0 name, `token_hash`: it holds the locator's hash now."""
    expires_at = int(now) + days * 86400
    Invite.insert(token_hash=hashed_locator, coalition=coalition_id, role=role,
                  expires_at=expires_at).on_conflict_ignore().execute()
    return expires_at


def join(found_by: bytes, binding: bytes, sign_public: bytes, box_public: bytes, now: float
         ) -> Organizer:
    """Spend an invite (found by its locator) and register a pending organizer; one use, and only
    before it expires. The binding is stored for the admin's tool to check; the server cannot."""
    invite = Invite.get_or_none(Invite.token_hash == locator_hash(found_by),
                                Invite.expires_at >= int(now))
    if invite is None:
        raise BadInvite()
    lock_coalition(invite.coalition_id)
    fp = fingerprint(sign_public, box_public)
    if Organizer.get_or_none(Organizer.coalition == invite.coalition_id,
                             Organizer.fingerprint == fp) is not None:
        raise Conflict("This identity is already registered with the coalition; run "
                       "`pledgebox init` with another --keystore to join afresh.")
    if Invite.delete().where(Invite.token_hash == invite.token_hash).execute() != 1:
        raise BadInvite()  # spent by a concurrent join a moment ago
    return Organizer.create(id=new_id(), coalition=invite.coalition_id, fingerprint=fp,
                            sign_public=sign_public, box_public=box_public, role=invite.role,
                            status="pending", approval_signature=None,
                            invite_hash=invite.token_hash, invite_binding=binding)


def organizers(coalition_id: str) -> list[Organizer]:
    return list(Organizer.select().where(Organizer.coalition == coalition_id)
                .order_by(Organizer.fingerprint))


def find_organizer(coalition_id: str, fp: str) -> Organizer:
    found = Organizer.get_or_none(Organizer.coalition == coalition_id, Organizer.fingerprint == fp)
    if found is None:
        raise UnknownOrganizer()
    return found


def approve(coalition: Coalition, fp: str, signature: bytes, wrapped: list[Wrapped]) -> Organizer:
    """Activate a pending organizer once an admin's tool has signed their keys and role and
    wrapped the coalition's secrets to them; the current key must be among what is wrapped."""
    lock_coalition(coalition.id)
    target = find_organizer(coalition.id, fp)
    if target.status != "pending":
        raise Conflict(f"This organizer is {target.status}, not waiting for approval.")
    check_approval(coalition, target.role, bytes(target.sign_public), bytes(target.box_public),
                   signature)
    version = current_key(coalition.id).version
    if not any(w.kind == "encryption" and w.version == version for w in wrapped):
        raise Conflict(f"The encryption key is now version {version}; run approve again.")
    if target.role == "admin" and not any(w.kind == "signing" for w in wrapped):
        raise Conflict("An admin must receive the coalition signing key; run approve again.")
    store_wrapped(target, wrapped)
    Organizer.update(status="active", approval_signature=signature).where(
        Organizer.id == target.id).execute()
    return Organizer.get_by_id(target.id)


def remove(actor: Organizer, fp: str) -> None:
    """Revoke at once: status removed, every secret wrapped to them and their card deleted."""
    lock_coalition(actor.coalition_id)
    target = find_organizer(actor.coalition_id, fp)
    if target.id == actor.id:
        raise Forbidden("You cannot remove yourself; ask another admin to do it.")
    if target.status == "removed":
        return
    Organizer.update(status="removed").where(Organizer.id == target.id).execute()
    WrappedSecret.delete().where(WrappedSecret.organizer == target.id).execute()
    DirectoryEntry.delete().where(DirectoryEntry.organizer == target.id).execute()


def put_card(organizer: Organizer, card: DirectoryCard) -> None:
    """Store this organizer's sealed card; only the current key, only bucketed sizes."""
    if not ciphertext_length_ok(len(card.ciphertext)):
        raise BadCiphertextLength()
    key = current_key(organizer.coalition_id)
    if card.key_version != key.version:
        raise StaleKey(encryption_key=key_json(key))
    (DirectoryEntry.insert(organizer=organizer.id, key_version=card.key_version,
                           ciphertext=card.ciphertext)
     .on_conflict(conflict_target=[DirectoryEntry.organizer],
                  preserve=[DirectoryEntry.key_version, DirectoryEntry.ciphertext])
     .execute())


def delete_card(organizer: Organizer) -> None:
    DirectoryEntry.delete().where(DirectoryEntry.organizer == organizer.id).execute()


def directory(coalition_id: str) -> list[dict[str, Any]]:
    """Cards of the coalition's active organizers, as ciphertext; removed organizers have none."""
    rows = (DirectoryEntry.select(DirectoryEntry, Organizer.fingerprint)
            .join(Organizer)
            .where(Organizer.coalition == coalition_id, Organizer.status == "active")
            .order_by(Organizer.fingerprint))
    return [{"fingerprint": r.organizer.fingerprint, "key_version": r.key_version,
             "ciphertext": b64u_encode(bytes(r.ciphertext))} for r in rows]

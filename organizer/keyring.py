"""Which encryption key versions this keystore has seen and keeps, and when it lets one go.

Key statements never go backwards (protocol 1.1, amendment 5): the keystore records the highest
key version it has seen for its coalition, and the tool never signs or renews a statement for an
older one. A server that serves an older key than the record (after a removal and a rotation,
the key the removed organizer holds) is stopped with an alarm before anything is stored or signed.
Without the record, an admin's routine renewal kept such a key valid without end. Keystores made
before the record existed start it from the highest version whose secret they hold.

Old secrets: a version older than the current one is forgotten once the server no longer keeps a
copy wrapped to this organizer. The server deletes those copies only after a re-encryption has
left no live pledge and no directory card sealed to that version (see server/store/rotation.py),
so a version is kept exactly as long as something a live campaign holds still needs it. A server
that withheld copies early could make tools forget keys, but it could as well delete ciphertexts:
this gives it no new power. A removed organizer cannot sync at all, so nothing here runs for them.
The record is kept when old secrets go: it never moves down.
"""

from typing import Any

from organizer.errors import KeyRolledBack
from organizer.session import Session

RECORD = "key_version"  # in the keystore's coalition entry


def highest_seen(session: Session) -> int:
    """The highest key version this keystore has seen (0: none yet, a newcomer not approved)."""
    recorded = session.coalition.get(RECORD)
    if isinstance(recorded, int) and not isinstance(recorded, bool):
        return recorded
    return max(session.encryption_versions(), default=0)


def check_not_older(session: Session, version: int) -> None:
    """Stop if `version` (the server's current key, or one about to be signed) is older than
    the record: never sign it, never seal to it, never take the server's story for the truth."""
    seen = highest_seen(session)
    if version < seen:
        raise KeyRolledBack(served=version, seen=seen)


def record_seen(session: Session, version: int) -> None:
    """Raise the record to `version` (a key statement the coalition signed, or one we sign)."""
    session.coalition[RECORD] = max(highest_seen(session), int(version))


def forget_pruned(session: Session, me: dict[str, Any]) -> list[int]:
    """Drop local secrets the server has pruned (after a sync's /me); return the versions dropped."""
    record_seen(session, highest_seen(session))  # fixed before any secret it may start from goes
    current = int(me["encryption_key"]["version"])
    kept = {int(w["version"]) for w in me["wrapped"] if w.get("kind") == "encryption"}
    dropped = [v for v in session.encryption_versions() if v < current and v not in kept]
    for version in dropped:
        del session.data["secrets"]["encryption"][str(version)]
    return dropped

"""Which encryption secret versions this keystore keeps, and when it lets an old one go.

The rule: a version older than the current one is forgotten once the server no longer keeps a
copy wrapped to this organizer. The server deletes those copies only after a re-encryption has
left no live pledge and no directory card sealed to that version (see server/store/rotation.py),
so a version is kept exactly as long as something a live campaign holds still needs it. A server
that withheld copies early could make tools forget keys, but it could as well delete ciphertexts:
this gives it no new power. A removed organizer cannot sync at all, so nothing here runs for them.
"""

from typing import Any

from organizer.session import Session


def forget_pruned(session: Session, me: dict[str, Any]) -> list[int]:
    """Drop local secrets the server has pruned (after a sync's /me); return the versions dropped."""
    current = int(me["encryption_key"]["version"])
    kept = {int(w["version"]) for w in me["wrapped"] if w.get("kind") == "encryption"}
    dropped = [v for v in session.encryption_versions() if v < current and v not in kept]
    for version in dropped:
        del session.data["secrets"]["encryption"][str(version)]
    return dropped

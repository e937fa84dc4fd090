"""When a keystore backup matters, what its file is called, and what a restored one holds.

A backup is the keystore file itself (sealed with the passphrase). It is worth keeping only once
it holds something a new laptop could not get back otherwise: the coalition's keys. So the tool
asks for one after the coalition exists (made here, or this organizer's first keys arrived),
after a new key version arrived (a rotation: an older backup cannot open pledges sealed to it,
and its record of the highest key version would be behind, see organizer/keyring.py), and after
approving someone. The reason waits in the keystore until a backup is downloaded, so a change
made from the command line is asked about by the app too.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from organizer import keyring
from organizer.session import Session

DUE = "backup_due"  # in the keystore's payload: why a new backup is needed; absent when current
LAST = "last_backup"  # the day the last backup was downloaded
REASONS = ("coalition", "keys", "approval")  # most important first


def mark_due(session: Session, reason: str) -> None:
    """Ask for a backup (once the keystore belongs to a coalition); a more important reason
    already waiting is kept."""
    if not session.data.get("coalition"):
        return
    waiting = session.data.get(DUE)
    if waiting in REASONS and REASONS.index(waiting) <= REASONS.index(reason):
        return
    session.data[DUE] = reason


def due(session: Session) -> str | None:
    reason = session.data.get(DUE)
    return reason if reason in REASONS else None


def mark_saved(session: Session, today: date) -> None:
    """Called just before the file is handed over, so the backup itself carries no request."""
    session.data.pop(DUE, None)
    session.data[LAST] = today.isoformat()


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:40].strip("-")


def file_name(session: Session | None, today: date) -> str:
    """pledgebox-covina-students-united-2027-01-12-key2.json: two backups of one day before and
    after a rotation differ, and a coalition's backups sort by date."""
    if session is None or not session.data.get("coalition"):
        return f"pledgebox-keystore-{today.isoformat()}.json"
    name = _slug(str(session.data["coalition"].get("name") or "")) or "coalition"
    return f"pledgebox-{name}-{today.isoformat()}-key{keyring.highest_seen(session)}.json"


@dataclass(frozen=True)
class Contents:
    """What a keystore brings back, for the page shown after a restore."""

    coalition_name: str | None
    role: str | None
    status: str | None
    key_versions: tuple[int, ...]
    server: str | None
    last_backup: str | None


def contents(session: Session) -> Contents:
    coalition = session.data.get("coalition") or {}
    return Contents(coalition.get("name") if coalition else None, coalition.get("role"),
                    coalition.get("status"), tuple(session.encryption_versions()),
                    session.data.get("server"), session.data.get(LAST))

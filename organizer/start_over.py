"""The way back from a forgotten passphrase, and the warning that makes it rarely needed.

Nobody can open a keystore without its passphrase (that is what protects students when a laptop is
taken). An organizer who forgot it starts again: a new keystore, a new invite from an admin. The
old file is set aside under a new name, never deleted, in case the passphrase comes back to them.
A coalition whose only admin forgets loses every pledge for good, because only admins hold the
signing key and only organizers hold the encryption keys: so a coalition with one admin is told to
invite a second one from its first minutes.
"""

from datetime import date
from pathlib import Path
from typing import Any


def aside_path(path: Path, today: date) -> Path:
    """A free name beside the keystore: keystore.forgotten-2026-12-07.json, then -2, -3…"""
    for n in range(1, 1000):
        tail = "" if n == 1 else f"-{n}"
        candidate = path.with_name(f"{path.stem}.forgotten-{today.isoformat()}{tail}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(path)


def set_aside(path: Path, today: date) -> Path:
    """Rename the keystore out of the way (same folder, same bytes); returns where it went."""
    target = aside_path(path, today)
    path.rename(target)
    return target


def sole_admin(listed: list[dict[str, Any]], me: str) -> bool:
    """True when `me` is the coalition's only active admin (pending admins do not count yet: they
    hold no signing key until approved)."""
    admins = [o["fingerprint"] for o in listed if o["role"] == "admin" and o["status"] == "active"]
    return admins == [me]

"""Names for organizers that stay on this laptop: so a coalition of seven schools knows whom to remove.

The server lists organizers by keys only. A name given here is kept in this keystore (sealed by
the passphrase like everything in it) and never sent anywhere; the coalition's directory
(organizer/contacts.py), where an organizer may have written a card, supplies a name where this
keystore has none. Either is shown next to the safety number, never instead of it: a name is what
someone says about a key, the number is the key.
"""

import re
from dataclasses import dataclass
from typing import Any

from crypto import CryptoError
from organizer import contacts, members
from organizer.errors import BadInput, NoSecretForVersion, ServerRefused
from organizer.printable import all_safe
from organizer.session import Session

MAX_LENGTH = 80
_FINGERPRINT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Name:
    text: str
    mine: bool  # True: given on this laptop; False: from the organizer's own directory card


def _names(session: Session) -> dict[str, str]:
    names: dict[str, str] = session.coalition.setdefault("names", {})
    return names


def set_name(session: Session, fingerprint: str, text: str) -> str:
    """Give (or, with an empty text, clear) this laptop's name for an organizer; saves."""
    fingerprint = fingerprint.strip().lower()
    text = " ".join(text.split())
    if not _FINGERPRINT.match(fingerprint):
        raise BadInput("Give the organizer's full 40-character fingerprint (see `pledgebox "
                       "organizer list`).")
    if len(text) > MAX_LENGTH or not all_safe(text):
        raise BadInput(f"A name may be at most {MAX_LENGTH} characters on one line.")
    members.find(members.organizers(session), fingerprint)  # an organizer of this coalition
    if text:
        _names(session)[fingerprint] = text
    else:
        _names(session).pop(fingerprint, None)
    session.save()
    return text


def directory_names(session: Session) -> dict[str, str]:
    """Names from the coalition's directory cards; none when they cannot be read (a pending
    organizer holds no key yet, the server is away): names are an aid, never a requirement."""
    try:
        return {c["fingerprint"]: c["name"] for c in contacts.list_cards(session).cards
                if c.get("name")}
    except (NoSecretForVersion, ServerRefused, CryptoError):
        return {}


def names_for(session: Session, listed: list[dict[str, Any]],
              directory: dict[str, str] | None = None) -> dict[str, Name]:
    """Each listed organizer's name: this laptop's first, else their directory card's."""
    mine = _names(session)
    cards = directory if directory is not None else directory_names(session)
    found: dict[str, Name] = {}
    for o in listed:
        fp = o["fingerprint"]
        if fp in mine:
            found[fp] = Name(mine[fp], True)
        elif fp in cards:
            found[fp] = Name(cards[fp], False)
    return found

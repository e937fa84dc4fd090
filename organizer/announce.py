"""Announcements: a short signed note that everyone with the campaign's link can read.

Students leave no contact details by default, so this is how organizers reach them: the note
is signed here with the coalition signing key, and each student's browser checks it against the
key in their link before showing it, so nobody else (not even the server) can post as you.
"""

import json
from datetime import date
from typing import Any

from crypto.encoding import b64u_encode
from crypto.ids import new_id
from crypto.statements import announcement_message
from organizer.errors import BadInput, NeedsAdmin
from organizer.session import Session

MAX_TEXT = 1000


def _text(value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise BadInput(f"The {what} is empty: write the message in quotes, e.g. \"Meet at 10am\".")
    if len(text) > MAX_TEXT:
        raise BadInput(f"The {what} has {len(text)} characters; keep it under {MAX_TEXT} "
                       "(post two announcements if you need more room).")
    return text


def build_announcement(campaign_id: str, message: str, spanish: str | None, day: date) -> bytes:
    """The exact bytes that get signed: campaign, a random id, the day and the text."""
    text: dict[str, Any] = {"en": _text(message, "message")}
    if spanish is not None:
        text["es"] = _text(spanish, "Spanish message")
    body = {"campaign_id": campaign_id, "id": new_id(), "day": day.isoformat(), "message": text}
    return json.dumps(body, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def post(session: Session, campaign_id: str, body: bytes) -> str:
    """Sign with the coalition signing key (admins hold it) and upload; returns the id."""
    signing = session.signing_key()
    if signing is None:
        raise NeedsAdmin("Only admins can post announcements; ask one of your coalition's admins.")
    signature = signing.sign(announcement_message(body))
    result = session.client().post(
        f"/api/v1/org/campaigns/{campaign_id}/announcements",
        {"body": b64u_encode(body), "signature": b64u_encode(signature)})
    return str(result["announcement_id"])

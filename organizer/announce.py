"""Announcements: a short signed note that everyone with the campaign's link can read.

Students leave no contact details by default, so this is how organizers reach them: the note
is signed here with the coalition signing key, and each student's browser checks it against the
key in their link before showing it, so nobody else (not even the server) can post as you.
"""

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from crypto import BadSignature, CryptoError
from crypto.encoding import b64u_decode, b64u_encode
from crypto.ids import is_id, new_id
from crypto.statements import announcement_message, verify_statement
from organizer import campaigns
from organizer.errors import BadInput, NeedsAdmin
from organizer.session import Session
from organizer.tally import zone_today

MAX_TEXT = 1000


def _text(value: str, what: str) -> str:
    text = campaigns.plain_text(value)
    if not text:
        raise BadInput(f"The {what} is empty: write the message in quotes, e.g. \"Meet at 10am\".")
    if len(text) > MAX_TEXT:
        raise BadInput(f"The {what} has {len(text)} characters; keep it under {MAX_TEXT} "
                       "(post two announcements if you need more room).")
    return text


def build_announcement(campaign_id: str, message: str, spanish: str | None, day: date,
                       until: date | None = None) -> bytes:
    """The exact bytes that get signed: campaign, a random id, the day, the text and the last
    day it is shown (protocol 1.1; for_campaign always sets it)."""
    text: dict[str, Any] = {"en": _text(message, "message")}
    if spanish is not None:
        text["es"] = _text(spanish, "Spanish message")
    body = {"campaign_id": campaign_id, "id": new_id(), "day": day.isoformat(), "message": text}
    if until is not None:
        if until < day:
            raise BadInput("The last day to show the announcement is already past.")
        body["until"] = until.isoformat()
    return json.dumps(body, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def for_campaign(session: Session, campaign_id: str, message: str, spanish: str | None,
                 until: date | None = None) -> bytes:
    """An announcement for one of our campaigns: dated today in the campaign's zone and shown
    until `until`, by default the campaign's delete_after (when everything goes anyway)."""
    descriptor = campaigns.find(session, campaign_id)["descriptor"]
    last = until or date.fromisoformat(descriptor["delete_after"])
    return build_announcement(campaign_id, message, spanish, zone_today(descriptor), last)


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


@dataclass(frozen=True)
class Posted:
    announcement_id: str
    day: str
    message: dict[str, str]


def list_posted(session: Session, campaign_id: str) -> tuple[list[Posted], int]:
    """The campaign's announcements that verify against the coalition key, oldest first, and
    how many did not (a server showing those to no one, since browsers check them too)."""
    reply = session.client().get(f"/api/v1/campaigns/{campaign_id}/announcements")
    items = reply.get("announcements") if isinstance(reply, dict) else None
    good, bad = [], 0
    for item in items if isinstance(items, list) else []:
        try:
            body = b64u_decode(item["body"])
            verify_statement(session.signing_public, announcement_message(body),
                             b64u_decode(item["signature"], length=64))
            a = json.loads(body)
            if a["campaign_id"] != campaign_id:
                raise BadSignature("another campaign's announcement")
            good.append(Posted(str(a["id"]), str(a["day"]),
                               {str(k): str(v) for k, v in a["message"].items()}))
        except (CryptoError, ValueError, KeyError, TypeError, AttributeError):
            bad += 1
    return sorted(good, key=lambda p: (p.day, p.announcement_id)), bad


def delete(session: Session, campaign_id: str, announcement_id: str) -> None:
    """Take an announcement back; students stop seeing it the next time the page loads."""
    if not is_id(announcement_id):
        raise BadInput("That is not an announcement id; see `pledgebox announce CAMPAIGN_ID --list`.")
    if session.signing_key() is None:
        raise NeedsAdmin("Only admins can delete announcements; ask one of your coalition's admins.")
    session.client().request(
        "DELETE", f"/api/v1/org/campaigns/{campaign_id}/announcements/{announcement_id}")

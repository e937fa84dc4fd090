"""Announcements: short news from a campaign's organizers, signed by the coalition signing key.

The server checks the signature and the shape, then keeps the bytes exactly as signed (like
descriptors); students' browsers verify them again against the key in their link, so a server
that invents or edits an announcement shows nothing. They go with their campaign when it is
wiped or purged. One whose body carries "until" (protocol 1.1) is not served after that day in
the campaign's zone, and the purge deletes it then.
"""

from datetime import date, timedelta
from typing import Any

from crypto import BadSignature
from crypto.encoding import b64u_encode
from crypto.ids import is_id
from crypto.statements import announcement_message, verify_statement
from server.errors import BadRequest, Conflict, NotFound
from server.jsonbody import exact_fields, parse_json, plain_text_ok
from server.models import Announcement, Campaign
from server.zones import day_in, end_of_day

MAX_BODY = 4096
MAX_TEXT = 1000
MAX_PER_CAMPAIGN = 50
LANGUAGES = {"en", "es"}


def _date(a: dict[str, Any], key: str) -> date:
    try:
        day = date.fromisoformat(a[key])
        if day.isoformat() != a[key]:
            raise ValueError
    except (TypeError, ValueError):
        raise BadRequest(f"The announcement's {key!r} must be a date YYYY-MM-DD.") from None
    return day


def check_body(body: bytes, campaign_id: str, today: date) -> dict[str, Any]:
    """The parsed announcement, or BadRequest saying what is wrong with it (`today`: the
    campaign's zone)."""
    if len(body) > MAX_BODY:
        raise BadRequest(f"An announcement is at most {MAX_BODY} bytes.")
    a = parse_json(body)
    exact_fields(a, {"campaign_id", "id", "day", "message"}, {"until"})
    if a["campaign_id"] != campaign_id:
        raise BadRequest("The announcement names another campaign.")
    if not is_id(a["id"]):
        raise BadRequest("The announcement's 'id' must be an id of [A-Za-z0-9_-].")
    if _date(a, "day") > today + timedelta(days=1):
        raise BadRequest("The announcement's 'day' must be today's date (YYYY-MM-DD).")
    if "until" in a and _date(a, "until") < today:
        raise BadRequest("The announcement's 'until' is already past.")
    message = a["message"]
    if not isinstance(message, dict) or "en" not in message or not set(message) <= LANGUAGES:
        raise BadRequest("The announcement's 'message' must map 'en' (and optionally 'es') to text.")
    for text in message.values():
        if not isinstance(text, str) or not 0 < len(text) <= MAX_TEXT or not plain_text_ok(text):
            raise BadRequest(f"Each message must be plain text of 1 to {MAX_TEXT} characters.")
    return a


def add_announcement(campaign: Campaign, body: bytes, signature: bytes, now: float) -> str:
    """Store a signed announcement for a live campaign; refuse one its coalition did not sign."""
    try:
        verify_statement(bytes(campaign.coalition.signing_key), announcement_message(body),
                         signature)
    except BadSignature:
        raise BadRequest("The announcement is not signed by this coalition's signing key.") from None
    a = check_body(body, campaign.id, day_in(campaign.time_zone, now))
    if Announcement.select().where(Announcement.campaign == campaign.id).count() >= MAX_PER_CAMPAIGN:
        raise Conflict(f"A campaign can have at most {MAX_PER_CAMPAIGN} announcements.")
    if Announcement.get_or_none(Announcement.id == a["id"]) is not None:
        raise Conflict("An announcement with this id already exists.")
    gone_at = end_of_day(_date(a, "until"), campaign.time_zone) if "until" in a else None
    Announcement.create(id=a["id"], campaign=campaign, body=body, signature=signature,
                        gone_at=gone_at)
    return str(a["id"])


def campaign_announcements(campaign: Campaign, now: float) -> list[dict[str, str]]:
    """A live campaign's announcements whose last day has not passed, as signed (the browser
    sorts them by their day)."""
    rows = (Announcement.select().where(Announcement.campaign == campaign.id,
                                        Announcement.gone_at.is_null() | (Announcement.gone_at > now))
            .order_by(Announcement.id))
    return [{"body": b64u_encode(bytes(r.body)), "signature": b64u_encode(bytes(r.signature))}
            for r in rows]


def delete_announcement(campaign: Campaign, announcement_id: str) -> None:
    """Take an announcement back (a wrong place or time can put students at risk): gone for good."""
    deleted = Announcement.delete().where(Announcement.campaign == campaign.id,
                                          Announcement.id == announcement_id).execute()
    if deleted != 1:
        raise NotFound("This campaign has no announcement with that id; see `pledgebox announce "
                       "CAMPAIGN_ID --list`.")

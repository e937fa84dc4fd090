"""Tallies (protocol 1.1): a campaign's counts as its coalition signed them, the latest one kept.

The server checks the signature, the campaign and coalition it names, its shape and that it is
not older than the one held, then keeps the bytes as signed (like descriptors and
announcements); pages verify them again against the key in their link. It also holds published
counts to the contract's `few` rule and amendments 2 and 3 of 2026-12-07 (no total of 1 to 4,
`reached` exactly the options counted at their number, never below 5), so a buggy tool cannot
publish a small school's 1 to 4.
Tallies go with their campaign when it is wiped or purged.
"""

import json
from datetime import date, timedelta
from typing import Any

from crypto import BadSignature
from crypto.encoding import b64u_encode
from crypto.ids import is_id
from crypto.statements import tally_message, verify_statement
from server.db import database
from server.errors import BadRequest, Conflict
from server.jsonbody import exact_fields, parse_json
from server.models import Campaign, Tally
from server.zones import day_in

MAX_BODY = 64 * 1024
FEW = range(1, 5)  # counts of 1 to 4 are published as "few", never as a number
SMALLEST = 5
TALLY_KEYS = {"campaign_id", "coalition_id", "day", "total", "counts", "few", "reached"}


def latest_tally(campaign_id: str) -> dict[str, str] | None:
    """The answer's "tally": the latest one as signed, or None before the first."""
    row = Tally.get_or_none(Tally.campaign == campaign_id)
    if row is None:
        return None
    return {"body": b64u_encode(bytes(row.body)), "signature": b64u_encode(bytes(row.signature))}


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest("A tally's numbers are whole numbers from 0.")
    return value


def _ids(value: object, what: str) -> list[str]:
    if not isinstance(value, list) or not all(is_id(v) for v in value) or len(set(value)) != len(value):
        raise BadRequest(f"A tally's {what!r} is a list of distinct option ids.")
    return value


def _day(t: dict[str, Any], campaign: Campaign, now: float) -> date:
    try:
        day = date.fromisoformat(t["day"])
        if day.isoformat() != t["day"]:
            raise ValueError
    except (TypeError, ValueError):
        raise BadRequest("A tally's 'day' is a date YYYY-MM-DD.") from None
    if day > day_in(campaign.time_zone, now) + timedelta(days=1):
        raise BadRequest("A tally's 'day' is the day it was counted, not a later one.")
    return day


def _check_counts(t: dict[str, Any], threshold: dict[str, Any] | None,
                  options: list[str]) -> None:
    counts, few, reached = t["counts"], _ids(t["few"], "few"), _ids(t["reached"], "reached")
    if not isinstance(counts, dict):
        raise BadRequest("A tally's 'counts' maps option ids to numbers.")
    total = _count(t["total"])
    if total in FEW:  # amendment 3; with a threshold the sum of 0s and 5s and more never is
        raise BadRequest("A tally's total of 1 to 4 is never published: publish from 5 pledges.")
    if threshold is None:
        if counts or few or reached:
            raise BadRequest("Without a threshold a tally has only a total.")
        return
    if set(counts) & set(few) or set(counts) | set(few) != set(options):
        raise BadRequest("Every option of the threshold field is in exactly one of 'counts' or 'few'.")
    if any(_count(n) in FEW for n in counts.values()):
        raise BadRequest("Counts of 1 to 4 are published as 'few', never as a number.")
    if total != sum(counts.values()):
        raise BadRequest("A tally's 'total' is the sum of its 'counts'.")
    if not set(reached) <= set(options):
        raise BadRequest("A tally's 'reached' names options of the threshold field only.")
    if reached != [o for o in options if counts.get(o, 0) >= _needed(threshold, o)]:
        raise BadRequest("A tally's 'reached' lists, in the field's order, exactly the options "
                         "counted at least at their threshold (never below 5).")


def _needed(threshold: dict[str, Any], option: str) -> int:
    """An option's number, never below 5: a campaign stored before amendment 2 with a threshold
    of 1 to 4 keeps working, but `reached` never tells that an option has 1 to 4 pledges."""
    per_option = threshold.get("per_option") or {}
    return max(int(per_option.get(option, threshold["count"])), SMALLEST)


def _threshold(campaign: Campaign) -> tuple[dict[str, Any] | None, list[str]]:
    d = json.loads(bytes(campaign.descriptor))  # checked when stored
    threshold = d.get("threshold")
    if threshold is None:
        return None, []
    field = next(f for f in d["fields"] if f["id"] == threshold["field"])
    return threshold, [o["id"] for o in field["options"]]


def publish_tally(campaign: Campaign, body: bytes, signature: bytes, now: float) -> date:
    """Keep `body` as the campaign's latest tally, or say why not; return its day."""
    if len(body) > MAX_BODY:
        raise BadRequest(f"A tally is at most {MAX_BODY} bytes.")
    try:
        verify_statement(bytes(campaign.coalition.signing_key), tally_message(body), signature)
    except BadSignature:
        raise BadRequest("The tally is not signed by this coalition's signing key.") from None
    t = parse_json(body)
    exact_fields(t, TALLY_KEYS)
    if t["campaign_id"] != campaign.id or t["coalition_id"] != campaign.coalition_id:
        raise BadRequest("The tally names another campaign or coalition.")
    day = _day(t, campaign, now)
    _check_counts(t, *_threshold(campaign))
    with database.atomic():
        held = Tally.get_or_none(Tally.campaign == campaign.id)
        if held is not None and held.day > day:
            raise Conflict(f"The server holds a tally from {held.day.isoformat()}, later than "
                           "this one's day.")
        # The condition again in the write: two admins publishing at once never leave the older.
        Tally.insert(campaign=campaign.id, day=day, body=body, signature=signature).on_conflict(
            conflict_target=[Tally.campaign], where=(Tally.day <= day),
            update={Tally.day: day, Tally.body: body, Tally.signature: signature}).execute()
    return day

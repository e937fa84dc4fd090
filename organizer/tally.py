"""Tallies (protocol 1.1): the counts organizers sign and publish, so students see safety in numbers.

A tally is counted here from the pledges this laptop opens (byte-identical copies left out, as
every reader does), on the current date in the campaign's zone. With a threshold, each option
of its field is published either as a number (0, or 5 and more) or as "few" (1 to 4): a count
of one or two at a small school says too much about who pledged. `total` is the sum of the
published numbers, so nothing adds up to a hidden count.

Amendments 2 and 3 of 2026-12-07: no published number is below 5. Tools write thresholds from
5 only; a campaign stored earlier with a threshold of 1 to 4 keeps working, and its options
count as `reached` only from 5 pledges (the number an option needs is max(its threshold, 5)),
since `reached` at 3 would publish that a school has 3 or 4. Without a threshold no tally is
published while the total is 1 to 4 (`TooFewToPublish`).
"""

import json
import zoneinfo
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from crypto.encoding import b64u_encode
from crypto.statements import tally_message
from organizer import campaigns, clock, roster
from organizer.errors import NeedsAdmin, TooFewToPublish
from organizer.session import Session

FEW = range(1, 5)
SMALLEST = 5  # the smallest number ever published, and the smallest threshold a tool writes


def needed(threshold: dict[str, Any], option: str) -> int:
    """Pledges an option needs to be `reached`: its own number or the campaign's, never below 5."""
    per_option = threshold.get("per_option") or {}
    return max(int(per_option.get(option, threshold["count"])), SMALLEST)


def zone_today(descriptor: dict[str, Any], now: datetime | None = None) -> date:
    """Today's date in the campaign's zone (UTC for a version 1 campaign), from the tool's clock
    (organizer/clock.py), as every other date the tool signs."""
    zone = zoneinfo.ZoneInfo(str(descriptor.get("time_zone") or "UTC"))
    moment = now or datetime.fromtimestamp(clock.now(), zoneinfo.ZoneInfo("UTC"))
    return moment.astimezone(zone).date()


def tally_body(descriptor: dict[str, Any], rows: Iterator[dict[str, Any]], day: date) -> bytes:
    """The exact tally bytes of protocol 1.1 for these (already de-duplicated) pledges."""
    threshold = descriptor.get("threshold")
    head = {"campaign_id": descriptor["campaign_id"], "coalition_id": descriptor["coalition_id"],
            "day": day.isoformat()}
    if threshold is None:
        body: dict[str, Any] = {**head, "total": sum(1 for _ in rows), "counts": {}, "few": [],
                                "reached": []}
    else:
        body = {**head, **_threshold_counts(descriptor, threshold, rows)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _threshold_counts(descriptor: dict[str, Any], threshold: dict[str, Any],
                      rows: Iterator[dict[str, Any]]) -> dict[str, Any]:
    field = next(f for f in descriptor["fields"] if f["id"] == threshold["field"])
    options = [str(o["id"]) for o in field["options"]]
    named: Counter[str] = Counter(row["answers"].get(field["id"]) for row in rows)
    counts = {o: named[o] for o in options if named[o] not in FEW}
    return {"total": sum(counts.values()), "counts": counts,
            "few": [o for o in options if named[o] in FEW],
            "reached": [o for o in options if named[o] >= needed(threshold, o)]}


def count(session: Session, campaign_id: str, stats: roster.Tally | None = None) -> bytes:
    """The tally body, with what was left out (unopened, duplicates) counted in `stats`."""
    item = campaigns.find(session, campaign_id)
    stats = stats if stats is not None else roster.Tally()
    descriptor = item["descriptor"]
    rows = roster.pledges(session, campaign_id, stats, item["pledge_count"], descriptor["fields"])
    return tally_body(descriptor, rows, zone_today(descriptor))


def compute(session: Session, campaign_id: str) -> bytes:
    """The exact tally body bytes of protocol 1.1 for this campaign, today."""
    return count(session, campaign_id)


def publishable(body: bytes) -> bool:
    """Amendment 3: never a published total of 1 to 4 (with a threshold the total is a sum of
    numbers that are 0 or at least 5, so this only ever stops a campaign without one)."""
    return json.loads(body)["total"] not in FEW


def publish(session: Session, campaign_id: str, body: bytes) -> None:
    """Sign with the coalition signing key (admins hold it) and upload as the latest tally."""
    signing = session.signing_key()
    if signing is None:
        raise NeedsAdmin("Only admins can publish counts; ask one of your coalition's admins.")
    if not publishable(body):
        raise TooFewToPublish()
    signature = signing.sign(tally_message(body))
    session.client().request("PUT", f"/api/v1/org/campaigns/{campaign_id}/tally",
                             {"body": b64u_encode(body), "signature": b64u_encode(signature)})

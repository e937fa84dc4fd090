"""The UTC day a pledge is stored under, said in the campaign's own zone.

The protocol stores a pledge's day as its UTC day (a finer time would tell when a student
pledged), so the tool cannot move a pledge to the day it was in the campaign's zone. What it can
do is say, in that zone's clock, where a stored day begins and ends, so "Pledges per day" and the
"Received" column are read right (issue 18, item 11): in Los Angeles a stored day runs from 16:00
the day before (17:00 in summer) to 16:00.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class DaySpan:
    zone: str
    starts: str  # local time at which a stored (UTC) day begins, "16:00"
    day_before: bool  # True: it begins the day before (zones west of UTC)


def stored_day_span(zone: str | None, now: datetime | None = None) -> DaySpan | None:
    """Where a stored day begins in `zone`, at today's offset; None where it is midnight (UTC)."""
    if not zone:
        return None
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    local = midnight.astimezone(zoneinfo.ZoneInfo(zone))
    if (local.hour, local.minute) == (0, 0):
        return None
    return DaySpan(zone, f"{local.hour:02d}:{local.minute:02d}", local.date() < midnight.date())

"""Campaign days in the campaign's own time zone (protocol 1.1), as instants the database compares.

A campaign's `closes_at` and `delete_after` are dates in its `time_zone` (UTC when absent). The
server turns each into the instant its next day begins there, once, when the campaign is stored:
every read then compares one number with the clock, in SQL, with no per-request zone arithmetic.
These instants come from the signed descriptor, not from anything a student did (pledges keep
their UTC day only). Zone data ships with the server (the `tzdata` package), so a host without
/usr/share/zoneinfo, or with an older one, answers the same.
"""

import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

UTC_ZONE = "UTC"


@functools.cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {UTC_ZONE}


def is_known_zone(name: object) -> bool:
    return isinstance(name, str) and name in known_zones()


def end_of_day(day: date, zone: str) -> int:
    """The first second (epoch) of the day after `day` in `zone`: `day` is over from then on.

    A zone whose midnight falls in a DST gap starts that day at the first instant that exists.
    """
    start = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zoneinfo.ZoneInfo(zone))
    return int(start.timestamp())


def day_in(zone: str, instant: float) -> date:
    """The date in `zone` at `instant` (epoch seconds)."""
    return datetime.fromtimestamp(instant, UTC).astimezone(zoneinfo.ZoneInfo(zone)).date()

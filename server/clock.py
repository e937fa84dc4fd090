"""The server's sense of time: UTC days for data, seconds only for request freshness and leases.

Expired data must never come back, even if the machine's clock jumps backwards: `Clock.today`
never returns a day earlier than the latest day it has seen (kept in the database by retention).
"""

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_start
from pathlib import Path


@dataclass
class Clock:
    offset_file: Path | None = None
    _floor: date = field(default=date.min)

    def _offset_days(self) -> float:
        """Whole days move the test clock across dates; a fraction moves it within one (a
        campaign's midnight in its own zone)."""
        if self.offset_file is None:
            return 0
        try:
            return float(self.offset_file.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def now(self) -> float:
        """Seconds since the epoch; never stored next to anything about a student."""
        return time.time() + self._offset_days() * 86400

    def today(self) -> date:
        day = datetime.fromtimestamp(self.now(), UTC).date()
        if day < self._floor:
            return self._floor
        self._floor = day
        return day

    def instant(self) -> float:
        """Now, but never before the start of the latest UTC day seen: what campaigns' zone
        days are compared with (server/zones.py), so they never run backwards either."""
        now, floor = self.now(), self.today()
        return max(now, datetime.combine(floor, day_start.min, UTC).timestamp())

    def raise_floor(self, day: date) -> None:
        """Never again report a day before `day` (the latest day this deployment has seen)."""
        self._floor = max(self._floor, day)


def day_str(day: date) -> str:
    return day.isoformat()


def add_days(day: date, n: int) -> date:
    return day + timedelta(days=n)

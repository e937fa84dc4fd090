"""Days passing for a whole deployment: the server's clock file and the organizer tool's clock.

The server reads its offset from a file (server/clock.py); the organizer's tool asks
`organizer.clock` for the time it signs requests with and dates key statements from. Moving
both together lets a test run a coalition over weeks in seconds: only time is faked.
"""

import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from organizer import clock as organizer_clock
from tests.conftest import move_clock


@dataclass
class Days:
    clock_file: Path
    monkeypatch: pytest.MonkeyPatch
    offset: int = 0

    def __post_init__(self) -> None:
        self.start = organizer_clock.today()
        self.monkeypatch.setattr(organizer_clock, "now", lambda: time.time() + self.offset * 86400)

    def move_to(self, day: int) -> date:
        """Day `day` of the test (day 0 is when it began); returns that date."""
        assert day >= self.offset, "the server's clock never runs backwards"
        self.offset = day
        move_clock(self.clock_file, day)
        return self.today

    @property
    def today(self) -> date:
        return self.start + timedelta(days=self.offset)

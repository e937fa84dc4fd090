"""The organizer tool's sense of time, in one place so tests can move it (only time is faked).

Key statements are dated from `today()` and signed requests carry `now()`; a test that runs a
coalition over weeks moves both, together with the server's clock file (server/clock.py).
"""

import time
from datetime import UTC, date, datetime


def now() -> float:
    """Seconds since the epoch, as a signed request's `created` carries them."""
    return time.time()


def today() -> date:
    """Today's UTC date: what a key statement's `not_after` is counted from."""
    return datetime.fromtimestamp(now(), UTC).date()

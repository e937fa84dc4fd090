"""Start a rate-limit burst where it will not straddle a clock minute.

The limiter's in-memory storage counts in windows aligned to the clock's minutes, and its
sliding-window counter weighs the previous minute less and less as the current one goes on. A
burst that crosses a boundary therefore gets a few requests through early (about two a second at
120 a minute), which a test counting exact accepts and refusals would report as a broken limit:
about one CI run in twenty did, for the 1,000-pledge burst. Redis windows start at the first
request instead, so the Redis tests do not need this.
"""

import time


def room_in_this_minute(seconds: float) -> None:
    """Return at once if `seconds` remain before the next minute starts, else after it starts."""
    left = 60 - time.time() % 60
    if left < seconds:
        time.sleep(left + 0.25)

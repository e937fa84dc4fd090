"""Published counts kept fresh while the app is open: once an admin has published a campaign's
counts here, the app publishes them again at fixed hours of the campaign's zone (08:00, 12:00,
16:00 and 20:00), never because a pledge arrived.

Publishing counts is a person's decision (it shows numbers to anyone with the link), so nothing
is published until an admin presses the button; after that the app keeps the page's numbers from
going stale, for as long as it runs and is unlocked. It never publishes while locked.

Why fixed hours (protocol 1.1, amendment 4): a tally republished whenever the counts change tells
whoever watches the page when a single pledge arrived at a small school. At most four times a
day, at hours that do not depend on the pledges, the only thing a watcher learns is what changed
over the hours between two publications. A slot missed by more than an hour (the laptop asleep,
the app closed) is skipped: publishing on waking would tell when an organizer opened the laptop.

One campaign's failure never stops the others or the thread: each campaign keeps its own last
outcome (published, too few to publish, or the sentence of what went wrong), and the roster page
shows it.
"""

import threading
import time
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock_time

from flask import current_app

from organizer import tally
from organizer.app.state import AppState
from organizer.errors import TooFewToPublish, UserError
from organizer.live_roster import UNEXPECTED
from organizer.session import Session

HOURS = (8, 12, 16, 20)  # local hours of the campaign's zone
GRACE = 60 * 60  # a slot is tried until this long after its hour, then waits for the next
RETRY = 5 * 60  # after a failure within a slot, the next try
WAKE = 30


def latest_slot(now: float, zone: str) -> datetime:
    """The latest of today's publication hours at or before `now`, in `zone` (yesterday's last
    before the first of the day). Built from the date and hour, so a summer-time change moves
    nothing: 08:00 stays 08:00 on the wall."""
    tz = zoneinfo.ZoneInfo(zone)
    local = datetime.fromtimestamp(now, tz)
    hours = [h for h in HOURS if h <= local.hour]
    day = local.date() if hours else local.date() - timedelta(days=1)
    return datetime.combine(day, clock_time(hours[-1] if hours else HOURS[-1]), tz)


@dataclass
class Keeping:
    """What the roster page says about one campaign's automatic publication."""

    zone: str
    handled: datetime | None = None  # the slot last published (or found nothing to publish) in
    body: bytes = b""  # the counts last published, by hand or here
    published_at: datetime | None = None  # local time of the last automatic publication
    error: str | None = None  # the sentence of the last failure (cleared by a success)
    too_few: bool = False
    retry_after: float = 0.0


@dataclass
class AutoPublisher:
    state: AppState
    kept: dict[str, Keeping] = field(default_factory=dict)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        """Wall-clock seconds, moved with the app's clock (tests move it over days)."""
        return time.time() + (self.state.clock() - time.monotonic())

    def remember(self, session: Session, campaign_id: str, body: bytes, zone: str = "UTC") -> None:
        """An admin published these counts: keep them fresh from now on, from the next slot."""
        with self._lock:
            self.kept[campaign_id] = Keeping(zone, latest_slot(self.now(), zone), body)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="counts-publisher",
                                                daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        stop = threading.Event()
        while not stop.wait(WAKE):
            try:
                self.tick()
            except Exception:  # noqa: S112 (never let the thread die; each campaign says its own)
                continue

    def tick(self) -> list[str]:
        """Publish what is due; return the campaigns published."""
        session = self.state.session
        if session is None or session.signing_key() is None:
            return []
        done = []
        for campaign_id, keeping in list(self.kept.items()):
            now = self.now()
            slot = latest_slot(now, keeping.zone)
            if (slot == keeping.handled or now - slot.timestamp() >= GRACE
                    or now < keeping.retry_after):
                continue
            if self._publish(session, campaign_id, keeping):
                done.append(campaign_id)
            if keeping.error is None:
                keeping.handled = slot
            else:
                keeping.retry_after = now + RETRY
        return done

    def _publish(self, session: Session, campaign_id: str, keeping: Keeping) -> bool:
        try:
            fresh = tally.compute(session, campaign_id)
            keeping.too_few = not tally.publishable(fresh)
            if keeping.too_few or fresh == keeping.body:
                keeping.error = None
                return False
            tally.publish(session, campaign_id, fresh)
        except TooFewToPublish:
            keeping.too_few, keeping.error = True, None
            return False
        except UserError as exc:  # the server is away, the campaign ended, …: said on the page
            keeping.error = str(exc)
            return False
        except Exception:  # a hostile answer or a bug: never the thread's end, never a traceback
            keeping.error = UNEXPECTED
            return False
        keeping.body, keeping.error = fresh, None
        keeping.published_at = datetime.fromtimestamp(self.now(), zoneinfo.ZoneInfo(keeping.zone))
        return True

    def is_on(self, campaign_id: str) -> bool:
        return campaign_id in self.kept

    def keeping(self, campaign_id: str) -> Keeping | None:
        return self.kept.get(campaign_id)


def publisher() -> AutoPublisher:
    ext = current_app.extensions
    if "pledgebox_autopublish" not in ext:
        ext["pledgebox_autopublish"] = AutoPublisher(ext["pledgebox_app"])
    found: AutoPublisher = ext["pledgebox_autopublish"]
    return found


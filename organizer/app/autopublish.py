"""Published counts kept fresh while the app is open: once an admin has published a campaign's
counts here, the app counts again every ten minutes at most and publishes when they changed.

Publishing counts is a person's decision (it shows numbers to anyone with the link), so nothing
is published until an admin presses the button; after that the app keeps the page's numbers from
going stale, for as long as it runs and is unlocked. It never publishes while locked.
"""

import threading
from dataclasses import dataclass, field

from flask import current_app

from organizer import tally
from organizer.app.state import AppState
from organizer.errors import UserError
from organizer.session import Session

INTERVAL = 10 * 60  # seconds between two publications of one campaign's counts, at least
WAKE = 30


@dataclass
class AutoPublisher:
    state: AppState
    published: dict[str, tuple[float, bytes]] = field(default_factory=dict)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def remember(self, session: Session, campaign_id: str, body: bytes) -> None:
        """An admin published these counts: keep them fresh from now on."""
        with self._lock:
            self.published[campaign_id] = (self.state.clock(), body)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="counts-publisher",
                                                daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        stop = threading.Event()
        while not stop.wait(WAKE):
            self.tick()

    def tick(self) -> list[str]:
        """Publish what is due and changed; return the campaigns published."""
        session = self.state.session
        if session is None or session.signing_key() is None:
            return []
        done = []
        for campaign_id, (when, body) in list(self.published.items()):
            now = self.state.clock()
            if now - when < INTERVAL:
                continue
            try:
                fresh = tally.compute(session, campaign_id)
                if fresh != body:
                    tally.publish(session, campaign_id, fresh)
                    done.append(campaign_id)
            except UserError:
                continue  # the server is away or the campaign ended: try at the next turn
            self.published[campaign_id] = (now, fresh)
        return done

    def is_on(self, campaign_id: str) -> bool:
        return campaign_id in self.published


def publisher() -> AutoPublisher:
    ext = current_app.extensions
    if "pledgebox_autopublish" not in ext:
        ext["pledgebox_autopublish"] = AutoPublisher(ext["pledgebox_app"])
    found: AutoPublisher = ext["pledgebox_autopublish"]
    return found

"""The roster page's memory: the latest opened roster per campaign, refreshed while the page is open,
and exports streamed to the browser as downloads (never through a file on this laptop).

A page asks for fresh counts every few seconds; a new pass over the pledges starts only when the
server's pledge count for the campaign changed and the last pass ended a while ago, and the
finished pass stays on screen until the new one is complete. Everything is dropped when the
app locks (the keys are gone, so the answers they opened go too).
"""

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import current_app

from organizer.live_roster import RosterRun
from organizer.session import Session

REFRESH_SECONDS = 20  # at most one new pass per campaign this often, and only if the count moved
CHUNK = 64 * 1024


@dataclass
class Entry:
    shown: RosterRun | None = None  # the last finished pass (what the page shows)
    running: RosterRun | None = None
    checked: float = 0.0


class Rosters:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock  # the app's (movable in tests)
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self._session: Session | None = None

    def _entry(self, session: Session, campaign_id: str) -> Entry:
        if session is not self._session:  # locked and unlocked again: nothing carries over
            self.drop_all()
            self._session = session
        return self._entries.setdefault(campaign_id, Entry())

    def view(self, session: Session, campaign_id: str, fields: list[dict[str, Any]],
             pledge_count: Callable[[], int]) -> tuple[RosterRun, RosterRun | None]:
        """(the pass to show, the pass in progress if any), starting one when due."""
        with self._lock:
            entry = self._entry(session, campaign_id)
            now = self.clock()
            if entry.running is not None and entry.running.finished:
                self._promote(entry)
            if entry.running is None and (entry.shown is None or now - entry.checked >= REFRESH_SECONDS):
                entry.checked = now
                expected = pledge_count()
                if entry.shown is None or expected != entry.shown.seen():
                    entry.running = RosterRun(session, campaign_id, fields, expected).start()
            shown = entry.shown or entry.running
            assert shown is not None  # noqa: S101 (one of the two was just set)
            return shown, entry.running

    def _promote(self, entry: Entry) -> None:
        if entry.shown is not None:
            entry.shown.drop()
        entry.shown, entry.running = entry.running, None

    def forget(self, campaign_id: str) -> None:
        with self._lock:
            entry = self._entries.pop(campaign_id, None)
        for run in (entry.shown, entry.running) if entry else ():
            if run is not None:
                run.drop()

    def locked(self) -> None:
        """The app locked: drop every opened roster and the keys they were opened with."""
        with self._lock:
            self.drop_all()
            self._session = None

    def drop_all(self) -> None:
        for campaign_id in list(self._entries):
            entry = self._entries.pop(campaign_id)
            for run in (entry.shown, entry.running):
                if run is not None:
                    run.drop()


def rosters() -> Rosters:
    registry: Rosters = current_app.extensions.setdefault("pledgebox_rosters", Rosters())
    return registry


class Cancelled(Exception):
    """The download was closed before the export ended."""


class _QueueWriter:
    """A text stream whose writes travel to the response in chunks; closing the download stops it."""

    def __init__(self, out: "queue.Queue[str | None]") -> None:
        self.out, self.size, self.cancelled = out, 0, False
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        if self.cancelled:
            raise Cancelled()
        self.parts.append(text)
        self.size += len(text)
        if self.size >= CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self.parts:
            self.out.put("".join(self.parts))
            self.parts, self.size = [], 0


def stream(write: Callable[[Any], None]) -> Iterator[str]:
    """Run `write(out)` on a thread and yield what it writes, a chunk at a time."""
    chunks: queue.Queue[str | None] = queue.Queue(maxsize=8)
    writer = _QueueWriter(chunks)
    failed: list[Exception] = []

    def run() -> None:
        try:
            write(writer)
            writer.flush()
        except Exception as exc:
            failed.append(exc)
        finally:
            chunks.put(None)

    threading.Thread(target=run, name="roster-export", daemon=True).start()
    ended = False
    try:
        while (chunk := chunks.get()) is not None:
            yield chunk
        ended = True
    finally:
        if not ended:  # the download was closed: stop the writer, let its thread end
            writer.cancelled = True
            while chunks.get() is not None:
                pass
    if failed and not isinstance(failed[0], Cancelled):
        raise failed[0]

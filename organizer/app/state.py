"""What the running app holds in memory: the one-time token, browser sessions, the unlocked keys.

Everything here lives in this process only; nothing is written to disk but the keystore itself
(and exports the organizer asks for). The clock is injectable so tests can move it past the idle
lock without waiting fifteen minutes.
"""

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from organizer.errors import KeyRolledBack
from organizer.session import Session

IDLE_SECONDS = 15 * 60
TOKEN_BYTES = 32
# A long job (re-encrypting every pledge) keeps the keys unlocked while it makes progress, so the
# organizer can leave it running; one that moved nothing for STALLED_SECONDS (a server trickling
# its answer) no longer does, and no job holds the lock off more than JOB_HOLD_SECONDS past the
# idle time. Only a request of the organizer's counts as activity; a job ending does not.
STALLED_SECONDS = 2 * 60
JOB_HOLD_SECONDS = 45 * 60


class MovableClock:
    """Monotonic seconds plus an offset a test can push forward (only time is ever faked)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class BrowserSession:
    """One browser's session (the cookie's value is the key): its CSRF token and its choices."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(TOKEN_BYTES))
    lang: str | None = None
    invite: dict[str, str] | None = None  # the last invite made, shown until the next one
    messages: list[tuple[str, str]] = field(default_factory=list)
    # A roster search per campaign: it may be a student's name, so it is kept here (dropped on lock),
    # never in an address the browser would write to its history.
    searches: dict[str, str] = field(default_factory=dict)


@dataclass
class AppState:
    """The app's memory. `session` is the unlocked keystore, or None while locked."""

    keystore_path: Path
    port: int = 0
    command: str = "pledgebox app"  # what the organizer types to start it again (said on refusals)
    clock: Callable[[], float] = time.monotonic
    idle_seconds: float = IDLE_SECONDS
    token: str | None = field(default_factory=lambda: secrets.token_urlsafe(TOKEN_BYTES))
    session: Session | None = None
    browsers: dict[str, BrowserSession] = field(default_factory=dict)
    last_active: float = 0.0
    # Running jobs, each with the time it last made progress (see STALLED_SECONDS).
    jobs_moved: dict[object, float] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Set when the server served an older key than this keystore has seen (organizer/keyring.py),
    # by the upkeep or a page; every page shows it until a sync finds the key as it should be.
    alarm: KeyRolledBack | None = None
    # Called when the keys are dropped, so whatever was opened with them (rosters, counts) goes too.
    on_lock: list[Callable[[], None]] = field(default_factory=list)

    def first_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def exchange_token(self, offered: str) -> str | None:
        """The one-time token for a new browser session's cookie value; None if wrong or used."""
        with self.lock:
            if self.token is None or not secrets.compare_digest(offered.encode(), self.token.encode()):
                return None
            self.token = None
            cookie = secrets.token_urlsafe(TOKEN_BYTES)
            self.browsers[cookie] = BrowserSession()
            return cookie

    def browser(self, cookie: str | None) -> BrowserSession | None:
        if not cookie:
            return None
        with self.lock:
            for known, record in self.browsers.items():
                if secrets.compare_digest(known.encode(), cookie.encode()):
                    return record
        return None

    def unlock(self, session: Session) -> None:
        with self.lock:
            session.closed.clear()  # a session handed back after a lock is in use again
            self.session = session
            self.last_active = self.clock()

    def touch(self) -> None:
        self.last_active = self.clock()

    def job_moved(self, job: object) -> None:
        """A job started or made progress (it holds the lock off for a while)."""
        with self.lock:
            self.jobs_moved[job] = self.clock()

    def job_ended(self, job: object) -> None:
        with self.lock:
            self.jobs_moved.pop(job, None)

    def lock_now(self) -> None:
        """Drop the unlocked keys: the keystore's payload is no longer referenced from here,
        nor (through the on_lock listeners) from anything that holds what they opened."""
        with self.lock:
            closing, self.session = self.session, None
        if closing is not None:
            closing.close()  # any thread still using it stops at its next read
            for record in list(self.browsers.values()):
                record.searches.clear()
                record.invite = None  # a live invite's secret is the coalition's to guard
            for listener in list(self.on_lock):
                listener()

    def lock_if_idle(self) -> bool:
        """Lock after `idle_seconds` without a request of the organizer's, unless a job is making
        progress (for at most JOB_HOLD_SECONDS more); True if it is locked now."""
        with self.lock:
            now = self.clock()
            idle = now - self.last_active
            moving = any(now - moved < STALLED_SECONDS for moved in self.jobs_moved.values())
            held = moving and idle < self.idle_seconds + JOB_HOLD_SECONDS
            due = self.session is not None and idle >= self.idle_seconds and not held
        if due:
            self.lock_now()
        return self.session is None

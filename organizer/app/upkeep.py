"""What the app does on its own while it is open: lock when idle, keep the key's not_after fresh.

An admin's sync signs a fresh `not_after` for the coalition's encryption key when fewer than 25
of its 30 days are left (organizer/coalition.py); students' pages refuse an expired key. The CLI
does that on every command; the app does it here, every few hours while unlocked, so a coalition
whose organizers only ever leave the app open never lets its links stop working. A server that
serves an older key than this keystore has seen is never renewed: the upkeep raises the app's
alarm instead, which every page shows.
"""

import threading

from crypto import CryptoError
from organizer import coalition
from organizer.app.state import AppState
from organizer.errors import KeyRolledBack, UserError

TICK_SECONDS = 20
REFRESH_EVERY = 6 * 3600


class Upkeep:
    def __init__(self, state: AppState) -> None:
        self.state = state
        self.last_sync: float | None = None
        self._stop = threading.Event()

    def tick(self) -> None:
        """One round: lock if idle; otherwise sync (and so refresh not_after) when it is due."""
        state = self.state
        if state.lock_if_idle():
            self.last_sync = None
            return
        session = state.session
        if session is None or not session.data.get("coalition"):
            return
        now = state.clock()
        if self.last_sync is not None and now - self.last_sync < REFRESH_EVERY:
            return
        self.last_sync = now
        try:
            coalition.sync(session)
        except KeyRolledBack as exc:
            state.alarm = exc
            return
        except (UserError, CryptoError):  # offline: pages say so when used
            return
        state.alarm = None

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(TICK_SECONDS):
                self.tick()

        threading.Thread(target=loop, name="pledgebox-app-upkeep", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

"""SQLite: a withdrawal's WAL emptied soon after its answer, by one thread per serving process.

A withdrawal zeroes the pledge's cell, but the WAL still holds the page as it was until a TRUNCATE
checkpoint copies it back and cuts the log (sqlite.checkpoint). Run inside the request, that
checkpoint made each student wait on an fsync of the database file, and while it waited for
readers it held the write lock, so ten withdrawals arriving together held up every pledge behind
them (bench/README.md, "Deletion at scale"). Here the request only asks; this thread waits
FLUSH_DELAY_SECONDS for the rest of a burst, then checkpoints once for all of them. A reader that
holds it back makes it try again, RETRIES times, a little later each time (about 12 s in all);
after that the next purge run empties the WAL (within the hour docs/deletion.md states).
"""

import logging
import threading

from flask import Flask
from peewee import DatabaseError

from server.db import database, is_sqlite
from server.retention import sqlite

log = logging.getLogger("pledgebox.retention")

FLUSH_DELAY_SECONDS = 0.5
RETRIES = 5
_EXTENSION = "pledgebox-wal-flusher"


class WalFlusher:
    """One thread; `request()` from any request thread, never blocking it."""

    def __init__(self, delay: float = FLUSH_DELAY_SECONDS) -> None:
        self.delay = delay
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._pending = False
        self._thread = threading.Thread(target=self._run, name="pledgebox-wal-flush", daemon=True)

    def start(self) -> "WalFlusher":
        self._thread.start()
        return self

    def request(self) -> None:
        self._pending = True
        self._wake.set()

    def stop(self, wait_seconds: float) -> None:
        """Flush what is pending, then end (a worker that exits leaves no WAL for later)."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(wait_seconds)

    def _run(self) -> None:
        failures = 0
        try:
            while True:
                self._wake.wait()
                if not self._stopping.is_set():  # the rest of a burst joins this flush
                    self._stopping.wait(self.delay * (1 + 2 * failures))
                self._wake.clear()
                if self._pending:
                    self._pending = False
                    if self._flush():
                        failures = 0
                    elif failures < RETRIES:
                        failures += 1
                        self.request()
                    else:
                        failures = 0
                        log.warning("the write-ahead log is held by a reader; "
                                    "the next purge empties it")
                if self._stopping.is_set():
                    return
        finally:
            if not database.is_closed():
                database.close()

    @staticmethod
    def _flush() -> bool:
        try:
            database.connect(reuse_if_open=True)  # kept between flushes: no schema re-read
            return sqlite.checkpoint(patience_ms=200)
        except DatabaseError:
            return False


def start_wal_flusher(app: Flask) -> WalFlusher | None:
    """In each serving process (gunicorn's post_fork), on SQLite only: PostgreSQL's WAL is the
    operator's (docs/deletion.md)."""
    if not is_sqlite():
        return None
    flusher = WalFlusher().start()
    app.extensions[_EXTENSION] = flusher
    return flusher


def stop_wal_flusher(app: Flask, wait_seconds: float = 5.0) -> None:
    flusher = app.extensions.pop(_EXTENSION, None)
    if flusher is not None:
        flusher.stop(wait_seconds)


def running_flusher(app: Flask) -> WalFlusher | None:
    """This process's flusher; None outside a server (tests' client, a CLI), which flush inline."""
    flusher: WalFlusher | None = app.extensions.get(_EXTENSION)
    return flusher

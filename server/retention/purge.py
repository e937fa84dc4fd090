"""The purge run: expired campaigns and everything tied to them, then the scrub it owes.

One run at a time across all processes and servers (lease.py); every worker runs a timer thread,
so there is no cron to forget, and `pledgebox-server purge` runs one at once.
"""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask
from peewee import DatabaseError

from server.clock import Clock
from server.config import Config
from server.db import database, is_postgres, is_sqlite
from server.models import (
    Announcement,
    Campaign,
    Invite,
    Pledge,
    RequestNonce,
    SetupCode,
    Tally,
)
from server.retention import scrub, sqlite
from server.retention.days import hold_day_floor
from server.retention.lease import LEASE_SECONDS, Lease
from server.retention.state import get_state, set_state

log = logging.getLogger("pledgebox.retention")

# A large purge deletes in short transactions and pauses after each PAUSE_FACTOR times as long as
# it took, so the intake's writers wait at most about one batch for the lock and have the disk
# most of the time. The batch size adapts to take about BATCH_TARGET_SECONDS on this machine.
# (bench/bench_purge.py measures the intake's p99 while 1,000,000 pledges are purged.)
BATCH_START, BATCH_MIN, BATCH_MAX = 200, 20, 5000
BATCH_TARGET_SECONDS = 0.01
PAUSE_FACTOR = 1.5

_SCRUBBED_AT = "pledges-at-scrub"  # the pledge count the last scrub laid out in id order
# SQLite's scrub rewrites the whole file, so the background purge does it at most once a UTC day:
# at its first run from the scrub hour on (PLEDGEBOX_SCRUB_HOUR_UTC, Config.scrub_hour_utc), if
# anything was deleted or arrived since the last one. Stored times are days, so one rewrite a day
# is enough to hide arrival order; a deleted row is zeroed at once (secure_delete) and its WAL
# frames emptied, and a copy an earlier rebalancing left behind is gone by that rewrite: within
# 25 hours whatever the hour (docs/deletion.md, the withdraw page).
_SCRUBBED_ON = "scrubbed-on"  # the UTC day of the last daily rewrite


@dataclass(frozen=True)
class PurgeResult:
    campaigns: int
    pledges: int
    compacted: bool  # False: a reader or lock held compaction back; the next purge retries


def _delete_expired_pledges(instant: float, lease: Lease) -> int:
    """SQLite: delete in short batches. PostgreSQL: count only; the campaigns' partitions are
    dropped whole once their campaign rows are gone (postgres.drop_orphan_partitions)."""
    expired = Campaign.select(Campaign.id).where(Campaign.live_until <= instant)
    if is_postgres():  # named campaigns: only their partitions are opened (and locked)
        ids = [cid for (cid,) in expired.tuples()]
        return int(Pledge.select().where(Pledge.campaign.in_(ids)).count()) if ids else 0
    total, size = 0, BATCH_START
    while True:
        started = time.monotonic()
        with database.atomic():
            lease.renew()
            batch = Pledge.select(Pledge.id).where(Pledge.campaign.in_(expired)).limit(size)
            deleted = Pledge.delete().where(Pledge.id.in_(batch)).execute()
        took = time.monotonic() - started
        total += deleted
        if deleted < size:
            return total
        if is_sqlite():
            sqlite.checkpoint_passive()
        took_all = time.monotonic() - started
        wanted = int(size * BATCH_TARGET_SECONDS / max(took, 0.001))
        size = max(BATCH_MIN, min(BATCH_MAX, (size + wanted) // 2))
        time.sleep(took_all * PAUSE_FACTOR)


def _purge(clock: Clock, lease: Lease, scrub_hour: int | None = None) -> PurgeResult:
    """One run. With `scrub_hour` (the background timer), SQLite's whole-file rewrite waits for
    that UTC hour; without (`pledgebox-server purge`, an operator asking now) it runs whenever
    one is owed."""
    hold_day_floor(clock)
    now, instant = int(clock.now()), clock.instant()
    pledges = _delete_expired_pledges(instant, lease)
    expired = Campaign.select(Campaign.id).where(Campaign.live_until <= instant)
    with database.atomic():
        lease.renew()
        gone = Announcement.delete().where(Announcement.campaign.in_(expired)
                                           | (Announcement.gone_at <= instant)).execute()
        Tally.delete().where(Tally.campaign.in_(expired)).execute()
        campaigns = Campaign.delete().where(Campaign.live_until <= instant).execute()
        SetupCode.delete().where(SetupCode.expires_at < now).execute()
        Invite.delete().where(Invite.expires_at < now).execute()
        RequestNonce.delete().where(RequestNonce.expires_at < now).execute()
        if is_sqlite() and (pledges or campaigns or gone):
            scrub.mark_scrub_due()  # the rewrite may wait for the day's scrub hour
    arrived = _pledges_since_scrub()
    deleted = bool(pledges or campaigns or gone or arrived)
    day = _daily_scrub_owed(clock, scrub_hour) if scrub_hour is not None and is_sqlite() else ""
    if not deleted and not scrub.scrub_due():
        compacted = scrub.flush_wal(patience_ms=2000)  # nothing to rewrite: spare the intake
    elif day is None:
        compacted = scrub.flush_wal(patience_ms=2000)  # SQLite: the rewrite waits for its hour
    else:
        compacted = scrub.compact(tables=deleted)
        if compacted and arrived:
            set_state(_SCRUBBED_AT, arrived)
        if compacted and day:
            set_state(_SCRUBBED_ON, day)
    return PurgeResult(campaigns, pledges, compacted)


def _daily_scrub_owed(clock: Clock, scrub_hour: int) -> str | None:
    """The UTC day whose rewrite is owed now, or None before `scrub_hour` or once done today."""
    moment = datetime.fromtimestamp(clock.now(), UTC)
    if moment.hour < scrub_hour:
        return None
    day = moment.date().isoformat()
    return None if get_state(_SCRUBBED_ON) == day else day


def _pledges_since_scrub() -> str:
    """On SQLite, the pledge count if it changed since the last scrub, else ''.

    A pledge's ciphertext (over 1 KB) spills onto overflow pages that SQLite allocates as it
    arrives, so the page numbers in the file give the order in which pledges came (issue 13);
    VACUUM lays them out again in id order, which is random. So the daily rewrite runs when
    pledges arrived (about a second per 100,000 live pledges, bench/README.md).
    """
    if not is_sqlite():
        return ""
    count = str(Pledge.select().count())
    return "" if count == get_state(_SCRUBBED_AT) else count


@contextmanager
def _connected() -> Iterator[None]:
    """A connection for this thread, closed afterwards only if we opened it."""
    opened = database.is_closed()
    if opened:
        database.connect()
    try:
        yield
    finally:
        if opened and not database.is_closed():
            database.close()


@contextmanager
def _logged_run() -> Iterator[None]:
    """Start and end of every purge run, with no counts or ids: operators see it runs."""
    started = time.monotonic()
    log.info("purge run started")
    try:
        yield
    finally:
        log.info("purge run finished in %.2f s", time.monotonic() - started)


def _end_run(lease: Lease, until: int) -> None:
    """Release the lease, then empty SQLite's WAL once more: frames are appended in commit order,
    so a log that still held the run's writes (or, before the run, pledges' pages) would tell in
    which order things happened. What the log gathers until the next run is in docs/deletion.md."""
    lease.release(until)
    try:
        if not scrub.flush_wal(patience_ms=2000):
            log.warning("the write-ahead log is held by a reader; the next purge empties it")
    except DatabaseError:
        log.warning("the write-ahead log is held by a reader; the next purge empties it")


def purge_if_due(clock: Clock, interval: int, scrub_hour: int = Config.scrub_hour_utc
                 ) -> PurgeResult | None:
    """Purge unless another process purges or purged less than `interval` seconds ago."""
    lease = Lease(clock)
    with _connected():
        if not lease.take(wait_for_pacing=True):
            return None
        started = int(clock.now())
        try:
            with _logged_run():
                return _purge(clock, lease, scrub_hour=scrub_hour)
        finally:
            _end_run(lease, started + interval)


def purge_expired(clock: Clock, wait_seconds: float = 2 * LEASE_SECONDS) -> PurgeResult:
    """Purge now (`pledgebox-server purge`), after any purge already running has finished."""
    lease = Lease(clock)
    deadline = time.monotonic() + wait_seconds
    with _connected():
        while not lease.take(wait_for_pacing=False):
            if time.monotonic() > deadline:
                raise TimeoutError("another purge is still running; try again later")
            time.sleep(0.5)
        try:
            with _logged_run():
                return _purge(clock, lease)
        finally:
            _end_run(lease, int(clock.now()))


def start_background_purge(app: Flask) -> threading.Thread:
    """Purge on a timer inside every serving process, so there is no cron to forget."""
    rt = app.extensions["pledgebox"]
    interval = rt.config.purge_interval_seconds
    stop = threading.Event()
    with _connected():  # before the first request, after a restart
        try:
            hold_day_floor(rt.clock)
        except DatabaseError:
            log.warning("could not read the latest day from the database")

    def loop() -> None:
        while not stop.is_set():
            try:
                purge_if_due(rt.clock, interval, rt.config.scrub_hour_utc)
            except Exception as exc:  # keep purging tomorrow whatever broke today
                log.warning("purge failed: %s", type(exc).__name__)
            stop.wait(interval)

    thread = threading.Thread(target=loop, name="pledgebox-purge", daemon=True)
    thread.start()
    app.extensions["pledgebox-purge-stop"] = stop
    app.extensions["pledgebox-purge-thread"] = thread
    return thread


def stop_background_purge(app: Flask, wait_seconds: float = 5.0) -> None:
    """When a worker exits: start no new run, and let one in progress finish and release its
    lease, so a restart does not leave the lease held (other processes would wait LEASE_SECONDS)
    nor a run half logged. A run longer than `wait_seconds` is cut off as before: its batches
    are transactions, and its lease runs out."""
    stop = app.extensions.get("pledgebox-purge-stop")
    thread = app.extensions.get("pledgebox-purge-thread")
    if stop is not None:
        stop.set()
    if thread is not None:
        thread.join(wait_seconds)

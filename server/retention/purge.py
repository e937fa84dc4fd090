"""The purge run: expired campaigns and everything tied to them, then the scrub it owes.

One run at a time across all processes and servers (lease.py); every worker runs a timer thread,
so there is no cron to forget, and `pledgebox-server purge` runs one at once. On SQLite each of a
run's transactions is short (a batch, a campaign's rebuild, a slice) and is followed by a pause
that grows while the intake writes (pacing.py): the intake's p99 meanwhile is measured by
bench/bench_purge.py (a million pledges purged) and bench/bench_deletion_scale.py (rebuilds).
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
from server.retention.pacing import Pace
from server.retention.sqlite_slices import empty_in_batches
from server.retention.state import get_state, set_state
from server.retention.wal_flush import start_wal_flusher, stop_wal_flusher
from server.store.partitions import partition_name, sqlite_pledge_tables

log = logging.getLogger("pledgebox.retention")

# On SQLite each campaign's pledges are a table of their own (server/retention/sqlite.py): a
# deleted campaign's table is dropped and a withdrawal's table rebuilt at every purge run, like
# PostgreSQL's partitions. What waits for the day is hiding arrival order: a table that took pledges
# since its last rebuild (its `arrived:` mark) is rebuilt at the background purge's first run
# from the scrub hour (PLEDGEBOX_SCRUB_HOUR_UTC, Config.scrub_hour_utc), once a UTC day; stored
# times are days, so once a day is enough (docs/deletion.md).
_SCRUBBED_ON = "scrubbed-on"  # the UTC day of the last daily rewrite


@dataclass(frozen=True)
class PurgeResult:
    campaigns: int
    pledges: int
    compacted: bool  # False: a reader or lock held compaction back; the next purge retries


def _expired_ids(instant: float) -> list[str]:
    return [cid for (cid,) in Campaign.select(Campaign.id)
            .where(Campaign.live_until <= instant).order_by(Campaign.id).tuples()]


def _delete_expired_pledges(ids: list[str], lease: Lease, pace: Pace) -> int:
    """SQLite: each expired campaign's table emptied in short batches (then dropped with its
    campaign: sqlite.drop_orphan_tables). PostgreSQL: count only; the campaigns' partitions are
    dropped whole once their campaign rows are gone (postgres.drop_orphan_partitions)."""
    if is_postgres():  # named campaigns: only their partitions are opened (and locked)
        return int(Pledge.select().where(Pledge.campaign.in_(ids)).count()) if ids else 0
    existing = set(sqlite_pledge_tables())
    tables = [t for t in (partition_name(cid) for cid in ids) if t in existing]
    return sum(empty_in_batches(table, pace, renew=lease.renew) for table in tables)


def _purge(clock: Clock, lease: Lease, scrub_hour: int | None = None) -> PurgeResult:
    """One run. With `scrub_hour` (the background timer), SQLite's rebuild of the tables that
    took pledges waits for that UTC hour; without (`pledgebox-server purge`, an operator asking
    now) it runs at once. Deleted campaigns and withdrawals are scrubbed at every run."""
    hold_day_floor(clock)
    now, instant = int(clock.now()), clock.instant()
    ids = _expired_ids(instant)
    day = _daily_scrub_owed(clock, scrub_hour) if scrub_hour is not None and is_sqlite() else ""
    arrivals = is_sqlite() and day is not None and sqlite.arrivals_due()
    rebuilt, pace = True, Pace()
    if is_sqlite():  # once a run, before anything frees pages (sqlite.rebuild_owed says why)
        try:
            sqlite.rebuild_owed(arrivals, pace, lease.renew,
                                leave=frozenset(partition_name(cid) for cid in ids))
        except DatabaseError:  # the marks stay: the next run rebuilds
            rebuilt = False
    pledges = _delete_expired_pledges(ids, lease, pace)
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
        if pledges or campaigns or gone:
            scrub.mark_scrub_due()  # the small tables held rows about what was deleted
    deleted = bool(pledges or campaigns or gone)
    if not deleted and not scrub.scrub_due() and not arrivals:
        compacted = scrub.flush_wal(patience_ms=2000)  # nothing to rewrite: spare the intake
    else:
        compacted = scrub.compact(tables=deleted, arrivals=arrivals, pace=pace,
                                  renew=lease.renew, rebuild=False) and rebuilt
        if compacted and arrivals and day:
            set_state(_SCRUBBED_ON, day)
    return PurgeResult(campaigns, pledges, compacted)


def _daily_scrub_owed(clock: Clock, scrub_hour: int) -> str | None:
    """The UTC day whose rewrite is owed now, or None before `scrub_hour` or once done today."""
    moment = datetime.fromtimestamp(clock.now(), UTC)
    if moment.hour < scrub_hour:
        return None
    day = moment.date().isoformat()
    return None if get_state(_SCRUBBED_ON) == day else day


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


def start_worker_threads(app: Flask) -> None:
    """What each serving process runs beside its requests (gunicorn's post_fork): on SQLite the
    WAL flusher after withdrawals (wal_flush.py), and the purge timer unless turned off."""
    start_wal_flusher(app)
    if app.extensions["pledgebox"].config.purge_in_background:
        start_background_purge(app)


def stop_worker_threads(app: Flask) -> None:
    """When a worker exits (gunicorn's worker_exit): both threads finish what they started."""
    stop_background_purge(app)
    stop_wal_flusher(app)


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

"""Deletion on schedule: expired campaigns and everything tied to them, physically, by the server.

Every read filters on live_until, the end of delete_after in the campaign's zone
(store/campaigns.live_campaigns), so expired data is never served; this module removes the rows,
then scrubs so deleted bytes do not linger in files.
SQLite: secure_delete (server/db.py) zeroes a deleted row where it lies, but rebalancing a b-tree
copies rows between pages and leaves the old copies in the pages' unallocated space, so a row
moved before it was deleted can survive it; VACUUM writes the file afresh from live rows, and a
TRUNCATE checkpoint empties the WAL, which still holds pages as they were before the delete.
PostgreSQL: plain VACUUM leaves dead tuples' bytes in the heap pages, so tables that held
deleted rows are rewritten with VACUUM FULL (what stays in the WAL and in backups is the
operator's to handle: docs/deletion.md). A scrub that a reader or lock holds back is retried by
the next purge.

One purge runs at a time across all processes and servers: a lease row in the shared database,
renewed between batches. The latest day ever seen is kept there too, so a clock set back never
makes expired data live again, not even in a freshly started process.
"""

import logging
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from flask import Flask, Response, after_this_request, request
from peewee import DatabaseError

from server.clock import Clock
from server.db import database, is_postgres, is_sqlite
from server.models import (
    Announcement,
    Campaign,
    Invite,
    Pledge,
    RequestNonce,
    ServerState,
    SetupCode,
    Tally,
)

log = logging.getLogger("pledgebox.retention")

# A large purge deletes in short transactions and pauses after each PAUSE_FACTOR times as long as
# it took, so the intake's writers wait at most about one batch for the lock and have the disk
# most of the time. The batch size adapts to take about BATCH_TARGET_SECONDS on this machine.
# (bench/bench_purge.py measures the intake's p99 while 1,000,000 pledges are purged.)
BATCH_START, BATCH_MIN, BATCH_MAX = 200, 20, 5000
BATCH_TARGET_SECONDS = 0.01
PAUSE_FACTOR = 1.5
# A running purge renews its lease every batch; a purge whose process died frees it after this.
LEASE_SECONDS = 120
# A lease further ahead than this was taken under a clock that has since jumped backwards.
_LEASE_HORIZON = 2 * 600 + LEASE_SECONDS
_LOCK_TIMEOUT = "3s"  # a queued VACUUM FULL would block the intake: give up, retry next purge

_LEASE, _LATEST_DAY, _SCRUB_DUE = "purge-lease", "latest-day", "scrub-due"
_SCRUBBED_AT = "pledges-at-scrub"  # the pledge count the last scrub laid out in id order
# PostgreSQL tables whose deleted rows held student data or coalition secrets.
_SCRUBBED = ("pledge", "announcement", "tally", "campaign", "directory_entry", "wrapped_secret",
             "encryption_key", "organizer", "invite", "setup_code", "request_nonce")


class LeaseLost(Exception):
    """Another process took the purge lease over (this one stalled past LEASE_SECONDS)."""


@dataclass(frozen=True)
class PurgeResult:
    campaigns: int
    pledges: int
    compacted: bool  # False: a reader or lock held compaction back; the next purge retries


# --- compaction ---------------------------------------------------------------------------

def _checkpoint_sqlite(patience_ms: int, attempts: int = 3) -> bool:
    """Copy the WAL into the database file and truncate the WAL to zero bytes.

    Only a reader still using older frames can hold it back (busy); TRUNCATE also stalls new
    writers while it waits, so it waits `patience_ms` per attempt and then leaves it to the
    next purge.
    """
    (saved,) = database.execute_sql("PRAGMA busy_timeout").fetchone()
    database.execute_sql(f"PRAGMA busy_timeout = {int(patience_ms)}")
    try:
        for attempt in range(attempts):
            busy, wal_frames, _ = database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy == 0 and wal_frames == 0:
                return True
            time.sleep(0.02 * (attempt + 1))
        return False
    finally:
        database.execute_sql(f"PRAGMA busy_timeout = {int(saved)}")


def _scrub_sqlite(patience_ms: int) -> bool:
    """Rewrite the database file from live rows only, then empty the WAL.

    VACUUM builds the new file in memory (temp_store), not in a temporary file that would leave
    a copy of every live pledge in freed disk blocks outside the data folder; the price is a peak
    of memory about the size of the live data (docs/deletion.md).
    """
    (temp_store,) = database.execute_sql("PRAGMA temp_store").fetchone()
    try:
        database.execute_sql("PRAGMA temp_store = MEMORY")
        database.execute_sql("VACUUM")
        return _checkpoint_sqlite(patience_ms)
    except DatabaseError:
        return False
    finally:
        database.execute_sql(f"PRAGMA temp_store = {int(temp_store)}")


def _scrub_postgres(tables: tuple[str, ...] = _SCRUBBED) -> bool:
    """Rewrite tables so dead tuples' bytes leave the heap files (the old files are unlinked)."""
    try:
        database.execute_sql(f"SET lock_timeout = '{_LOCK_TIMEOUT}'")
        for table in tables:
            database.execute_sql(f"VACUUM FULL {table}")
        return True
    except DatabaseError:
        return False
    finally:
        database.execute_sql("RESET lock_timeout")


def mark_scrub_due() -> None:
    """Record that deleted bytes await a scrub. Call it inside the deleting transaction, so the
    deletion never commits without it. A fresh random value each time, no id: the scrub clears
    only the value it saw before it began, so a deletion committed meanwhile keeps it due."""
    _set_state(_SCRUB_DUE, secrets.token_hex(8))


def compact(patience_ms: int = 2000) -> bool:
    """Push deleted bytes out of the database's files; False when it must be retried later,
    in which case the flag stays (or is made) due and the next purge run tries again."""
    seen = _get_state(_SCRUB_DUE) or ""
    if is_sqlite():
        done = _scrub_sqlite(patience_ms)
    elif is_postgres():
        done = _scrub_postgres()
    else:
        done = True
    if not done:
        mark_scrub_due()
    elif seen:
        ServerState.update(value="").where(ServerState.name == _SCRUB_DUE,
                                           ServerState.value == seen).execute()
    return done


def _flush_wal(patience_ms: int) -> bool:
    """What a run that deleted nothing of note still owes: SQLite's WAL back into the file."""
    return _checkpoint_sqlite(patience_ms) if is_sqlite() else True


def compact_after_request(defer: bool = False) -> None:
    """Scrub once the current request's transaction has committed, before the response.

    The answer then tells the truth: the bytes are gone from the files when the client reads
    the reply. A rewrite per student's withdrawal would let anyone with receipts stall the
    intake, so with `defer` (the deletion marked the scrub due in its transaction) it waits for
    the next purge (within the purge interval), and on SQLite only the WAL is emptied now: it
    holds the row's page as it was before the delete.
    """

    @after_this_request
    def _compact(response: Response) -> Response:
        try:
            if defer:
                done = _flush_wal(patience_ms=200)
            else:
                mark_scrub_due()  # first: should the scrub fail, the next purge retries it
                done = compact(patience_ms=200)
            if not done:
                log.warning("compaction deferred to the next purge")
        except DatabaseError:
            log.warning("compaction deferred to the next purge")
        return response


# --- time never runs backwards ------------------------------------------------------------

def _set_state(name: str, value: str) -> None:
    ServerState.insert(name=name, value=value, lease_until=0).on_conflict(
        conflict_target=[ServerState.name], update={ServerState.value: value}).execute()


def hold_day_floor(clock: Clock) -> date:
    """Raise the clock to the latest day any process has seen, record today if it is later."""
    ServerState.insert(name=_LATEST_DAY, value="0001-01-01", lease_until=0
                       ).on_conflict_ignore().execute()
    row = ServerState.get(ServerState.name == _LATEST_DAY)
    clock.raise_floor(date.fromisoformat(row.value))
    today = clock.today()
    if today.isoformat() > row.value:
        ServerState.update(value=today.isoformat()).where(
            ServerState.name == _LATEST_DAY, ServerState.value < today.isoformat()).execute()
    return today


def _stored_floor() -> str | None:
    """Hand-written SQL: this runs before every request, so it skips peewee's query building."""
    sql = f"SELECT value FROM {ServerState._meta.table_name} WHERE name = {database.param}"  # noqa: S608 (our table; the name is a parameter)
    row = database.execute_sql(sql, (_LATEST_DAY,)).fetchone()
    return None if row is None else str(row[0])


def init_app(app: Flask) -> None:
    """Before every request, agree on the day with the database (one primary-key read).

    A process that has not seen today yet (an idle worker, a fresh restart, another server)
    must not answer from an earlier day after the clock is set back: the latest day any
    process saw is in the database, and the first process to see a new day writes it there.
    """
    clock: Clock = app.extensions["pledgebox"].clock

    @app.before_request
    def _keep_time_forward() -> None:
        if request.endpoint == "static":
            return
        try:
            stored = _stored_floor()
            if stored is not None:
                clock.raise_floor(date.fromisoformat(stored))
            if stored is None or clock.today().isoformat() > stored:
                hold_day_floor(clock)
        except DatabaseError:  # not migrated yet: nothing stored can be revived either
            log.warning("could not read the latest day from the database")


# --- the purge ----------------------------------------------------------------------------

class _Lease:
    """The purge lease: `value` names the holder while a purge runs, '' once it is done."""

    def __init__(self, clock: Clock) -> None:
        self.clock, self.token = clock, secrets.token_hex(16)

    def take(self, wait_for_pacing: bool) -> bool:
        """Take it if free; a background purge also respects the pause after the last purge."""
        now = int(self.clock.now())
        free = (ServerState.lease_until < now) | (ServerState.lease_until > now + _LEASE_HORIZON)
        if not wait_for_pacing:
            free = free | (ServerState.value == "")
        with database.atomic():
            ServerState.insert(name=_LEASE, value="", lease_until=0).on_conflict_ignore().execute()
            taken = ServerState.update(value=self.token, lease_until=now + LEASE_SECONDS).where(
                (ServerState.name == _LEASE) & free).execute()
        return taken == 1

    def renew(self) -> None:
        """Call inside the batch's transaction: a lost lease rolls the batch back."""
        renewed = ServerState.update(lease_until=int(self.clock.now()) + LEASE_SECONDS).where(
            ServerState.name == _LEASE, ServerState.value == self.token).execute()
        if renewed != 1:
            raise LeaseLost()

    def release(self, until: int) -> None:
        """Keep other processes away until `until` (paces purges to one per interval)."""
        with database.atomic():
            ServerState.update(value="", lease_until=until).where(
                ServerState.name == _LEASE, ServerState.value == self.token).execute()


def _delete_expired_pledges(instant: float, lease: _Lease) -> int:
    expired = Campaign.select(Campaign.id).where(Campaign.live_until <= instant)
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
        if is_sqlite():  # the purge pays for its own WAL, not the next pledge's commit
            database.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
        took_all = time.monotonic() - started
        wanted = int(size * BATCH_TARGET_SECONDS / max(took, 0.001))
        size = max(BATCH_MIN, min(BATCH_MAX, (size + wanted) // 2))
        time.sleep(took_all * PAUSE_FACTOR)


def _purge(clock: Clock, lease: _Lease) -> PurgeResult:
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
    arrived = _pledges_since_scrub()
    if not (pledges or campaigns or gone or arrived) and not _get_state(_SCRUB_DUE):
        compacted = _flush_wal(patience_ms=2000)  # nothing to rewrite: spare the intake the lock
    else:
        compacted = compact()
        if compacted and arrived:
            _set_state(_SCRUBBED_AT, arrived)
    return PurgeResult(campaigns, pledges, compacted)


def _pledges_since_scrub() -> str:
    """On SQLite, the pledge count if it changed since the last scrub, else ''.

    A pledge's ciphertext (over 1 KB) spills onto overflow pages that SQLite allocates as it
    arrives, so the page numbers in the file give the order in which pledges came (issue 13);
    VACUUM lays them out again in id order, which is random. So a run after new pledges scrubs
    (about a second per 100,000 live pledges, bench/README.md). PostgreSQL: docs/deletion.md.
    """
    if not is_sqlite():
        return ""
    count = str(Pledge.select().count())
    return "" if count == _get_state(_SCRUBBED_AT) else count


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


def _get_state(name: str) -> str | None:
    row = ServerState.get_or_none(ServerState.name == name)
    return None if row is None else str(row.value)


@contextmanager
def _logged_run() -> Iterator[None]:
    """Start and end of every purge run, with no counts or ids: operators see it runs."""
    started = time.monotonic()
    log.info("purge run started")
    try:
        yield
    finally:
        log.info("purge run finished in %.2f s", time.monotonic() - started)


def _end_run(lease: _Lease, until: int) -> None:
    """Release the lease, then empty SQLite's WAL once more: frames are appended in commit order,
    so a log that still held the run's writes (or, before the run, pledges' pages) would tell in
    which order things happened. What the log gathers until the next run is in docs/deletion.md."""
    lease.release(until)
    try:
        if not _flush_wal(patience_ms=2000):
            log.warning("the write-ahead log is held by a reader; the next purge empties it")
    except DatabaseError:
        log.warning("the write-ahead log is held by a reader; the next purge empties it")


def purge_if_due(clock: Clock, interval: int) -> PurgeResult | None:
    """Purge unless another process purges or purged less than `interval` seconds ago."""
    lease = _Lease(clock)
    with _connected():
        if not lease.take(wait_for_pacing=True):
            return None
        started = int(clock.now())
        try:
            with _logged_run():
                return _purge(clock, lease)
        finally:
            _end_run(lease, started + interval)


def purge_expired(clock: Clock, wait_seconds: float = 2 * LEASE_SECONDS) -> PurgeResult:
    """Purge now (`pledgebox-server purge`), after any purge already running has finished."""
    lease = _Lease(clock)
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
                purge_if_due(rt.clock, interval)
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

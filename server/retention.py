"""Deletion on schedule: expired campaigns and everything tied to them, physically, by the server.

Every read already filters on delete_after (store/campaigns.live_campaigns); this module removes
the rows, then compacts so deleted bytes do not linger: SQLite checkpoints its WAL with TRUNCATE
(secure_delete has zeroed the pages), PostgreSQL vacuums the tables. One purge runs at a time
across all processes and servers, through a lease row in the shared database.
"""

import logging
import threading
from dataclasses import dataclass
from datetime import date

from flask import Flask, Response, after_this_request
from peewee import OperationalError

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
)

log = logging.getLogger("pledgebox.retention")

BATCH = 2000
_LEASE = "purge-lease"
_LATEST_DAY = "latest-day"
_VACUUMED = ("pledge", "announcement", "campaign", "directory_entry", "wrapped_secret",
             "request_nonce", "invite", "setup_code")


@dataclass(frozen=True)
class PurgeResult:
    campaigns: int
    pledges: int


def compact() -> None:
    """Push deletions out of logs and free pages so deleted bytes are not readable on disk."""
    if is_sqlite():
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    elif is_postgres():
        for table in _VACUUMED:
            database.execute_sql(f"VACUUM {table}")


def compact_after_request() -> None:
    """Compact once the current request's transaction has committed."""

    @after_this_request
    def _compact(response: Response) -> Response:
        try:
            compact()
        except OperationalError:
            log.warning("compaction deferred to the next purge")
        return response


def _remember_latest_day(clock: Clock) -> date:
    """Keep the latest day ever seen in the database so a clock set back cannot revive data."""
    row, _ = ServerState.get_or_create(name=_LATEST_DAY, defaults={"value": "0001-01-01"})
    clock.raise_floor(date.fromisoformat(row.value))
    today = clock.today()
    if today.isoformat() > row.value:
        ServerState.update(value=today.isoformat()).where(ServerState.name == _LATEST_DAY).execute()
    return today


def purge_expired(clock: Clock) -> PurgeResult:
    """Delete expired campaigns with their pledges and announcements, and stale one-time codes."""
    today = _remember_latest_day(clock)
    now = int(clock.now())
    expired = Campaign.select(Campaign.id).where(Campaign.delete_after < today)
    pledges = 0
    while True:
        with database.atomic():
            batch = Pledge.select(Pledge.id).where(Pledge.campaign.in_(expired)).limit(BATCH)
            n = Pledge.delete().where(Pledge.id.in_(batch)).execute()
        pledges += n
        if n < BATCH:
            break
    with database.atomic():
        Announcement.delete().where(Announcement.campaign.in_(expired)).execute()
        campaigns = Campaign.delete().where(Campaign.delete_after < today).execute()
        SetupCode.delete().where(SetupCode.expires_at < now).execute()
        Invite.delete().where(Invite.expires_at < now).execute()
        RequestNonce.delete().where(RequestNonce.expires_at < now).execute()
    compact()
    return PurgeResult(campaigns, pledges)


def _take_lease(clock: Clock, seconds: int) -> bool:
    now = int(clock.now())
    with database.atomic():
        ServerState.insert(name=_LEASE, value="", lease_until=0).on_conflict_ignore().execute()
        taken = ServerState.update(lease_until=now + seconds).where(
            ServerState.name == _LEASE, ServerState.lease_until < now).execute()
    return taken == 1


def purge_if_due(clock: Clock, interval: int) -> PurgeResult | None:
    """Purge unless another process holds the lease (it then purges for everyone)."""
    with database.connection_context():
        if not _take_lease(clock, interval):
            return None
        result = purge_expired(clock)
    if result.pledges or result.campaigns:
        log.info("purged %d expired campaigns and %d pledges", result.campaigns, result.pledges)
    return result


def start_background_purge(app: Flask) -> threading.Thread:
    """Purge on a timer inside the serving process, so there is no cron to forget."""
    rt = app.extensions["pledgebox"]
    interval = rt.config.purge_interval_seconds
    stop = threading.Event()

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
    return thread

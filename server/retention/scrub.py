"""When deleted bytes must leave the files, and who pays for it: the backend-neutral half.

A deletion marks a scrub due inside its own transaction; the purge run (or, for rare organizer
actions, the request itself) scrubs with the backend's own path (sqlite.py, postgres.py).
"""

import logging
import secrets
from collections.abc import Callable

from flask import Response, after_this_request, current_app
from peewee import DatabaseError

from server.db import is_postgres, is_sqlite
from server.models import ServerState
from server.retention import postgres, sqlite
from server.retention.pacing import Pace
from server.retention.state import get_state, set_state
from server.retention.wal_flush import running_flusher

log = logging.getLogger("pledgebox.retention")

SCRUB_DUE = "scrub-due"


def mark_scrub_due(campaign_id: str | None = None) -> None:
    """Record that deleted bytes await a scrub. Call it inside the deleting transaction, so the
    deletion never commits without it. A fresh random value each time, no id: the scrub clears
    only the value it saw before it began, so a deletion committed meanwhile keeps it due.
    A withdrawal names its campaign: only that campaign's partition (PostgreSQL) or table
    (SQLite) is rewritten."""
    token = secrets.token_hex(8)
    if campaign_id is not None and is_postgres():
        postgres.mark_partition(campaign_id, token)
    elif campaign_id is not None and is_sqlite():
        sqlite.mark_table(campaign_id, token)
    else:
        set_state(SCRUB_DUE, token)


def scrub_due() -> bool:
    """Anything at all awaits a scrub: the small tables, or a campaign's partition (PostgreSQL)
    or table (SQLite) to rewrite or drop."""
    if get_state(SCRUB_DUE):
        return True
    if is_postgres():
        return postgres.partition_scrub_due()
    return is_sqlite() and sqlite.scrub_due()


def compact(patience_ms: int = 2000, tables: bool = True, arrivals: bool = False,
            pace: Pace | None = None, renew: Callable[[], None] | None = None,
            rebuild: bool = True) -> bool:
    """Push deleted bytes out of the database's files; False when it must be retried later,
    in which case the flag stays (or is made) due and the next purge run tries again.
    `tables=False`: only campaigns' storage to drop or rewrite, not the small tables (unless a
    deletion flagged them). `arrivals` (SQLite, the daily scrub): also rebuild the campaigns'
    tables that took pledges since their last rebuild; `pace` (SQLite, the purge run): pause
    between tables (pacing.py); `renew` (the purge run's lease) inside each of a big
    table's slices (sqlite_slices.py); `rebuild=False` (SQLite, the purge run, which rebuilt at
    its start: sqlite.rebuild_owed): drops, small tables and the WAL only."""
    seen = get_state(SCRUB_DUE) or ""
    if is_sqlite():
        done = sqlite.scrub(patience_ms, tables=bool(tables or seen), arrivals=arrivals,
                            pace=pace, renew=renew, rebuild=rebuild)
    elif is_postgres():
        done = postgres.scrub(postgres.SCRUBBED if tables or seen else ())
    else:
        done = True
    if not done:
        mark_scrub_due()
    elif seen:
        ServerState.update(value="").where(ServerState.name == SCRUB_DUE,
                                           ServerState.value == seen).execute()
    return done


def flush_wal(patience_ms: int) -> bool:
    """What a run that deleted nothing of note still owes: SQLite's WAL back into the file."""
    return sqlite.checkpoint(patience_ms) if is_sqlite() else True


def compact_after_request(defer: bool = False) -> None:
    """Scrub once the current request's transaction has committed, before the response.

    The answer then tells the truth: the bytes are gone from the files when the client reads
    the reply. A rewrite per student's withdrawal would let anyone with receipts stall the
    intake, so with `defer` (the deletion marked the scrub due in its transaction) it waits for
    the next purge (within the purge interval), and on SQLite the WAL, which holds the row's
    page as it was before the delete, is emptied by this process's flusher half a second later,
    once for a whole burst (wal_flush.py); without one (a test client, a CLI), at once.
    """

    @after_this_request
    def _compact(response: Response) -> Response:
        try:
            if defer:
                flusher = running_flusher(current_app)
                if flusher is not None:
                    flusher.request()
                    return response
                done = flush_wal(patience_ms=200)
            else:
                mark_scrub_due()  # first: should the scrub fail, the next purge retries it
                done = compact(patience_ms=200)
            if not done:
                log.warning("compaction deferred to the next purge")
        except DatabaseError:
            log.warning("compaction deferred to the next purge")
        return response

"""How a SQLite purge run shares the one write lock with the students' pledges.

Every transaction of a run (a batch of an expired campaign's rows, a slice of a big campaign's
rebuild: about 10 ms; a campaign's rebuild: under 10 ms at 1,000 pledges, its copy made before
and its flush to disk after, sqlite_rebuild.py) holds SQLite's only write lock, and a pledge
that arrives meanwhile waits for it. What the intake's p99 feels is the share of the time the
run holds the lock: a pledge arriving at a random moment is delayed with that probability. Pausing
1.5 times as long as each transaction took left the lock held 40% of the time, and the p99 of a
steady intake went from about 9 ms to 17 to 23 ms while a run rebuilt 100 campaigns
(bench/README.md, "Deletion at scale, fifth pass").

So a run paces itself by what it sees, as PostgreSQL's autovacuum does with its cost delay, but
only when someone else is writing: SQLite's `PRAGMA data_version` changes when another
connection (any process) committed since this one last asked. After a pause in which nobody
else committed, the next pause is QUIET_FACTOR times the transaction (a server at night, the
operator's `pledgebox-server purge` on an idle server, the tests: a run goes at full speed). After
a pause in which someone did, the next is BUSY_FACTOR times it: the run holds the lock about 2%
of the time, so about one pledge in fifty waits for it, and then at most one transaction.

The cost is time, which docs/deletion.md states: under a steady intake a withdrawal's campaign
takes 0.8 to 1.1 s, the day's layout of 1,000 campaigns 15.5 minutes, a million-pledge
campaign's purge about 10; the withdrawal page's bound (an hour) holds.
"""

import time

from server.db import database

QUIET_FACTOR = 1.5
BUSY_FACTOR = 49.0


class Pace:
    """One purge run's pace; `after(took)` follows each of its write transactions, outside any
    transaction (data_version is read between them)."""

    def __init__(self) -> None:
        self.others_wrote = False

    def after(self, took: float, since: int) -> float:
        """Pause after a transaction that held the write lock `took` seconds; returns the pause.
        `since`: the data_version read as it ended (pause_after reads it before its checkpoint,
        so a pledge committed during the checkpoint counts as someone else writing)."""
        pause = took * (BUSY_FACTOR if self.others_wrote else QUIET_FACTOR)
        time.sleep(pause)
        self.others_wrote = _data_version() != since
        return pause


def _data_version() -> int:
    (version,) = database.execute_sql("PRAGMA data_version").fetchone()
    return int(version)


def pause_after(pace: Pace | None, took: float) -> None:
    """After each write transaction of a run (a batch, a rebuild, a slice): copy what the WAL
    holds into the file, then `pace.after`, counting the copy in `took`; outside a purge run (an
    organizer's wipe scrubs at once) the copy only.

    The copy is a passive checkpoint: it takes no write lock and waits for no one. Left to
    SQLite, the commit that takes the WAL past 1,000 pages copies all of them before its call
    returns, and while a run rebuilt campaigns under a steady intake that commit was a pledge's
    about half the time (pledges wrote about half of the WAL's pages, by the bench's write
    rates): 14 ms instead of 0.3 for that pledge, measured on this file's page size. The run
    pays for the WAL it fills."""
    if pace is None:
        database.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
        return
    since = _data_version()
    began = time.monotonic()
    database.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
    pace.after(took + time.monotonic() - began, since)

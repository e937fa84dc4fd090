"""A SQLite purge run shares the one write lock with the students' pledges (server/retention/pacing.py):
after each of its transactions it pauses 1.5 times as long when nobody else wrote, 49 times as long
when someone did, so under a steady intake it holds the lock about 2% of the time. The intake here
is real pledges over the API from another thread (its own connection, as another worker's), while a
purge run rebuilds the campaigns students withdrew from.

A rebuild also copies its campaign's rows before it takes the lock (server/retention/sqlite_rebuild.py,
_copy_then_refill): a pledge that commits during the copy must make SQLite refuse the copy, and
the rebuild make it again, or the clear that follows would lose that pledge."""

import struct
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.db import database
from server.models import ServerState
from server.retention import pacing, purge_expired, sqlite_rebuild
from server.retention import sqlite_slices as slices
from server.retention.lease import LEASE_SECONDS, Lease, LeaseLost
from server.store.partitions import every_pledge, partition_name
from tests.integration.test_sqlite_scrub import Stored, files, pledge, withdraw
from tests.support.factories import make_campaign, make_coalition

CAMPAIGNS = 5


def withdrawn_from_each(client: FlaskClient, campaigns: list[str]) -> list[Stored]:
    """Two pledges in each campaign, one withdrawn: every campaign's table owes a rebuild."""
    gone = []
    for campaign_id in campaigns:
        stored = [pledge(client, campaign_id, 1072) for _ in range(2)]
        withdraw(client, stored[0])
        gone.append(stored[0])
    return gone


def factors(monkeypatch: pytest.MonkeyPatch, pledged: threading.Event | None = None
            ) -> list[float]:
    """Each pause of the run, as a multiple of the transaction before it. With `pledged` (set
    by an intake after each pledge it stored), each pause begins only once another pledge was
    stored since its transaction ended: the pause's own look at data_version, not the thread
    scheduler, decides what the run sees."""
    seen: list[float] = []
    real = pacing.Pace.after

    def after(self: pacing.Pace, took: float, since: int) -> float:
        if pledged is not None:
            pledged.clear()
            assert pledged.wait(10)
        pause = real(self, took, since)
        seen.append(pause / took)
        return pause

    monkeypatch.setattr(pacing.Pace, "after", after)
    return seen


def test_a_run_yields_the_write_lock_while_pledges_arrive_and_goes_at_full_speed_alone(
        app: Flask, client: FlaskClient, transport: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    admin = make_coalition(tmp_path, "http://127.0.0.1", transport)
    campaigns = [make_campaign(admin, title=f"Walkout {i}") for i in range(CAMPAIGNS)]
    clock = app.extensions["pledgebox"].clock
    seen = factors(monkeypatch)

    withdrawn_from_each(client, campaigns)
    with database.connection_context():
        assert purge_expired(clock).compacted
    assert seen == [pacing.QUIET_FACTOR] * CAMPAIGNS  # alone: one rebuild after the other

    monkeypatch.undo()
    pledged = threading.Event()
    seen = factors(monkeypatch, pledged)
    gone = withdrawn_from_each(client, campaigns)
    arrived: list[Stored] = []
    stop = threading.Event()

    def intake() -> None:  # students pledging throughout the run, through the real API
        while not stop.is_set():
            arrived.append(pledge(app.test_client(), campaigns[len(arrived) % CAMPAIGNS], 1072))
            pledged.set()

    writer = threading.Thread(target=intake)
    writer.start()
    try:
        with database.connection_context():
            assert purge_expired(clock).compacted
    finally:
        stop.set()
        writer.join()
    # The first pause is the quiet one (the run has seen nobody write yet); every pause after
    # one in which pledges came is the long one.
    assert seen == [pacing.QUIET_FACTOR] + [pacing.BUSY_FACTOR] * (CAMPAIGNS - 1), seen
    assert arrived  # and the pledges that came meanwhile were all taken (201) and kept
    with database.connection_context():
        kept = {pid for (pid,) in database.execute_sql(f"SELECT id FROM ({every_pledge()})")}
        assert ServerState.select().where(ServerState.name.startswith("scrub:")).count() == 0
    assert {p.pledge_id for p in arrived} <= kept
    data = files(tmp_path / "instance")
    assert [n for p in gone for n in p.needles() if n in data] == []


def test_a_long_paced_run_keeps_its_lease_through_every_rebuild(
        app: Flask, client: FlaskClient, transport: Any, tmp_path: Path, clock_file: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Paced under a steady intake, the day's layout of 1,000 campaigns takes minutes: longer
    than the lease (LEASE_SECONDS), which must be renewed in every rebuild's transaction, or a
    second process would take it and run a purge beside this one. Each pause here moves the
    clock most of a lease on, and another process then tries to take the lease."""
    admin = make_coalition(tmp_path, "http://127.0.0.1", transport)
    campaigns = [make_campaign(admin, title=f"Walkout {i}") for i in range(CAMPAIGNS)]
    clock = app.extensions["pledgebox"].clock
    withdrawn_from_each(client, campaigns)
    moved = [0.0]
    taken_by_another: list[bool] = []

    def after(self: pacing.Pace, took: float, since: int) -> float:
        moved[0] += (LEASE_SECONDS - 20) / 86400
        clock_file.write_text(str(moved[0]))
        taken_by_another.append(Lease(clock).take(wait_for_pacing=False))
        return 0.0

    monkeypatch.setattr(pacing.Pace, "after", after)
    with database.connection_context():
        assert purge_expired(clock).compacted
    assert taken_by_another == [False] * CAMPAIGNS


def wal_frames(instance: Path) -> tuple[int, int]:
    """(frames in the WAL, frames of them copied into the file), from the WAL's index (-shm):
    the header's mxFrame and the checkpoint info's nBackfill (SQLite's wal.c, native order)."""
    shm = (instance / "pledgebox.sqlite3-shm").read_bytes()
    return struct.unpack_from("=I", shm, 16)[0], struct.unpack_from("=I", shm, 96)[0]


def test_at_every_pause_of_a_run_what_it_wrote_is_in_the_file_not_left_for_a_pledge_to_copy(
        app: Flask, client: FlaskClient, transport: Any, tmp_path: Path, instance: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The commit that takes the WAL past 1,000 pages copies the WAL into the file before it
    returns: a pledge's commit did, 14 ms instead of 0.3, while a run rebuilt campaigns
    (pacing.pause_after). So after each of its transactions (a campaign's rebuild; a big
    campaign's slices, then the batches that empty its old table) the run copies the WAL
    itself, passively, before it pauses. Rebuilds of small campaigns, and one in slices."""
    monkeypatch.setattr(slices, "SLICED_ABOVE", 7)
    for limit in ("BATCH_START", "BATCH_MAX"):
        monkeypatch.setattr(slices, limit, 7)
    admin = make_coalition(tmp_path, "http://127.0.0.1", transport)
    campaigns = [make_campaign(admin, title=f"Walkout {i}") for i in range(CAMPAIGNS)]
    big = make_campaign(admin, title="Statewide")
    gone = withdrawn_from_each(client, campaigns)
    stored = [pledge(client, big, 1072) for _ in range(30)]
    withdraw(client, stored[0])
    at_pauses: list[tuple[int, int]] = []

    def after(self: pacing.Pace, took: float, since: int) -> float:
        at_pauses.append(wal_frames(instance))
        return 0.0

    monkeypatch.setattr(pacing.Pace, "after", after)
    with database.connection_context():
        assert purge_expired(app.extensions["pledgebox"].clock).compacted
    # Five rebuilds; the big one's 29 rows in slices of 7, then of BATCH_MIN (20): three; its
    # old table emptied in batches of the same sizes: two pauses (none after the last batch).
    assert len(at_pauses) == CAMPAIGNS + 3 + 2, at_pauses
    assert all(frames > 0 for frames, _ in at_pauses)  # the WAL is not emptied: it is copied
    assert [(frames, copied) for frames, copied in at_pauses if copied != frames] == []
    data = files(instance)
    assert [n for p in [*gone, stored[0]] for n in p.needles() if n in data] == []


class PledgeDuringCopies:
    """The rebuild's database handle, but after each of its first `copies` copies a student
    pledges into the campaign being rebuilt, through the API, from another thread (another
    connection), and must get a 201 while the copy's transaction is still open: it would not if
    the rebuild held the write lock while it copied (it waits 5 s, then gets 503)."""

    def __init__(self, app: Flask, campaign_id: str, copies: int) -> None:
        self.app, self.campaign_id, self.copies = app, campaign_id, copies
        self.made = 0
        self.arrived: list[Stored] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(database, name)

    def execute_sql(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        cursor = database.execute_sql(sql, *args, **kwargs)
        if sql.startswith("CREATE TEMP TABLE"):
            self.made += 1
            if self.made <= self.copies:
                self._pledge_from_another_connection()
        return cursor

    def _pledge_from_another_connection(self) -> None:
        failed: list[BaseException] = []

        def student() -> None:
            try:
                self.arrived.append(pledge(self.app.test_client(), self.campaign_id, 1072))
            except BaseException as exc:  # reported by the test below
                failed.append(exc)

        thread = threading.Thread(target=student)
        thread.start()
        thread.join(timeout=30)
        assert not thread.is_alive()
        assert not failed, failed


@pytest.mark.parametrize("refused", [1, sqlite_rebuild.SNAPSHOT_TRIES],
                         ids=["copied-again", "copied-under-the-lock"])
def test_a_pledge_committed_while_a_rebuild_copies_is_kept(
        app: Flask, client: FlaskClient, transport: Any, tmp_path: Path, refused: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One pledge commits during the first copy (SQLite refuses to make that transaction a
    writer; the rebuild copies again, and no pledge comes during the second), or during each of
    the SNAPSHOT_TRIES copies made outside the lock (the rebuild then copies under the lock).
    Every pledge is kept, the withdrawn one is gone from the files, and the marks are cleared."""
    admin = make_coalition(tmp_path, "http://127.0.0.1", transport)
    campaign_id = make_campaign(admin)
    stored = [pledge(client, campaign_id, 1072) for _ in range(40)]
    withdraw(client, stored[0])
    handle = PledgeDuringCopies(app, campaign_id, copies=refused)
    monkeypatch.setattr(sqlite_rebuild, "database", handle)
    with database.connection_context():
        assert purge_expired(app.extensions["pledgebox"].clock).compacted
        table = partition_name(campaign_id)
        kept = {pid for (pid,) in database.execute_sql(f'SELECT id FROM "{table}"')}
        marks = ServerState.select().where(ServerState.name.endswith(table[-24:])).count()
    assert handle.made == refused + 1
    assert len(handle.arrived) == refused
    assert kept == {p.pledge_id for p in stored[1:] + handle.arrived}
    assert marks == 0
    assert [n for n in stored[0].needles() if n in files(tmp_path / "instance")] == []


def test_a_rebuild_gives_its_connection_back_synced_to_the_disk_even_when_it_fails(
        app: Flask, client: FlaskClient, transport: Any, tmp_path: Path) -> None:
    """A rebuild commits with synchronous=NORMAL (the fsync comes after the lock is given back),
    on whichever connection runs it: an organizer's wipe scrubs on a request thread whose
    connection then stores pledges, and a pledge's 201 promises it survives a power cut
    (synchronous=FULL). A rebuild that fails (its run lost the lease) rolls back, leaves the
    campaign's mark for the next run, and puts FULL back too."""
    admin = make_coalition(tmp_path, "http://127.0.0.1", transport)
    campaign_id = make_campaign(admin)
    stored = [pledge(client, campaign_id, 1072) for _ in range(3)]
    withdraw(client, stored[0])
    table = partition_name(campaign_id)

    def lost() -> None:
        raise LeaseLost

    def state() -> tuple[int, int]:
        (level,) = database.execute_sql("PRAGMA synchronous").fetchone()
        return level, ServerState.select().where(ServerState.name.startswith("scrub:")).count()

    with database.connection_context():
        with pytest.raises(LeaseLost):
            sqlite_rebuild.rebuild_pledge_table(table, renew=lost)
        assert state() == (2, 1)
        sqlite_rebuild.rebuild_pledge_table(table)
        assert state() == (2, 0)
        kept = {pid for (pid,) in database.execute_sql(f'SELECT id FROM "{table}"')}
    assert kept == {p.pledge_id for p in stored[1:]}

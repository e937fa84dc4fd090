"""secure_delete alone does not delete on SQLite: the scrub (rebuilding the campaign's table) does.

SQLite zeroes a deleted row where it lies, but rebalancing a b-tree copies rows to other pages
(or other places on the same page) and leaves the old copies in the unallocated space between
the cell pointers and the cell content, which nothing clears. A pledge moved that way before a
student withdraws it stays readable in the file after the withdrawal. This is how CI once found
a withdrawn pledge's bytes on disk (test_deletion_bytes.py); here the same churn runs in process,
round after round, until the file shows such a copy, and then the purge's scrub must remove it.
Each campaign's pledges are a table of their own, so the scrub rebuilds that campaign's table
only (server/retention/sqlite.py; test_retention.py checks that other campaigns are untouched).
"""

import contextlib
import hashlib
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crypto.encoding import b64u_encode
from server.db import database
from server.models import ServerState
from server.retention import purge_expired
from server.retention import sqlite_slices as slices
from server.store.partitions import PREFIX, partition_name
from tests.conftest import move_clock
from tests.support.factories import make_campaign, make_coalition

MAX_ROUNDS = 150  # the leak showed in round 1 to 17 of this churn (mean 9, 12 runs; SQLite 3.40,
# 8 KiB pages): about one round in nine, so 150 rounds without it would be a change, not chance
NONCE_ROUNDS = 600  # the nonce churn below left a copy in round 8 to 64 (20 runs), 50 ms a round


@dataclass
class Stored:
    pledge_id: str
    token: bytes
    ciphertext: bytes

    def needles(self) -> list[bytes]:
        windows = [self.ciphertext[i:i + 32] for i in range(0, len(self.ciphertext) - 32, 96)]
        return [*windows, hashlib.blake2b(self.token, digest_size=32).digest(),
                self.pledge_id.encode()]


def pledge(client: FlaskClient, campaign_id: str, size: int) -> Stored:
    token, ciphertext = secrets.token_bytes(32), secrets.token_bytes(size)
    reply = client.post(f"/api/v1/campaigns/{campaign_id}/pledges", json={
        "key_version": 1, "ciphertext": b64u_encode(ciphertext),
        "withdraw_token_hash": b64u_encode(hashlib.blake2b(token, digest_size=32).digest())})
    assert reply.status_code == 201, reply.get_data()
    return Stored(reply.get_json()["pledge_id"], token, ciphertext)


def withdraw(client: FlaskClient, p: Stored) -> None:
    reply = client.post(f"/api/v1/pledges/{p.pledge_id}/withdraw",
                        json={"withdraw_token": b64u_encode(p.token)})
    assert reply.status_code == 204, reply.get_data()


def files(instance: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(instance.rglob("*")) if p.is_file())


@pytest.mark.parametrize("slice_rows", [None, 8], ids=["one-transaction", "in-slices"])
def test_the_scrub_removes_copies_that_rebalancing_left_of_withdrawn_pledges(
        app: Flask, client: FlaskClient, transport: Any, tmp_path: Path, instance: Path,
        slice_rows: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both rebuilds: a campaign's table in one transaction, and a big campaign's in slices
    (SLICED_ABOVE lowered, and the slices: the churn keeps 20 to 40 pledges)."""
    if slice_rows is not None:
        monkeypatch.setattr(slices, "SLICED_ABOVE", slice_rows)
        for limit in ("BATCH_START", "BATCH_MAX"):
            monkeypatch.setattr(slices, limit, slice_rows)
    admin = make_coalition(tmp_path, "http://127.0.0.1", transport)
    campaign_id = make_campaign(admin)
    live: list[Stored] = []
    withdrawn: list[Stored] = []
    for _ in range(MAX_ROUNDS):
        # padded sealed boxes of one to three 1 KiB blocks: inline and overflowing rows alike
        live += [pledge(client, campaign_id, 1072 + 1024 * (i % 3)) for i in range(20)]
        for p in live[::2]:
            withdraw(client, p)
        withdrawn += live[::2]
        live = live[1::2]
        data = files(instance)
        if any(n in data for p in withdrawn for n in p.needles()):
            break
    else:
        raise AssertionError("the churn never left a copy behind: this SQLite may no longer need "
                             "the scrub (see docs/deletion.md) or the churn no longer rebalances")

    mark = "scrub:" + partition_name(campaign_id).removeprefix(PREFIX)  # the campaign's table
    with database.connection_context():
        assert re.fullmatch(r"[0-9a-f]{16}", ServerState.get(ServerState.name == mark).value)
        result = purge_expired(app.extensions["pledgebox"].clock)
        assert result.compacted
        assert ServerState.get_or_none(ServerState.name == mark) is None

    data = files(instance)
    assert all(p.ciphertext[:32] in data and p.ciphertext[-32:] in data for p in live)
    left = [n for p in withdrawn for n in p.needles() if n in data]
    assert left == [], f"{len(left)} values of withdrawn pledges still on disk"
    for p in live:  # the rewritten file still serves every pledge that was not withdrawn
        withdraw(client, p)


def test_the_scrub_builds_its_copy_in_memory_not_in_a_temporary_file(
        app: Flask, client: FlaskClient, transport: Any, tmp_path: Path, instance: Path) -> None:
    """VACUUM's working copy would otherwise go to an unlinked temporary file (SQLite names them
    etilqs_*) in /var/tmp, leaving every live pledge in freed disk blocks outside the data folder.
    A tiny page cache makes SQLite spill that copy to disk at once if temp_store allows it."""
    admin = make_coalition(tmp_path, "http://127.0.0.1", transport)
    campaign_id = make_campaign(admin)
    stored = [pledge(client, campaign_id, 2096) for _ in range(40)]
    withdraw(client, stored[0])
    opened: set[str] = set()
    stop = threading.Event()

    def watch() -> None:  # every file this process has open, sampled until the scrub is over
        while True:
            for fd in os.listdir("/proc/self/fd"):
                with contextlib.suppress(OSError):
                    opened.add(os.readlink(f"/proc/self/fd/{fd}"))
            if stop.is_set():
                return

    with database.connection_context():
        database.execute_sql("PRAGMA cache_size = 8")
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            assert purge_expired(app.extensions["pledgebox"].clock).compacted
        finally:
            stop.set()
            watcher.join()
        assert database.execute_sql("PRAGMA temp_store").fetchone()[0] == 0  # put back
    assert [f for f in opened if "etilqs_" in f] == []
    assert any(f.endswith("pledgebox.sqlite3") for f in opened)  # the watcher did see files
    assert stored[0].ciphertext[:32] not in files(instance)


def test_a_deletion_during_a_scrub_or_a_failed_scrub_leaves_it_due(
        app: Flask, monkeypatch: Any) -> None:
    """The scrub clears only the mark it saw before it began: a withdrawal that commits while
    VACUUM runs (its transaction marks anew) or a scrub that fails leaves the next purge to it."""
    import server.retention as retention
    from server.retention import sqlite as sqlite_path

    def flag() -> str:
        return str(ServerState.get(ServerState.name == "scrub-due").value)

    with database.connection_context():
        retention.mark_scrub_due()
        assert retention.compact()
        assert flag() == ""

        retention.mark_scrub_due()
        real = sqlite_path.scrub

        def scrub_while_a_student_withdraws(patience_ms: int, **parts: bool) -> bool:
            done = real(patience_ms, **parts)
            retention.mark_scrub_due()  # committed after the VACUUM copied the file
            return done

        monkeypatch.setattr(sqlite_path, "scrub", scrub_while_a_student_withdraws)
        assert retention.compact()
        assert flag() != ""

        monkeypatch.setattr(sqlite_path, "scrub", lambda patience_ms, **parts: False)
        retention.compact()
        assert flag() != ""
        monkeypatch.setattr(sqlite_path, "scrub", real)
        assert retention.compact()
        assert flag() == ""


def test_dropping_a_table_zeroes_every_page_it_had_with_secure_delete_only(tmp_path: Path) -> None:
    """The scrub drops a campaign's old table with its rows in it (and the purge drops an expired
    campaign's): SQLite must zero the freed pages, leaf and overflow alike, or the rows would stay
    in the freelist. It does with secure_delete on (server/db.py), and not without: the control
    shows the scan would see them."""
    from server.db import open_database
    from server.store.partitions import create_sqlite_table

    for secure, expect_left in ((1, False), (0, True)):
        path = tmp_path / f"drop-{secure}.sqlite3"
        db = open_database(f"sqlite:///{path}")
        with db.connection_context():
            db.execute_sql(f"PRAGMA secure_delete = {secure}")
            create_sqlite_table("pledge_cdoomed", db)
            create_sqlite_table("pledge_ckept", db)
            rows = {t: [(secrets.token_hex(11), secrets.token_bytes(1072 + 1024 * (i % 3)))
                        for i in range(200)] for t in ("pledge_cdoomed", "pledge_ckept")}
            for table, stored in rows.items():
                for pid, ciphertext in stored:
                    db.execute_sql(f'INSERT INTO "{table}" VALUES (?, ?, 1, ?, ?, ?)',
                                   (pid, "c", ciphertext, bytes(32), "2027-01-01"))
            db.execute_sql('DROP TABLE "pledge_cdoomed"')
            busy, _, _ = db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert busy == 0
        db.close()
        data = files(tmp_path)
        assert all(c[-32:] in data for _, c in rows["pledge_ckept"])
        left = [c for _, c in rows["pledge_cdoomed"] if c[:32] in data or c[-32:] in data]
        assert bool(left) == expect_left, (secure, len(left))
        path.unlink()


def test_the_small_tables_are_rewritten_in_place_with_no_copy_left_and_no_schema_change(
        app: Flask, instance: Path) -> None:
    """The tables other than the pledges' (nonces here) are rewritten after a deletion in them
    with no CREATE, DROP or RENAME: a rename re-parses the whole schema (40 ms a table at 1,000
    campaigns, under the write lock), and any schema change makes every worker re-read it. The
    rewrite must still leave none of the copies that rebalancing left of deleted rows."""
    from server.retention import sqlite as sqlite_path

    live: set[bytes] = set()
    deleted: list[bytes] = []
    with database.connection_context():
        for _ in range(NONCE_ROUNDS):
            fresh = [secrets.token_bytes(32) for _ in range(300)]
            with database.atomic():
                for nonce in fresh:
                    database.execute_sql("INSERT INTO request_nonce VALUES (?, ?)", (nonce, 1))
            live |= set(fresh)
            gone = secrets.SystemRandom().sample(sorted(live), len(live) // 2)
            with database.atomic():
                for nonce in gone:
                    database.execute_sql("DELETE FROM request_nonce WHERE nonce_hash = ?", (nonce,))
            live -= set(gone)
            deleted += gone
            assert sqlite_path.checkpoint(patience_ms=1000)
            data = files(instance)  # a copy shows once its row is deleted: this round's
            if any(n in data for n in gone):
                break
        else:
            raise AssertionError("the churn never left a copy of a deleted nonce behind")

        (schema_before,) = database.execute_sql("PRAGMA schema_version").fetchone()
        sqlite_path.rebuild_small_tables()
        assert sqlite_path.checkpoint(patience_ms=1000)
        (schema_after,) = database.execute_sql("PRAGMA schema_version").fetchone()
        kept = {row[0] for row in database.execute_sql("SELECT nonce_hash FROM request_nonce")}
        assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1  # put back

    assert schema_after == schema_before
    assert kept == live
    data = files(instance)
    assert all(n in data for n in live)
    left = [n for n in deleted if n in data]
    assert left == [], f"{len(left)} of {len(deleted)} deleted nonces still in the file"


def test_a_campaigns_rebuild_changes_no_schema_and_clears_its_table_whole(
        app: Flask, client: FlaskClient, transport: Any, tmp_path: Path) -> None:
    """A purge run's rebuilds change no schema: each change makes every worker thread's connection
    re-parse the whole schema (a table per campaign) before its next statement, and a rebuild per
    withdrawn-from campaign, or per campaign at the daily layout, made that seconds of the
    intake's time. The DELETE that empties the table must stay a clear of its b-tree (SQLite's
    truncate: every page freed, zeroed), which a delete trigger or a foreign key would turn into
    row-by-row deletes that leave copies in the pages kept."""
    admin = make_coalition(tmp_path, "http://127.0.0.1", transport)
    campaign_id = make_campaign(admin)
    stored = [pledge(client, campaign_id, 1072) for _ in range(30)]
    withdraw(client, stored[0])
    table = partition_name(campaign_id)
    with database.connection_context():
        (before,) = database.execute_sql("PRAGMA schema_version").fetchone()
        assert purge_expired(app.extensions["pledgebox"].clock).compacted
        (after,) = database.execute_sql("PRAGMA schema_version").fetchone()
        plan = [row[1] for row in database.execute_sql(f'EXPLAIN DELETE FROM "{table}"')]
        count = database.execute_sql(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        marks = ServerState.select().where(ServerState.name.endswith(
            table.removeprefix(PREFIX))).count()
    assert after == before
    assert "Clear" in plan
    assert count == 29
    assert marks == 0
    for p in stored[1:]:
        withdraw(client, p)


def test_a_rebuild_takes_its_own_pages_back_when_the_run_also_drops_a_campaign(
        app: Flask, client: FlaskClient, transport: Any, tmp_path: Path,
        clock_file: Path) -> None:
    """Disk written by the scrub (issue 20). A rebuild zeroes and frees its table's pages, then
    refills the table, and SQLite takes the refill's pages from the freelist nearest the table's
    root. Were an expired campaign's table emptied first in the run, its free pages (here nearer
    the root: that campaign's pledges came first) would take the refill and leave the rebuilt
    table's own pages free, zeroed: every page written twice, 4x the campaign's size with the
    checkpoint instead of 2x. The run rebuilds before it frees anything (sqlite.rebuild_owed).
    (Free pages left by an earlier run still take refills until pledges use them up:
    docs/deletion.md.)"""
    admin = make_coalition(tmp_path, "http://127.0.0.1", transport)
    kept = make_campaign(admin, action_in=40, closes_in=39, delete_in=60)
    doomed = make_campaign(admin)  # deleted after day 20
    for _ in range(60):
        pledge(client, doomed, 1072)
    stored = [pledge(client, kept, 1072) for _ in range(80)]
    table = partition_name(kept)

    def pages() -> set[int]:
        return {n for (n,) in database.execute_sql(
            "SELECT pageno FROM dbstat WHERE name = ?", (table,)).fetchall()}

    # Before the withdrawal, whose delete may merge two of the table's leaves and free a page of
    # its own (which the refill may then take back: still its own).
    with database.connection_context():
        (free,) = database.execute_sql("PRAGMA freelist_count").fetchone()
        before = pages()
    withdraw(client, stored[0])
    with database.connection_context():
        move_clock(clock_file, 21)
        result = purge_expired(app.extensions["pledgebox"].clock)
        after = pages()
    assert (result.campaigns, result.compacted) == (1, True)
    assert free == 0  # nothing else in the file to take the refill
    # a random order may need a page or two more than the table had
    assert len(after - before) <= 2, f"{len(after - before)} of {len(after)} pages not its own"
    assert [n for n in stored[0].needles() if n in files(tmp_path / "instance")] == []

"""Deleted means gone from the disk: sentinel bytes, every deletion route, every file.

Pledges carry ciphertexts of valid lengths that we made up (the server never opens one, so it
cannot tell): random bytes as in a real sealed box, so PostgreSQL does not compress them, and
recorded, so any 32-byte slice of one found on disk is a leak. Withdraw-token hashes are known too. Each
route deletes some of them on a real gunicorn server: expiry purged by the server's own timer,
`pledgebox-server purge`, withdrawal through the public API, and `pledgebox campaign wipe`.
Then no ciphertext slice, hash, pledge id, campaign id, campaign title or published tally (its
signature) may remain in any file: on SQLite
anywhere under the instance folder (database, WAL, -shm, logs); on PostgreSQL in this database's
files in the cluster's data directory. Pledges that were not deleted must still be found by the
same scan, so a scan that looks in the wrong place fails instead of passing.

PostgreSQL's WAL keeps the rows as they were written: that is asserted too, as the documented
limit of what the server can do (docs/deletion.md says what operators must do about it).
"""

import hashlib
import os
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from peewee import PostgresqlDatabase
from playhouse.db_url import connect

import migrations
from crypto.encoding import b64u_decode, b64u_encode
from organizer import tally
from server.db import bind, database
from tests.conftest import move_clock, server_env
from tests.support.factories import PASSPHRASE, OrganizerHandle, make_campaign, make_coalition
from tests.support.http import call
from tests.support.live import LiveServer
from tests.support.pledges import sqlite3_every_pledge

BOTH = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
DELETE_IN = 20  # make_campaign's campaigns are deleted after today + 20 days
WAIT_SECONDS = 120


@dataclass
class SentinelPledge:
    pledge_id: str
    ciphertext: bytes
    token: bytes
    token_hash: bytes

    def slices(self) -> list[bytes]:
        """32-byte windows across the ciphertext: storage may split it (SQLite overflow pages,
        PostgreSQL TOAST chunks), but most windows lie whole inside one piece."""
        return [self.ciphertext[i:i + 32] for i in range(0, len(self.ciphertext) - 32, 96)]

    def needles(self) -> list[bytes]:
        return [*self.slices(), self.token_hash, self.token_hash[:16], self.token_hash[16:],
                self.pledge_id.encode()]

    def found_in(self, data: bytes) -> bool:
        """Whether the scan sees this (live) pledge: its hash and most of its ciphertext."""
        windows = self.slices()
        return self.token_hash in data and sum(w in data for w in windows) * 4 >= len(windows) * 3


NO_TALLY = b"\x00no tally\x00"


@dataclass
class Campaign:
    campaign_id: str
    title: bytes
    pledges: list[SentinelPledge] = field(default_factory=list)
    tally_signature: bytes = NO_TALLY

    def needles(self) -> list[bytes]:
        return [self.campaign_id.encode(), self.title, self.tally_signature] + [
            n for p in self.pledges for n in p.needles()]


@dataclass
class Deployment:
    server: LiveServer
    admin: OrganizerHandle
    instance: Path
    db_url: str
    clock_file: Path
    env: dict[str, str]
    backend: str
    started: float

    def purge_runs(self) -> int:
        return self.server.log_path.read_text().count("purge run finished")

    def wait_for_purge_runs(self, n: int) -> None:
        """Until `n` more runs finished: the last of them started after this call."""
        target = self.purge_runs() + n
        deadline = time.monotonic() + WAIT_SECONDS
        while self.purge_runs() < target:
            assert time.monotonic() < deadline, self.server.log_path.read_text()
            time.sleep(0.2)


def sentinel_campaign(dep: Deployment, n: int = 12, **kwargs: int) -> Campaign:
    title = b"SENTINEL-TITLE-" + secrets.token_hex(8).encode()
    campaign = Campaign(make_campaign(dep.admin, title=title.decode(), **kwargs), title)
    for i in range(n):
        # 1 to 3 KiB buckets: rows that overflow a SQLite page and rows that PostgreSQL TOASTs
        ciphertext = b"PBSENT" + secrets.token_bytes(1024 * (1 + i % 3) + 48 - 6)
        token = secrets.token_bytes(32)
        token_hash = hashlib.blake2b(token, digest_size=32).digest()
        reply = call(dep.server.base_url, "POST", f"/api/v1/campaigns/{campaign.campaign_id}/pledges",
                     {"key_version": 1, "ciphertext": b64u_encode(ciphertext),
                      "withdraw_token_hash": b64u_encode(token_hash)})
        assert reply.status == 201, reply.body
        campaign.pledges.append(
            SentinelPledge(reply.json()["pledge_id"], ciphertext, token, token_hash))
    # A published tally (protocol 1.1) goes with its campaign too; its signature is the needle.
    tally.publish(dep.admin.session, campaign.campaign_id,
                  tally.compute(dep.admin.session, campaign.campaign_id))
    served = call(dep.server.base_url, "GET", f"/api/v1/campaigns/{campaign.campaign_id}").json()
    campaign.tally_signature = b64u_decode(served["tally"]["signature"])
    return campaign


# --- where the bytes could be -----------------------------------------------------------------

_CAT = """
import sys
for name in sys.argv[1:]:
    try:
        with open(name, "rb") as f:
            sys.stdout.buffer.write(f.read() + b"\\n--file boundary--\\n")
    except (FileNotFoundError, IsADirectoryError):
        pass
"""


def _read_all(paths: list[Path]) -> bytes:
    """Read in a child process: closing a file in this process would drop every POSIX lock this
    process holds on it, the bystander's SQLite locks included."""
    return subprocess.run([sys.executable, "-c", _CAT, *map(str, paths)], capture_output=True,
                          check=True, timeout=120).stdout


def _pg_admin(db_url: str) -> PostgresqlDatabase:
    db = connect(db_url)  # peewee 4 is always in autocommit mode (VACUUM needs it)
    db.connect()
    return db


def _pg_database_files(dep: Deployment) -> list[Path]:
    """This database's folder in the cluster (heap, indexes, TOAST, free space and visibility maps)."""
    db = _pg_admin(dep.db_url)
    try:
        db.execute_sql("CHECKPOINT")  # what is in shared buffers reaches the files, as it will anyway
        data_dir = Path(db.execute_sql("SELECT current_setting('data_directory')").fetchone()[0])
        # pledge is partitioned (no files of its own): any table's file names the folder
        heap = db.execute_sql("SELECT pg_relation_filepath('campaign')").fetchone()[0]
    finally:
        db.close()
    folder = (data_dir / heap).parent
    assert folder.is_dir(), "run the PostgreSQL tests as a user who can read the data directory"
    return sorted(p for p in folder.iterdir() if p.is_file())


def _pg_wal_files(dep: Deployment) -> list[Path]:
    db = _pg_admin(dep.db_url)
    try:
        data_dir = Path(db.execute_sql("SELECT current_setting('data_directory')").fetchone()[0])
    finally:
        db.close()
    return [p for p in (data_dir / "pg_wal").iterdir()
            if p.is_file() and p.stat().st_mtime >= dep.started - 1]


def on_disk(dep: Deployment) -> bytes:
    """Every byte the deployment's storage holds for us (PostgreSQL's WAL apart: see wal_bytes)."""
    instance_files = sorted(p for p in dep.instance.rglob("*") if p.is_file())
    if dep.backend == "sqlite":
        return _read_all(instance_files)
    return _read_all(instance_files + _pg_database_files(dep))


def assert_gone(dep: Deployment, deleted: list[Campaign], kept: list[Campaign]) -> None:
    data = on_disk(dep)
    for campaign in kept:  # the scan sees live data, so it looks in the right place
        for p in campaign.pledges:
            assert p.found_in(data), "the scan did not find a live pledge"
        if campaign.tally_signature != NO_TALLY:
            assert campaign.tally_signature in data, "the scan did not find a live tally"
    left = [n for c in deleted for n in c.needles() if n in data]
    assert left == [], f"{len(left)} deleted values still on disk, e.g. {left[:3]}"


def _only(pledges: list[SentinelPledge]) -> Campaign:
    """A bag of pledges whose campaign lives on: only the pledges' own values are needles."""
    return Campaign("\x00not-an-id\x00", b"\x00not-a-title\x00", pledges)


# --- the deployment ---------------------------------------------------------------------------

@pytest.fixture
def deployment(request: pytest.FixtureRequest, backend: str, instance: Path, db_url: str,
               clock_file: Path, tmp_path: Path) -> Iterator[Deployment]:
    background = getattr(request, "param", "1")
    bind(db_url)
    with database.connection_context():
        migrations.upgrade(database.obj)
    env = server_env(instance, db_url, clock_file, PLEDGEBOX_RATELIMITS="0",
                     PLEDGEBOX_PURGE_IN_BACKGROUND=background,
                     PLEDGEBOX_PURGE_INTERVAL_SECONDS="1")
    server = LiveServer(env, workers=2).start()
    # SQLite checkpoints and removes the WAL when its last connection closes; a busy server
    # always has one open somewhere, so keep one open (idle, no transaction) like it would.
    bystander = None
    if backend == "sqlite":
        bystander = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        bystander.execute("SELECT count(*) FROM sqlite_master").fetchone()
    try:
        admin = make_coalition(tmp_path, server.base_url)
        yield Deployment(server, admin, instance, db_url, clock_file, env, backend, time.time())
    finally:
        server.stop()
        if bystander is not None:
            bystander.close()
        if not database.is_closed():
            database.close()


def organizer_cli(dep: Deployment, *args: str, stdin: int | None = None
                  ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE}
    return subprocess.run([sys.executable, "-m", "organizer.cli", "--keystore", str(dep.admin.keystore),
                           *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False, stdin=stdin)


# --- the routes -------------------------------------------------------------------------------

@BOTH
def test_withdrawal_through_the_api_leaves_no_bytes(deployment: Deployment) -> None:
    dep = deployment
    campaign = sentinel_campaign(dep, n=16)
    kept = sentinel_campaign(dep, n=4)
    gone = campaign.pledges[::2]
    page = call(dep.server.base_url, "GET", "/withdraw")  # where a student pastes the receipt
    assert page.status == 200
    assert b'id="withdraw-form"' in page.body
    for p in gone:
        reply = call(dep.server.base_url, "POST", f"/api/v1/pledges/{p.pledge_id}/withdraw",
                     {"withdraw_token": b64u_encode(p.token)})
        assert reply.status == 204, reply.body
    # The rewrite waits for the next purge, not the student. On SQLite the pledge's own cell is
    # zeroed at once, but copies that rebalancing left on other pages go only with the VACUUM.
    dep.wait_for_purge_runs(2)
    remaining = [campaign.pledges[i] for i in range(1, 16, 2)]
    assert_gone(dep, [_only(gone)], [kept, Campaign("", b"", remaining)])


@BOTH
def test_wipe_by_the_organizer_cli_leaves_no_bytes(deployment: Deployment) -> None:
    dep = deployment
    doomed = sentinel_campaign(dep)
    kept = sentinel_campaign(dep, n=4)
    done = organizer_cli(dep, "campaign", "wipe", doomed.campaign_id, "--yes")
    assert done.returncode == 0, done.stderr
    assert call(dep.server.base_url, "GET", f"/api/v1/campaigns/{doomed.campaign_id}").status == 404
    assert_gone(dep, [doomed], [kept])


@BOTH
def test_expiry_purged_by_the_servers_own_timer_leaves_no_bytes(deployment: Deployment) -> None:
    dep = deployment
    doomed = sentinel_campaign(dep)
    kept = sentinel_campaign(dep, n=4, action_in=40, closes_in=39, delete_in=60)
    move_clock(dep.clock_file, DELETE_IN + 1)
    dep.wait_for_purge_runs(2)
    assert_gone(dep, [doomed], [kept])


@BOTH
@pytest.mark.parametrize("deployment", ["0"], indirect=True)  # no timer: only the command purges
def test_purge_command_leaves_no_bytes(deployment: Deployment) -> None:
    dep = deployment
    doomed = sentinel_campaign(dep)
    kept = sentinel_campaign(dep, n=4, action_in=40, closes_in=39, delete_in=60)
    move_clock(dep.clock_file, DELETE_IN + 1)
    before = on_disk(dep)
    assert doomed.pledges[0].found_in(before)  # expired, not yet purged: nothing did it for us
    done = subprocess.run([sys.executable, "-m", "server.cli", "purge"], env={**os.environ, **dep.env},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "purged 1 expired campaigns and 12 pledges" in done.stdout
    assert_gone(dep, [doomed], [kept])


# --- SQLite's WAL when a reader holds the checkpoint back -------------------------------------

@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_reader_delays_but_does_not_defeat_the_wal_truncation(deployment: Deployment) -> None:
    """A long read holds the checkpoint back, so the withdrawn pledge stays in the database file
    until the read ends; then the next purge run finishes the job, with no request needed."""
    dep = deployment
    campaign = sentinel_campaign(dep, n=4)
    path = dep.db_url.removeprefix("sqlite:///")
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute(f"SELECT count(*) FROM {sqlite3_every_pledge(reader)}").fetchone()
        p = campaign.pledges[0]
        reply = call(dep.server.base_url, "POST", f"/api/v1/pledges/{p.pledge_id}/withdraw",
                     {"withdraw_token": b64u_encode(p.token)})
        assert reply.status == 204
        # The reader's snapshot needs the page as it was, so the zeroed page stays in the WAL
        # and the database file keeps the pledge until the reader is done.
        assert p.found_in(on_disk(dep))
    finally:
        reader.execute("COMMIT")
        reader.close()
    dep.wait_for_purge_runs(2)
    assert_gone(dep, [_only([p])], [Campaign("", b"", campaign.pledges[1:])])


# --- PostgreSQL's WAL: what the server cannot remove ------------------------------------------

@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_postgres_wal_still_holds_wiped_rows(deployment: Deployment) -> None:
    """The heap and index files are clean after the wipe's VACUUM FULL, but the WAL segments
    still hold the rows as inserted until PostgreSQL recycles and overwrites them. This test
    pins that limitation down so the documentation stays true (docs/deletion.md)."""
    dep = deployment
    doomed = sentinel_campaign(dep, n=4)
    done = organizer_cli(dep, "campaign", "wipe", doomed.campaign_id, "--yes")
    assert done.returncode == 0, done.stderr
    assert_gone(dep, [doomed], [])
    wal = _read_all(_pg_wal_files(dep))
    assert any(p.found_in(wal) for p in doomed.pledges), "PostgreSQL's WAL no longer holds them"


def test_every_connection_has_secure_delete(tmp_path: Path) -> None:
    """Requests, the purge thread and the command line all open connections through peewee's
    pragmas: a connection opened on a fresh thread (as the purge timer does) has them too."""
    import threading

    from server.db import open_database

    db = open_database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    seen: list[int] = []

    def probe() -> None:
        db.connect(reuse_if_open=True)
        seen.append(db.execute_sql("PRAGMA secure_delete").fetchone()[0])
        seen.append(db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal")
        db.close()

    for _ in range(2):
        t = threading.Thread(target=probe)
        t.start()
        t.join()
    probe()
    assert seen == [1, True] * 3


# --- SQLite's WAL between purge runs: no arrival order left behind ---------------------------

def _wal_frames(wal: bytes) -> int:
    return max(0, len(wal) - 32) // (24 + 4096)  # 32-byte header, then (24-byte header + page) each


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("deployment", ["0"], indirect=True)  # no timer: only the command purges
def test_a_purge_run_leaves_the_wal_empty(deployment: Deployment) -> None:
    """WAL frames are appended in commit order, so while pledges' pages sit in the log it tells
    in which order they arrived (issue 13, finding 8: four pledges' order was read back from it).
    A purge run ends with a TRUNCATE checkpoint after its own last write: the log is empty."""
    dep = deployment
    campaign = sentinel_campaign(dep, n=4)
    path = Path(dep.db_url.removeprefix("sqlite:///") + "-wal")
    before = _read_all([path])
    assert _wal_frames(before) > 4
    assert all(p.pledge_id.encode() in before for p in campaign.pledges)  # the order is there now
    done = subprocess.run([sys.executable, "-m", "server.cli", "purge"], env={**os.environ, **dep.env},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert path.stat().st_size == 0
    assert _wal_frames(_read_all([path])) == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("deployment", ["0"], indirect=True)
def test_nonce_rows_keep_no_order_and_no_second(deployment: Deployment) -> None:
    """Organizers' request nonces: no rowid counting requests, expiry rounded to 10 minutes."""
    dep = deployment
    make_campaign(dep.admin)
    db = sqlite3.connect(dep.db_url.removeprefix("sqlite:///"))
    try:
        rows = db.execute("SELECT expires_at FROM request_nonce").fetchall()
        with pytest.raises(sqlite3.OperationalError, match="rowid"):
            db.execute("SELECT rowid FROM request_nonce")
    finally:
        db.close()
    assert len(rows) >= 2
    assert all(expires % 600 == 0 for (expires,) in rows)
    assert all(0 <= expires - dep.started < 300 + 600 + 60 for (expires,) in rows)


def _pages_in_file(dep: Deployment, pledges: list[SentinelPledge]) -> list[int]:
    """The page of the database file holding each pledge's last ciphertext bytes."""
    data = _read_all([Path(dep.db_url.removeprefix("sqlite:///"))])
    page_size = int.from_bytes(data[16:18], "big")
    pages = [data.find(p.ciphertext[-32:]) // page_size for p in pledges]
    assert all(page > 0 for page in pages)
    return pages


def _kendall_tau(pages: list[int]) -> float:
    """1 when the pages ascend in the list's order, -1 when they descend, about 0 when unrelated."""
    pairs = [(a, b) for i, a in enumerate(pages) for b in pages[i + 1:] if a != b]
    return sum(1 if a < b else -1 for a, b in pairs) / max(len(pairs), 1)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("deployment", ["0"], indirect=True)
def test_a_purge_run_lays_new_pledges_out_in_no_order_their_arrival_or_their_ids_give(
        deployment: Deployment) -> None:
    """The next place to look after the WAL: a ciphertext too long for its leaf (2 KiB and up,
    with 8 KiB pages) spills onto overflow pages allocated as it arrives, so the file's page
    numbers gave the arrival order. A purge run after new pledges rebuilds the campaign's table
    in a fresh random order: not in arrival order, and not in id order either, since the pages
    come from the freelist, whose order is the dropped table's and so can hold the arrival order
    (filled in id order, the table would map it onto the ids). Twice, the second time from the
    first rebuild's freed pages. (A random layout gives |tau| >= 0.7 for 20 pledges about once in
    50,000 runs; arrival order gives 1 before the purge.)"""
    dep = deployment
    campaign = sentinel_campaign(dep, n=30)
    spilled = [p for p in campaign.pledges if len(p.ciphertext) > 2048]
    by_id = sorted(spilled, key=lambda p: p.pledge_id)
    assert spilled != by_id
    path = dep.db_url.removeprefix("sqlite:///")
    subprocess.run([sys.executable, "-c", "import sqlite3, sys; sqlite3.connect(sys.argv[1])"
                    ".execute('PRAGMA wal_checkpoint(TRUNCATE)')", path], check=True, timeout=60)
    assert _kendall_tau(_pages_in_file(dep, spilled)) > 0.7  # arrival order, readable
    purge = [sys.executable, "-m", "server.cli", "purge"]
    env = {**os.environ, **dep.env}
    for round_ in range(2):
        subprocess.run(purge, env=env, capture_output=True, timeout=300, check=True)
        assert abs(_kendall_tau(_pages_in_file(dep, spilled))) < 0.7, round_
        assert abs(_kendall_tau(_pages_in_file(dep, by_id))) < 0.7, round_
        # a new pledge marks the table for the next run's rebuild
        call(dep.server.base_url, "POST", f"/api/v1/campaigns/{campaign.campaign_id}/pledges",
             {"key_version": 1, "ciphertext": b64u_encode(secrets.token_bytes(1072)),
              "withdraw_token_hash": b64u_encode(secrets.token_bytes(32))})

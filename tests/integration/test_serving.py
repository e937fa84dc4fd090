"""How the server serves requests side by side: threads, kept connections, the WAL flushed apart.

A worker answers several requests at once (gunicorn's gthread, server/gunicorn_conf.py), keeps
each thread's database connection between requests (server/db.py), and on SQLite empties the WAL
after withdrawals from a thread of its own (server/retention/wal_flush.py). bench/README.md
("Deletion at scale") has what each of these did to the intake's latency; these tests hold the
behaviour, with real servers, real SQLite files and a real PostgreSQL.
"""

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playhouse.db_url import connect

from crypto.encoding import b64u_encode
from server.db import database
from server.store.partitions import partition_name
from tests.conftest import serving
from tests.support.factories import make_campaign, make_coalition, pledge
from tests.support.http import Reply, call
from tests.support.live import LiveServer

BOTH = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
WAIT_SECONDS = 30


@pytest.fixture
def served(db_url: str, instance: Path, clock_file: Path, tmp_path: Path
           ) -> Iterator[tuple[LiveServer, str]]:
    """One worker (so only its threads can answer side by side) and the background purge's
    first run done: with an interval of ten minutes, no other run comes during the test."""
    with serving(instance, db_url, clock_file, PLEDGEBOX_PURGE_INTERVAL_SECONDS="600") as server:
        deadline = time.monotonic() + WAIT_SECONDS
        while purge_runs(server) < 1:
            assert time.monotonic() < deadline, server.log_path.read_text()
            time.sleep(0.1)
        yield server, db_url


def purge_runs(server: LiveServer) -> int:
    return server.log_path.read_text().count("purge run finished")


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_request_held_by_a_lock_does_not_hold_up_the_pledges_behind_it(
        served: tuple[LiveServer, str], tmp_path: Path) -> None:
    """With one request at a time per worker, a withdrawal waiting for its campaign's partition
    (an organizer's re-encryption, a scrub's VACUUM FULL) held every student behind it."""
    server, db_url = served
    admin = make_coalition(tmp_path, server.base_url)
    busy, other = make_campaign(admin), make_campaign(admin, title="Other walkout")
    receipt = pledge(server.base_url, busy)
    holder = connect(db_url)
    holder.connect()
    answers: list[Reply] = []
    withdrawal = threading.Thread(target=lambda: answers.append(call(
        server.base_url, "POST", f"/api/v1/pledges/{receipt.pledge_id}/withdraw",
        {"withdraw_token": b64u_encode(receipt.token)})))
    try:
        with holder.atomic():
            holder.execute_sql(f'LOCK TABLE "{partition_name(busy)}" IN ACCESS EXCLUSIVE MODE')
            withdrawal.start()
            deadline = time.monotonic() + WAIT_SECONDS
            while not _waiting_on_a_lock(db_url):
                assert time.monotonic() < deadline, f"the withdrawal never reached the lock: {answers}"
                time.sleep(0.05)
            for _ in range(3):  # each answered while the withdrawal still waits
                pledge(server.base_url, other)
            assert withdrawal.is_alive()
            assert answers == []
    finally:
        withdrawal.join(WAIT_SECONDS)
        holder.close()
    assert [a.status for a in answers] == [204]


def _waiting_on_a_lock(db_url: str) -> bool:
    """Read from a connection of its own: inside the holder's transaction PostgreSQL would keep
    showing the activity as it was at the first read."""
    watcher = connect(db_url)
    watcher.connect()
    try:
        row = watcher.execute_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
            "AND wait_event_type = 'Lock'", (db_url.rsplit("/", 1)[1],)).fetchone()
    finally:
        watcher.close()
    return bool(row[0])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_wal_is_emptied_soon_after_withdrawals_with_no_purge_run(
        served: tuple[LiveServer, str], tmp_path: Path) -> None:
    """The WAL holds a withdrawn pledge's page as it was; the worker's flusher empties it after
    the answer (once for a burst), not the next purge run ten minutes away."""
    server, db_url = served
    path = Path(db_url.removeprefix("sqlite:///"))
    # SQLite removes the WAL when its last connection closes; a busy server always has one open.
    bystander = sqlite3.connect(path, isolation_level=None)
    bystander.execute("SELECT count(*) FROM sqlite_master").fetchone()
    try:
        admin = make_coalition(tmp_path, server.base_url)
        campaign = make_campaign(admin)
        receipts = [pledge(server.base_url, campaign) for _ in range(6)]
        runs = purge_runs(server)
        wal = Path(f"{path}-wal")
        bystander.execute("BEGIN")  # a reader holds the log: what the pledges wrote stays in it
        bystander.execute("SELECT count(*) FROM campaign").fetchone()
        for r in receipts[:3]:
            reply = call(server.base_url, "POST", f"/api/v1/pledges/{r.pledge_id}/withdraw",
                         {"withdraw_token": b64u_encode(r.token)})
            assert reply.status == 204, reply.body
        assert wal.stat().st_size > 0
        bystander.execute("COMMIT")
        deadline = time.monotonic() + WAIT_SECONDS
        while wal.stat().st_size > 0:
            assert time.monotonic() < deadline, server.log_path.read_text()
            time.sleep(0.05)
        assert purge_runs(server) == runs  # the flusher did it, not a purge run
    finally:
        bystander.close()


@BOTH
def test_a_thread_keeps_its_connection_and_gets_a_new_one_when_the_old_one_died(
        app: Flask, client: FlaskClient, backend: str, db_url: str) -> None:
    """Kept between requests (a new connection costs a schema parse on SQLite, a new server
    process on PostgreSQL), with no transaction left open; a PostgreSQL session the server ended
    (a restart, a failover, an administrator) is noticed before the request uses it."""
    assert client.get("/healthz").status_code == 200
    assert not database.is_closed()
    first = database.connection()
    assert client.get("/healthz").status_code == 200
    assert database.connection() is first
    if backend == "sqlite":
        assert not first.in_transaction
        return
    (pid,) = database.execute_sql("SELECT pg_backend_pid()").fetchone()
    admin = connect(db_url)
    admin.connect()
    try:
        admin.execute_sql("SELECT pg_terminate_backend(%s)", (pid,))
    finally:
        admin.close()
    assert client.get("/healthz").status_code == 200
    assert database.connection() is not first
    (new_pid,) = database.execute_sql("SELECT pg_backend_pid()").fetchone()
    assert new_pid != pid

"""Retention: the cap on delete_after, nothing served after expiry, the purge by itself, one at a
time, a clock set back, no metadata left over, and `pledgebox campaign wipe`'s safeguards.

What reaches the disk is tested byte by byte in test_deletion_bytes.py; these tests are about
behaviour seen through the API, the organizer tool and the database's rows.
"""

import hashlib
import os
import pty
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import peewee
import pytest
from flask import Flask
from flask.testing import FlaskClient

import migrations
from crypto.encoding import b64u_encode
from crypto.statements import announcement_message
from organizer import announce, campaigns
from organizer.errors import ServerRefused
from server.clock import Clock
from server.db import bind, database
from server.models import ServerState
from server.retention import purge_expired, purge_if_due
from server.store.partitions import PREFIX, partition_name, pledge_table
from tests.conftest import move_clock, server_env, serving
from tests.support.factories import PASSPHRASE, OrganizerHandle, make_campaign, make_coalition
from tests.support.http import call
from tests.support.live import LiveServer

BASE = "http://127.0.0.1"


def pledge_in(client: FlaskClient, campaign_id: str) -> tuple[str, bytes]:
    """A pledge the server cannot tell from a real one (it never opens ciphertexts)."""
    token = secrets.token_bytes(32)
    reply = client.post(f"/api/v1/campaigns/{campaign_id}/pledges", json={
        "key_version": 1, "ciphertext": b64u_encode(secrets.token_bytes(1072)),
        "withdraw_token_hash": b64u_encode(hashlib.blake2b(token, digest_size=32).digest())})
    assert reply.status_code == 201, reply.get_data()
    return reply.get_json()["pledge_id"], token


def rows_mentioning(*values: str) -> list[tuple[str, str]]:
    """Every (table, value) pair where a row of any table holds one of `values`, as text or bytes."""
    found = []
    with database.connection_context():
        for table in database.get_tables():
            try:
                rows = database.execute_sql(f'SELECT * FROM "{table}"').fetchall()
            except (peewee.ProgrammingError, peewee.OperationalError):
                continue  # a campaign's partition (or SQLite table) dropped since the listing
            # A campaign's pledges: a partition of `pledge` (PostgreSQL) or a table (SQLite).
            name = "pledge" if table.startswith(PREFIX) else table
            for row in rows:
                flat = b"".join(bytes(c) if isinstance(c, (bytes, memoryview)) else str(c).encode()
                                for c in row)
                found += [(name, v) for v in values if v.encode() in flat]
    return found


def move_everyones_clock(clock_file: Path, days: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's clock, and the organizer tool's (organizer/clock.py), which signs requests
    with the time."""
    from organizer import clock as organizer_clock

    move_clock(clock_file, days)
    monkeypatch.setattr(organizer_clock, "now", lambda: time.time() + days * 86400)


@pytest.fixture
def admin(app: Flask, transport: Any, tmp_path: Path) -> OrganizerHandle:
    return make_coalition(tmp_path, BASE, transport)


# --- the cap on delete_after ------------------------------------------------------------------

def test_refuses_delete_after_past_the_cap_and_names_the_latest_date(admin: OrganizerHandle) -> None:
    today = datetime.now(UTC).date()
    action = today + timedelta(days=10)
    too_late = campaigns.build_descriptor(admin.session, campaigns.CampaignSpec(
        "Walkout", "", action, action, action + timedelta(days=31),
        [campaigns.parse_field("school!:text:School")]))
    with pytest.raises(ServerRefused) as refused:
        campaigns.create(admin.session, too_late)
    latest = (action + timedelta(days=30)).isoformat()
    assert latest in str(refused.value)
    assert "30 days after the action date" in str(refused.value)
    assert campaigns.list_campaigns(admin.session) == []  # nothing stored by the refusal
    at_cap = campaigns.build_descriptor(admin.session, campaigns.CampaignSpec(
        "Walkout", "", action, action, action + timedelta(days=30),
        [campaigns.parse_field("school!:text:School")]))
    assert campaigns.create(admin.session, at_cap)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_operator_sets_the_cap(tmp_path: Path, db_url: str, clock_file: Path) -> None:
    from fullstack.inprocess import in_process_transport
    from server import create_app
    from server.config import load_config

    env = server_env(tmp_path / "instance", db_url, clock_file, PLEDGEBOX_MAX_RETENTION_DAYS="7",
                     PLEDGEBOX_PURGE_IN_BACKGROUND="0", PLEDGEBOX_RATELIMITS="0")
    app = create_app(load_config(env))
    with database.connection_context():
        migrations.upgrade(database.obj)
    org = make_coalition(tmp_path, BASE, in_process_transport(app, BASE))
    action = datetime.now(UTC).date() + timedelta(days=3)
    with pytest.raises(ServerRefused, match=(action + timedelta(days=7)).isoformat()):
        make_campaign(org, action_in=3, closes_in=3, delete_in=3 + 8)
    assert make_campaign(org, action_in=3, closes_in=3, delete_in=3 + 7)


# --- expired means never served ---------------------------------------------------------------

def read_paths(client: FlaskClient, org: OrganizerHandle, campaign_id: str, pledge_id: str,
               token: bytes) -> dict[str, int | bool]:
    """What each read path answers about one campaign, without changing anything if expired."""
    org_client = org.session.client()

    def signed(method: str, path: str, payload: Any = None) -> int:
        try:
            org_client.request(method, path, payload)
        except ServerRefused as exc:
            return 404 if "no such campaign" in str(exc) else 400
        return 200

    listed = any(c["campaign_id"] == campaign_id for c in campaigns.list_campaigns(org.session))
    body = announce.build_announcement(campaign_id, "Meet at the flagpole", None, datetime.now(UTC).date())
    signing = org.session.signing_key()
    assert signing is not None
    signature = signing.sign(announcement_message(body))
    return {
        "campaign": client.get(f"/api/v1/campaigns/{campaign_id}").status_code,
        "page": client.get(f"/p/{campaign_id}").status_code,
        "announcements": client.get(f"/api/v1/campaigns/{campaign_id}/announcements").status_code,
        "roster": signed("GET", f"/api/v1/org/campaigns/{campaign_id}/pledges"),
        "stale": signed("GET", f"/api/v1/org/campaigns/{campaign_id}/stale-pledges"),
        "announce": signed("POST", f"/api/v1/org/campaigns/{campaign_id}/announcements",
                           {"body": b64u_encode(body), "signature": b64u_encode(signature)}),
        "listed": listed,
        "pledge": client.post(f"/api/v1/campaigns/{campaign_id}/pledges", json={
            "key_version": 1, "ciphertext": b64u_encode(secrets.token_bytes(1072)),
            "withdraw_token_hash": b64u_encode(secrets.token_bytes(32))}).status_code,
        "withdraw": client.post(f"/api/v1/pledges/{pledge_id}/withdraw",
                                json={"withdraw_token": b64u_encode(token)}).status_code,
    }


def test_expired_data_is_never_served_from_the_day_after_delete_after(
        client: FlaskClient, admin: OrganizerHandle, clock_file: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    campaign_id = make_campaign(admin, action_in=5, closes_in=5, delete_in=7)
    pledge_id, token = pledge_in(client, campaign_id)
    move_everyones_clock(clock_file, 7, monkeypatch)  # delete_after itself: closed, still kept and readable
    on_last_day = read_paths(client, admin, campaign_id, "x" * 22, token)
    assert on_last_day["campaign"] == 200
    assert on_last_day["roster"] == 200
    assert on_last_day["listed"] is True
    move_everyones_clock(clock_file, 8, monkeypatch)  # the next day: gone everywhere, not yet purged
    expired = read_paths(client, admin, campaign_id, pledge_id, token)
    assert expired == {"campaign": 404, "page": 404, "announcements": 404, "roster": 404,
                       "stale": 404, "announce": 404, "listed": False, "pledge": 404,
                       "withdraw": 404}
    assert rows_mentioning(pledge_id)  # the filter did this, not the purge: the row is there


# --- the purge by itself; one at a time -------------------------------------------------------

def test_purge_deletes_every_row_about_the_campaign(client: FlaskClient, admin: OrganizerHandle,
                                                    app: Flask, clock_file: Path) -> None:
    doomed = make_campaign(admin)
    kept = make_campaign(admin, action_in=40, closes_in=39, delete_in=60)
    ids = [pledge_in(client, doomed)[0] for _ in range(5)]
    kept_ids = [pledge_in(client, kept)[0] for _ in range(2)]
    announce.post(admin.session, doomed,
                  announce.build_announcement(doomed, "Bring water", None, datetime.now(UTC).date()))
    move_clock(clock_file, 21)
    clock = app.extensions["pledgebox"].clock
    with app.app_context():
        result = purge_expired(clock)
    assert (result.campaigns, result.pledges, result.compacted) == (1, 5, True)
    assert rows_mentioning(doomed, *ids) == []
    assert {t for t, _ in rows_mentioning(kept, *kept_ids)} >= {"campaign", "pledge"}


def test_a_clock_set_back_does_not_block_the_purge(app: Flask, clock_file: Path) -> None:
    clock: Clock = app.extensions["pledgebox"].clock
    move_clock(clock_file, 40)
    assert purge_if_due(clock, 300) is not None
    assert purge_if_due(clock, 300) is None  # paced: one purge per interval
    move_clock(clock_file, 0)  # the lease now lies 40 days ahead: taken over, not waited for
    assert purge_if_due(clock, 300) is not None


def test_a_stopping_worker_lets_its_purge_run_finish_and_release_the_lease(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """gunicorn's worker_exit hook calls stop_background_purge: a run caught in progress ends
    (and logs its end) instead of dying with the process and holding the lease."""
    import threading

    import server.retention as retention

    began, ended = threading.Event(), threading.Event()
    real = retention.purge._purge

    def slow_purge(clock: Clock, lease: Any, **kwargs: Any) -> Any:
        began.set()
        time.sleep(0.5)
        result = real(clock, lease, **kwargs)
        ended.set()
        return result

    monkeypatch.setattr(retention.purge, "_purge", slow_purge)
    thread = retention.purge.start_background_purge(app)
    assert began.wait(10)
    retention.stop_background_purge(app)
    assert ended.is_set()
    assert not thread.is_alive()
    with database.connection_context():
        assert ServerState.get(ServerState.name == "purge-lease").value == ""  # released


@pytest.fixture
def expired_live(instance: Path, db_url: str, clock_file: Path, tmp_path: Path
                 ) -> Iterator[tuple[LiveServer, OrganizerHandle, str]]:
    """A live server without the background purge, and a campaign expiring after 20 days."""
    with serving(instance, db_url, clock_file, workers=2,
                 PLEDGEBOX_PURGE_IN_BACKGROUND="0") as server:
        org = make_coalition(tmp_path, server.base_url)
        yield server, org, make_campaign(org)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_a_clock_set_back_never_revives_expired_data_even_after_a_restart(
        expired_live: tuple[LiveServer, OrganizerHandle, str], clock_file: Path) -> None:
    server, _org, campaign_id = expired_live
    path = f"/api/v1/campaigns/{campaign_id}"
    assert call(server.base_url, "GET", path).status == 200
    move_clock(clock_file, 21)
    assert call(server.base_url, "GET", path).status == 404
    assert rows_mentioning(campaign_id)  # not purged: only the day floor stands in the way
    move_clock(clock_file, 0)
    assert call(server.base_url, "GET", path).status == 404
    server.stop()
    server.start()  # fresh processes, clock still set back
    for _ in range(4):  # every worker's first request
        assert call(server.base_url, "GET", path).status == 404
        assert call(server.base_url, "GET", f"/p/{campaign_id}").status == 404


def _runs(log: str) -> list[tuple[datetime, str]]:
    pattern = re.compile(r"^(\S+ \S+) INFO pledgebox\.retention: purge run (started|finished)",
                         re.MULTILINE)
    return [(datetime.strptime(t, "%Y-%m-%d %H:%M:%S,%f"), what) for t, what in pattern.findall(log)]


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_one_purge_at_a_time_across_servers_and_workers(instance: Path, db_url: str,
                                                        clock_file: Path, tmp_path: Path) -> None:
    """Two servers of three workers each share one PostgreSQL, each worker with its own timer
    ticking every second. The test holds a lock on the expired campaign until a purge run is stuck
    on it, and four more seconds: some twenty ticks come and go. The merged logs of both servers
    must show runs strictly one after the other, and the stuck run spanning those ticks."""
    bind(db_url)
    with database.connection_context():
        migrations.upgrade(database.obj)
    env = server_env(instance, db_url, clock_file, PLEDGEBOX_RATELIMITS="0",
                     PLEDGEBOX_PURGE_INTERVAL_SECONDS="1")
    servers = [LiveServer(env, workers=3).start() for _ in range(2)]
    try:
        org = make_coalition(tmp_path, servers[0].base_url)
        campaign_id = make_campaign(org)
        _seed_pledges(campaign_id, 2000)
        with database.connection_context(), database.atomic():
            # The expired campaign's row: the run's DELETE of it waits (its pledges' partition
            # is dropped whole afterwards, issue 20, so no pledge row is ever deleted one by one).
            database.execute_sql("SELECT id FROM campaign WHERE id = %s FOR UPDATE", (campaign_id,))
            move_clock(clock_file, 21)
            _wait_until(lambda: _purge_waits_for_a_lock(db_url))
            time.sleep(4)  # ticks of all six timers pass while one purge is stuck
        _wait_until(lambda: not rows_mentioning(campaign_id) and _idle(servers))
    finally:
        for s in servers:
            s.stop()
    runs = _merged(servers)
    kinds = [what for _, what in runs]
    assert kinds == ["started", "finished"] * (len(kinds) // 2), runs
    longest = max(runs[i + 1][0] - runs[i][0] for i in range(0, len(runs), 2))
    assert longest > timedelta(seconds=4), runs


def _wait_until(condition: Any, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.2)


def _purge_waits_for_a_lock(db_url: str) -> bool:
    from playhouse.db_url import connect

    db = connect(db_url)
    try:
        row = db.execute_sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                             "AND wait_event_type = 'Lock' AND query LIKE 'DELETE%%'").fetchone()
        return bool(row[0])
    finally:
        db.close()


def _idle(servers: list[LiveServer]) -> bool:
    """At least one run finished after the deletion, and none is under way."""
    kinds = [what for _, what in _merged(servers)]
    return len(kinds) >= 2 and kinds[-1] == "finished"


def _merged(servers: list[LiveServer]) -> list[tuple[datetime, str]]:
    runs = [r for s in servers for r in _runs(s.log_path.read_text())]
    return sorted(runs, key=lambda r: (r[0], r[1] == "started"))  # a tie: the end comes first


def _seed_pledges(campaign_id: str, n: int) -> None:
    rows = [(secrets.token_urlsafe(16), campaign_id, 1, secrets.token_bytes(1072),
             secrets.token_bytes(32), datetime.now(UTC).date()) for _ in range(n)]
    with database.connection_context(), database.atomic():
        cursor = database.cursor()
        q = database.param
        cursor.executemany(
            f'INSERT INTO "{pledge_table(campaign_id)}" (id, campaign_id, key_version, ciphertext, '
            f"withdraw_token_hash, received_day) VALUES ({q}, {q}, {q}, {q}, {q}, {q})", rows)


# --- `pledgebox campaign wipe`: a question first, admins only ---------------------------------

def _cli(keystore: Path, *args: str, tty_answer: str | None = None) -> tuple[int, str]:
    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE}
    cmd = [sys.executable, "-m", "organizer.cli", "--keystore", str(keystore), *args]
    if tty_answer is None:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL, check=False)
        return proc.returncode, proc.stdout + proc.stderr
    leader, follower = pty.openpty()  # a terminal, so the tool asks
    proc = subprocess.Popen(cmd, env=env, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    out = b""
    while b"[y/N]" not in out:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the tool ended without asking
            chunk = b""
        if not chunk:
            break
        out += chunk
    if b"[y/N]" in out:
        os.write(leader, tty_answer.encode() + b"\n")
    code = proc.wait(timeout=120)
    try:
        while chunk := os.read(leader, 4096):
            out += chunk
    except OSError:
        pass
    os.close(leader)
    return code, out.decode(errors="replace")


@pytest.fixture
def live(instance: Path, db_url: str, clock_file: Path) -> Iterator[LiveServer]:
    bind(db_url)
    with database.connection_context():
        migrations.upgrade(database.obj)
    server = LiveServer(server_env(instance, db_url, clock_file, PLEDGEBOX_RATELIMITS="0",
                                   PLEDGEBOX_PURGE_IN_BACKGROUND="0")).start()
    yield server
    server.stop()
    if not database.is_closed():
        database.close()


def test_wipe_asks_first_and_only_yes_deletes(live: LiveServer, tmp_path: Path) -> None:
    org = make_coalition(tmp_path, live.base_url)
    campaign_id = make_campaign(org)
    path = f"/api/v1/campaigns/{campaign_id}"
    code, out = _cli(org.keystore, "campaign", "wipe", campaign_id)  # no terminal, no --yes
    assert code == 1
    assert "--yes" in out
    code, out = _cli(org.keystore, "campaign", "wipe", campaign_id, tty_answer="n")
    assert code == 1
    assert "Nothing was deleted" in out
    assert call(live.base_url, "GET", path).status == 200
    code, out = _cli(org.keystore, "campaign", "wipe", campaign_id, tty_answer="y")
    assert code == 0, out
    assert call(live.base_url, "GET", path).status == 404
    assert rows_mentioning(campaign_id) == []


def test_wipe_refuses_members(live: LiveServer, tmp_path: Path) -> None:
    org = make_coalition(tmp_path, live.base_url)
    campaign_id = make_campaign(org)
    code, invite = _cli(org.keystore, "invite", "create", "--role", "member")
    assert code == 0, invite
    member = tmp_path / "member.json"
    code, out = _cli(member, "join", invite.strip().splitlines()[0])
    assert code == 0, out
    fingerprint = out.strip().splitlines()[0]
    assert _cli(org.keystore, "organizer", "approve", fingerprint)[0] == 0
    code, out = _cli(member, "campaign", "wipe", campaign_id, "--yes")
    assert code == 1
    assert "admin" in out
    # Without --yes a member is refused first, never asked to confirm a wipe they cannot do.
    code, out = _cli(member, "campaign", "wipe", campaign_id, tty_answer="y")
    assert code == 1
    assert "admin" in out
    assert "for good?" not in out
    from organizer.session import Session

    signed_by_member = Session.open(member, PASSPHRASE).client()
    with pytest.raises(ServerRefused, match="admins"):
        signed_by_member.request("DELETE", f"/api/v1/org/campaigns/{campaign_id}")
    assert call(live.base_url, "GET", f"/api/v1/campaigns/{campaign_id}").status == 200


def test_latest_day_is_the_only_state_kept(client: FlaskClient, admin: OrganizerHandle,
                                           app: Flask, clock_file: Path) -> None:
    """What retention itself stores: the latest day and the lease, nothing about a campaign."""
    campaign_id = make_campaign(admin)
    pledge_in(client, campaign_id)
    move_clock(clock_file, 21)
    with app.app_context():
        purge_expired(app.extensions["pledgebox"].clock)
    with database.connection_context():
        names = {s.name: s.value for s in ServerState.select()}
    # a purged campaign's table goes with its marks (scrub:<hash>, arrived:<hash>);
    # pledge-id-tag-key: the key of the ids' campaign tags (crypto/pledge_ids.py), random
    assert set(names) <= {"latest-day", "purge-lease", "scrub-due", "pledge-id-tag-key"}
    assert names["latest-day"] == (datetime.now(UTC).date() + timedelta(days=21)).isoformat()
    assert campaign_id not in "".join(names.values())


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_on_postgresql_a_purge_rewrites_or_drops_only_the_campaigns_it_deletes_from(
        client: FlaskClient, admin: OrganizerHandle, app: Flask, clock_file: Path) -> None:
    """Issue 20: an expired campaign's partition is dropped, the partition a student withdrew
    from is rewritten, and another campaign's files are not touched at all (same file node)."""
    from server.store.partitions import partition_name

    doomed = make_campaign(admin)
    withdrawn_from = make_campaign(admin, action_in=40, closes_in=39, delete_in=60)
    untouched = make_campaign(admin, action_in=40, closes_in=39, delete_in=60)
    for cid in (doomed, withdrawn_from, untouched):
        for _ in range(3):
            pledge_in(client, cid)
    gone_id, token = pledge_in(client, withdrawn_from)

    def file_node(campaign_id: str) -> int | None:
        with database.connection_context():
            row = database.execute_sql("SELECT relfilenode FROM pg_class WHERE relname = %s",
                                       (partition_name(campaign_id),)).fetchone()
        return None if row is None else int(row[0])

    before = {cid: file_node(cid) for cid in (doomed, withdrawn_from, untouched)}
    assert None not in before.values()
    reply = client.post(f"/api/v1/pledges/{gone_id}/withdraw",
                        json={"withdraw_token": b64u_encode(token)})
    assert reply.status_code == 204
    with database.connection_context():
        assert ServerState.select().where(ServerState.name.startswith("scrub:")).count() == 1
    move_clock(clock_file, 21)
    with app.app_context():
        result = purge_expired(app.extensions["pledgebox"].clock)
    assert (result.campaigns, result.pledges, result.compacted) == (1, 3, True)
    assert file_node(doomed) is None
    assert file_node(withdrawn_from) not in (None, before[withdrawn_from])
    assert file_node(untouched) == before[untouched]
    assert rows_mentioning(doomed, gone_id) == []
    with database.connection_context():
        assert ServerState.select().where(ServerState.name.startswith("scrub:")).count() == 0


def _clock_at_utc_hour(clock_file: Path, days: int, hour: float) -> None:
    """Move the server's clock `days` ahead, to `hour` o'clock UTC of that day."""
    now = time.time()
    midnight = now - now % 86400
    clock_file.write_text(str((midnight + days * 86400 + hour * 3600 - now) / 86400))


def _sqlite_file(app: Flask) -> Path:
    return Path(app.extensions["pledgebox"].config.database_url.removeprefix("sqlite:///"))


def _root_page(campaign_id: str) -> int | None:
    """SQLite: the root page of a campaign's table (a rebuilt table has a new one), or None."""
    with database.connection_context():
        row = database.execute_sql("SELECT rootpage FROM sqlite_master WHERE name = ?",
                                   (partition_name(campaign_id),)).fetchone()
    return None if row is None else int(row[0])


def _offsets(app: Flask, ciphertexts: list[bytes]) -> list[int]:
    """Where each ciphertext's last bytes are in the database file, after a full checkpoint."""
    with database.connection_context():
        busy, _, _ = database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0
    data = _sqlite_file(app).read_bytes()
    return [data.find(c[-32:]) for c in ciphertexts]


def _pledged(client: FlaskClient, campaign_id: str, n: int) -> list[bytes]:
    """n pledges of one to three 1 KiB blocks (rows that fit their leaf and rows that spill);
    their ciphertexts, to find them in the file."""
    sent = []
    for i in range(n):
        ciphertext = secrets.token_bytes(1072 + 1024 * (i % 3))
        reply = client.post(f"/api/v1/campaigns/{campaign_id}/pledges", json={
            "key_version": 1, "ciphertext": b64u_encode(ciphertext),
            "withdraw_token_hash": b64u_encode(secrets.token_bytes(32))})
        assert reply.status_code == 201
        sent.append(ciphertext)
    return sent


def test_on_sqlite_a_purge_rewrites_or_drops_only_the_campaigns_it_deletes_from(
        client: FlaskClient, admin: OrganizerHandle, app: Flask, clock_file: Path) -> None:
    """Issue 20: on SQLite an expired campaign's table is dropped and the table a student withdrew
    from is rebuilt, while another campaign's pledges stay where they were in the file, byte for
    byte at the same offsets: the file is not rewritten whole (VACUUM moved every page)."""
    doomed = make_campaign(admin)
    withdrawn_from = make_campaign(admin, action_in=40, closes_in=39, delete_in=60)
    untouched = make_campaign(admin, action_in=40, closes_in=39, delete_in=60)
    _pledged(client, doomed, 12)
    rebuilt = _pledged(client, withdrawn_from, 12)
    kept = _pledged(client, untouched, 12)
    with app.app_context():
        purge_expired(app.extensions["pledgebox"].clock)  # lays out what arrived: a quiet start
    gone_id, token = pledge_in(client, withdrawn_from)
    roots = {cid: _root_page(cid) for cid in (doomed, withdrawn_from, untouched)}
    before, moved = _offsets(app, kept), _offsets(app, rebuilt)
    assert all(offset > 0 for offset in before + moved)
    reply = client.post(f"/api/v1/pledges/{gone_id}/withdraw",
                        json={"withdraw_token": b64u_encode(token)})
    assert reply.status_code == 204
    move_clock(clock_file, 21)
    with app.app_context():
        result = purge_if_due(app.extensions["pledgebox"].clock, 1, 0)
    assert result is not None
    assert (result.campaigns, result.pledges, result.compacted) == (1, 12, True)
    assert _offsets(app, kept) == before  # not one page of the untouched campaign moved
    assert _root_page(doomed) is None
    assert _root_page(withdrawn_from) is not None
    assert _offsets(app, rebuilt) != moved  # laid out anew (a fresh random order of 12 rows)
    assert _root_page(untouched) == roots[untouched]
    assert rows_mentioning(doomed, gone_id) == []
    with database.connection_context():
        assert ServerState.select().where(ServerState.name.startswith("scrub:")).count() == 0


def test_on_sqlite_the_background_purge_lays_out_new_pledges_once_a_day_at_the_scrub_hour(
        client: FlaskClient, admin: OrganizerHandle, app: Flask, clock_file: Path) -> None:
    """Issue 20: a withdrawal's table is rebuilt at the next purge run, whatever the hour; a
    table that took pledges (whose pages then hold their arrival order) is rebuilt once a UTC
    day, at the background purge's first run from the scrub hour, and not again that day."""
    hour = 7  # PLEDGEBOX_SCRUB_HOUR_UTC, passed on by the timer as here

    campaign_id = make_campaign(admin, action_in=40, closes_in=39, delete_in=60)
    pledges = [pledge_in(client, campaign_id) for _ in range(3)]
    sent = _pledged(client, campaign_id, 20)  # where these lie tells a rebuild (random order)
    clock: Clock = app.extensions["pledgebox"].clock
    hashed = partition_name(campaign_id).removeprefix(PREFIX)
    arrived, withdrawn = "arrived:" + hashed, "scrub:" + hashed

    def state(name: str) -> str | None:
        with database.connection_context():
            row = ServerState.get_or_none(ServerState.name == name)
        return None if row is None else str(row.value)

    def withdraw(pledge: tuple[str, bytes]) -> None:
        reply = client.post(f"/api/v1/pledges/{pledge[0]}/withdraw",
                            json={"withdraw_token": b64u_encode(pledge[1])})
        assert reply.status_code == 204

    _clock_at_utc_hour(clock_file, 2, hour - 1.5)
    assert state(arrived) is not None  # the intake's mark: pledges came since it was made
    layout = _offsets(app, sent)
    withdraw(pledges[0])
    assert state(withdrawn)
    assert purge_if_due(clock, 1, hour) is not None
    assert state(withdrawn) is None  # a withdrawal: rebuilt at this run, before the hour
    assert _offsets(app, sent) != layout
    assert state(arrived) is None  # the rebuild laid out what had arrived too
    assert state("scrubbed-on") is None

    pledge_in(client, campaign_id)
    assert state(arrived) is not None
    layout = _offsets(app, sent)
    _clock_at_utc_hour(clock_file, 2, hour - 1)
    assert purge_if_due(clock, 1, hour) is not None
    assert state(arrived) is not None  # before the hour: the layout waits
    assert _offsets(app, sent) == layout

    _clock_at_utc_hour(clock_file, 2, hour + 0.25)
    assert purge_if_due(clock, 1, hour) is not None
    assert state(arrived) is None  # the day's rebuild ran
    assert _offsets(app, sent) != layout
    day = datetime.fromtimestamp(clock.now(), UTC).date().isoformat()
    assert state("scrubbed-on") == day

    pledge_in(client, campaign_id)
    _clock_at_utc_hour(clock_file, 2, hour + 2)
    assert purge_if_due(clock, 1, hour) is not None
    assert state(arrived) is not None  # once a day: the next one waits for tomorrow's hour
    _clock_at_utc_hour(clock_file, 3, hour)
    assert purge_if_due(clock, 1, hour) is not None
    assert state(arrived) is None


def test_the_withdraw_page_states_the_bound_the_scrub_keeps(client: FlaskClient) -> None:
    """The page promises what docs/deletion.md states and the code keeps: on both backends a
    withdrawal's campaign is rewritten at the next purge run (test_on_sqlite_a_purge_… and
    test_on_postgresql_a_purge_…), and runs start at most the longest purge interval the server
    accepts apart; an hour leaves room for that interval several times over (a run a reader held
    back, the run's own length)."""
    from server.config import ConfigError, load_config

    longest = 600
    with pytest.raises(ConfigError, match="between"):
        load_config({"PLEDGEBOX_PURGE_INTERVAL_SECONDS": str(longest + 1)})
    with pytest.raises(ConfigError, match="between"):  # the daily layout's hour (arrival order)
        load_config({"PLEDGEBOX_SCRUB_HOUR_UTC": "24"})
    assert 3 * longest <= 3600
    docs = (Path(__file__).parents[2] / "docs" / "deletion.md").read_text()
    assert "within an hour" in docs
    assert "within 25 hours" not in docs
    english = client.get("/withdraw").get_data(as_text=True)
    assert "leaves the server’s files within an hour" in english
    spanish = client.get("/withdraw?lang=es").get_data(as_text=True)
    assert "en menos de una hora" in spanish


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_on_postgresql_a_withdrawal_finds_its_pledge_among_hundreds_of_partitions(
        client: FlaskClient, admin: OrganizerHandle, app: Flask) -> None:
    """The receipt names no campaign: the lookup probes the live campaigns' partitions a group
    at a time (so it never locks them all at once) and finds a pledge in any group."""
    from server.store import pledges as store
    from server.store.partitions import create_partition

    template = make_campaign(admin, action_in=40, closes_in=39, delete_in=60)
    with database.connection_context():
        row = database.execute_sql("SELECT * FROM campaign WHERE id = %s", (template,)).fetchone()
        columns = [c.name for c in database.get_columns("campaign")]
        others = [f"bulk{i:04d}" for i in range(2 * store._PROBE + 10)]
        for cid in others:
            values = dict(zip(columns, row, strict=True), id=cid)
            with database.atomic():
                database.execute_sql(
                    f"INSERT INTO campaign ({', '.join(columns)}) VALUES "
                    f"({', '.join(['%s'] * len(columns))})", tuple(values.values()))
                create_partition(cid)
    ids = [pledge_in(client, cid) for cid in (template, others[-1], others[store._PROBE + 3])]
    for pledge_id, token in ids:
        reply = client.post(f"/api/v1/pledges/{pledge_id}/withdraw",
                            json={"withdraw_token": b64u_encode(token)})
        assert reply.status_code == 204
        assert rows_mentioning(pledge_id) == []
    again = client.post(f"/api/v1/pledges/{ids[0][0]}/withdraw",
                        json={"withdraw_token": b64u_encode(ids[0][1])})
    assert again.status_code == 404


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_on_postgresql_a_rewrite_that_had_to_keep_a_withdrawn_row_stays_due(
        client: FlaskClient, admin: OrganizerHandle, app: Flask, db_url: str) -> None:
    """VACUUM FULL copies a deleted row that an older snapshot could still see (any transaction
    open in the database, on any table). The million-pledge bench caught 10 of 100 withdrawn
    pledges kept so, their marks cleared: now the mark stays until a rewrite drops the row."""
    from playhouse.db_url import connect

    campaign_id = make_campaign(admin, action_in=40, closes_in=39, delete_in=60)
    pledge_in(client, campaign_id)
    gone_id, token = pledge_in(client, campaign_id)

    def marks() -> int:
        with database.connection_context():
            return int(ServerState.select().where(ServerState.name.startswith("scrub:")).count())

    reader = connect(db_url)
    reader.connect()
    reader.execute_sql("BEGIN ISOLATION LEVEL REPEATABLE READ")
    reader.execute_sql("SELECT count(*) FROM coalition")  # a snapshot older than the withdrawal
    try:
        reply = client.post(f"/api/v1/pledges/{gone_id}/withdraw",
                            json={"withdraw_token": b64u_encode(token)})
        assert reply.status_code == 204
        with app.app_context():
            purge_expired(app.extensions["pledgebox"].clock)
        assert marks() == 1  # the rewrite kept the row: still due
    finally:
        reader.execute_sql("ROLLBACK")
        reader.close()
    with app.app_context():
        result = purge_expired(app.extensions["pledgebox"].clock)
    assert result.compacted
    assert marks() == 0

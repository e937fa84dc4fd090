"""Beyond one machine: two `pledgebox-server run` processes, several workers each, one PostgreSQL
and one Redis. Pledges sent to both are each stored once and open for the organizers through
either server; the automatic purge runs once per interval for the whole deployment, not once per
process.
"""

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import migrations
from organizer import roster
from server.db import bind, database
from server.store.partitions import every_pledge
from tests.conftest import move_clock, require_part, server_env
from tests.support.factories import PledgeReceipt, make_campaign, make_coalition, pledge
from tests.support.live import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

PURGE_INTERVAL = 2
WORKERS = 2


def opened_through(org, server: LiveServer, campaign_id: str) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """The organizer tool's roster, read through `server`."""
    org.session.data["server"] = server.base_url  # in memory only: same coalition, other door
    tally = roster.Tally()
    rows = {p["pledge_id"]: p for p in roster.pledges(org.session, campaign_id, tally)}
    assert tally.unopened == 0
    assert tally.missing_key == 0
    return rows


def purge_runs(servers: list[LiveServer]) -> int:
    """Purge runs started, summed over every worker of every server (retention logs each run)."""
    return sum(len(re.findall(r"purge run started", s.log_path.read_text(errors="replace")))
               for s in servers)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_two_servers_share_postgres_and_redis(db_url: str, instance: Path, clock_file: Path,
                                              tmp_path: Path) -> None:
    redis_url = require_part("PLEDGEBOX_TEST_REDIS_URL", "Redis")
    bind(db_url)
    with database.connection_context():
        migrations.upgrade(database.obj)
    env = server_env(instance, db_url, clock_file,
                     PLEDGEBOX_RATELIMIT_STORAGE=redis_url,
                     PLEDGEBOX_RATELIMIT_KEY_FILE=str(tmp_path / "ratelimit.key"),
                     PLEDGEBOX_PURGE_INTERVAL_SECONDS=str(PURGE_INTERVAL))
    servers = [LiveServer(env, workers=WORKERS), LiveServer(env, workers=WORKERS)]
    for s in servers:
        s.start()
    try:
        a, b = servers
        org = make_coalition(tmp_path, a.base_url)
        keep = make_campaign(org, title="Keeps", delete_in=20)
        doomed = make_campaign(org, title="Expires first", action_in=2, closes_in=1, delete_in=3)

        # 40 pledges at once, alternating between the two servers (under the per-network limit
        # they share through Redis).
        jobs = [(servers[i % 2], keep if i % 4 else doomed) for i in range(40)]
        with ThreadPoolExecutor(8) as pool:
            receipts: list[PledgeReceipt] = list(pool.map(
                lambda job: pledge(job[0].base_url, job[1],
                                   {"school": "covina-high", "message": f"from {job[0].port}"}),
                jobs))
        sent = {c: {r.pledge_id for r, (_, cid) in zip(receipts, jobs, strict=True) if cid == c}
                for c in (keep, doomed)}
        assert len(sent[keep]) + len(sent[doomed]) == 40  # 40 distinct ids

        with database.connection_context():
            rows = database.execute_sql(
                "SELECT campaign_id, count(*), count(DISTINCT id) "
                f"FROM {every_pledge()} GROUP BY campaign_id").fetchall()
        assert {r[0]: (r[1], r[2]) for r in rows} == {
            keep: (len(sent[keep]), len(sent[keep])), doomed: (len(sent[doomed]), len(sent[doomed]))}
        for server in servers:
            rows_seen = opened_through(org, server, keep)
            assert rows_seen.keys() == sent[keep]
            ports = {r["answers"]["message"] for r in rows_seen.values()}
            assert ports == {f"from {a.port}", f"from {b.port}"}

        # The automatic purge: 4 worker processes, one purge per interval between them.
        runs_before, started = purge_runs(servers), time.monotonic()
        # `doomed` is now past delete_after, `keep` is not. (The servers' clock is now ahead of
        # the organizer's, so signed requests would be refused as expired: read the DB below.)
        move_clock(clock_file, 4)
        window = 5 * PURGE_INTERVAL
        time.sleep(window)
        runs = purge_runs(servers) - runs_before
        elapsed = time.monotonic() - started
        assert runs >= 2, "the background purge did not run"
        # Once per interval (plus one for the window's edges), far below once per process.
        assert runs <= elapsed / PURGE_INTERVAL + 2, f"{runs} purge runs in {elapsed:.1f} s"
        with database.connection_context():
            left = dict(database.execute_sql(
                f"SELECT campaign_id, count(*) FROM {every_pledge()} GROUP BY campaign_id").fetchall())
            leases = database.execute_sql(
                "SELECT count(*) FROM server_state WHERE name = 'purge-lease'").fetchone()[0]
        assert left == {keep: len(sent[keep])}  # the expired campaign's pledges are gone
        assert leases == 1
    finally:
        for s in servers:
            s.stop()
        if not database.is_closed():
            database.close()

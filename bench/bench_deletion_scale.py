"""Deletion at scale on PostgreSQL or SQLite: a campaign purged and withdrawals scrubbed among N live pledges.

Issue 20's goal, run for the design before migration 0007 (one `pledge` table, VACUUM FULL of it
after any deletion) and for the current one (a partition per campaign) in the same invocation,
on the same data: N live pledges over C campaigns (realistic rows: random 22-character ids,
1072-byte random ciphertexts, 32-byte hashes), written straight into the database with COPY
(HTTP would take hours here), one more campaign of E pledges that expires tomorrow, and W
planted pledges whose withdraw tokens we know. A real gunicorn server (`pledgebox-server run`,
background purge every 5 s) takes pledges over HTTP at a steady rate into random live campaigns.
After a baseline the bench withdraws the W pledges over HTTP, moves the server's clock one day
on, and waits for the purge run that deletes the campaign and scrubs. The old design runs from a
`git worktree` of the commit before 0007, so each side runs its own code.

Prints, per design: the intake's p99 during the work against its baseline p99 (goal <= 1.5x), the
worst single request (goal <= 500 ms), answers other than 201, the gunicorn workers' peak memory
(goal <= 200 MiB), the purge run's duration from the server's log, and bytes written by all of
PostgreSQL's processes during the work less what the intake wrote at its baseline rate, against
the size of the campaigns touched (goal <= 2x). Then it reads this database's files and WAL for
the withdrawn and purged pledges' ciphertexts (the byte-level check at this size).

SQLite (`--backend sqlite`): the same, with the rows written straight into the file (sqlite3)
as each design's daily scrub leaves them: the new design's tables in a random order of ids (its
rebuild refills from a shuffled copy, so leaves are about two-thirds full, as pledges arriving in
random id order also leave them), the old design's one table in id order (its VACUUM packs every
leaf full), from a worktree of the commit before migration 0009. "Written" is the bytes the
server's processes wrote (/proc/PID/io: WAL and database file) during the work, less what the
intake alone writes, measured over a quiet interval before the work and another after it (the
mean of the two rates); the intake's baseline p99 is taken over both intervals too. The daily
scrub hour is set so
that the work is the deletion's alone: the old design's whole-file VACUUM is owed once the clock
moves a day (it is how it scrubs a withdrawal or a purge), the new design's daily layout of the
tables that took pledges is not (it is measured after, as its own phase: `pledgebox-server purge`
while the intake goes on).

    python3 bench/bench_deletion_scale.py [--backend postgres|sqlite] [--pledges 1000000]
        [--campaigns 1000] [--expiring 10000] [--withdrawals 100] [--rate 50]
        [--baseline-seconds 20] [--only new|old] [--withdraw-rate 0]
"""

import argparse
import hashlib
import io
import json
import os
import platform
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psycopg2  # noqa: E402
from bench_purge import Intake, p99, purge_window, stop  # noqa: E402
from bench_scrub import peak_rss_mb  # noqa: E402

from crypto.encoding import b64u_encode  # noqa: E402
from crypto.pledge_ids import new_pledge_id  # noqa: E402
from server.store.partitions import (  # noqa: E402
    partition_name,
    sqlite_table_sql,
)
from server.zones import end_of_day  # noqa: E402
from tests.support.live import free_port  # noqa: E402

COALITION, EXPIRING = "bench-coalition", "bench-expiring"
ADMIN_URL = os.environ.get("PLEDGEBOX_TEST_POSTGRES_URL", "")


class SpreadIntake(Intake):
    """bench_purge's steady intake, each request to a random live campaign."""

    def __init__(self, base_url: str, rate: float, campaigns: list[str]) -> None:
        super().__init__(base_url, rate)
        self.base_url, self.campaigns = base_url, campaigns

    def _run(self) -> None:
        next_at = time.monotonic() + secrets.randbelow(1000) / 1000 * self.period
        while not self.stop.is_set():
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += self.period
            url = f"{self.base_url}/api/v1/campaigns/{secrets.choice(self.campaigns)}/pledges"
            body = json.dumps({"key_version": 1,
                               "ciphertext": b64u_encode(secrets.token_bytes(1072)),
                               "withdraw_token_hash": b64u_encode(secrets.token_bytes(32))}).encode()
            req = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0
            self.samples.append((t0, time.monotonic() - t0, status))


def _pg(url: str) -> Any:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def fresh_database() -> str:
    name = "pbbench_" + secrets.token_hex(4)
    admin = _pg(ADMIN_URL)
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    admin = _pg(ADMIN_URL)
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    admin.close()


def seed(url: str, tree: Path, n: int, campaigns: int, expiring: int, planted: int
         ) -> tuple[list[str], list[tuple[str, bytes, bytes]], bytes]:
    """Migrate with `tree`'s code, then campaigns and pledges by COPY; returns the live campaign
    ids, the planted (id, token, ciphertext) and one expiring pledge's ciphertext."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PLEDGEBOX_DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "server.cli", "db", "upgrade"], env=env, check=True,
                   capture_output=True, cwd=tree)
    today = datetime.now(UTC).date()
    live = [f"bench-live-{i:04d}" for i in range(campaigns)]
    conn = _pg(url)
    cur = conn.cursor()
    cur.execute("INSERT INTO coalition VALUES (%s, 'Bench', %s, %s)", (COALITION, bytes(32), today))
    cur.execute("INSERT INTO encryption_key VALUES (%s, 1, %s, %s, %s)",
                (COALITION, secrets.token_bytes(32), (today + timedelta(days=30)).isoformat(),
                 secrets.token_bytes(64)))
    cur.execute("SELECT relkind FROM pg_class WHERE relname = 'pledge'")
    partitioned = cur.fetchone()[0] == "p"  # migration 0007 ran: a partition per campaign
    cur.execute("SELECT value FROM server_state WHERE name = 'pledge-id-tag-key'")
    found = cur.fetchone()  # migration 0008 ran: ids carry their campaign's tag
    new_pid = _tagged_ids(bytes.fromhex(found[0])) if found else _random_id
    for cid, delete_after in [(c, today + timedelta(days=60)) for c in live] + [(EXPIRING, today)]:
        ends = end_of_day(delete_after, "UTC")
        cur.execute("INSERT INTO campaign (id, coalition_id, descriptor, descriptor_signature, "
                    "closes_at, delete_after, time_zone, open_until, live_until) "
                    "VALUES (%s, %s, %s, %s, %s, %s, 'UTC', %s, %s)",
                    (cid, COALITION, b"{}", bytes(64), delete_after, delete_after, ends, ends))
        if found:  # as the server makes campaigns now: their pledge ids carry tags
            cur.execute("UPDATE campaign SET tagged_ids = TRUE WHERE id = %s", (cid,))
        if partitioned:
            cur.execute(f'CREATE TABLE "{partition_name(cid)}" PARTITION OF pledge '
                        "FOR VALUES IN (%s)", (cid,))
    planted_rows = [(new_pid(live[i % len(live)]), live[i % len(live)], secrets.token_bytes(32),
                     secrets.token_bytes(1072)) for i in range(planted)]
    expiring_ct = secrets.token_bytes(1072)
    _copy(cur, _rows(planted_rows, expiring_ct, live, n, expiring, new_pid), today)
    cur.execute("VACUUM ANALYZE")
    cur.execute("CHECKPOINT")
    conn.close()
    return live, [(p, t, c) for p, _, t, c in planted_rows], expiring_ct


def _random_id(_campaign_id: str) -> str:
    return secrets.token_urlsafe(16)


def _tagged_ids(key: bytes) -> Any:
    return lambda campaign_id: new_pledge_id(key, campaign_id)


def _rows(planted: list[tuple[str, str, bytes, bytes]], expiring_ct: bytes, live: list[str],
          n: int, expiring: int, new_pid: Any) -> Any:
    """(id, campaign, ciphertext, token hash): the planted, the expiring campaign's, the rest."""
    for pid, cid, token, ct in planted:
        yield pid, cid, ct, hashlib.blake2b(token, digest_size=32).digest()
    yield new_pid(EXPIRING), EXPIRING, expiring_ct, secrets.token_bytes(32)
    for _ in range(expiring - 1):
        yield new_pid(EXPIRING), EXPIRING, secrets.token_bytes(1072), secrets.token_bytes(32)
    for i in range(n - len(planted)):
        cid = live[i % len(live)]
        yield new_pid(cid), cid, secrets.token_bytes(1072), secrets.token_bytes(32)


def _copy(cur: Any, rows: Any, today: date) -> None:
    """COPY in batches of 20,000 rows (text format, bytea as hex)."""
    sql = ("COPY pledge (id, campaign_id, key_version, ciphertext, withdraw_token_hash, "
           "received_day) FROM STDIN")
    batch: list[str] = []
    for pid, cid, ct, hashed in rows:
        batch.append(f"{pid}\t{cid}\t1\t\\\\x{ct.hex()}\t\\\\x{hashed.hex()}\t{today}\n")
        if len(batch) == 20_000:
            cur.copy_expert(sql, io.StringIO("".join(batch)))
            batch = []
    if batch:
        cur.copy_expert(sql, io.StringIO("".join(batch)))


def postgres_written() -> int:
    """Bytes written to storage so far by every PostgreSQL process (/proc/PID/io, as root)."""
    total = 0
    for pid in subprocess.run(["pgrep", "-f", "postgres"], capture_output=True, text=True,
                              check=False).stdout.split():
        try:
            io_text = Path(f"/proc/{pid}/io").read_text()
        except OSError:
            continue
        found = re.search(r"^write_bytes:\s+(\d+)", io_text, re.M)
        total += int(found.group(1)) if found else 0
    return total


def relation_files(url: str) -> dict[int, tuple[int, int]]:
    """Every relation of this database: oid -> (file node, size in bytes)."""
    conn = _pg(url)
    try:
        cur = conn.cursor()
        cur.execute("SELECT oid, relfilenode, pg_relation_size(oid) FROM pg_class "
                    "WHERE relfilenode <> 0")
        return {int(oid): (int(node), int(size)) for oid, node, size in cur.fetchall()}
    finally:
        conn.close()


def rewritten_bytes(before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]]) -> int:
    """What rewrites wrote: the size of every relation that now lives in a new file (VACUUM FULL
    writes it whole; the WAL logs about as much again with wal_level replica). Dropped ones: 0."""
    return sum(size for oid, (node, size) in after.items()
               if oid in before and before[oid][0] != node)


def serve(url: str, tree: Path, folder: Path, log: Path, extra: dict[str, str] | None = None
          ) -> tuple[subprocess.Popen[bytes], str]:
    clock = folder / "clock-offset-days"
    clock.write_text("0")
    env = {**os.environ, "PYTHONPATH": str(tree), "PLEDGEBOX_DATABASE_URL": url,
           "PLEDGEBOX_INSTANCE_PATH": str(folder), "PLEDGEBOX_CLOCK_OFFSET_FILE": str(clock),
           "PLEDGEBOX_RATELIMITS": "0", "PLEDGEBOX_PURGE_INTERVAL_SECONDS": "5", **(extra or {})}
    port = free_port()
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "server.cli", "run", "--port", str(port),
                                   "--workers", "2"], env=env, stdout=out, stderr=out,
                                  start_new_session=True, cwd=tree)
    base_url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base_url + "/", timeout=1).read()
            break
        except OSError:
            time.sleep(0.2)
    return server, base_url


def withdraw(base_url: str, pledge_id: str, token: bytes) -> tuple[int, float]:
    """(status, seconds) of one withdrawal over HTTP."""
    body = json.dumps({"withdraw_token": b64u_encode(token)}).encode()
    req = urllib.request.Request(f"{base_url}/api/v1/pledges/{pledge_id}/withdraw", data=body,
                                 method="POST", headers={"Content-Type": "application/json"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return int(resp.status), time.monotonic() - started
    except urllib.error.HTTPError as exc:
        return int(exc.code), time.monotonic() - started


def database_size(url: str) -> int:
    conn = _pg(url)
    try:
        cur = conn.cursor()
        cur.execute("SELECT pg_database_size(current_database())")
        return int(cur.fetchone()[0])
    finally:
        conn.close()


def database_files(url: str) -> list[Path]:
    conn = _pg(url)
    cur = conn.cursor()
    cur.execute("CHECKPOINT")
    cur.execute("SELECT current_setting('data_directory'), pg_relation_filepath('campaign')")
    data_dir, rel = cur.fetchone()
    conn.close()
    folder = (Path(data_dir) / rel).parent
    return sorted(p for p in folder.iterdir() if p.is_file())


def found_in(paths: list[Path], needles: list[bytes]) -> int:
    hits = 0
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        hits += sum(1 for n in needles if n in data)
    return hits


def withdraw_and_wait(label: str, base_url: str, planted: list[tuple[str, bytes, bytes]],
                      folder: Path, log: Path, work_limit: float, gone: Callable[[], bool],
                      rate: float = 0.0) -> tuple[list[int], list[float], float, float]:
    """The work, on either backend: students withdraw independently, at most ten at a time, while
    the clock moves the expiring campaign out; then wait for the purge run that deletes and
    scrubs. `rate` > 0: a withdrawal starts every 1/rate s; 0: all at once, ten in flight (a
    burst that measures the machine's capacity as much as the deletion's cost). Returns the
    withdrawals' statuses, their sorted durations, when they were all answered and when the
    work ended."""
    with ThreadPoolExecutor(10) as pool:
        (folder / "clock-offset-days").write_text("1")
        pending = []
        started = time.monotonic()
        for i, (pid, token, _) in enumerate(planted):
            if rate > 0:
                time.sleep(max(0.0, started + i / rate - time.monotonic()))
            pending.append(pool.submit(withdraw, base_url, pid, token))
        answers = [f.result() for f in pending]
    withdrawn_at = time.monotonic()
    deadline = withdrawn_at + work_limit
    finished = False
    while time.monotonic() < deadline and not finished:
        finished = purge_window(log) is not None and gone()
        time.sleep(1)
    if not finished:
        print(f"[{label}] the purge and scrub had not finished {work_limit:.0f} s after "
              "the withdrawals: stopped there", flush=True)
    time.sleep(2)
    return [a[0] for a in answers], sorted(a[1] for a in answers), withdrawn_at, time.monotonic()


def run(label: str, tree: Path, args: argparse.Namespace) -> None:
    url = fresh_database()
    folder = Path(tempfile.mkdtemp(prefix=f"pledgebox-bench-scale-{label}-"))
    log = folder / "server.log"
    server = None
    try:
        started = time.monotonic()
        live, planted, expiring_ct = seed(url, tree, args.pledges, args.campaigns, args.expiring,
                                          args.withdrawals)
        db_size = database_size(url)
        print(f"[{label}] seeded {args.pledges + args.expiring} pledges over {args.campaigns + 1} "
              f"campaigns by COPY in {time.monotonic() - started:.0f} s; database "
              f"{db_size / 2**30:.2f} GiB")
        server, base_url = serve(url, tree, folder, log)
        intake = SpreadIntake(base_url, args.rate, live)
        intake.start()
        time.sleep(args.baseline_seconds)
        files_before = relation_files(url)
        written_before, base_end = postgres_written(), time.monotonic()
        work_start = base_end
        statuses, took_each, withdrawn_at, work_end = withdraw_and_wait(
            label, base_url, planted, folder, log, args.work_limit, lambda: _gone(url),
            args.withdraw_rate)
        written = postgres_written() - written_before
        rewritten = rewritten_bytes(files_before, relation_files(url))
        intake.finish()
        memory = peak_rss_mb(server.pid)
        base = [lat for t, lat, _ in intake.samples if t < base_end]
        during = [lat for t, lat, _ in intake.samples if work_start <= t <= work_end]
        failed = sum(1 for _, _, s in intake.samples if s != 201)
        intake_share = args.rate * 3 * 1024 * (work_end - work_start)  # ~3 KiB per pledge
        # Campaigns touched: the purged one and those withdrawn from (~1.25 KiB a stored pledge).
        touched = (args.expiring + min(args.withdrawals, args.campaigns)
                   * (args.pledges / args.campaigns)) * 1.25 * 1024
        window = purge_window(log)
        took = (window[1] - window[0]).total_seconds() if window else float("nan")
        print(f"[{label}] withdrawals: {statuses.count(204)} of {len(statuses)} answered 204; "
              f"median {took_each[len(took_each) // 2] * 1000:.0f} ms, "
              f"slowest {took_each[-1] * 1000:.0f} ms")
        print(f"[{label}] intake {args.rate:.0f}/s: {len(intake.samples)} requests, {failed} not 201")
        print(f"[{label}] intake p99 ms baseline / during the work: {p99(base) * 1000:.1f} / "
              f"{p99(during) * 1000:.1f}  ratio {p99(during) / p99(base):.2f}x (goal <= 1.5x)")
        print(f"[{label}] worst request during the work: {max(during) * 1000:.0f} ms (goal <= 500)")
        _print_split(label, intake.samples, work_start, withdrawn_at, work_end)
        print(f"[{label}] longest purge run (server log): {took:.1f} s")
        print(f"[{label}] workers' peak memory: {memory:.0f} MiB (goal <= 200)")
        print(f"[{label}] relations rewritten by the scrub: {rewritten / 2**20:.0f} MiB (and about "
              f"as much WAL); campaigns touched hold ~{touched / 2**20:.0f} MiB: "
              f"{rewritten / touched:.2f}x (goal <= 2x with the WAL: <= 1x here)")
        print(f"[{label}] every PostgreSQL process on the machine wrote {written / 2**20:.0f} MiB "
              f"during the work (other databases' too; ~{intake_share / 2**20:.0f} MiB the intake's)")
        deleted = [ct[100:164] for _, _, ct in planted] + [expiring_ct[100:164]]
        print(f"[{label}] deleted ciphertexts found in this database's files: "
              f"{found_in(database_files(url), deleted)} of {len(deleted)}")
    finally:
        stop(server)
        drop_database(url)


def _print_split(label: str, samples: list[Any], work_start: float, withdrawn_at: float,
                 work_end: float) -> None:
    """The work's intake latency in two parts: while the withdrawals were answered, and after
    them, until the purge and scrub were done."""
    burst = [lat for t, lat, _ in samples if work_start <= t <= withdrawn_at]
    after = [lat for t, lat, _ in samples if withdrawn_at < t <= work_end]
    print(f"[{label}] of which: while the withdrawals were answered ({withdrawn_at - work_start:.0f} s) "
          f"p99 {_p99(burst) * 1000:.1f} ms, worst {max(burst, default=0) * 1000:.0f} ms; after "
          f"them, until the purge and scrub were done ({work_end - withdrawn_at:.0f} s) p99 "
          f"{_p99(after) * 1000:.1f} ms, worst {max(after, default=0) * 1000:.0f} ms")


def _gone(url: str) -> bool:
    conn = _pg(url)
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM campaign WHERE id = %s", (EXPIRING,))
        campaign_left = cur.fetchone()[0]
        cur.execute("SELECT value FROM server_state WHERE name = 'scrub-due'")
        due = cur.fetchone()
        cur.execute("SELECT count(*) FROM server_state WHERE name LIKE 'scrub:%%'")
        marks = cur.fetchone()[0]
        return campaign_left == 0 and (due is None or due[0] == "") and marks == 0
    finally:
        conn.close()


# --- SQLite ---------------------------------------------------------------------------------


def seed_sqlite(url: str, tree: Path, n: int, campaigns: int, expiring: int, planted: int
                ) -> tuple[list[str], list[tuple[str, bytes, bytes]], bytes]:
    """Migrate with `tree`'s code, then campaigns and pledges straight into the file: each
    campaign's table in random order (new design) or the one `pledge` table in id order (old),
    as each design's daily scrub leaves them. Marks the layout done (no scrub owed at the
    start, on either design)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PLEDGEBOX_DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "server.cli", "db", "upgrade"], env=env, check=True,
                   capture_output=True, cwd=tree)
    today = datetime.now(UTC).date()
    live = [f"bench-live-{i:04d}" for i in range(campaigns)]
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")  # seeding only; the server runs with FULL
    flat = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'pledge'").fetchone() is not None
    found = conn.execute("SELECT value FROM server_state WHERE name = 'pledge-id-tag-key'"
                         ).fetchone()  # migration 0008 ran: ids carry their campaign's tag
    new_pid = _tagged_ids(bytes.fromhex(found[0])) if found else _random_id
    conn.execute("BEGIN")
    conn.execute("INSERT INTO coalition VALUES (?, 'Bench', ?, ?)",
                 (COALITION, bytes(32), today.isoformat()))
    conn.execute("INSERT INTO encryption_key VALUES (?, 1, ?, ?, ?)",
                 (COALITION, secrets.token_bytes(32), (today + timedelta(days=30)).isoformat(),
                  secrets.token_bytes(64)))
    for cid, delete_after in [(c, today + timedelta(days=60)) for c in live] + [(EXPIRING, today)]:
        ends = end_of_day(delete_after, "UTC")
        conn.execute("INSERT INTO campaign (id, coalition_id, descriptor, descriptor_signature, "
                     "closes_at, delete_after, time_zone, open_until, live_until) "
                     "VALUES (?, ?, ?, ?, ?, ?, 'UTC', ?, ?)",
                     (cid, COALITION, b"{}", bytes(64), delete_after.isoformat(),
                      delete_after.isoformat(), ends, ends))
        if found:  # as the server makes campaigns now: their pledge ids carry tags
            conn.execute("UPDATE campaign SET tagged_ids = 1 WHERE id = ?", (cid,))
        if not flat:
            conn.execute(sqlite_table_sql(partition_name(cid)))
    conn.execute("COMMIT")
    planted_rows = [(new_pid(live[i % len(live)]), live[i % len(live)], secrets.token_bytes(32),
                     secrets.token_bytes(1072)) for i in range(planted)]
    expiring_ct = secrets.token_bytes(1072)
    # Ids first (small), grouped per table; ciphertexts made as the rows are written.
    keys: dict[str, list[tuple[str, bytes | None, bytes | None]]] = {}
    for pid, cid, token, ct in planted_rows:
        keys.setdefault(cid, []).append((pid, ct, hashlib.blake2b(token, digest_size=32).digest()))
    keys.setdefault(EXPIRING, []).append((new_pid(EXPIRING), expiring_ct, None))
    for _ in range(expiring - 1):
        keys[EXPIRING].append((new_pid(EXPIRING), None, None))
    for i in range(n - len(planted_rows)):
        cid = live[i % len(live)]
        keys.setdefault(cid, []).append((new_pid(cid), None, None))
    if flat:  # the old design's daily VACUUM copies the table in key order: leaves packed full
        groups = [("pledge", sorted((pid, cid, ct, th) for cid, rows in keys.items()
                                    for pid, ct, th in rows))]
    else:  # the new design's rebuild refills in random order: leaves about two-thirds full
        groups = [(partition_name(cid), shuffled([(pid, cid, ct, th) for pid, ct, th in rows]))
                  for cid, rows in sorted(keys.items())]
    day = today.isoformat()
    for table, rows in groups:
        for start in range(0, len(rows), 20_000):
            conn.execute("BEGIN")
            conn.executemany(
                f'INSERT INTO "{table}" VALUES (?, ?, 1, ?, ?, ?)',
                ((pid, cid, ct or secrets.token_bytes(1072), th or secrets.token_bytes(32), day)
                 for pid, cid, ct, th in rows[start:start + 20_000]))
            conn.execute("COMMIT")
    # Laid out as scrubbed: a tree from before migration 0010 marked arrivals by trigger here.
    conn.execute("DELETE FROM server_state WHERE name LIKE 'arrived:%'")
    total = n + expiring
    conn.execute("INSERT OR REPLACE INTO server_state VALUES ('scrubbed-on', ?, 0)", (day,))
    conn.execute("INSERT OR REPLACE INTO server_state VALUES ('pledges-at-scrub', ?, 0)",
                 (str(total),))  # the old design: the file was laid out at this count
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return live, [(p, t, c) for p, _, t, c in planted_rows], expiring_ct


def shuffled(rows: list[Any]) -> list[Any]:
    secrets.SystemRandom().shuffle(rows)
    return rows


def sqlite_pledge_bytes(path: Path, campaigns: list[str]) -> tuple[int, int]:
    """(bytes of every pledge's storage, bytes of these campaigns' share of it) by dbstat: the
    tables' own pages on the new design, the count's share of the one table on the old."""
    conn = sqlite3.connect(path)
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'pledge'").fetchone():
            total = conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name IN "
                                 "('pledge', 'pledge_campaign_id')").fetchone()[0]
            marks = ",".join("?" * len(campaigns))
            share = conn.execute(f"SELECT count(*) FROM pledge WHERE campaign_id IN ({marks})",
                                 campaigns).fetchone()[0]
            count = conn.execute("SELECT count(*) FROM pledge").fetchone()[0]
            return int(total), int(total * share / max(count, 1))
        sizes = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat WHERE name LIKE "
                                  "'pledge_c%' GROUP BY name").fetchall())
        return (int(sum(sizes.values())),
                int(sum(sizes.get(partition_name(c), 0) for c in campaigns)))
    finally:
        conn.close()


def written_by(master: int) -> int:
    """Bytes written to storage so far by a gunicorn master and its workers (/proc/PID/io)."""
    pids = [str(master), *subprocess.run(["pgrep", "-P", str(master)], capture_output=True,
                                         text=True, check=False).stdout.split()]
    total = 0
    for pid in pids:
        try:
            found = re.search(r"^write_bytes:\s+(\d+)", Path(f"/proc/{pid}/io").read_text(), re.M)
        except OSError:
            continue
        total += int(found.group(1)) if found else 0
    return total


def purge_runs(log: Path) -> list[tuple[float, float]]:
    """Every purge run in the server's log, as (start, end) on this process's monotonic clock."""
    offset = time.time() - time.monotonic()
    found = re.findall(r"^(\S+ \S+) INFO pledgebox\.retention: purge run finished in ([\d.]+) s",
                       log.read_text(), re.MULTILINE)
    ends = [(datetime.strptime(t, "%Y-%m-%d %H:%M:%S,%f").timestamp() - offset, float(took))
            for t, took in found]
    return [(end - took, end) for end, took in ends]


def _p99(latencies: list[float]) -> float:
    return p99(latencies) if len(latencies) >= 2 else float("nan")


def _sqlite_gone(path: Path) -> bool:
    conn = sqlite3.connect(path, timeout=30)
    try:
        left = conn.execute("SELECT count(*) FROM campaign WHERE id = ?", (EXPIRING,)).fetchone()[0]
        due = conn.execute("SELECT value FROM server_state WHERE name = 'scrub-due'").fetchone()
        marks = conn.execute("SELECT count(*) FROM server_state WHERE name LIKE 'scrub:%'"
                             ).fetchone()[0]
        return left == 0 and (due is None or due[0] == "") and marks == 0
    finally:
        conn.close()


def run_sqlite(label: str, tree: Path, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix=f"pledgebox-bench-scale-sqlite-{label}-"))
    path = folder / "pledgebox.sqlite3"
    url = f"sqlite:///{path}"
    log = folder / "server.log"
    server = None
    try:
        started = time.monotonic()
        live, planted, expiring_ct = seed_sqlite(url, tree, args.pledges, args.campaigns,
                                                 args.expiring, args.withdrawals)
        withdrawn_from = sorted({live[i % len(live)] for i in range(args.withdrawals)})
        total, touched = sqlite_pledge_bytes(path, [EXPIRING, *withdrawn_from])
        print(f"[{label}] seeded {args.pledges + args.expiring} pledges over {args.campaigns + 1} "
              f"campaigns in {time.monotonic() - started:.0f} s; file "
              f"{path.stat().st_size / 2**30:.2f} GiB, pledges' storage {total / 2**20:.0f} MiB",
              flush=True)
        # The old design scrubs by its daily VACUUM: owed once the clock moves a day (this hour).
        # The new one scrubs deletions at every run; its daily layout waits for hour 23.
        hour = datetime.now(UTC).hour if label == "old" else 23
        server, base_url = serve(url, tree, folder, log, {"PLEDGEBOX_SCRUB_HOUR_UTC": str(hour)})
        intake = SpreadIntake(base_url, args.rate, live)
        intake.start()
        time.sleep(min(2.0, args.baseline_seconds / 4))  # past the start's own writes
        intake_from, intake_at = written_by(server.pid), time.monotonic()
        time.sleep(args.baseline_seconds - min(2.0, args.baseline_seconds / 4))
        written_before, base_end = written_by(server.pid), time.monotonic()
        intake_rate = (written_before - intake_from) / (base_end - intake_at)  # bytes/s, measured
        work_start = base_end
        statuses, took_each, withdrawn_at, work_end = withdraw_and_wait(
            label, base_url, planted, folder, log, args.work_limit, lambda: _sqlite_gone(path),
            args.withdraw_rate)
        time.sleep(2.0)  # the run's last checkpoint, and the WAL flusher's, belong to the work
        written_after, settled = written_by(server.pid), time.monotonic()
        written = written_after - written_before
        time.sleep(max(2.0, args.baseline_seconds - 2.0))  # the intake alone again
        quiet_end = time.monotonic()
        after_rate = (written_by(server.pid) - written_after) / (quiet_end - settled)
        rates = f"{intake_rate / 2**10:.0f} KiB/s before, {after_rate / 2**10:.0f} after"
        intake_rate = (intake_rate + after_rate) / 2
        # The baseline: both quiet intervals, before the work and after it. One 20 s interval is
        # a thousand requests, whose p99 is its tenth slowest: one stall of the shared VM moved
        # it from 9 ms to 68 ms (bench/README.md, fifth pass).
        before = [lat for t, lat, _ in intake.samples if t < base_end]
        quiet_after = [lat for t, lat, _ in intake.samples if settled <= t <= quiet_end]
        base = before + quiet_after
        during = [lat for t, lat, _ in intake.samples if work_start <= t <= work_end]
        failed = sum(1 for _, _, s in intake.samples if s != 201)
        intake_share = intake_rate * (settled - work_start)  # at its mean quiet rate
        window = purge_window(log)
        took = (window[1] - window[0]).total_seconds() if window else float("nan")
        layout = ""
        if label == "new":  # the daily layout of the tables that took pledges, as its own phase
            env = {**os.environ, "PYTHONPATH": str(tree), "PLEDGEBOX_DATABASE_URL": url,
                   "PLEDGEBOX_INSTANCE_PATH": str(folder),
                   "PLEDGEBOX_CLOCK_OFFSET_FILE": str(folder / "clock-offset-days")}
            conn = sqlite3.connect(path, timeout=30)
            tables = conn.execute("SELECT count(*) FROM server_state WHERE name LIKE 'arrived:%'"
                                  ).fetchone()[0]
            conn.close()
            t0 = time.monotonic()
            try:
                subprocess.run([sys.executable, "-m", "server.cli", "purge"], env=env, cwd=tree,
                               capture_output=True, check=False, timeout=args.work_limit)
            except subprocess.TimeoutExpired:
                print(f"[{label}] the daily layout had not finished after {args.work_limit:.0f} s",
                      flush=True)
            t1 = time.monotonic()
            lay = [lat for t, lat, _ in intake.samples if t0 <= t <= t1]
            layout = (f"[{label}] daily layout (pledgebox-server purge): {tables} tables that took "
                      f"pledges rebuilt in {t1 - t0:.1f} s; intake p99 meanwhile "
                      f"{_p99(lay) * 1000:.1f} ms, worst {max(lay, default=0) * 1000:.0f} ms, "
                      f"{sum(1 for t, _, st in intake.samples if t0 <= t <= t1 and st != 201)} "
                      "not 201")
        intake.finish()
        if args.samples:  # every request's start, latency and status, and the phases' bounds
            args.samples.write_text(json.dumps({
                "samples": intake.samples, "purge_runs": purge_runs(log),
                "phases": {"baseline": [intake_at, base_end], "withdrawals": [work_start, withdrawn_at],
                           "purge": [withdrawn_at, work_end], "quiet_after": [settled, quiet_end]}}))
        memory = peak_rss_mb(server.pid)
        print(f"[{label}] withdrawals: {statuses.count(204)} of {len(statuses)} answered 204; "
              f"median {took_each[len(took_each) // 2] * 1000:.0f} ms, "
              f"slowest {took_each[-1] * 1000:.0f} ms")
        print(f"[{label}] intake {args.rate:.0f}/s: {len(intake.samples)} requests, {failed} not 201")
        print(f"[{label}] intake p99 ms quiet before / after the work: {_p99(before) * 1000:.1f} "
              f"/ {_p99(quiet_after) * 1000:.1f}")
        print(f"[{label}] intake p99 ms baseline (both) / during the work: {p99(base) * 1000:.1f} / "
              f"{p99(during) * 1000:.1f}  ratio {p99(during) / p99(base):.2f}x (goal <= 1.5x)")
        print(f"[{label}] worst request during the work: {max(during) * 1000:.0f} ms (goal <= 500)")
        _print_split(label, intake.samples, work_start, withdrawn_at, work_end)
        print(f"[{label}] longest purge run (server log): {took:.1f} s")
        print(f"[{label}] workers' peak memory: {memory:.0f} MiB (goal <= 200)")
        print(f"[{label}] written by the server's processes during the work: "
              f"{written / 2**20:.0f} MiB (WAL and file; ~{intake_share / 2**20:.0f} MiB the "
              f"intake's at its quiet rate, {rates}, over {settled - work_start:.0f} s); "
              f"campaigns touched hold {touched / 2**20:.0f} MiB: "
              f"{(written - intake_share) / touched:.2f}x (goal <= 2x)")
        deleted = [ct[100:164] for _, _, ct in planted] + [expiring_ct[100:164]]
        files = [p for p in folder.iterdir() if p.name.startswith("pledgebox.sqlite3")]
        print(f"[{label}] deleted ciphertexts found in the database file, WAL and -shm: "
              f"{found_in(files, deleted)} of {len(deleted)}")
        if layout:
            print(layout)
    finally:
        stop(server)
        shutil.rmtree(folder, ignore_errors=True)


def old_tree(folder: Path, migration: str = "0007_pledges_by_campaign") -> Path:
    """A worktree of the commit before `migration` (the design it replaced on that backend)."""
    added = subprocess.run(["git", "log", "--diff-filter=A", "--format=%H", "--",
                            f"migrations/{migration}.py"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()[-1]
    tree = folder / "old"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), f"{added}~1"], cwd=ROOT,
                   check=True, capture_output=True)
    return tree


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    ap.add_argument("--pledges", type=int, default=1_000_000)
    ap.add_argument("--campaigns", type=int, default=1000)
    ap.add_argument("--expiring", type=int, default=10_000)
    ap.add_argument("--withdrawals", type=int, default=100)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--withdraw-rate", type=float, default=0.0,
                    help="withdrawals started per second (default 0: all at once, ten in flight)")
    ap.add_argument("--baseline-seconds", type=float, default=20.0)
    ap.add_argument("--only", choices=["new", "old"])
    ap.add_argument("--samples", type=Path, help="SQLite: write every intake request and the "
                    "phases' bounds here (JSON), to see where the slow ones fall")
    ap.add_argument("--work-limit", type=float, default=600.0,
                    help="seconds to wait for the purge and scrub after the withdrawals")
    args = ap.parse_args()
    if args.backend == "sqlite":
        main_sqlite(args)
        return
    if not ADMIN_URL:
        sys.exit("set PLEDGEBOX_TEST_POSTGRES_URL to a PostgreSQL role that may create databases")
    print(f"machine: {platform.node()} {os.cpu_count()} cores, {platform.python_version()}, "
          f"{date.today()}")
    scratch = Path(tempfile.mkdtemp(prefix="pledgebox-bench-scale-"))
    if args.only != "old":
        run("new", ROOT, args)
    if args.only != "new":
        tree = old_tree(scratch)
        try:
            run("old", tree, args)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           check=False, capture_output=True)


def main_sqlite(args: argparse.Namespace) -> None:
    print(f"machine: {platform.node()} {os.cpu_count()} cores, {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}, {date.today()}, load {os.getloadavg()}")
    scratch = Path(tempfile.mkdtemp(prefix="pledgebox-bench-scale-"))
    if args.only != "old":
        run_sqlite("new", ROOT, args)
        print(f"load average after the new design: {os.getloadavg()}", flush=True)
    if args.only != "new":
        tree = old_tree(scratch, "0009_sqlite_pledges_by_campaign")
        try:
            run_sqlite("old", tree, args)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           check=False, capture_output=True)
        print(f"load average after the old design: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()

"""Purge benchmark: 1,000,000 expired pledges deleted by the server's own timer while pledges arrive.

A real gunicorn server (`pledgebox-server run`, SQLite, background purge on) serves a live campaign
that receives pledges over HTTP at a steady rate from a few client threads. One other campaign
holds N expired-tomorrow pledges, seeded fast with executemany (realistic rows: random 22-char
ids, 1072-byte ciphertexts, 32-byte hashes). The bench measures the intake's latency for a while
(baseline), then moves the server's clock one day on, so its timer purges the campaign, and keeps
measuring until the purge run ends. Prints the intake's p99 during the purge as a ratio of the
baseline p99 (goal <= 2x) and the purge's duration, taken from the server's own log lines.

    python3 bench/bench_purge.py [--pledges 1000000] [--rate 100] [--baseline-seconds 30]
"""

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crypto.encoding import b64u_encode  # noqa: E402
from server.zones import end_of_day  # noqa: E402
from tests.support.live import free_port  # noqa: E402
from tests.support.pledges import sqlite3_table_for  # noqa: E402

LIVE, EXPIRING, COALITION = "live-campaign-bench", "expiring-campaign-bench", "bench-coalition"


def migrate(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "server.cli", "db", "upgrade"], env=env, check=True,
                   capture_output=True)


def seed(db_path: Path, n: int, into: str = EXPIRING) -> float:
    """Two campaigns of one coalition, and n pledges in `into` (by default the one that expires
    tomorrow)."""
    started = time.monotonic()
    today = datetime.now(UTC).date()
    db = sqlite3.connect(db_path, isolation_level=None)
    for pragma in ("journal_mode=wal", "synchronous=OFF", "secure_delete=1", "foreign_keys=1"):
        db.execute(f"PRAGMA {pragma}")
    db.execute("BEGIN")
    db.execute("INSERT INTO coalition VALUES (?, ?, ?, ?)", (COALITION, "Bench", bytes(32), today))
    db.execute("INSERT INTO encryption_key VALUES (?, ?, ?, ?, ?)",
               (COALITION, 1, secrets.token_bytes(32), (today + timedelta(days=30)).isoformat(),
                secrets.token_bytes(64)))
    for cid, delete_after in ((LIVE, today + timedelta(days=60)), (EXPIRING, today)):
        ends = end_of_day(delete_after, "UTC")
        db.execute("INSERT INTO campaign (id, coalition_id, descriptor, descriptor_signature, "
                   "closes_at, delete_after, time_zone, open_until, live_until) "
                   "VALUES (?, ?, ?, ?, ?, ?, 'UTC', ?, ?)",
                   (cid, COALITION, b"{}", bytes(64), delete_after, delete_after, ends, ends))
        sqlite3_table_for(db, cid)  # SQLite since 0009: each campaign's own table
    db.execute("COMMIT")
    table = sqlite3_table_for(db, into)
    chunk = 50_000
    for start in range(0, n, chunk):
        rows = [(secrets.token_urlsafe(16), into, 1, secrets.token_bytes(1072),
                 secrets.token_bytes(32), today) for _ in range(min(chunk, n - start))]
        db.execute("BEGIN")
        db.executemany(f'INSERT INTO "{table}" (id, campaign_id, key_version, ciphertext, '
                       "withdraw_token_hash, received_day) VALUES (?, ?, ?, ?, ?, ?)", rows)
        db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return time.monotonic() - started


class Intake:
    """Pledges at a steady rate from a few threads; every latency kept with its start time."""

    def __init__(self, base_url: str, rate: float, threads: int = 8) -> None:
        self.url = f"{base_url}/api/v1/campaigns/{LIVE}/pledges"
        self.period = threads / rate
        self.samples: list[tuple[float, float, int]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        next_at = time.monotonic() + secrets.randbelow(1000) / 1000 * self.period
        while not self.stop.is_set():
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += self.period
            body = json.dumps({"key_version": 1, "ciphertext": b64u_encode(secrets.token_bytes(1072)),
                               "withdraw_token_hash": b64u_encode(secrets.token_bytes(32))}).encode()
            req = urllib.request.Request(self.url, data=body, method="POST",
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

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=70)


def p99(latencies: list[float]) -> float:
    """Inclusive: the default ("exclusive") extrapolates past the slowest request when there are
    under a hundred, and printed a p99 above the worst request for a one-second burst."""
    return statistics.quantiles(latencies, n=100, method="inclusive")[98]


def purge_window(log: Path) -> tuple[datetime, datetime] | None:
    """The longest purge run in the server's log: the one that deleted the expired campaign."""
    stamp = r"^(\S+ \S+) INFO pledgebox\.retention: purge run "
    starts = [datetime.strptime(t, "%Y-%m-%d %H:%M:%S,%f")
              for t in re.findall(stamp + "started", log.read_text(), re.MULTILINE)]
    ends = re.findall(stamp + r"finished in ([\d.]+) s", log.read_text(), re.MULTILINE)
    if not ends:
        return None
    when, took = max(((datetime.strptime(t, "%Y-%m-%d %H:%M:%S,%f"), float(s)) for t, s in ends),
                     key=lambda e: e[1])
    begun = max(s for s in starts if s <= when)
    return begun, when


def expired_left(db_path: Path) -> int:
    db = sqlite3.connect(db_path)
    try:
        table = sqlite3_table_for(db, EXPIRING, create=False)  # None: dropped with its campaign
        if table is None:
            return 0
        return int(db.execute(f'SELECT count(*) FROM "{table}" WHERE campaign_id = ?',
                              (EXPIRING,)).fetchone()[0])
    finally:
        db.close()


def bench_env(folder: Path, interval: int) -> dict[str, str]:
    """A server on `folder` (SQLite, rate limits off, purge every `interval` s, movable clock)."""
    clock = folder / "clock-offset-days"
    clock.write_text("0")
    return {**os.environ, "PLEDGEBOX_INSTANCE_PATH": str(folder),
            "PLEDGEBOX_DATABASE_URL": f"sqlite:///{folder / 'pledgebox.sqlite3'}",
            "PLEDGEBOX_CLOCK_OFFSET_FILE": str(clock), "PLEDGEBOX_RATELIMITS": "0",
            "PLEDGEBOX_PURGE_INTERVAL_SECONDS": str(interval)}


def serve(env: dict[str, str], workers: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`pledgebox-server run` in its own session, logging to `log`; returns once it answers."""
    port = free_port()
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "run", "--port", str(port),
             "--workers", str(workers)], env=env, stdout=out, stderr=out, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base_url + "/", timeout=1).read()
            break
        except OSError:
            time.sleep(0.2)
    return server, base_url


def stop(server: subprocess.Popen[bytes] | None) -> None:
    if server is not None and server.poll() is None:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pledges", type=int, default=1_000_000)
    ap.add_argument("--rate", type=float, default=100.0, help="intake pledges per second")
    ap.add_argument("--baseline-seconds", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--interval", type=int, default=5, help="PLEDGEBOX_PURGE_INTERVAL_SECONDS")
    ap.add_argument("--seed-cache", type=Path,
                    help="keep a copy of the seeded database here and reuse it on the next run")
    args = ap.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="pledgebox-bench-purge-"))
    env = bench_env(folder, args.interval)
    clock = folder / "clock-offset-days"
    log = folder / "server.log"
    server = None
    try:
        db_file = folder / "pledgebox.sqlite3"
        if args.seed_cache and args.seed_cache.exists():
            started = time.monotonic()
            shutil.copyfile(args.seed_cache, db_file)
            seeded = time.monotonic() - started
        else:
            migrate(env)
            seeded = seed(db_file, args.pledges)
            if args.seed_cache:
                shutil.copyfile(db_file, args.seed_cache)
        size = (folder / "pledgebox.sqlite3").stat().st_size / 2**30
        print(f"machine: {platform.node()} {os.cpu_count()} cores, {platform.python_version()}, "
              f"SQLite {sqlite3.sqlite_version}, {date.today()}")
        print(f"seeded {args.pledges} expired-tomorrow pledges in {seeded:.0f} s ({size:.1f} GiB)")
        server, base_url = serve(env, args.workers, log)
        intake = Intake(base_url, args.rate)
        intake.start()
        time.sleep(args.baseline_seconds)
        moved = time.monotonic()
        clock.write_text("1")  # tomorrow: the campaign is expired, the timer purges it
        while expired_left(folder / "pledgebox.sqlite3") or purge_window(log) is None:
            time.sleep(1)
        time.sleep(2)
        intake.finish()
        window = purge_window(log)
        assert window is not None
        wall_offset = time.time() - time.monotonic()
        start, end = (w.replace(tzinfo=None).timestamp() - wall_offset for w in window)
        base = [lat for t, lat, _ in intake.samples if t < moved]
        during = [lat for t, lat, _ in intake.samples if start <= t <= end]
        failed = sum(1 for _, _, s in intake.samples if s != 201)
        ratio = p99(during) / p99(base)
        print(f"intake: {args.rate:.0f} pledges/s from 8 threads, {args.workers} gunicorn workers; "
              f"{len(intake.samples)} requests, {failed} not 201")
        print(f"purge of {args.pledges} pledges (server timer, interval {args.interval} s): "
              f"{end - start:.0f} s")
        print(f"intake p50 ms baseline / during purge: {statistics.median(base) * 1000:.1f} / "
              f"{statistics.median(during) * 1000:.1f}")
        print(f"intake p99 ms baseline / during purge: {p99(base) * 1000:.1f} / {p99(during) * 1000:.1f}")
        print(f"intake p99 during purge / baseline (goal <= 2.0): {ratio:.2f}x "
              f"{'ok' if ratio <= 2.0 else 'MISSED'}")
    finally:
        stop(server)
        if os.environ.get("KEEP"):
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Scrub benchmark: the VACUUM that follows a withdrawal, with N live pledges, while pledges arrive.

SQLite's secure_delete leaves copies of rows that b-tree rebalancing moved, so after deletions the
server rewrites the file (docs/deletion.md): VACUUM with its working copy in memory, then a
TRUNCATE checkpoint. A withdrawal only flags it; the day's scrub does it (at most once a UTC day,
from PLEDGEBOX_SCRUB_HOUR_UTC on). This measures what one such rewrite costs a deployment holding
N live pledges: the bench sets the scrub hour to 0 and moves the server's clock a day on after the
withdrawal, so the next purge run is that day's first and scrubs.

A real gunicorn server (SQLite, background purge every 5 s) takes pledges over HTTP at a steady
rate. N live pledges are seeded, one of them with a known withdraw token. After a baseline the
bench withdraws that pledge over HTTP and waits for the purge run that scrubs. Prints the scrub
run's duration (server log) against a bare `VACUUM` of a copy of the same file by plain sqlite3
(default temp file) in this process tree, the intake's p99 and worst latency during the scrub
against the baseline, requests not 201, and the workers' peak memory before and after.

    python3 bench/bench_scrub.py [--pledges 100000] [--rate 50] [--baseline-seconds 20]
"""

import argparse
import hashlib
import os
import re
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_purge import LIVE, Intake, bench_env, migrate, p99, seed, serve, stop  # noqa: E402

from crypto.encoding import b64u_encode  # noqa: E402
from tests.support.pledges import sqlite3_table_for  # noqa: E402

RUN = re.compile(r"^(\S+ \S+) INFO pledgebox\.retention: purge run finished in ([\d.]+) s", re.M)


def plant(db_path: Path) -> tuple[str, bytes]:
    """One live pledge whose withdraw token we know."""
    pledge_id, token = secrets.token_urlsafe(16), secrets.token_bytes(32)
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        db.execute(f'INSERT INTO "{sqlite3_table_for(db, LIVE)}" (id, campaign_id, key_version, '
                   "ciphertext, withdraw_token_hash, received_day) VALUES (?, ?, 1, ?, ?, ?)",
                   (pledge_id, LIVE, secrets.token_bytes(1072),
                    hashlib.blake2b(token, digest_size=32).digest(), datetime.now(UTC).date()))
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return pledge_id, token


def bare_vacuum(db_path: Path, folder: Path) -> float:
    """The baseline: plain sqlite3, default settings, on a copy of the same file."""
    copy = folder / "bare.sqlite3"
    shutil.copyfile(db_path, copy)
    db = sqlite3.connect(copy, isolation_level=None)
    try:
        started = time.monotonic()
        db.execute("VACUUM")
        return time.monotonic() - started
    finally:
        db.close()
        copy.unlink()


def scrub_flag(db_path: Path) -> str:
    db = sqlite3.connect(db_path)
    try:
        row = db.execute("SELECT value FROM server_state WHERE name = 'scrub-due'").fetchone()
        marks = db.execute("SELECT group_concat(value) FROM server_state "  # SQLite since 0009
                           "WHERE name LIKE 'scrub:%'").fetchone()[0]
        return ("" if row is None else str(row[0])) + (marks or "")
    finally:
        db.close()


def peak_rss_mb(master: int) -> float:
    """The largest VmHWM (peak resident memory) among the gunicorn master's workers."""
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True,
                              check=False).stdout
    peaks = []
    for pid in children.split():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        if found:
            peaks.append(int(found.group(1)) / 1024)
    return max(peaks, default=0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pledges", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=50.0, help="intake pledges per second")
    ap.add_argument("--baseline-seconds", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--interval", type=int, default=5, help="PLEDGEBOX_PURGE_INTERVAL_SECONDS")
    args = ap.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="pledgebox-bench-scrub-"))
    db_file = folder / "pledgebox.sqlite3"
    env = {**bench_env(folder, args.interval), "PLEDGEBOX_SCRUB_HOUR_UTC": "0"}
    log = folder / "server.log"
    server = None
    try:
        migrate(env)
        seeded = seed(db_file, args.pledges, into=LIVE)
        pledge_id, token = plant(db_file)
        size_before = db_file.stat().st_size / 2**20
        bare = bare_vacuum(db_file, folder)
        print(f"machine: {os.uname().nodename} {os.cpu_count()} cores, SQLite {sqlite3.sqlite_version}")
        print(f"seeded {args.pledges} live pledges in {seeded:.0f} s ({size_before:.0f} MiB)")
        server, base_url = serve(env, args.workers, log)
        intake = Intake(base_url, args.rate)
        intake.start()
        time.sleep(args.baseline_seconds)
        memory_before = peak_rss_mb(server.pid)
        runs_before = len(RUN.findall(log.read_text()))
        withdrawn_at = time.monotonic()
        req = urllib.request.Request(
            f"{base_url}/api/v1/pledges/{pledge_id}/withdraw", method="POST",
            data=f'{{"withdraw_token": "{b64u_encode(token)}"}}'.encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            assert resp.status == 204
        (folder / "clock-offset-days").write_text("1")  # tomorrow: that day's scrub is owed
        while scrub_flag(db_file) != "":
            time.sleep(0.5)
        time.sleep(2)
        intake.finish()
        memory_after = peak_rss_mb(server.pid)
        runs = [(datetime.strptime(t, "%Y-%m-%d %H:%M:%S,%f"), float(s))
                for t, s in RUN.findall(log.read_text())][runs_before:]
        ended, took = max(runs, key=lambda r: r[1])
        wall_offset = time.time() - time.monotonic()
        end = ended.replace(tzinfo=None).timestamp() - wall_offset
        start = end - took
        base = [lat for t, lat, _ in intake.samples if t < withdrawn_at]
        during = [lat for t, lat, _ in intake.samples if start <= t <= end]
        failed = sum(1 for _, _, s in intake.samples if s != 201)
        size_after = db_file.stat().st_size / 2**20
        print(f"intake: {args.rate:.0f} pledges/s from 8 threads, {args.workers} gunicorn workers; "
              f"{len(intake.samples)} requests, {failed} not 201")
        print(f"scrub run (server timer, interval {args.interval} s): {took:.2f} s; bare VACUUM of "
              f"the same file: {bare:.2f} s; ratio {took / bare:.2f}x")
        print(f"file: {size_before:.0f} MiB before, {size_after:.0f} MiB after (plus the pledges "
              f"that arrived meanwhile)")
        print(f"intake p50 ms baseline / during scrub: {statistics.median(base) * 1000:.1f} / "
              f"{statistics.median(during or [0.0]) * 1000:.1f}")
        worst = max(during, default=0.0)
        print(f"intake p99 ms baseline / worst during scrub: {p99(base) * 1000:.1f} / "
              f"{worst * 1000:.1f} ({len(during)} requests began during it)")
        print(f"workers' peak memory MiB before / after the scrub: {memory_before:.0f} / "
              f"{memory_after:.0f}")
    finally:
        stop(server)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

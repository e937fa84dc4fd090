"""How long a pledge waits for SQLite's write lock while a purge run rebuilds campaigns' tables.

A campaign's rebuild (server/retention/sqlite_rebuild.py) shares SQLite's one write
lock with every arriving pledge; what the intake's tail feels is how long the rebuild holds it.
The full bench (bench_deletion_scale.py) measures that among a million pledges, a real server and
everything else a shared machine does; this one measures the hold alone, in one process.

A real pledge database (the project's migrations) with T campaigns' tables of R pledges (1,000)
(1,072-byte ciphertexts, ids in random order). A probe writer on its own connection
(synchronous=FULL, as the server's) commits a row 50 times a second, at random moments, and
polls for the lock every 0.5 ms as write_promptly does. Baseline: the probe alone. Then the
same probe while this tree's rebuild_pledge_table rebuilds every table, back to back, each
followed by what a purge run does after a transaction short of its pause (pacing.pause_after
with no pace: a passive checkpoint, since the seventh pass), 20 ms apart (no pacing: the probe
meets many rebuilds). The tables are made as the server makes a campaign's (create_partition:
with the arrival trigger in code before migration 0010). Prints the probe's wait in each
phase and the ratio of their p99s.

    python3 bench/bench_rebuild_hold.py [--tables 150] [--rows 1000] [--code DIR]

`--code DIR` imports the server from DIR instead (a clone of an earlier commit), so the same
bench measures both designs.
"""

import argparse
import os
import platform
import random
import secrets
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE_EVERY = 0.02
POLL = 0.0005


def probe(path: Path, stop: threading.Event, waits: list[float]) -> None:
    """Commit a row every PROBE_EVERY seconds; record how long each waited for the lock and wrote."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 0")
    db.execute("PRAGMA synchronous = FULL")
    while not stop.is_set():
        started = time.perf_counter()
        while True:
            try:
                db.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError:
                time.sleep(POLL)
        db.execute("INSERT INTO probe VALUES (?)", (secrets.token_bytes(16),))
        db.execute("COMMIT")
        waits.append(time.perf_counter() - started)
        time.sleep(random.expovariate(1 / PROBE_EVERY))  # arrivals at random, as students'

    db.close()


def summary(waits: list[float]) -> str:
    w = sorted(waits)
    n = len(w)
    return (f"{n} writes: p50 {w[n // 2] * 1000:.2f} ms, p90 {w[int(0.9 * n)] * 1000:.2f}, "
            f"p99 {w[int(0.99 * n)] * 1000:.2f}, worst {w[-1] * 1000:.1f}; "
            f"{100 * sum(x > 0.005 for x in w) / n:.0f}% over 5 ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, default=150)
    ap.add_argument("--rows", type=int, default=1000, help="pledges in each table")
    ap.add_argument("--code", type=Path, default=ROOT)
    args = ap.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    import migrations
    from server.db import bind, database
    from server.retention import sqlite as scrub
    from server.retention.pacing import pause_after
    from server.store.partitions import create_partition, partition_name

    print(f"machine: {platform.node()} {os.cpu_count()} cores, {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}, {date.today()}, code {scrub.__file__}")
    with tempfile.TemporaryDirectory(prefix="pledgebox-bench-hold-") as folder:
        path = Path(folder) / "pledgebox.sqlite3"
        bind(f"sqlite:///{path}")
        campaigns = [secrets.token_urlsafe(16) for _ in range(args.tables)]
        tables = [partition_name(cid) for cid in campaigns]
        with database.connection_context():
            migrations.upgrade(database.obj)
            with database.atomic():
                database.execute_sql("CREATE TABLE probe (x BLOB)")
                for cid, table in zip(campaigns, tables, strict=True):
                    create_partition(cid)  # as the server makes it (code before 0010: a trigger)
                    for _ in range(args.rows):  # our own table name (PREFIX + hex)
                        database.execute_sql(f'INSERT INTO "{table}" VALUES (?, ?, ?, ?, ?, ?)',
                                             (secrets.token_urlsafe(16), "c", 1, os.urandom(1072),
                                              os.urandom(32), "2026-12-07"))
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")

            took: list[float] = []
            phases: dict[str, list[float]] = {}
            for phase in ("baseline", "rebuilds"):
                waits: list[float] = []
                stop = threading.Event()
                writer = threading.Thread(target=probe, args=(path, stop, waits))
                writer.start()
                if phase == "baseline":
                    time.sleep(args.tables * (0.024 + args.rows / 100_000))  # as the rebuilds
                else:
                    # the code before sqlite_rebuild.py named it _temp_in_memory
                    in_memory = getattr(scrub, "temp_in_memory", None) or scrub._temp_in_memory
                    with in_memory():
                        for table in tables:
                            started = time.perf_counter()
                            scrub.rebuild_pledge_table(table)
                            took.append(time.perf_counter() - started)
                            pause_after(None, took[-1])
                            time.sleep(PROBE_EVERY)
                stop.set()
                writer.join()
                phases[phase] = waits
        print(f"rebuild of a {args.rows:,}-pledge table: median {statistics.median(took) * 1000:.1f} ms "
              f"(copy and all), {len(took)} tables")
        for phase, waits in phases.items():
            print(f"probe, {phase}: {summary(waits)}")
        p99 = {k: sorted(v)[int(0.99 * len(v))] for k, v in phases.items()}
        print(f"probe p99 during rebuilds / baseline: {p99['rebuilds'] / p99['baseline']:.1f}x")


if __name__ == "__main__":
    main()

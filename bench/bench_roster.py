"""Roster benchmark: `pledgebox roster --format jsonl -o FILE` against a plain PyNaCl open loop.

A demo server (gunicorn, SQLite) is seeded directly (executemany) with pledges sealed to the demo
campaign's key, growing to each size in turn (default 10k, 100k, 1M; the largest sizes reuse the
first 100k ciphertexts). At each size the real command pages through the live server, opens and
exports every pledge; its wall time is compared with a bare loop of PyNaCl `SealedBox.decrypt`
over the same ciphertexts in memory (goal <= 1.25x), and its peak resident memory is read from
the kernel when it exits (goal <= 200 MB, flat as the roster grows).

    python3 bench/bench_roster.py [--sizes 10000,100000,1000000]
"""

import argparse
import json
import os
import platform
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nacl.public import PrivateKey, SealedBox  # noqa: E402

from bench.bench_intake import Server  # noqa: E402
from crypto.encoding import b64u_encode  # noqa: E402
from crypto.envelope import seal_pledge  # noqa: E402
from organizer.session import Session  # noqa: E402

DISTINCT = 100_000
SCHOOLS = ["covina-high", "northview-high", "south-hills-high", "another"]


def seal_many(public: bytes, campaign_id: str, n: int) -> list[bytes]:
    return [seal_pledge(public, campaign_id, {"school": SCHOOLS[i % 4], "grade": "10th",
                                              "message": f"roster bench {i}", "help": i % 2 == 0})
            for i in range(n)]


def seed(db: Path, campaign_id: str, version: int, ciphertexts: list[bytes], start: int,
         stop: int) -> None:
    day = datetime.now(UTC).date().isoformat()
    with sqlite3.connect(db, timeout=60) as conn:
        for lo in range(start, stop, 50_000):
            hi = min(stop, lo + 50_000)
            conn.executemany(
                "INSERT INTO pledge (id, campaign_id, key_version, ciphertext, withdraw_token_hash,"
                " received_day) VALUES (?, ?, ?, ?, ?, ?)",
                ((b64u_encode(secrets.token_bytes(16)), campaign_id, version,
                  ciphertexts[i % len(ciphertexts)], secrets.token_bytes(32), day)
                 for i in range(lo, hi)))
            conn.commit()


def run_roster(demo: dict[str, str], out: Path) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS in MB, lines written, stderr of the real command."""
    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": demo["passphrase"]}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "organizer.cli", "--keystore", demo["keystore"],
                             "roster", demo["campaign_id"], "--format", "jsonl", "-o", str(out)],
                            env=env, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"roster failed: {stderr}")
    with open(out, "rb") as f:
        lines = sum(1 for _ in f)
    return seconds, usage.ru_maxrss / 1024, lines, stderr


def pynacl_loop(secret: bytes, ciphertexts: list[bytes], n: int) -> float:
    box = SealedBox(PrivateKey(secret))
    started = time.perf_counter()
    for i in range(n):
        box.decrypt(ciphertexts[i % len(ciphertexts)])
    return time.perf_counter() - started


def line(label: str, value: str) -> None:
    print(f"{label:<44} {value}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    folder = Path(tempfile.mkdtemp(prefix="pledgebox-bench-roster-"))
    print(f"# roster: load {os.getloadavg()[0]:.1f}, {platform.node()} {os.cpu_count()} cpus, "
          f"sizes {', '.join(map(str, sizes))}", flush=True)
    demo_dir = folder / "demo"
    demo_dir.mkdir()
    env = {**os.environ, "PLEDGEBOX_RATELIMITS": "0"}
    for name in ("PLEDGEBOX_DATABASE_URL", "PLEDGEBOX_INSTANCE_PATH", "PLEDGEBOX_CLOCK_OFFSET_FILE"):
        env.pop(name, None)
    server = Server("pledgebox", [sys.executable, "-m", "server.cli", "run", "--demo", str(demo_dir),
                                  "--host", "127.0.0.1", "--port", "{port}", "--workers", "1"],
                    env, demo_dir, "/")
    ok = True
    try:
        server.start()
        demo = json.loads((demo_dir / "demo.json").read_text())
        session = Session.open(Path(demo["keystore"]), demo["passphrase"])
        version = session.encryption_versions()[-1]
        key = session.encryption_key(version)
        started = time.perf_counter()
        ciphertexts = seal_many(key.public, demo["campaign_id"], min(DISTINCT, sizes[-1]))
        line("sealed distinct ciphertexts", f"{len(ciphertexts)} in {time.perf_counter() - started:.0f} s")
        db, have = demo_dir / "pledgebox.sqlite3", 0
        for size in sizes:
            started = time.perf_counter()
            seed(db, demo["campaign_id"], version, ciphertexts, have, size)
            have = size
            line(f"{size}: seeded", f"{time.perf_counter() - started:.0f} s")
            out = folder / "roster.jsonl"
            seconds, rss, lines, stderr = run_roster(demo, out)
            out.unlink()
            bare = pynacl_loop(key.secret, ciphertexts, size)
            ratio = seconds / bare
            line(f"{size}: roster jsonl s / PyNaCl loop s", f"{seconds:.1f} / {bare:.1f}")
            line(f"{size}: ratio (goal <= 1.25)", f"{ratio:.2f}x {'ok' if ratio <= 1.25 else 'MISSED'}")
            line(f"{size}: roster peak RSS (goal <= 200 MB)",
                 f"{rss:.0f} MB {'ok' if rss <= 200 else 'MISSED'}")
            if lines != size or "warning" in stderr:
                line(f"{size}: WRONG OUTPUT", f"{lines} lines; {stderr.strip()}")
                ok = False
            ok &= rss <= 200
    finally:
        server.stop()
        if args.keep:
            print(f"# kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Intake benchmark: Pledgebox's pledge endpoint against a bare Flask + peewee + SQLite baseline.

Both are served by gunicorn with the same workers, loaded by the same wrk script (bench/pledge.lua)
with the same threads, connections and duration, in alternating rounds within one run. Prints
throughput and p99 ratios (goals: >= 0.85x and <= 1.5x) and checks that nothing acknowledged was
lost: every id wrk saw in a 201 is opened by `pledgebox roster --format jsonl`, and nothing else is
stored. A second part runs with rate limits on (memory storage, many client networks behind one
trusted proxy) and reports how many pledges were let through and how many refused with 429.

    python3 bench/bench_intake.py [--workers 2] [--connections 16] [--seconds 10] [--rounds 3]
"""

import argparse
import hashlib
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crypto.encoding import b64u_decode, b64u_encode  # noqa: E402
from crypto.envelope import seal_pledge  # noqa: E402
from tests.support.live import free_port  # noqa: E402

LUA = ROOT / "bench" / "pledge.lua"
SCHOOLS = ["covina-high", "northview-high", "south-hills-high", "another-school"]  # the demo's option ids


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited:\n" + log.read_text())
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except urllib.error.HTTPError:
            return  # it answers: ready
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start:\n" + log.read_text())


def group_cpu_seconds(pgid: int) -> float:
    """CPU time used so far by every process of a process group (gunicorn and its workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: the process group
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


class Server:
    """A process group on a loopback port, stopped as a whole."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], folder: Path,
                 probe: str, port: int = 0) -> None:
        self.name, self.argv, self.env, self.folder, self.probe = name, argv, env, folder, probe
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "Server":
        argv = [a.replace("{port}", str(self.port)) for a in self.argv]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, env=self.env, cwd=ROOT, stdout=log, stderr=log,
                                         start_new_session=True)
        wait_ready(self.base + self.probe, self.proc, self.log)
        return self

    def cpu_seconds(self) -> float:
        """User + system CPU of every process in the server's group (master and workers)."""
        assert self.proc is not None
        return group_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.proc = None


@dataclass
class Run:
    rps: float  # acknowledged (201) pledges per second
    p50_ms: float
    p99_ms: float
    created: int
    others: int
    limited: int
    retry_after_missing: int
    socket_errors: int
    ids: list[str]
    seconds: float
    cpu_ms_per_pledge: float = 0.0

    @property
    def answers_per_s(self) -> float:
        return (self.created + self.others) / self.seconds


def wrk(server: Server, path: str, bodies: Path, folder: Path, threads: int, connections: int,
        seconds: int, forwarded: bool = False) -> Run:
    ids_file = folder / f"ids-{secrets.token_hex(4)}.txt"
    env = {**os.environ, "PLEDGE_PATH": path, "PLEDGE_BODIES": str(bodies),
           "PLEDGE_IDS_OUT": str(ids_file), "PLEDGE_FORWARDED": "1" if forwarded else "0"}
    cpu = server.cpu_seconds()
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
                          "--timeout", "30s", "-s", str(LUA), server.base],
                         env=env, capture_output=True, text=True, check=True).stdout
    cpu = server.cpu_seconds() - cpu
    stats = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    ids = [i for i in ids_file.read_text().split("\n") if i]
    return Run(rps=stats["created"] / (stats["duration_us"] / 1e6),
               p50_ms=stats["p50_us"] / 1000, p99_ms=stats["p99_us"] / 1000,
               created=stats["created"], others=stats["others"], limited=stats["limited"],
               retry_after_missing=stats["retry_after_missing"],
               socket_errors=stats["socket_errors"], ids=ids, seconds=stats["duration_us"] / 1e6,
               cpu_ms_per_pledge=1000 * cpu / max(stats["created"] + stats["others"], 1))


def make_bodies(base: str, campaign_id: str, path: Path, n: int = 256) -> None:
    """n distinct pledges sealed to the campaign's current key, as a browser would send them."""
    info = json.loads(urllib.request.urlopen(f"{base}/api/v1/campaigns/{campaign_id}").read())
    key = info["encryption_key"]
    public = b64u_decode(key["public_key"])
    lines = []
    for i in range(n):
        answers = {"school": SCHOOLS[i % 4], "grade": "11th", "message": f"bench pledge {i}",
                   "help": i % 3 == 0}
        token_hash = hashlib.blake2b(secrets.token_bytes(32), digest_size=32).digest()
        lines.append(json.dumps({"key_version": key["version"],
                                 "ciphertext": b64u_encode(seal_pledge(public, campaign_id, answers)),
                                 "withdraw_token_hash": b64u_encode(token_hash)}))
    path.write_text("\n".join(lines) + "\n")


def opened_ids(demo: dict[str, str]) -> tuple[list[str], str]:
    """Every pledge the organizer tool opens, through the real `pledgebox roster --format jsonl`."""
    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": demo["passphrase"]}
    done = subprocess.run([sys.executable, "-m", "organizer.cli", "--keystore", demo["keystore"],
                           "roster", "--format", "jsonl", "--", demo["campaign_id"]],  # an id may start "-"
                          env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return [json.loads(line)["pledge_id"] for line in done.stdout.splitlines()], done.stderr


def pledgebox_server(folder: Path, workers: int, limits: bool, port: int = 0) -> Server:
    env = {**os.environ, "PLEDGEBOX_RATELIMITS": "1" if limits else "0",
           "PLEDGEBOX_RATELIMIT_STORAGE": "memory://",
           "PLEDGEBOX_TRUSTED_PROXIES": "1" if limits else "0"}
    for name in ("PLEDGEBOX_DATABASE_URL", "PLEDGEBOX_INSTANCE_PATH", "PLEDGEBOX_CLOCK_OFFSET_FILE"):
        env.pop(name, None)
    return Server("pledgebox", [sys.executable, "-m", "server.cli", "run", "--demo", str(folder),
                                "--host", "127.0.0.1", "--port", "{port}", "--workers", str(workers)],
                  env, folder, "/", port)


def baseline_server(folder: Path, workers: int) -> Server:
    env = {**os.environ, "BASELINE_DB": str(folder / "baseline.sqlite3")}
    return Server("baseline", [sys.executable, "-m", "gunicorn", "--workers", str(workers),
                               "--worker-class", "sync", "--preload", "--bind", "127.0.0.1:{port}",
                               "--log-level", "warning", "bench.baseline_app:app"],
                  env, folder, "/")


def baseline_rows(folder: Path) -> int:
    import sqlite3

    with sqlite3.connect(folder / "baseline.sqlite3") as conn:
        return int(conn.execute("SELECT count(*) FROM pledge").fetchone()[0])


def line(label: str, value: str) -> None:
    print(f"{label:<52} {value}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    folder = Path(tempfile.mkdtemp(prefix="pledgebox-bench-intake-"))
    print(f"# intake: load {os.getloadavg()[0]:.1f}, {platform.node()}"
          f" {os.cpu_count()} cpus, {args.workers} gunicorn workers each, "
          f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s x {args.rounds} rounds",
          flush=True)
    load = {"threads": args.threads, "connections": args.connections, "seconds": args.seconds}
    ok = True
    servers: list[Server] = []
    try:
        pb = pledgebox_server(folder / "pledgebox", args.workers, limits=False)
        (folder / "pledgebox").mkdir()
        servers.append(pb.start())
        demo = json.loads((folder / "pledgebox" / "demo.json").read_text())
        path = f"/api/v1/campaigns/{demo['campaign_id']}/pledges"
        bodies = folder / "bodies.txt"
        make_bodies(pb.base, demo["campaign_id"], bodies)
        base = baseline_server(folder, args.workers)
        servers.append(base.start())

        # Warm both (imports, page cache, WAL file growth) before anything is measured.
        acked: list[str] = []
        base_acked = 0
        for server, sink in ((base, None), (pb, acked)):
            warm = wrk(server, path, bodies, folder, args.threads, args.connections, 2)
            base_acked += warm.created if sink is None else 0
            if sink is not None:
                sink.extend(warm.ids)
        runs: dict[str, list[Run]] = {"baseline": [], "pledgebox": []}
        tput_ratios, p99_ratios = [], []
        for i in range(args.rounds):
            # Alternate who goes first, and compare within a round: on a shared machine the
            # load drifts between rounds, so only neighbouring runs are comparable.
            order = [("baseline", base), ("pledgebox", pb)][:: 1 if i % 2 == 0 else -1]
            got = {name: wrk(server, path, bodies, folder, **load) for name, server in order}
            b, p = got["baseline"], got["pledgebox"]
            runs["baseline"].append(b)
            runs["pledgebox"].append(p)
            base_acked += b.created
            acked.extend(p.ids)
            tput_ratios.append(p.rps / b.rps)
            p99_ratios.append(p.p99_ms / b.p99_ms)
            line(f"  round {i + 1}: pledges/s baseline / pledgebox",
                 f"{b.rps:.0f} / {p.rps:.0f}  p99 ms {b.p99_ms:.1f} / {p.p99_ms:.1f}  "
                 f"server CPU ms/pledge {b.cpu_ms_per_pledge:.2f} / {p.cpu_ms_per_pledge:.2f}")
        med = {k: (statistics.median(r.rps for r in v), statistics.median(r.p99_ms for r in v),
                   statistics.median(r.p50_ms for r in v)) for k, v in runs.items()}
        errors = sum(r.others + r.socket_errors for v in runs.values() for r in v)
        tput, p99 = statistics.median(tput_ratios), statistics.median(p99_ratios)
        line("baseline pledges/s (median)", f"{med['baseline'][0]:.0f}")
        line("pledgebox pledges/s (median)", f"{med['pledgebox'][0]:.0f}")
        line("baseline p50 / p99 ms (median)", f"{med['baseline'][2]:.1f} / {med['baseline'][1]:.1f}")
        line("pledgebox p50 / p99 ms (median)", f"{med['pledgebox'][2]:.1f} / {med['pledgebox'][1]:.1f}")
        cpu = statistics.median(p.cpu_ms_per_pledge / b.cpu_ms_per_pledge
                                for b, p in zip(runs["baseline"], runs["pledgebox"], strict=True))
        line("server CPU per pledge ratio, median of rounds", f"{cpu:.2f}x")
        line("throughput ratio, median of rounds (goal >= 0.85)",
             f"{tput:.2f}x {'ok' if tput >= 0.85 else 'MISSED'}")
        line("p99 ratio, median of rounds (goal <= 1.5)", f"{p99:.2f}x {'ok' if p99 <= 1.5 else 'MISSED'}")
        line("non-201 answers + socket errors", str(errors))
        ok &= errors == 0

        stored, stderr = opened_ids(demo)
        lost = set(acked) - set(stored)
        extra = set(stored) - set(acked)
        line("pledgebox 201s / opened by `pledgebox roster`", f"{len(acked)} / {len(stored)}")
        line("lost (201 but not opened)", f"{len(lost)} {'ok' if not lost else 'LOST'}")
        line("stored without a 201 (cut connections)", str(len(extra)))
        if "could not be opened" in stderr or "do not hold" in stderr:
            line("roster warnings", stderr.strip().replace("\n", " | "))
            ok = False
        line("baseline 201s / rows", f"{base_acked} / {baseline_rows(folder)}")
        ok &= not lost and len(stored) == len(set(stored))
        pb.stop()

        # Rate limits on: memory storage, a different /24 per request through one trusted proxy.
        # Same port: the demo keystore remembers the server's address.
        limited = pledgebox_server(folder / "pledgebox", args.workers, limits=True, port=pb.port)
        servers.append(limited.start())
        r = wrk(limited, path, bodies, folder, **load, forwarded=True)
        line("limits on: answers/s (201 + 429)", f"{r.answers_per_s:.0f}")
        line("limits on: pledges/s accepted", f"{r.rps:.0f} ({r.created} accepted, {r.limited} got 429)")
        line("limits on: p99 ms (all answers)", f"{r.p99_ms:.1f}")
        line("limits on: 429 without Retry-After", str(r.retry_after_missing))
        stored2, _ = opened_ids(demo)
        lost2 = set(acked + r.ids) - set(stored2)
        line("limits on: lost (201 but not opened)", f"{len(lost2)} {'ok' if not lost2 else 'LOST'}")
        ok &= not lost2 and r.retry_after_missing == 0
        limited.stop()
    finally:
        for s in servers:
            s.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"# kept {folder}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

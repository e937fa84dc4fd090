"""Re-encryption benchmark: `pledgebox key reencrypt` against a plain PyNaCl open+seal loop.

One run: a real server (gunicorn, SQLite with the production pragmas) holding N pledges (seeded
straight into the database with real sealed boxes, one 1 KiB bucket each); then, per round, a
rotation to key version n+1 and
  - baseline: `crypto_box_seal_open` + `crypto_box_seal` over the same N ciphertexts in memory,
    nothing else (no padding checks, no I/O);
  - pledgebox: the real command, a child process, timed from start to exit (process start,
    keystore, sync, paging, re-sealing, compare-and-swap batches, prune), its peak memory as the
    child itself reports it (VmHWM), its CPU time from os.wait4.
Prints wall and CPU times (the tool's own, and the server's, which shares the machine) with their
ratios (goal: wall <= 1.5x), and checks after each round that every pledge is present once, on the
new key. On a loaded shared machine the CPU ratio is the steadier figure.

    python3 bench/bench_reencrypt.py [--pledges 100000] [--batch 1000] [--rounds 2]
"""

import argparse
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nacl.bindings as sodium  # noqa: E402

import migrations  # noqa: E402
from bench.bench_intake import group_cpu_seconds  # noqa: E402
from crypto.envelope import seal_pledge  # noqa: E402
from organizer import campaigns, coalition, rotation  # noqa: E402
from organizer.session import Session  # noqa: E402
from server.db import bind, database  # noqa: E402
from server.models import Pledge  # noqa: E402
from server.store.coalitions import issue_setup_code  # noqa: E402
from tests.support.live import LiveServer  # noqa: E402
from tests.support.pledges import insert_pledges, pledge_view  # noqa: E402

PASSPHRASE = "bench oboe tundra gazebo mantis"
SCHOOLS = ["covina-high", "northview-high", "south-hills-high"]


def seed(campaign_id: str, public_key: bytes, n: int) -> None:
    """N real sealed pledges of typical size (one 1 KiB bucket), inserted in large transactions."""
    today = date.today()
    done = 0
    while done < n:
        rows = []
        for i in range(done, min(n, done + 5000)):
            answers = {"school": SCHOOLS[i % 3], "message": f"pledge {i} " + "x" * (i % 200)}
            rows.append({"id": secrets.token_urlsafe(16), "campaign": campaign_id, "key_version": 1,
                         "ciphertext": seal_pledge(public_key, campaign_id, answers),
                         "withdraw_token_hash": secrets.token_bytes(32), "received_day": today})
        with database.atomic():
            insert_pledges(rows)
        done += len(rows)


def setup(folder: Path, n: int) -> tuple[LiveServer, Path, str]:
    env = {"PLEDGEBOX_INSTANCE_PATH": str(folder),
           "PLEDGEBOX_DATABASE_URL": f"sqlite:///{folder / 'pledgebox.sqlite3'}",
           "PLEDGEBOX_RATELIMITS": "0", "PLEDGEBOX_PURGE_IN_BACKGROUND": "0"}
    bind(env["PLEDGEBOX_DATABASE_URL"])
    with database.connection_context():
        migrations.upgrade(database.obj)
        code = issue_setup_code(time.time(), 600)
    server = LiveServer(env).start()
    keystore = folder / "admin.json"
    session = Session.create(keystore, PASSPHRASE)
    coalition.create(session, server.base_url, code, "Bench Coalition")
    today = date.today()
    descriptor = campaigns.build_descriptor(session, campaigns.CampaignSpec(
        "Bench", "", today + timedelta(days=10), today + timedelta(days=9),
        today + timedelta(days=20),
        [campaigns.parse_field("school!:choice:School:Covina High,Northview High,South Hills High"),
         campaigns.parse_field("message:text:Message")], time_zone="UTC"))
    campaign_id = campaigns.create(session, descriptor)
    with database.connection_context():
        seed(campaign_id, session.encryption_key(1).public, n)
    return server, keystore, campaign_id


def load_ciphertexts() -> list[bytes]:
    with database.connection_context(), pledge_view():
        return [bytes(c) for (c,) in Pledge.select(Pledge.ciphertext).tuples()]


def baseline(ciphertexts: list[bytes], old_public: bytes, old_secret: bytes, new_public: bytes
             ) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the bare loop."""
    wall, cpu = time.perf_counter(), time.process_time()
    for c in ciphertexts:
        sodium.crypto_box_seal(sodium.crypto_box_seal_open(c, old_public, old_secret), new_public)
    return time.perf_counter() - wall, time.process_time() - cpu


# The real command in a child process that reports its own peak resident memory (VmHWM) as it
# exits. (ru_maxrss from wait4 would not do: Linux carries the parent's size over fork and exec.)
_TOOL = """
import atexit, sys
from organizer import cli
def _peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("peak-kib " + line.split()[1] + "\\n")
atexit.register(_peak)
sys.exit(cli.main(sys.argv[1:]))
"""


def run_tool(keystore: Path, batch: int) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in KiB) of one `pledgebox key reencrypt` child."""
    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE, "PLEDGEBOX_INSECURE_TEST_KDF": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _TOOL, "--keystore", str(keystore),
                             "key", "reencrypt", "--batch", str(batch)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0:
        raise SystemExit("reencrypt failed:\n" + err)
    peak = int(next(line for line in err.splitlines() if line.startswith("peak-kib ")).split()[1])
    return elapsed, usage.ru_utime + usage.ru_stime, peak


def one_round(server: LiveServer, keystore: Path, batch: int, n: int) -> dict[str, float]:
    """Rotate, then time the bare loop and the real command over the same ciphertexts."""
    session = Session.open(keystore, PASSPHRASE)
    version = rotation.rotate(session)
    old, new = session.encryption_key(version - 1), session.encryption_key(version)
    ciphertexts = load_ciphertexts()
    assert len(ciphertexts) == n
    base_wall, base_cpu = baseline(ciphertexts, old.public, old.secret, new.public)
    del ciphertexts
    server_before = group_cpu_seconds(server.proc.pid)  # type: ignore[union-attr]
    tool_wall, tool_cpu, rss = run_tool(keystore, batch)
    server_cpu = group_cpu_seconds(server.proc.pid) - server_before  # type: ignore[union-attr]
    with database.connection_context(), pledge_view():
        total = Pledge.select().count()
        on_new = Pledge.select().where(Pledge.key_version == version).count()
    if total != n or on_new != n:
        raise SystemExit(f"re-encryption lost or missed pledges: {total} stored, {on_new} on v{version}")
    return {"base_wall": base_wall, "base_cpu": base_cpu, "tool_wall": tool_wall,
            "tool_cpu": tool_cpu, "server_cpu": server_cpu, "rss_kib": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pledges", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=rotation.BATCH)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.environ["PLEDGEBOX_INSECURE_TEST_KDF"] = "1"  # the keystore's KDF is not what we measure
    n = args.pledges
    with tempfile.TemporaryDirectory(prefix="pb-bench-reencrypt-") as tmp:
        t0 = time.perf_counter()
        server, keystore, _ = setup(Path(tmp), n)
        print(f"setup: {n} pledges sealed and stored in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)
        try:
            rounds = [one_round(server, keystore, args.batch, n) for _ in range(args.rounds)]
        finally:
            server.stop()
    best = {k: min(r[k] for r in rounds) for k in rounds[0]}
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cpus, load "
          f"{os.getloadavg()[0]:.1f}, python {platform.python_version()}, {date.today().isoformat()}")
    print(f"{n} pledges, batch {args.batch}, best of {args.rounds} rounds (every pledge present "
          "once and on the new key after each)")
    print(f"baseline PyNaCl open+seal loop: {best['base_wall']:.2f} s wall, "
          f"{best['base_cpu']:.2f} s CPU ({n / best['base_wall']:,.0f}/s)")
    print(f"pledgebox key reencrypt:        {best['tool_wall']:.2f} s wall, "
          f"{best['tool_cpu']:.2f} s CPU in the tool + {best['server_cpu']:.2f} s in the server")
    print(f"peak memory of the reencrypt process: {best['rss_kib'] / 1024:.1f} MiB (VmHWM; the bare "
          "interpreter with the tool imported is about 28 MiB)")
    print(f"ratio wall time reencrypt / baseline: {best['tool_wall'] / best['base_wall']:.2f}x "
          "(goal <= 1.5x)")
    print(f"ratio CPU time (tool + server) / baseline: "
          f"{(best['tool_cpu'] + best['server_cpu']) / best['base_cpu']:.2f}x")


if __name__ == "__main__":
    main()

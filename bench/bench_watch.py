"""Page watch benchmark: one round over 10 campaigns with every client profile, against a plain
HTTP loop fetching the same addresses; then what a coalition of 30 watching organizers costs the
server, as a share of its intake capacity measured in the same run.

    python3 bench/bench_watch.py [--campaigns 10] [--organizers 30] [--pledges 300]

The demo server (gunicorn, SQLite, 2 workers, rate limits off) holds the campaigns. Laptop figures
are this process's CPU time and wall time; server figures are the CPU time of the server's whole
process group. The baseline fetches the exact list of addresses the watch fetched, one urllib GET
each, with no comparison: the ratio is what posing as browsers, verifying and comparing cost.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_intake import pledgebox_server  # noqa: E402
from organizer.session import Session  # noqa: E402
from organizer.watch import service  # noqa: E402
from organizer.watch.check import run_round  # noqa: E402
from organizer.watch.schedule import LAST_WEEK_MINUTES, USUAL_MINUTES  # noqa: E402
from tests.support.factories import OrganizerHandle, make_campaign, pledge  # noqa: E402


def line(label: str, value: str) -> None:
    print(f"{label:<58} {value}", flush=True)


def plain_loop(base: str, paths: list[str]) -> tuple[float, float, int]:
    """(wall s, CPU s, bytes): the same addresses, one plain GET each."""
    wall, cpu, size = time.perf_counter(), time.process_time(), 0
    for path in paths:
        with urllib.request.urlopen(base + path, timeout=30) as resp:
            size += len(resp.read())
    return time.perf_counter() - wall, time.process_time() - cpu, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--organizers", type=int, default=30)
    parser.add_argument("--pledges", type=int, default=300)
    args = parser.parse_args()
    print(f"# watch: load {os.getloadavg()[0]:.1f}, {platform.node()}, {os.cpu_count()} CPUs",
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server = pledgebox_server(folder, workers=2, limits=False).start()
        try:
            demo = json.loads((folder / "demo.json").read_text())
            session = Session.open(Path(demo["keystore"]), demo["passphrase"])
            org = OrganizerHandle(session, Path(demo["keystore"]), demo["passphrase"])
            for n in range(args.campaigns - 1):
                make_campaign(org, title=f"Walkout {n}", title_es=f"Salida {n}")
            target = service.plan(session).target
            run_round(target)  # warm both sides (first renders, imports)

            before_server, wall, cpu = server.cpu_seconds(), time.perf_counter(), time.process_time()
            result = run_round(target)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            watch_server = server.cpu_seconds() - before_server
            assert not result.findings, result
            assert not result.unreachable, result

            before_server = server.cpu_seconds()
            base_wall, base_cpu, base_bytes = plain_loop(target.origin, result.paths)
            base_server = server.cpu_seconds() - before_server

            before_server = server.cpu_seconds()
            for i in range(args.pledges):
                pledge(target.origin, demo["campaign_id"], {"school": "covina-high", "message": f"m{i}"})
            pledge_cpu = (server.cpu_seconds() - before_server) / args.pledges
        finally:
            server.stop()

    n = len(target.campaign_ids)
    line("round: campaigns x clients (visits)", f"{n} x 10 ({result.visits})")
    line("round: requests", f"{result.requests}")
    line("round: bytes received (uncompressed; Caddy's gzip cuts pages ~3x)",
         f"{result.wire_bytes / 1e6:.2f} MB (plain loop {base_bytes / 1e6:.2f} MB)")
    line("round: wall time, watch / plain loop",
         f"{wall:.2f} s / {base_wall:.2f} s = {wall / base_wall:.2f}x")
    line("round: laptop CPU, watch / plain loop",
         f"{cpu:.2f} s / {base_cpu:.2f} s = {cpu / base_cpu:.2f}x")
    line("round: server CPU, watch / plain loop",
         f"{watch_server:.2f} s / {base_server:.2f} s = {watch_server / max(base_server, 1e-9):.2f}x")
    line("server CPU per pledge (intake, same run)", f"{pledge_cpu * 1000:.2f} ms")
    for label, minutes in (("usual", USUAL_MINUTES), ("last week before action day", LAST_WEEK_MINUTES)):
        per_hour = args.organizers * 60 / minutes * watch_server
        capacity = 3600 * (os.cpu_count() or 1)
        line(f"{args.organizers} organizers, {label}: server CPU per hour",
             f"{per_hour:.0f} s = {100 * per_hour / capacity:.2f}% of {os.cpu_count()} cores, "
             f"= {per_hour / pledge_cpu:.0f} pledges/h of intake")
    return 0


if __name__ == "__main__":
    sys.exit(main())

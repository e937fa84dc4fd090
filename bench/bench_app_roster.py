"""Roster in the organizer app: how long until a 100,000-pledge roster's counts are complete on the
app's roster page, against `pledgebox roster --summary` in the same run (goal <= 1.5x).

The demo server is seeded directly with pledges sealed to the demo campaign's key (as
bench_roster.py does). The command runs as organizers run it (start-up, argon2id unlock, sync,
streaming, summary); its fixed cost is measured on the empty roster first. The app runs as
`pledgebox app --no-browser` in its own process, is opened and unlocked over HTTP like a browser
(unlock not timed), then the roster page is requested and its live part polled, as app.js does,
until the counts are complete. Reported: time to the first counts on screen, time to complete
counts, the ratio against the command (all in, and without its fixed cost), and the app
process's memory (resident, sampled from /proc while it counts; its keys were unlocked with
argon2id's 256 MiB before, which is in its high-water mark by design).

    python3 bench/bench_app_roster.py [--pledges 100000] [--rounds 2]
"""

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_roster import demo_server, seal_many, seed, vm_mb  # noqa: E402
from organizer.session import Session  # noqa: E402

POLL = 0.5  # app.js asks every 2 s while counting; finer here, so the finish is seen soon


def line(label: str, value: str) -> None:
    print(f"{label:<52} {value}", flush=True)


def run_summary(demo: dict[str, str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds and peak resident MB of `pledgebox roster --summary`, and its output."""
    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": demo["passphrase"]}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "organizer.cli", "--keystore", demo["keystore"],
                             "roster", "--summary", "--", demo["campaign_id"]],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    peak = 0.0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, vm_mb(proc.pid, "VmRSS"))
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    reader.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("roster --summary failed")
    proc.returncode = 0
    return seconds, usage.ru_utime + usage.ru_stime, peak, b"".join(chunks).decode()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class AppClient:
    """A browser's part over plain HTTP: the cookie, the CSRF token, background polls."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cookie, self.csrf = "", ""
        self.request("GET", f"{parts.path}?{parts.query}")

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                background: bool = False) -> tuple[int, str]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookie:
            headers["Cookie"] = f"pledgebox_app={self.cookie}"
        if background:
            headers["X-Pledgebox-Background"] = "1"
        body = None
        if form is not None:
            body = urlencode({**form, "csrf_token": self.csrf}).encode()
            headers.update({"Content-Type": "application/x-www-form-urlencoded",
                            "Origin": f"http://127.0.0.1:{self.port}"})
        conn.request(method, path, body=body, headers=headers)
        reply = conn.getresponse()
        text = reply.read().decode("utf-8", "replace")
        found = re.search(r"pledgebox_app=([^;]+)", reply.headers.get("Set-Cookie", ""))
        if found:
            self.cookie = found.group(1)
        token = re.search(r'data-csrf="([^"]+)"', text)
        if token:
            self.csrf = token.group(1)
        conn.close()
        return reply.status, text


def start_app(demo: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "organizer.cli", "--keystore", demo["keystore"],
                             "app", "--no-browser"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def app_counts(client: AppClient, pid: int, campaign_id: str, expected: int) -> dict[str, float]:
    """Seconds to the first counts and to complete counts on the roster page; RSS while counting."""
    peak = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], vm_mb(pid, "VmRSS"))
            time.sleep(0.02)

    threading.Thread(target=sample, daemon=True).start()
    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    status, page = client.request("GET", f"/campaigns/{campaign_id}/roster")
    assert status == 200, page[:500]
    first = None
    while True:
        _, live = client.request("GET", f"/campaigns/{campaign_id}/roster/live", background=True)
        state = re.search(r'data-state="(\w+)"', live)
        opened = re.search(r'data-opened="(\d+)"', live)
        count = int(opened.group(1)) if opened else 0
        if first is None and count > 0:
            first = time.perf_counter() - started
        if state and state.group(1) == "done":
            break
        time.sleep(POLL)
    done = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu
    stop.set()
    if count != expected:
        raise SystemExit(f"the app showed {count} pledges, expected {expected}")
    return {"first": first or done, "done": done, "cpu": cpu, "rss": peak[0],
            "rss_after": vm_mb(pid, "VmRSS")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pledges", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pledgebox-bench-app-"))
    print(f"# app roster: load {os.getloadavg()[0]:.1f}, {platform.node()} {os.cpu_count()} cpus, "
          f"{args.pledges} pledges", flush=True)
    server, demo_dir = demo_server(folder)
    app = None
    try:
        server.start()
        demo = json.loads((demo_dir / "demo.json").read_text())
        fixed, fixed_cpu, _, _ = run_summary(demo)
        line("command's fixed cost (empty roster), wall / CPU s", f"{fixed:.2f} / {fixed_cpu:.2f}")
        session = Session.open(Path(demo["keystore"]), demo["passphrase"])
        version = session.encryption_versions()[-1]
        ciphertexts = seal_many(session.encryption_key(version).public, demo["campaign_id"],
                                min(args.pledges, 100_000))
        seed(demo_dir / "pledgebox.sqlite3", demo["campaign_id"], version, ciphertexts, 0,
             args.pledges)
        line("seeded pledges", str(args.pledges))
        app, url = start_app(demo)
        client = AppClient(url)
        ratios: list[float] = []
        for n in range(1, args.rounds + 1):
            unlock(client, demo["passphrase"])  # locking in between drops the opened roster
            line(f"round {n}: app memory once unlocked (RSS), MB", f"{vm_mb(app.pid, 'VmRSS'):.0f}")
            cli, cli_cpu, cli_rss, out = run_summary(demo)
            assert out.startswith(f"{args.pledges} pledges"), out[:200]
            shown = app_counts(client, app.pid, demo["campaign_id"], args.pledges)
            line(f"round {n}: roster --summary wall s (peak RSS MB)", f"{cli:.2f} ({cli_rss:.0f})")
            line(f"round {n}: app, first counts on screen s", f"{shown['first']:.2f}")
            line(f"round {n}: app, complete counts s", f"{shown['done']:.2f}")
            line(f"round {n}: ratio app / command, all in (goal <= 1.5)", f"{shown['done'] / cli:.2f}x")
            line(f"round {n}: ratio app / command without its fixed cost",
                 f"{shown['done'] / max(cli - fixed, 1e-9):.2f}x")
            line(f"round {n}: CPU s, command / app (app: polls included)",
                 f"{cli_cpu:.1f} / {shown['cpu']:.1f}")
            line(f"round {n}: CPU ratio app / command without its fixed cost",
                 f"{shown['cpu'] / max(cli_cpu - fixed_cpu, 1e-9):.2f}x")
            ratios.append(shown["done"] / cli)
            line(f"round {n}: app RSS while counting, peak / after MB",
                 f"{shown['rss']:.0f} / {shown['rss_after']:.0f}")
            client.request("POST", "/lock", {})
        line("median wall ratio app / command, all in", f"{sorted(ratios)[len(ratios) // 2]:.2f}x")
    finally:
        if app is not None:
            app.terminate()
            app.wait(timeout=30)
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def unlock(client: AppClient, passphrase: str) -> None:
    client.request("GET", "/unlock")
    status, _ = client.request("POST", "/unlock", {"passphrase": passphrase, "next": "/"})
    assert status == 303, status


if __name__ == "__main__":
    sys.exit(main())

"""The pledge page's main-thread tasks in a Chromium trace, by the CPU time each one ran.

Lighthouse (mobile, simulated throttling) records its trace unthrottled and multiplies each
main-thread task by 4 to score total blocking time (the part of every task over 50 ms after first
contentful paint). On a shared machine the wall time of a task swings with the load (the
renderer's thread waits for a core: a 4 ms task was seen to last 22 ms), so its score does too;
the CPU time the thread actually ran (the trace's `tdur`) hardly moves. This prints, for each
trace, the longest tasks after first contentful paint by CPU time (and their wall time) and the
total blocking time those CPU times make at 4x: the figure a quiet phone-speed CPU would give.

    lighthouse URL --save-assets --output-path=run.json ...   # writes run-0.trace.json
    python3 bench/trace_tasks.py run-0.trace.json [more traces]
"""

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

SLOWDOWN = 4  # Lighthouse's mobile CPU multiplier
LONG_MS = 50


def main_thread(events: list[dict[str, Any]]) -> tuple[int, int]:
    """The renderer main thread that parsed the pledge page (the most ParseHTML time for /p/)."""
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    parsed: Counter[tuple[int, int]] = Counter()
    for e in events:
        where = (e["pid"], e["tid"])
        page = e.get("name") == "ParseHTML" and "/p/" in str(e.get("args"))
        if page and names.get(where) == "CrRendererMain":
            parsed[where] += int(e.get("dur", 1))
    if not parsed:
        raise SystemExit("no pledge page (/p/…) was parsed in this trace")
    return parsed.most_common(1)[0][0]


def tasks_after_fcp(events: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(CPU ms, wall ms) of each top-level main-thread task that ends after first contentful paint."""
    pid, tid = main_thread(events)
    fcp = min((e["ts"] for e in events if e.get("name") == "firstContentfulPaint" and e["pid"] == pid),
              default=0)
    runs = sorted((e for e in events if (e["pid"], e["tid"]) == (pid, tid) and e.get("ph") == "X"
                   and e.get("name") == "RunTask" and "tdur" in e), key=lambda e: e["ts"])
    top, end = [], -1
    for e in runs:  # nested RunTasks belong to the one around them
        if e["ts"] >= end:
            top.append(e)
            end = e["ts"] + e["dur"]
    return [(e["tdur"] / 1000, e["dur"] / 1000) for e in top if e["ts"] + e["dur"] > fcp]


def main() -> int:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for name in sys.argv[1:]:
        raw = json.loads(Path(name).read_text())
        events = raw["traceEvents"] if isinstance(raw, dict) else raw
        tasks = sorted(tasks_after_fcp(events), reverse=True)
        blocking = sum(max(0.0, SLOWDOWN * cpu - LONG_MS) for cpu, _ in tasks)
        longest = ", ".join(f"{cpu:.1f} ({wall:.1f})" for cpu, wall in tasks[:4])
        print(f"{name}: longest tasks after FCP, CPU (wall) ms: {longest}; "
              f"blocking time from CPU at {SLOWDOWN}x: {blocking:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

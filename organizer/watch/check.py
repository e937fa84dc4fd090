"""One round of the watch: every campaign, as every client, in random order, spread over time.

Each visit (organizer/watch/visit.py) is what one student's phone does; what a round visits and
brings back is in organizer/watch/rounds.py.
"""

import random
import time
from collections.abc import Callable
from pathlib import Path

from organizer.watch.http import Proxy, UnreadableEncoding
from organizer.watch.rounds import CLIENTS, Finding, Round, Target
from organizer.watch.visit import Visit


def run_round(target: Target, *, proxy: Proxy | None = None, spread: float = 0.0,
              rng: random.Random | None = None, evidence_root: Path | None = None,
              sleep: Callable[[float], object] = time.sleep) -> Round:
    """Visit every campaign as every client, in random order, the visits spread over `spread`
    seconds at random (a round looks like students arriving, not like a probe)."""
    rng = rng or random.SystemRandom()
    visits = [(cid, client) for cid in target.campaign_ids for client in CLIENTS]
    rng.shuffle(visits)
    result = Round()
    vantage = proxy.isolated() if proxy else None
    for campaign_id, client in visits:
        if spread > 0:
            sleep(rng.uniform(0, 2 * spread / len(visits)))
        try:
            Visit(target, campaign_id, client, result, vantage, evidence_root).run()
        except UnreadableEncoding as exc:
            result.findings.append(Finding(campaign_id, client.name,
                                           f"an answer came compressed as {exc}, which this "
                                           "release's deployment never sends"))
        result.visits += 1
    return result

"""The watch as both faces use it: which campaigns to watch for this keystore, and rounds one
after another at random intervals (the CLI's `watch`, the app's background thread)."""

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from organizer import campaigns
from organizer.session import Session
from organizer.watch.check import run_round
from organizer.watch.http import Proxy
from organizer.watch.rounds import Round, Target
from organizer.watch.schedule import next_pause

SPREAD_SHARE = 0.3  # a continuous watch spreads a round's visits over this share of the pause


@dataclass(frozen=True)
class Plan:
    target: Target
    action_days: list[date]
    titles: dict[str, str] = field(default_factory=dict)  # campaign id -> title, for the app


def plan(session: Session, campaign_ids: list[str] | None = None) -> Plan:
    """The coalition's live campaigns (or those named), with what the keystore pins."""
    listed = campaigns.list_campaigns(session)
    ids = tuple(campaign_ids) if campaign_ids else tuple(str(c["campaign_id"]) for c in listed)
    days, titles = [], {}
    for item in listed:
        titles[str(item["campaign_id"])] = str(item["descriptor"].get("title") or "")
        try:
            days.append(date.fromisoformat(str(item["descriptor"].get("action_date"))))
        except ValueError:
            continue
    target = Target(str(session.data["server"]), session.coalition_id, session.signing_public, ids)
    return Plan(target, days, titles)


def status_code(result: Round) -> int:
    """The CLI's exit status for a round: 3 a difference, 4 could not check, 0 all the same."""
    if result.findings:
        return 3
    return 4 if result.unreachable or not result.visits else 0


@dataclass
class WatchState:
    """What the app shows: the last round's time and result, and every difference seen since
    the app opened (an alarm stays up until the organizer reads it, even if the next round is clean)."""

    last_round: datetime | None = None
    last: Round | None = None
    alarms: list[tuple[datetime, str, str, str, str]] = field(default_factory=list)
    running: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, result: Round, at: datetime) -> None:
        with self.lock:
            self.last_round, self.last = at, result
            for f in result.findings:
                self.alarms.append((at, f.campaign_id, f.client, f.what, str(f.evidence or "")))


def watch_forever(make_plan: Callable[[], Plan | None], state: WatchState, stop: threading.Event,
                  proxy: Proxy | None = None, on_round: Callable[[Round], None] | None = None,
                  first_pause: float = 0.0, wake: threading.Event | None = None,
                  rng: random.Random | None = None, spread: float | None = None) -> None:
    """Rounds at random intervals until `stop` is set. `wake` starts one at once ("Check now"),
    its visits not spread; `spread` fixes the seconds a round's visits are spread over (default:
    a share of the pause after it). No plan yet (the app was never unlocked): wait for the next turn."""
    rng = rng or random.SystemRandom()
    wake = wake or threading.Event()
    pause = first_pause
    while not stop.is_set():
        woken = wake.wait(pause)
        wake.clear()
        if stop.is_set():
            return
        p = make_plan()
        pause = next_pause(p.action_days if p else [], datetime.now(UTC).date(), rng)
        if p is None or not p.target.campaign_ids:
            continue
        state.running = True
        try:
            over = pause * SPREAD_SHARE if spread is None else spread
            result = run_round(p.target, proxy=proxy, spread=0.0 if woken else over,
                               rng=rng, sleep=stop.wait)
        finally:
            state.running = False
        state.record(result, datetime.now(UTC))
        if on_round is not None:
            on_round(result)

"""Publishing counts from the roster page (admins): once by the button, then republished by the
app while it is open at 08:00, 12:00, 16:00 and 20:00 of the campaign's zone, never because a
pledge arrived (protocol 1.1, amendment 4); one campaign's failure never stops the others, and the
page says what went wrong. Time moves on the app's movable clock, over days."""

import json
import time
import zoneinfo
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from crypto.encoding import b64u_decode, b64u_encode
from crypto.statements import tally_message
from organizer import tally
from organizer.app.autopublish import HOURS, AutoPublisher
from tests.support.factories import OrganizerHandle, make_campaign, make_coalition, pledge
from tests.support.http import call
from tests.support.live import LiveServer
from tests.support.organizer_app import Browser, RunningApp, start_app

FIELDS = ["school!:choice:Your school|Tu escuela:Covina High,Northview High"]
LA = zoneinfo.ZoneInfo("America/Los_Angeles")


def published(base_url: str, campaign_id: str) -> dict[str, Any] | None:
    served = call(base_url, "GET", f"/api/v1/campaigns/{campaign_id}").json()["tally"]
    return json.loads(b64u_decode(served["body"])) if served else None


def publish_by_hand(browser: Browser, cid: str) -> dict[str, Any]:
    started = browser.post(f"/campaigns/{cid}/roster/publish-counts")
    assert started.status == 303
    deadline = time.monotonic() + 60
    while not (job := json.loads(browser.get(started.location + ".json").text))["finished"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return job  # type: ignore[no-any-return]


def go_to(running: RunningApp, keeper: AutoPublisher, when: datetime) -> None:
    """Move the app's clock so its wall time is `when` (only ever forward)."""
    step = when.timestamp() - keeper.now()
    assert step >= -1, "the clock only moves forward"
    running.clock.advance(max(step, 0))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, clock_time(hour, minute), LA)


def start(org: OrganizerHandle) -> tuple[RunningApp, Browser, AutoPublisher]:
    running = start_app(org.keystore)
    running.state.idle_seconds = 10 * 86400  # days pass here; the idle lock has its own tests
    running.state.unlock(org.session)
    browser = Browser(running)
    browser.sign_in()
    return running, browser, running.server.app.extensions.setdefault(
        "pledgebox_autopublish", AutoPublisher(running.state))


def test_counts_are_republished_only_at_fixed_hours_over_days(live_server: LiveServer,
                                                               tmp_path: Path) -> None:
    org = make_coalition(tmp_path, live_server.base_url)
    cid = make_campaign(org, fields=FIELDS, threshold=5, time_zone="America/Los_Angeles")
    for _ in range(5):
        pledge(live_server.base_url, cid, {"school": "covina-high"})
    running, browser, keeper = start(org)
    try:
        first = datetime.now(LA).date() + timedelta(days=1)
        go_to(running, keeper, at(first, 9, 37))
        page = browser.get(f"/campaigns/{cid}/roster").text
        assert "Publish counts" in page
        assert "counts of pledges, not of people" in page
        assert publish_by_hand(browser, cid).get("error") in (None, "")  # by hand: at 09:37
        assert published(live_server.base_url, cid)["counts"] == {"covina-high": 5, "northview-high": 0}
        page = browser.get(f"/campaigns/{cid}/roster").text
        assert "08:00, 12:00, 16:00 and 20:00, America/Los_Angeles time" in page

        times: list[datetime] = []
        arrivals = {(first, 10, 5), *((first, 13, m) for m in range(40, 44)),
                    (first + timedelta(days=1), 7, 59), (first + timedelta(days=1), 12, 1),
                    (first + timedelta(days=2), 21, 30)}
        moment = at(first, 9, 45)
        while moment < at(first + timedelta(days=3), 0, 0):
            go_to(running, keeper, moment)
            if (moment.date(), moment.hour, moment.minute) in arrivals:
                pledge(live_server.base_url, cid, {"school": "northview-high"})
                assert keeper.tick() == [], moment  # never because a pledge arrived
            elif keeper.tick() == [cid]:
                times.append(moment)
            moment += timedelta(minutes=1)
        for when in times:
            assert when.hour in HOURS, when
            assert when.minute == 0, when
        per_day: dict[date, int] = {}
        for when in times:
            per_day[when.date()] = per_day.get(when.date(), 0) + 1
        assert max(per_day.values()) <= 4
        # 1 pledge at 10:05 ("few" from 12:00), 4 more at 13:40-13:43 (5 from 16:00); one at
        # 07:59 and one at 12:01 the next day (08:00 and 16:00); one at 21:30 waits for 08:00
        assert [t.hour for t in times if t.date() == first] == [12, 16]
        assert [t.hour for t in times if t.date() == first + timedelta(days=1)] == [8, 16]
        assert [t.hour for t in times if t.date() == first + timedelta(days=2)] == []
        assert published(live_server.base_url, cid)["counts"]["northview-high"] == 7

        # a slot the laptop slept through is skipped, not published on waking
        pledge(live_server.base_url, cid, {"school": "covina-high"})
        go_to(running, keeper, at(first + timedelta(days=3), 9, 30))
        assert keeper.tick() == []
        go_to(running, keeper, at(first + timedelta(days=3), 12, 0))
        assert keeper.tick() == [cid]

        running.state.lock_now()
        pledge(live_server.base_url, cid, {"school": "northview-high"})
        go_to(running, keeper, at(first + timedelta(days=3), 16, 0))
        assert keeper.tick() == []  # locked: the keys are gone, nothing is published
    finally:
        running.stop()


def test_one_campaigns_failure_stops_no_other_and_the_page_says_so(live_server: LiveServer,
                                                                   tmp_path: Path) -> None:
    org = make_coalition(tmp_path, live_server.base_url)
    good, stuck = (make_campaign(org, fields=FIELDS, threshold=5, time_zone="America/Los_Angeles")
                   for _ in range(2))
    for cid in (good, stuck):
        for _ in range(5):
            pledge(live_server.base_url, cid, {"school": "covina-high"})
    running, browser, keeper = start(org)
    try:
        first = datetime.now(LA).date() + timedelta(days=1)
        go_to(running, keeper, at(first, 9, 0))
        for cid in (good, stuck):
            assert publish_by_hand(browser, cid).get("error") in (None, "")
        # another admin's laptop, its date a day ahead, published a later day's counts for one
        later = json.loads(tally.compute(org.session, stuck))
        later["day"] = (date.fromisoformat(later["day"]) + timedelta(days=1)).isoformat()
        body = json.dumps(later, separators=(",", ":")).encode()
        signing = org.session.signing_key()
        assert signing is not None
        org.session.client().request("PUT", f"/api/v1/org/campaigns/{stuck}/tally", {
            "body": b64u_encode(body), "signature": b64u_encode(signing.sign(tally_message(body)))})
        for cid in (good, stuck):
            for _ in range(5):
                pledge(live_server.base_url, cid, {"school": "northview-high"})

        go_to(running, keeper, at(first, 12, 0))
        assert keeper.tick() == [good]  # the stuck one failed, the other went on
        assert published(live_server.base_url, good)["counts"]["northview-high"] == 5
        page = browser.get(f"/campaigns/{stuck}/roster").text
        assert "The last automatic publication did not work" in page
        assert "later than this one" in page
        assert "The last automatic publication did not work" not in browser.get(
            f"/campaigns/{good}/roster").text
        assert "Last published by itself" in browser.get(f"/campaigns/{good}/roster").text
        assert keeper._thread is not None
        assert keeper._thread.is_alive()
    finally:
        running.stop()

"""Publishing counts from the roster page (admins): once by the button, then republished by the
app while it is open, only when the counts changed and at most every ten minutes."""

import json
import time
from pathlib import Path

from crypto.encoding import b64u_decode
from organizer.app.autopublish import INTERVAL, AutoPublisher
from tests.support.factories import make_campaign, make_coalition, pledge
from tests.support.http import call
from tests.support.live import LiveServer
from tests.support.organizer_app import Browser, start_app

FIELDS = ["school!:choice:Your school|Tu escuela:Covina High,Northview High"]


def published(base_url: str, campaign_id: str) -> dict | None:  # type: ignore[type-arg]
    tally = call(base_url, "GET", f"/api/v1/campaigns/{campaign_id}").json()["tally"]
    return json.loads(b64u_decode(tally["body"])) if tally else None


def test_publish_counts_then_kept_fresh_while_open(live_server: LiveServer, tmp_path: Path) -> None:
    org = make_coalition(tmp_path, live_server.base_url)
    cid = make_campaign(org, fields=FIELDS, threshold=5)
    for _ in range(5):
        pledge(live_server.base_url, cid, {"school": "covina-high"})
    running = start_app(org.keystore)
    try:
        running.state.unlock(org.session)
        browser = Browser(running)
        browser.sign_in()
        page = browser.get(f"/campaigns/{cid}/roster")
        assert "Publish counts" in page.text
        assert "publishes again" not in page.text
        started = browser.post(f"/campaigns/{cid}/roster/publish-counts")
        assert started.status == 303
        job = started.location
        deadline = time.monotonic() + 60
        while not json.loads(browser.get(job + ".json").text)["finished"]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert published(live_server.base_url, cid)["counts"] == {"covina-high": 5, "northview-high": 0}
        assert "publishes again" in browser.get(f"/campaigns/{cid}/roster").text

        keeper: AutoPublisher = running.server.app.extensions["pledgebox_autopublish"]
        assert keeper.tick() == []  # nothing is due yet
        running.clock.advance(INTERVAL)
        assert keeper.tick() == []  # due, but the counts did not change: nothing published
        for _ in range(5):
            pledge(live_server.base_url, cid, {"school": "northview-high"})
        assert keeper.tick() == []  # changed, but the last check was just now
        running.clock.advance(INTERVAL)
        assert keeper.tick() == [cid]
        assert published(live_server.base_url, cid)["counts"] == {"covina-high": 5, "northview-high": 5}
        assert published(live_server.base_url, cid)["reached"] == ["covina-high", "northview-high"]

        running.state.lock_now()
        running.clock.advance(INTERVAL)
        pledge(live_server.base_url, cid, {"school": "northview-high"})
        assert keeper.tick() == []  # locked: the keys are gone, nothing is published
    finally:
        running.stop()

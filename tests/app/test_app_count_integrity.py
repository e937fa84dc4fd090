"""The app's roster page and counts hold against hostile pledges (issue 17, findings 3 and 6):
pledges that share a nonce but differ are all counted and marked; a pledge of the wrong types is
counted as unopened and publishing counts still works."""

import json
import secrets
import time
from typing import Any

from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import seal_bytes
from tests.app.test_app_campaigns import live_until_done
from tests.support.factories import OrganizerHandle, make_campaign, pledge
from tests.support.http import call
from tests.support.live import LiveServer
from tests.support.organizer_app import Browser

FIELDS = ["school!:choice:Your school|Tu escuela:Covina High,Northview High",
          "message:text:Message|Mensaje"]


def seal_raw(base_url: str, campaign_id: str, body: dict[str, Any]) -> str:
    """Any plaintext at all, sealed and posted through the public API as anyone could."""
    key = call(base_url, "GET", f"/api/v1/campaigns/{campaign_id}").json()["encryption_key"]
    sealed = seal_bytes(b64u_decode(key["public_key"]), json.dumps(body).encode())
    reply = call(base_url, "POST", f"/api/v1/campaigns/{campaign_id}/pledges",
                 {"key_version": key["version"], "ciphertext": b64u_encode(sealed),
                  "withdraw_token_hash": b64u_encode(secrets.token_bytes(32))})
    assert reply.status == 201, reply.body
    return str(reply.json()["pledge_id"])


def test_pledges_sharing_a_nonce_but_differing_are_all_counted_and_marked(
        browser: Browser, org: OrganizerHandle, live_server: LiveServer) -> None:
    cid = make_campaign(org, fields=FIELDS)
    nonce = b64u_encode(secrets.token_bytes(16))
    for school in ("northview-high", "covina-high"):  # the real one and an insider's forgery
        seal_raw(live_server.base_url, cid, {"v": 1, "campaign_id": cid, "nonce": nonce,
                                             "answers": {"school": school}})
    browser.get(f"/campaigns/{cid}/roster")
    live = live_until_done(browser, cid)
    assert 'data-opened="2"' in live
    assert "2 pledges share their code with a pledge that says something else" in live
    page = browser.get(f"/campaigns/{cid}/roster").text
    assert page.count('class="flag"') == 2


def test_a_pledge_of_the_wrong_types_leaves_the_roster_and_publishing_working(
        browser: Browser, org: OrganizerHandle, live_server: LiveServer) -> None:
    cid = make_campaign(org, fields=FIELDS, threshold=5)
    for _ in range(5):
        pledge(live_server.base_url, cid, {"school": "covina-high"})
    seal_raw(live_server.base_url, cid, {"v": 1, "campaign_id": cid,
                                         "answers": {"school": ["covina-high"]}})
    browser.get(f"/campaigns/{cid}/roster")
    live = live_until_done(browser, cid)
    assert 'data-opened="5"' in live
    assert "1 pledge could not be opened here" in live
    for kind in ("csv", "jsonl", "html"):
        assert browser.get(f"/campaigns/{cid}/roster/export.{kind}").status == 200
    started = browser.post(f"/campaigns/{cid}/roster/publish-counts")
    assert started.status == 303
    deadline = time.monotonic() + 60
    while not (job := json.loads(browser.get(started.location + ".json").text))["finished"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job.get("error") in (None, "")
    served = call(live_server.base_url, "GET", f"/api/v1/campaigns/{cid}").json()["tally"]
    assert json.loads(b64u_decode(served["body"]))["counts"]["covina-high"] == 5


def test_the_wizard_refuses_a_threshold_below_5_in_plain_words(browser: Browser) -> None:
    """Amendment 2: a threshold of 1 to 4 would publish that a school has 1 to 4 pledges."""
    from tests.app.test_app_campaigns import WIZARD

    assert 'min="5"' in browser.get("/campaigns/new").text
    for lang, sentence in (("en", "A threshold is a number of pledges from 5 to 100000"),
                           ("es", "Un umbral es un número de compromisos de 5 a 100000")):
        page = browser.post("/campaigns/new", {**WIZARD, "threshold": "3", "action": "check"},
                            headers={"Accept-Language": lang})
        assert page.status in (200, 400)
        assert sentence in page.text
        assert 'value="Salida por escuelas seguras"' in page.text  # what was typed stays

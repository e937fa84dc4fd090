"""The app's campaign pages against a real server: the wizard publishes exactly what was previewed,
sharing gives the link and QR codes, the roster page counts in the background, exports stream
without touching the disk, and wiping needs the title typed."""

import csv
import hashlib
import io
import json
import re
import secrets
import tempfile
import time
from pathlib import Path

from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import seal_bytes
from organizer import campaigns, share
from organizer.app.rosters import REFRESH_SECONDS
from organizer.campaigns import local_zone
from tests.support.factories import make_campaign, pledge
from tests.support.http import call
from tests.support.live import LiveServer
from tests.support.organizer_app import Browser

SENTINEL = "zebra-sentinel-4417"
ROOT = Path(__file__).resolve().parents[2]


WIZARD = {"title": "Walkout for safe schools", "title_es": "Salida por escuelas seguras",
          "description": "We walk out at 10.", "description_es": "Salimos a las 10.",
          "action_date": "2031-03-05", "closes": "2031-03-04", "delete_after": "2031-03-12",
          "time_zone": "America/Los_Angeles", "ask_help": "1", "threshold": "10",
          "schools": "Covina High | Preparatoria Covina\nNorthview High"}


def test_the_wizard_publishes_exactly_what_the_preview_showed(browser: Browser, org, monkeypatch) -> None:
    page = browser.get("/campaigns/new")
    assert page.status == 200
    assert f'<option value="{local_zone()}" selected>' in page.text  # the laptop's zone, preselected
    assert 'name="q0-kind"' not in page.text  # no extra question (no names, no contacts) by default

    added = browser.post("/campaigns/new", {**WIZARD, "action": "add-contact"})
    assert added.status == 200
    assert 'name="q0-kind" value="contact"' in added.text
    assert 'value="Salida por escuelas seguras"' in added.text  # the form comes back as typed

    form = {**WIZARD, "q0-kind": "choice", "q0-en": "Grade", "q0-es": "Grado",
            "q0-options": "9th\n10th", "action": "check"}
    checked = browser.post("/campaigns/new", form)
    assert checked.status == 303
    draft = checked.location
    shown = browser.get(draft)
    assert shown.status == 200
    assert shown.text.count("<iframe") == 2
    phone = browser.get(f"{draft}/phone?lang=es")
    assert phone.status == 200
    assert "frame-ancestors 'self'" in phone.headers["Content-Security-Policy"]
    assert "Salida por escuelas seguras" in phone.text
    assert "Preparatoria Covina" in phone.text
    assert "Grado" in phone.text
    assert "Tu escuela" in phone.text
    assert "Antes de enviar" in phone.text
    assert "frame-ancestors 'none'" in browser.get(draft).headers["Content-Security-Policy"]
    css = browser.get("/campaigns/pledge-page.css")  # the server's own stylesheet, fetched from it
    assert css.status == 200
    assert css.body == (ROOT / "server" / "static" / "css" / "pledgebox.css").read_bytes()

    again = browser.get(f"/campaigns/new?draft={draft.rsplit('/', 1)[1]}")  # "Change something"
    assert 'value="Salida por escuelas seguras"' in again.text
    assert 'name="q0-options"' in again.text

    published = browser.post(f"{draft}/publish")
    assert published.status == 303
    campaign_id = published.location.split("/")[-2]
    d = campaigns.find(org.session, campaign_id)["descriptor"]
    assert d["i18n"]["es"] == {"title": "Salida por escuelas seguras", "description": "Salimos a las 10."}
    assert d["time_zone"] == "America/Los_Angeles"
    assert d["threshold"] == {"field": "school", "count": 10}
    assert [f["id"] for f in d["fields"]] == ["school", "help", "grade"]
    assert browser.post(f"{draft}/publish").status == 404  # a draft is published once


def test_a_mistake_comes_back_with_its_sentence_and_the_form_as_typed(browser: Browser) -> None:
    answer = browser.post("/campaigns/new", {**WIZARD, "delete_after": "2031-03-01",
                                             "action": "check"})
    assert answer.status == 400
    assert "Everything would be deleted on March 1, 2031, before the action day" in answer.text
    assert 'value="Walkout for safe schools"' in answer.text


def test_sharing_gives_the_link_qr_codes_poster_and_captions(browser: Browser, org) -> None:
    campaign_id = make_campaign(org, title_es="Salida")
    link = campaigns.share_link(org.session, campaign_id)
    page = browser.get(f"/campaigns/{campaign_id}/share")
    assert page.status == 200
    assert f'value="{link}"' in page.text
    assert page.text.count('data-copy="caption-') == 2
    assert "Link in our bio" in page.text
    assert "Enlace en nuestra bio" in page.text  # the Spanish caption, whatever the page's language
    png = browser.get(f"/campaigns/{campaign_id}/qr.png?download=1")
    assert png.body == share.qr_png(link)
    assert png.headers["Content-Type"] == "image/png"
    assert "attachment" in png.headers["Content-Disposition"]
    svg = browser.get(f"/campaigns/{campaign_id}/qr.svg")
    assert svg.body.startswith(b"<svg")
    assert svg.headers["Content-Type"].startswith("image/svg+xml")
    poster = browser.get(f"/campaigns/{campaign_id}/poster")
    assert "Scan to pledge" in poster.text
    assert "Escanea para comprometerte" in poster.text


def live_until_done(browser: Browser, campaign_id: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        live = browser.get(f"/campaigns/{campaign_id}/roster/live",
                           headers={"X-Pledgebox-Background": "1"}).text
        if 'data-state="done"' in live:
            return live
        time.sleep(0.1)
    raise AssertionError("the roster never finished")


def files_holding(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_roster_counts_search_and_exports_stream_without_a_file(browser: Browser, org,
                                                                live_server: LiveServer,
                                                                tmp_path: Path) -> None:
    campaign_id = make_campaign(org)
    for i in range(3):
        pledge(live_server.base_url, campaign_id,
               {"school": "covina-high", "message": f"{SENTINEL} {i}", "help": i == 0})
    pledge(live_server.base_url, campaign_id, {"school": "northview-high", "message": "hola"})
    temp_before = set(Path(tempfile.gettempdir()).iterdir())
    assert browser.get(f"/campaigns/{campaign_id}/roster").status == 200
    live = live_until_done(browser, campaign_id)
    assert 'data-opened="4"' in live
    assert re.search(r"Covina High</span>.*?<meter[^>]*value=\"3\"", live, re.S)
    assert "“I want to help”</h2>" in live or "I want to help" in live
    pledge(live_server.base_url, campaign_id, {"school": "northview-high", "message": "late"})
    assert 'data-opened="4"' in live_until_done(browser, campaign_id)  # a pass is not redone at once
    browser.app.clock.advance(REFRESH_SECONDS)
    deadline = time.monotonic() + 60
    while 'data-opened="5"' not in live_until_done(browser, campaign_id):  # the count moved: anew
        assert time.monotonic() < deadline
        time.sleep(0.1)
    searched = browser.post(f"/campaigns/{campaign_id}/roster/search", {"q": "HOLA"})
    assert searched.status == 303
    assert "HOLA" not in searched.location  # a typed name never enters the browser's history
    found = browser.get(searched.location)
    assert "1 pledge matches" in found.text
    assert "?q=" not in found.text
    browser.app.state.lock_now()  # the search is dropped with the keys
    assert browser.app.state.browser(browser.cookie).searches == {}
    browser.app.state.unlock(org.session)
    assert "1 pledge matches" not in browser.get(f"/campaigns/{campaign_id}/roster?q=HOLA").text

    raw = browser.get(f"/campaigns/{campaign_id}/roster/export.csv")
    assert "attachment" in raw.headers["Content-Disposition"]
    assert raw.body.startswith(b"\xef\xbb\xbf")  # spreadsheets read it as UTF-8
    rows = list(csv.reader(io.StringIO(raw.body.decode("utf-8-sig"))))[1:]
    assert sorted(r[3] for r in rows) == ["Covina High"] * 3 + ["Northview High"] * 2  # labels
    lines = browser.get(f"/campaigns/{campaign_id}/roster/export.jsonl").text.splitlines()
    schools = sorted(json.loads(x)["answers"]["school"] for x in lines)
    assert schools == ["covina-high"] * 3 + ["northview-high"] * 2
    report = browser.get(f"/campaigns/{campaign_id}/roster/export.html").text
    assert "do not upload, email or print it" in report
    assert SENTINEL in report

    assert files_holding(tmp_path, SENTINEL.encode()) == []  # keystore folder, server instance
    temp_new = set(Path(tempfile.gettempdir()).iterdir()) - temp_before
    assert [p for p in temp_new if p.is_file() and SENTINEL.encode() in p.read_bytes()] == []


def test_wiping_needs_the_title_typed(browser: Browser, org) -> None:
    campaign_id = make_campaign(org, title="Walkout Friday")
    assert "Walkout Friday" in browser.get(f"/campaigns/{campaign_id}/wipe").text
    wrong = browser.post(f"/campaigns/{campaign_id}/wipe", {"confirm": "walkout"})
    assert wrong.status == 303
    assert campaigns.find(org.session, campaign_id)
    right = browser.post(f"/campaigns/{campaign_id}/wipe", {"confirm": " walkout  FRIDAY "})
    assert right.status == 303
    assert campaign_id not in {i["campaign_id"] for i in campaigns.list_campaigns(org.session)}
    assert "Walkout Friday" not in browser.get("/").text
    listed = browser.get("/campaigns/")
    assert listed.status == 200
    assert "Walkout Friday" not in listed.text


def test_the_roster_page_says_how_many_repeated_pledges_it_left_out(browser: Browser, org,
                                                                     live_server: LiveServer) -> None:
    """A server can store one sealed pledge twice under two ids (protocol 1.1's nonce tells)."""
    campaign_id = make_campaign(org)
    info = call(live_server.base_url, "GET", f"/api/v1/campaigns/{campaign_id}").json()
    key = info["encryption_key"]
    plain = json.dumps({"v": 1, "campaign_id": campaign_id, "nonce": b64u_encode(secrets.token_bytes(16)),
                        "answers": {"school": "covina-high", "message": "once"}}).encode()
    sealed = b64u_encode(seal_bytes(b64u_decode(key["public_key"]), plain))
    for _ in range(2):
        body = {"key_version": key["version"], "ciphertext": sealed, "withdraw_token_hash":
                b64u_encode(hashlib.blake2b(secrets.token_bytes(32), digest_size=32).digest())}
        assert call(live_server.base_url, "POST", f"/api/v1/campaigns/{campaign_id}/pledges",
                    body).status == 201
    assert browser.get(f"/campaigns/{campaign_id}/roster").status == 200
    live = live_until_done(browser, campaign_id)
    assert 'data-opened="1"' in live
    assert "1 pledge repeats an earlier one" in live


def test_the_roster_page_in_spanish_names_options_as_the_organizers_wrote_them(
        browser: Browser, org, live_server: LiveServer) -> None:
    campaign_id = make_campaign(org, fields=[
        "school!:choice:School|Escuela:Covina High|Preparatoria Covina,Northview High",
        "help:checkbox:I want to help|Quiero ayudar"])
    pledge(live_server.base_url, campaign_id, {"school": "covina-high", "help": True})
    spanish = {"Accept-Language": "es"}
    browser.get(f"/campaigns/{campaign_id}/roster", headers=spanish)
    deadline = time.monotonic() + 60
    while True:
        live = browser.get(f"/campaigns/{campaign_id}/roster/live",
                           headers={"X-Pledgebox-Background": "1", **spanish}).text
        if 'data-state="done"' in live or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert "Preparatoria Covina" in live  # the bars and the "I want to help" list
    assert "Covina High" not in live
    table = browser.get(f"/campaigns/{campaign_id}/roster", headers=spanish).text
    assert "<td>Preparatoria Covina</td>" in table
    assert "<td>sí</td>" in table


def test_a_hostile_pledge_with_an_unpaired_surrogate_breaks_no_page_or_export(
        browser: Browser, org, live_server: LiveServer) -> None:
    """Anyone with the link can seal text that cannot be written as UTF-8; it is left out as
    unopened instead of turning the roster page and the exports into errors."""
    campaign_id = make_campaign(org)
    pledge(live_server.base_url, campaign_id, {"school": "covina-high", "message": "fine"})
    key = call(live_server.base_url, "GET", f"/api/v1/campaigns/{campaign_id}").json()["encryption_key"]
    plain = (f'{{"v": 1, "campaign_id": "{campaign_id}", "answers": {{"school": "covina-high", '
             f'"message": "\\ud800"}}}}').encode()
    body = {"key_version": key["version"],
            "ciphertext": b64u_encode(seal_bytes(b64u_decode(key["public_key"]), plain)),
            "withdraw_token_hash": b64u_encode(secrets.token_bytes(32))}
    assert call(live_server.base_url, "POST", f"/api/v1/campaigns/{campaign_id}/pledges",
                body).status == 201
    assert browser.get(f"/campaigns/{campaign_id}/roster").status == 200
    live = live_until_done(browser, campaign_id)
    assert 'data-opened="1"' in live
    assert "1 pledge could not be opened" in live
    assert browser.get(f"/campaigns/{campaign_id}/roster").status == 200
    for kind in ("csv", "jsonl", "html"):
        assert browser.get(f"/campaigns/{campaign_id}/roster/export.{kind}").status == 200

"""A campaign's whole life, as one test (issue 18, "The whole life, as one test").

Sixty days on the movable clock, with nothing else faked: one real server (gunicorn on loopback,
a real SQLite file), a coalition with two admins (Ana, Ben) and two members (Mia, who stays, and
Rudy, who is removed), each with a real keystore, and the organizer app served for real on
loopback whenever one of them opens it. The server's clock file, the organizer tool's clock
(organizer/clock.py) and each open app's clock move together.

The story: Ana makes the coalition and the campaign on day 0 and opens the app; students pledge
every few days from three schools; Ben opens the app on day 20 (the link worked every day in
between), removes Rudy, which changes the key, and publishes the counts, which the app then
republishes at 08:00 and 12:00 only. Then no admin opens Pledgebox for 40 days: Mia's app warns
from 10 days before the links stop and says when they have stopped; the campaign closes, its
action day passes, the server deletes it, and the purge leaves none of its pledges' bytes in the
database file. On day 60 Ana opens the app again: the links work again, the campaign is gone.

At each step the test checks what a student gets (the campaign API as the page reads it: the key
statement's not_after against the day; pledges accepted or refused with the protocol's error) and
what the organizer sees (the app's pages: the day the links stop, the warnings, the counts, the
key's version, the published counts).
"""

import hashlib
import html
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, cast

import pytest
from babel.dates import format_date
from flask import Flask

from crypto import CryptoError
from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import open_pledge, seal_pledge
from organizer import clock as organizer_clock
from organizer import coalition, members
from organizer.app.autopublish import AutoPublisher
from organizer.errors import UserError
from organizer.session import Session
from server.db import database
from server.models import Pledge
from tests.conftest import server_env
from tests.support.factories import PASSPHRASE, OrganizerHandle, fp, joined, make_campaign, make_coalition
from tests.support.http import call
from tests.support.live import LiveServer
from tests.support.organizer_app import Answer, Browser, RunningApp, start_app
from tests.support.pledges import pledge_view

pytestmark = pytest.mark.slow

SCHOOLS = ["covina-high", "northview-high", "south-hills-high"]
FIELDS = ["school!:choice:Your school|Tu escuela:Covina High,Northview High,South Hills High",
          "message:text:Message|Mensaje"]
CLOSES, ACTION, DELETE_AFTER = 55, 56, 57  # days after day 0
# Pledges: (day, school) from day 1 to day 49, every two or three days, several schools a visit.
PLEDGE_DAYS = [1, 3, 6, 8, 11, 13, 16, 18, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49]
SCHEDULE = {d: SCHOOLS[i % 3] for i, d in enumerate(PLEDGE_DAYS)}
EXTRA = {1: "covina-high", 6: "covina-high", 8: "covina-high", 13: "covina-high",
         16: "northview-high", 18: "covina-high", 25: "covina-high", 31: "northview-high",
         51: "south-hills-high"}  # day 51: the page's last day of grace past not_after


@dataclass
class Sent:
    day: int
    school: str
    key_version: int
    pledge_id: str
    ciphertext: bytes


@dataclass
class World:
    """Days passing for the whole deployment: server, organizer tool and every open app."""

    server: LiveServer
    clock_file: Path
    cid: str = ""
    offset: float = 0.0  # days
    apps: list[RunningApp] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.day0 = datetime.now(UTC).date()
        self.midnight0 = datetime.combine(self.day0, clock_time.min, UTC).timestamp()

    def now(self) -> float:
        return time.time() + self.offset * 86400

    def at(self, day: int, hour: int = 12, minute: int = 0) -> date:
        """Move everyone's clock to `hour:minute` UTC of day `day` (only ever forward)."""
        offset = (self.midnight0 + day * 86400 + hour * 3600 + minute * 60 - time.time()) / 86400
        assert offset >= self.offset, "the clocks never run backwards"
        self.offset = offset
        self.clock_file.write_text(repr(offset))
        for app in self.apps:
            app.clock.offset = offset * 86400
        assert organizer_clock.today() == self.day(day)
        return self.day(day)

    def day(self, n: int) -> date:
        return self.day0 + timedelta(days=n)

    # --- what a student's page does ------------------------------------------------------------

    def campaign(self) -> Any:
        return call(self.server.base_url, "GET", f"/api/v1/campaigns/{self.cid}")

    def page_accepts_key(self, today: date) -> bool:
        """web/src/envelope/verification.js: the page seals to the key until a day past its not_after."""
        key = self.campaign().json()["encryption_key"]
        return date.fromisoformat(key["not_after"]) + timedelta(days=1) >= today

    def seal_and_send(self, key: dict[str, Any], school: str) -> Any:
        ciphertext = seal_pledge(b64u_decode(key["public_key"]), self.cid,
                                 {"school": school, "message": "see you there"})
        token = secrets.token_bytes(32)
        body = {"key_version": key["version"], "ciphertext": b64u_encode(ciphertext),
                "withdraw_token_hash": b64u_encode(hashlib.blake2b(token, digest_size=32).digest())}
        reply = call(self.server.base_url, "POST", f"/api/v1/campaigns/{self.cid}/pledges", body)
        return reply, ciphertext

    def pledge(self, n: int, school: str) -> None:
        key = self.campaign().json()["encryption_key"]
        assert self.page_accepts_key(self.day(n)), f"day {n}: the student page refuses the key"
        reply, ciphertext = self.seal_and_send(key, school)
        assert reply.status == 201, (n, reply.body)
        self.sent.append(Sent(n, school, key["version"], reply.json()["pledge_id"], ciphertext))

    def counts(self) -> Counter[str]:
        return Counter(s.school for s in self.sent)


def life_day(d: date) -> str:
    return str(format_date(d, "medium", locale="en"))


def text_of(answer: Answer) -> str:
    assert answer.status == 200, (answer.status, answer.text[:500])
    return html.unescape(re.sub(r"\s+", " ", answer.text))


def open_app(world: World, org: OrganizerHandle) -> tuple[RunningApp, Browser]:
    """An organizer opens `pledgebox app` and types the passphrase on the unlock page."""
    running = start_app(org.keystore)
    running.clock.offset = world.offset * 86400
    world.apps.append(running)
    browser = Browser(running)
    browser.sign_in()
    if running.state.session is None:
        unlocked = browser.post("/unlock", {"passphrase": PASSPHRASE, "next": "/"})
        assert unlocked.status == 303, unlocked.text[:500]
    assert running.state.session is not None
    return running, browser


def close_app(world: World, running: RunningApp) -> None:
    running.stop()
    world.apps.remove(running)


def finish_job(browser: Browser, started: Answer) -> str:
    assert started.status == 303, started.text[:500]
    deadline = time.monotonic() + 60
    while not (job := json.loads(browser.get(started.location + ".json").text))["finished"]:
        assert time.monotonic() < deadline, "the job never finished"
        time.sleep(0.05)
    assert not job.get("error"), job
    return html.unescape(json.dumps(job, ensure_ascii=False))


def roster_numbers(browser: Browser, cid: str) -> tuple[int, dict[str, int], dict[str, int]]:
    """The roster page's total, its per-school bars and its pledges-per-day bars, once every
    pledge is opened on this laptop."""
    deadline = time.monotonic() + 60
    while True:
        live = browser.get(f"/campaigns/{cid}/roster/live",
                           headers={"X-Pledgebox-Background": "1"}).text
        if 'data-state="done"' in live:
            break
        assert time.monotonic() < deadline, "the roster never finished"
        time.sleep(0.05)
    live = html.unescape(live)
    found = re.search(r'class="total" role="status"><strong>(\d+) pledges?<', live)
    assert found, "the roster page shows no total"
    total = int(found.group(1))
    bars = dict(re.findall(r'<span class="bar-label">([^<]+)</span>.*?'
                           r'<span class="bar-count">(\d+)</span>', live, re.S))
    per_day = dict(re.findall(r'<time datetime="(\d{4}-\d\d-\d\d)">.*?'
                              r'<span class="bar-count">(\d+)</span>', live, re.S))
    return total, {k: int(v) for k, v in bars.items() if not k[:1].isdigit()}, \
        {k: int(v) for k, v in per_day.items()}


LABELS = {"covina-high": "Covina High", "northview-high": "Northview High",
          "south-hills-high": "South Hills High"}


def check_roster(world: World, browser: Browser) -> None:
    """The roster's numbers are the pledges sent: in all, per school, per day received."""
    total, per_school, per_day = roster_numbers(browser, world.cid)
    assert total == len(world.sent)
    expected = world.counts()
    for school, label in LABELS.items():
        assert per_school.get(label, 0) == expected[school], (label, per_school)
    sent_days = Counter(world.day(s.day).isoformat() for s in world.sent)
    assert per_day == dict(sent_days)
    exported = browser.get(f"/campaigns/{world.cid}/roster/export.jsonl").text.splitlines()
    assert Counter(json.loads(x)["answers"]["school"] for x in exported) == expected


def removable(browser: Browser) -> set[str]:
    """The organizers an admin's Organizers page lists (each with its Remove button)."""
    page = text_of(browser.get("/organizers"))
    return set(re.findall(r'href="/organizers/([^/"]+)/remove"', page))


def link_box(page: str) -> str:
    found = re.search(r'<section class="card link-life.*?</section>', page, re.S)
    assert found, "the page does not say how long the share links work"
    return found.group(0)


def published(world: World) -> dict[str, Any] | None:
    served = world.campaign().json()["tally"]
    return json.loads(b64u_decode(served["body"])) if served else None


def check_tally_never_below_five(tally: dict[str, Any], expected: Counter[str]) -> None:
    for school in SCHOOLS:
        n = expected[school]
        if 1 <= n <= 4:
            assert school in tally["few"]
            assert school not in tally["counts"]
        else:
            assert tally["counts"][school] == n
    assert all(v == 0 or v >= 5 for v in tally["counts"].values())
    assert tally["total"] == sum(tally["counts"].values())
    assert tally["total"] not in range(1, 5)


def opens_with(org: OrganizerHandle, sent: Sent, cid: str) -> bool:
    """Whether any key in this keystore opens the pledge's sealed bytes (as a server holding
    them could hand them over)."""
    session = Session.open(org.keystore, PASSPHRASE)
    for version in session.encryption_versions():
        key = session.encryption_key(version)
        try:
            open_pledge(key.public, key.secret, sent.ciphertext, cid)
            return True
        except (CryptoError, ValueError):
            continue
    return False


def instance_bytes(instance: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(instance.rglob("*")) if p.is_file())


@pytest.fixture
def world(instance: Path, db_url: str, clock_file: Path, live_server: LiveServer,
          monkeypatch: pytest.MonkeyPatch) -> Any:
    made = World(live_server, clock_file)
    monkeypatch.setattr(organizer_clock, "now", made.now)
    yield made
    for running in list(made.apps):
        running.stop()


@dataclass
class Cast:
    ana: OrganizerHandle
    ben: OrganizerHandle
    mia: OrganizerHandle
    rudy: OrganizerHandle


def test_sixty_days_of_one_campaign(world: World, tmp_path: Path, instance: Path, db_url: str,
                                    clock_file: Path) -> None:
    people = day_0(world, tmp_path)
    days_1_to_19(world, people)
    served_key, at_noon = day_20(world, people)
    nobody_for_40_days(world, people, served_key, at_noon)
    action_day_and_deletion(world, people, served_key, instance, db_url, clock_file)
    day_60(world, people)


def pledges_of(world: World, n: int) -> None:
    """The day's pledges, from the schedule."""
    if n in SCHEDULE:
        world.pledge(n, SCHEDULE[n])
    if n in EXTRA:
        world.pledge(n, EXTRA[n])


def day_0(world: World, tmp_path: Path) -> Cast:
    """The coalition, its organizers and the campaign; Ana opens the app."""
    base = world.server.base_url
    ana = make_coalition(tmp_path, base)
    ben = joined(tmp_path, ana, "admin", "ben")
    mia = joined(tmp_path, ana, "member", "mia")
    rudy = joined(tmp_path, ana, "member", "rudy")
    for newcomer in (ben, mia, rudy):
        members.approve(ana.session, fp(newcomer))
        coalition.sync(newcomer.session)
    world.cid = make_campaign(ana, today=world.day0, action_in=ACTION, closes_in=CLOSES,
                              delete_in=DELETE_AFTER, fields=FIELDS, threshold=5)
    served = world.campaign().json()
    assert served["encryption_key"]["version"] == 1
    assert served["encryption_key"]["not_after"] == world.day(30).isoformat()
    assert served["tally"] is None

    app, browser = open_app(world, ana)
    home = text_of(browser.get("/"))
    assert "Walkout" in home
    box = link_box(home)
    assert "How long your share links work" in box
    assert f"until {life_day(world.day(30))}" in box
    assert "left." not in box  # no warning: 30 days to go
    assert life_day(world.day(30)) in link_box(text_of(browser.get(f"/campaigns/{world.cid}")))
    keys = text_of(browser.get("/keys"))
    assert "key version 1." in keys
    assert f"until {life_day(world.day(30))}" in keys
    assert "Invite a second admin now" not in home  # two admins from the first day
    assert removable(browser) == {fp(ben), fp(mia), fp(rudy)}
    close_app(world, app)
    return Cast(ana, ben, mia, rudy)


def days_1_to_19(world: World, people: Cast) -> None:
    """Pledges; no admin opens anything; the link works every day."""
    for n in range(1, 20):
        today = world.at(n, 15)
        assert world.page_accepts_key(today), f"day {n}: the link stopped working"
        pledges_of(world, n)
        if n == 8:  # Rudy, a member, looks at the roster: every pledge so far, calm link
            app, browser = open_app(world, people.rudy)
            box = link_box(text_of(browser.get("/")))
            assert "How long your share links work" in box
            assert "22 days left" not in box
            assert "An admin must open Pledgebox" in box
            check_roster(world, browser)
            close_app(world, app)
    assert world.campaign().json()["encryption_key"]["not_after"] == world.day(30).isoformat()


def day_20(world: World, people: Cast) -> tuple[dict[str, Any], dict[str, Any]]:
    """07:30: Ben opens the app, removes Rudy (the key changes), publishes the counts; the app
    republishes them at 08:00 and 12:00 only. Returns the served key and the noon counts."""
    ana, mia, rudy = people.ana, people.mia, people.rudy
    world.at(20, 7, 30)
    app, browser = open_app(world, people.ben)
    app.state.idle_seconds = 6 * 3600  # Ben works in the app through the morning
    home = text_of(browser.get("/"))
    box = link_box(home)
    assert "How long your share links work" in box, "the admin's visit renews the links"
    assert f"until {life_day(world.day(50))}" in box
    assert world.campaign().json()["encryption_key"]["not_after"] == world.day(50).isoformat()
    check_roster(world, browser)
    before_rotation = world.campaign().json()["encryption_key"]

    assert "Remove" in text_of(browser.get(f"/organizers/{fp(rudy)}/remove"))
    done = finish_job(browser, browser.post(f"/organizers/{fp(rudy)}/remove"))
    assert "The key was changed to version 2" in done
    assert removable(browser) == {fp(ana), fp(mia)}  # Rudy is no longer listed
    keys = text_of(browser.get("/keys"))
    assert "key version 2." in keys
    assert f"until {life_day(world.day(50))}" in keys
    served_key = world.campaign().json()["encryption_key"]
    assert (served_key["version"], served_key["not_after"]) == (2, world.day(50).isoformat())
    # A student whose page loaded the old key before the change: refused, told the new one.
    stale, _ = world.seal_and_send(before_rotation, "northview-high")
    assert stale.status == 409
    assert stale.json()["error"]["code"] == "stale_key"
    assert stale.json()["encryption_key"]["version"] == 2
    with pytest.raises(UserError):  # Rudy's tool is refused by the server from now on
        coalition.sync(rudy.session)

    # Counts: by hand at 07:31, then by the app only at the fixed hours.
    world.at(20, 7, 31)
    roster = text_of(browser.get(f"/campaigns/{world.cid}/roster"))
    assert "counts of pledges, not of people" in roster
    finish_job(browser, browser.post(f"/campaigns/{world.cid}/roster/publish-counts"))
    first = published(world)
    assert first is not None
    assert first["day"] == world.day(20).isoformat()
    check_tally_never_below_five(first, world.counts())
    assert "at 08:00, 12:00, 16:00 and 20:00, UTC time" in text_of(
        browser.get(f"/campaigns/{world.cid}/roster"))
    keeper: AutoPublisher = cast(Flask, app.server.app).extensions["pledgebox_autopublish"]

    world.at(20, 7, 40)  # a pledge arrives: nothing is published because of it
    world.pledge(20, "covina-high")
    world.at(20, 7, 59)
    assert keeper.tick() == []
    assert published(world) == first
    world.at(20, 8, 0)
    browser.get("/")  # Ben is still at the app
    keeper.tick()  # (the app's own thread may have done it first: the same rule)
    at_eight = published(world)
    assert at_eight is not None
    assert at_eight != first
    check_tally_never_below_five(at_eight, world.counts())
    roster = text_of(browser.get(f"/campaigns/{world.cid}/roster"))
    assert f"Last published by itself: {world.day(20).isoformat()} 08:00" in roster

    world.at(20, 9, 15)  # two more pledges: the page keeps the 08:00 counts until noon
    world.pledge(20, "covina-high")
    world.pledge(20, "northview-high")
    for hour, minute in ((9, 16), (10, 0), (11, 59)):
        world.at(20, hour, minute)
        browser.get("/")
        assert keeper.tick() == []
        assert published(world) == at_eight
    world.at(20, 12, 0)
    browser.get("/")
    keeper.tick()
    at_noon = published(world)
    assert at_noon is not None
    assert at_eight is not None
    check_tally_never_below_five(at_noon, world.counts())
    assert at_noon["total"] > at_eight["total"]
    check_roster(world, browser)
    world.at(20, 12, 30)
    close_app(world, app)  # nobody with the signing key opens Pledgebox again for 40 days
    return served_key, at_noon


LOOKS = {35: ("How long your share links work", None), 40: ("stop working soon", "10 days left."),
         45: ("stop working soon", "5 days left."), 50: ("stop working soon", "Today is the last day."),
         52: ("have stopped working", None)}


def nobody_for_40_days(world: World, people: Cast, served_key: dict[str, Any],
                       at_noon: dict[str, Any]) -> None:
    """Days 21 to 55: pledges to key 2; Mia's app warns, then says the links stopped."""
    for n in range(21, CLOSES + 1):
        today = world.at(n, 15)
        key = world.campaign().json()["encryption_key"]
        assert key == served_key, f"day {n}: the key changed with no admin around"
        works = n <= 51  # a day of grace past not_after (time zones)
        assert world.page_accepts_key(today) is works, f"day {n}"
        pledges_of(world, n)
        if n == 23:  # Rudy opens his app: told he was removed, shown no pledge
            app, browser = open_app(world, people.rudy)
            for path in ("/", f"/campaigns/{world.cid}/roster"):
                page = html.unescape(browser.get(path).text)
                assert "You were removed from this coalition" in page
                assert "Ask an admin for a new invite." in page
                assert not any(label in page for label in LABELS.values())
            close_app(world, app)
        if n in LOOKS:
            mia_looks(world, people.mia, n)
            # The published counts stayed those of day 20 at noon: no admin app was open.
            assert published(world) == at_noon

    # Rudy keeps his keystore: he opens what was sealed before the change, nothing after it.
    before = [s for s in world.sent if s.key_version == 1]
    after = [s for s in world.sent if s.key_version == 2]
    assert len(before) >= 10
    assert len(after) >= 10
    assert all(opens_with(people.rudy, s, world.cid) for s in before)
    assert not any(opens_with(people.rudy, s, world.cid) for s in after)
    assert all(opens_with(people.mia, s, world.cid) for s in after)


def action_day_and_deletion(world: World, people: Cast, served_key: dict[str, Any], instance: Path,
                            db_url: str, clock_file: Path) -> None:
    """The campaign is closed on its action day; gone from the API the day after delete_after,
    and from the file once the purge has run."""
    world.at(ACTION, 9)
    closed, _ = world.seal_and_send(served_key, "covina-high")
    assert closed.status == 410
    assert closed.json()["error"]["code"] == "campaign_closed"
    app, browser = open_app(world, people.mia)
    assert "Walkout" in text_of(browser.get("/"))
    check_roster(world, browser)
    close_app(world, app)

    world.at(DELETE_AFTER, 12)
    assert world.campaign().status == 200  # delete_after is the last day it is kept
    on_disk = instance_bytes(instance)
    assert sum(s.ciphertext[:48] in on_disk for s in world.sent) >= len(world.sent) * 3 // 4, \
        "the scan does not find live pledges: it looks in the wrong place"
    world.at(DELETE_AFTER + 1, 12)
    gone = world.campaign()
    assert gone.status == 404, gone.body
    late, _ = world.seal_and_send(served_key, "covina-high")
    assert late.status == 404
    assert late.json()["error"]["code"] == gone.json()["error"]["code"]
    purge = subprocess.run(
        [sys.executable, "-m", "server.cli", "purge"], capture_output=True, text=True, timeout=120,
        env={**os.environ, **server_env(instance, db_url, clock_file)}, check=False)
    assert purge.returncode == 0, purge.stderr
    assert "purged 1 expired campaigns" in purge.stdout
    with database.connection_context(), pledge_view():
        assert Pledge.select().count() == 0
    on_disk = instance_bytes(instance)
    for s in world.sent:
        for i in range(0, len(s.ciphertext) - 32, 64):
            assert s.ciphertext[i:i + 32] not in on_disk, f"a pledge of day {s.day} is still on disk"
        assert s.pledge_id.encode() not in on_disk
    assert world.cid.encode() not in on_disk


def day_60(world: World, people: Cast) -> None:
    """Ana opens the app: the links work again, the campaign is gone from her pages."""
    world.at(60, 10)
    app, browser = open_app(world, people.ana)
    home = text_of(browser.get("/"))
    assert "Walkout" not in home
    box = link_box(home)
    assert "How long your share links work" in box
    assert f"until {life_day(world.day(90))}" in box
    assert world.cid not in text_of(browser.get("/campaigns/"))
    close_app(world, app)


def mia_looks(world: World, mia: OrganizerHandle, n: int) -> None:
    """Mia (a member: she cannot renew anything) opens the app: what it says about the links."""
    heading, words = LOOKS[n]
    app, browser = open_app(world, mia)
    box = link_box(text_of(browser.get("/")))
    assert heading in box, (n, box)
    if words:
        assert words in box, (n, box)
    if n < 40:
        assert "left." not in box
        assert "last day" not in box
    if n <= 50:
        assert f"until {life_day(world.day(50))}" in box
        assert "An admin must open Pledgebox" in box
    else:
        assert f"stopped working after {life_day(world.day(50))}" in box
        assert "ask one of your admins to open it today" in box
        # The student page still loads, and carries what its script then says (the script
        # compares not_after with the phone's date, as page_accepts_key does).
        page = call(world.server.base_url, "GET", f"/p/{world.cid}")
        assert page.status == 200
        assert "the organizers’ key must be renewed" in html.unescape(
            page.body.decode("utf-8")).replace("\\u2019", "’")
    assert heading in link_box(text_of(browser.get(f"/campaigns/{world.cid}")))
    reminder = browser.get("/reminder.ics")
    assert reminder.status == 200
    assert b"SUMMARY:Open Pledgebox" in reminder.body
    assert b"Walkout" not in reminder.body
    check_roster(world, browser)
    close_app(world, app)

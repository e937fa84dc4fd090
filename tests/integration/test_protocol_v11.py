"""Protocol 1.1 against a real gunicorn server, on SQLite and PostgreSQL, as an independent client.

The client side here is written from protocol-v1.1.md with PyNaCl alone (no project crypto):
verifying descriptors and tallies, sealing pledges with a nonce. The organizers' side is the
real tool. Covered: the descriptor's new keys and the server's checks on them, a ciphertext
the server stores twice counted once, tallies that verify accepted and served (API and page),
tallies that do not refused, and dates read in the campaign's zone (closing, deletion, purge,
announcements' last day) at that zone's midnight with the movable test clock.
"""

import base64
import json
import os
import secrets
import subprocess
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import nacl.public
import nacl.signing
import pytest

from organizer import announce, campaigns, roster, tally
from organizer.errors import ServerRefused
from server.clock import Clock
from server.db import bind, database
from server.models import Announcement, Campaign, Pledge, Tally
from server.retention import purge_expired
from tests.conftest import backend_server
from tests.support.factories import PASSPHRASE, OrganizerHandle, make_coalition
from tests.support.http import call
from tests.support.pledges import pledge_view
from tests.support.scripts import console_script

LA = "America/Los_Angeles"
SCHOOLS = "school!:choice:Your school|Tu escuela:Covina High,Northview High,South Hills High"
FIELDS = [SCHOOLS, "message:text:Message|Mensaje"]


# ---------- an independent client: PyNaCl and the protocol page, nothing else ----------

def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify(key: bytes, prefix: bytes, message: bytes, signature: bytes) -> None:
    nacl.signing.VerifyKey(key).verify(prefix + message, signature)


def seal_v11(info: dict[str, Any], answers: dict[str, Any], nonce: str | None) -> str:
    """A pledge as a 1.1 client seals it: JSON with a nonce, 7816-4 padding to 1 KiB, sealed box."""
    body: dict[str, Any] = {"v": 1, "campaign_id": info["campaign_id"], "answers": answers}
    if nonce is not None:
        body["nonce"] = nonce
    plain = json.dumps(body).encode() + b"\x80"
    plain += b"\x00" * (-len(plain) % 1024)
    box = nacl.public.SealedBox(nacl.public.PublicKey(unb64u(info["encryption_key"]["public_key"])))
    return b64u(box.encrypt(plain))


def post_sealed(base_url: str, info: dict[str, Any], ciphertext: str) -> str:
    reply = call(base_url, "POST", f"/api/v1/campaigns/{info['campaign_id']}/pledges",
                 {"key_version": info["encryption_key"]["version"], "ciphertext": ciphertext,
                  "withdraw_token_hash": b64u(secrets.token_bytes(32))})
    assert reply.status == 201, reply.body
    return str(reply.json()["pledge_id"])


def campaign_info(base_url: str, campaign_id: str) -> dict[str, Any]:
    reply = call(base_url, "GET", f"/api/v1/campaigns/{campaign_id}")
    assert reply.status == 200, reply.body
    info: dict[str, Any] = reply.json()
    return info


# ---------- the organizers' side ----------

@dataclass
class World:
    base_url: str
    db_url: str
    org: OrganizerHandle
    statuses: list[int]

    def campaign(self, **spec: Any) -> str:
        today = datetime.now(UTC).date()
        base: dict[str, Any] = {
            "title": "Walkout", "description": "Walk out together.", "title_es": "Salida",
            "action_date": today + timedelta(days=14), "closes": today + timedelta(days=13),
            "delete_after": today + timedelta(days=20), "time_zone": LA, "threshold": 5,
            "per_option": {"northview-high": 6},
            "fields": [campaigns.parse_field(f) for f in FIELDS]}
        descriptor = campaigns.build_descriptor(self.org.session,
                                                campaigns.CampaignSpec(**{**base, **spec}))
        return campaigns.create(self.org.session, descriptor)

    def refused(self, status: int, action: Callable[[], Any]) -> str:
        with pytest.raises(ServerRefused) as refusal:
            action()
        assert self.statuses[-1] == status, str(refusal.value)
        return str(refusal.value)


def recording(statuses: list[int], transport: Any) -> Any:
    def send(method: str, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        status, data = transport(method, url, body, headers)
        statuses.append(status)
        return status, data
    return send


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp(f"v11-{request.param}")
    with backend_server(tmp, request.param) as (server, db_url, _):
        org = make_coalition(tmp, server.base_url)
        statuses: list[int] = []
        org.session.transport = recording(statuses, org.session.transport)
        yield World(server.base_url, db_url, org, statuses)


@pytest.fixture(autouse=True)
def _bound(request: pytest.FixtureRequest) -> None:
    if "world" in request.fixturenames:
        bind(request.getfixturevalue("world").db_url)


def la_today() -> date:
    return datetime.now(zoneinfo.ZoneInfo(LA)).date()


# ---------- the descriptor ----------

def test_a_1_1_descriptor_as_an_independent_client_reads_it(world: World) -> None:
    cid = world.campaign()
    info = campaign_info(world.base_url, cid)
    signing_key = unb64u(info["signing_key"])
    descriptor = unb64u(info["descriptor"])
    verify(signing_key, b"pledgebox/v1/campaign\x00", descriptor, unb64u(info["descriptor_signature"]))
    d = json.loads(descriptor)
    assert d["protocol"] == "1.1"
    assert d["coalition_name"] == "Covina Schools Coalition"  # signed, no longer only the GET's
    assert d["i18n"] == {"es": {"title": "Salida"}}
    assert d["languages"] == ["en", "es"]
    assert d["time_zone"] == LA
    assert d["threshold"] == {"field": "school", "count": 5, "per_option": {"northview-high": 6}}
    assert info["tally"] is None  # before the first


def _signed_descriptor(world: World, **changes: Any) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    d: dict[str, Any] = {
        "protocol": "1.1", "campaign_id": b64u(secrets.token_bytes(16)),
        "coalition_id": world.org.session.coalition_id, "coalition_name": "Covina",
        "title": "Walkout", "description": "", "action_date": str(today + timedelta(days=3)),
        "closes_at": str(today + timedelta(days=2)), "delete_after": str(today + timedelta(days=9)),
        "languages": ["en", "es"], "fields": [campaigns.parse_field(f) for f in FIELDS],
        "i18n": {"es": {"title": "Salida"}}, "time_zone": LA,
        "threshold": {"field": "school", "count": 5}}
    for key, value in changes.items():
        if value is None:
            d.pop(key)
        else:
            d[key] = value
    return d


BAD_DESCRIPTORS = {
    "unknown zone": {"time_zone": "Mars/Olympus_Mons"},
    "zone not a string": {"time_zone": 7},
    "threshold on an optional field": {"threshold": {"field": "message", "count": 5}},
    "threshold on no field": {"threshold": {"field": "grade", "count": 5}},
    "threshold count 0": {"threshold": {"field": "school", "count": 0}},
    "threshold count 4 (amendment 2)": {"threshold": {"field": "school", "count": 4}},
    "per-option count 1 (amendment 2)": {"threshold": {"field": "school", "count": 5,
                                                       "per_option": {"covina-high": 1}}},
    "threshold count too big": {"threshold": {"field": "school", "count": 100_001}},
    "threshold count a bool": {"threshold": {"field": "school", "count": True}},
    "unknown option": {"threshold": {"field": "school", "count": 5, "per_option": {"x": 2}}},
    "threshold extra key": {"threshold": {"field": "school", "count": 5, "min": 1}},
    "i18n for the first language": {"i18n": {"en": {"title": "Walkout"}}},
    "i18n unknown key": {"i18n": {"es": {"subtitle": "x"}}},
    "i18n title too long": {"i18n": {"es": {"title": "x" * 201}}},
    "i18n not an object": {"i18n": ["es"]},
    "no coalition name": {"coalition_name": None},
    "coalition name too long": {"coalition_name": "x" * 201},
}


@pytest.mark.parametrize("case", sorted(BAD_DESCRIPTORS))
def test_the_server_refuses_a_bad_1_1_descriptor(world: World, case: str) -> None:
    d = _signed_descriptor(world, **BAD_DESCRIPTORS[case])
    raw = json.dumps(d).encode()
    world.refused(400, lambda: campaigns.create(world.org.session, raw))
    with database.connection_context():
        assert Campaign.get_or_none(Campaign.id == d["campaign_id"]) is None


def test_a_threshold_on_a_required_choice_field_with_known_options_is_accepted(world: World) -> None:
    d = _signed_descriptor(world, threshold={"field": "school", "count": 100_000,
                                             "per_option": {"covina-high": 5}})
    assert campaigns.create(world.org.session, json.dumps(d).encode()) == d["campaign_id"]


# ---------- duplicates by nonce ----------

def test_a_ciphertext_stored_twice_is_counted_once_by_roster_and_tally(world: World) -> None:
    cid = world.campaign()
    info = campaign_info(world.base_url, cid)
    replayed = seal_v11(info, {"school": "covina-high"}, b64u(secrets.token_bytes(16)))
    twice = sorted([post_sealed(world.base_url, info, replayed),
                    post_sealed(world.base_url, info, replayed)])  # one ciphertext, two ids
    for _ in range(5):
        post_sealed(world.base_url, info, seal_v11(info, {"school": "northview-high"},
                                                   b64u(secrets.token_bytes(16))))
    for _ in range(2):  # version 1 clients: no nonce, never a duplicate
        post_sealed(world.base_url, info, seal_v11(info, {"school": "south-hills-high"}, None))

    stats = roster.Tally()
    rows = list(roster.pledges(world.org.session, cid, stats))
    assert (stats.opened, stats.duplicates) == (8, 1)
    ids = {r["pledge_id"] for r in rows}
    assert twice[0] in ids  # the first in pledge-id order is kept
    assert twice[1] not in ids

    body = tally.compute(world.org.session, cid)
    assert body == json.dumps({
        "campaign_id": cid, "coalition_id": world.org.session.coalition_id,
        "day": la_today().isoformat(), "total": 5, "counts": {"northview-high": 5},
        "few": ["covina-high", "south-hills-high"],  # 1 and 2 (two v1 pledges, both kept)
        "reached": []}, separators=(",", ":")).encode()  # northview-high's own number is 6


def test_the_tally_command_prints_one_line_and_says_what_it_left_out(world: World) -> None:
    cid = world.campaign(threshold=None, per_option=None)
    info = campaign_info(world.base_url, cid)
    replayed = seal_v11(info, {"school": "covina-high"}, b64u(secrets.token_bytes(16)))
    post_sealed(world.base_url, info, replayed)
    post_sealed(world.base_url, info, replayed)
    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE}
    command = [console_script("pledgebox"), "--keystore", str(world.org.keystore), "tally", cid,
               "--publish"]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert run.returncode == 1, run.stderr  # amendment 3: a total of 1 is never published
    assert "Not published: there are 1 to 4 pledges so far" in run.stderr
    assert campaign_info(world.base_url, cid)["tally"] is None
    for school in ("northview-high",) * 4:
        post_sealed(world.base_url, info, seal_v11(info, {"school": school}, b64u(secrets.token_bytes(16))))
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    [line] = run.stdout.splitlines()
    t = json.loads(line)
    assert (t["total"], t["counts"], t["few"], t["reached"]) == (5, {}, [], [])
    assert "5 pledges opened" in run.stderr
    assert "1 pledge repeats an earlier pledge" in run.stderr
    served = campaign_info(world.base_url, cid)["tally"]
    assert unb64u(served["body"]).decode() == line
    roster_run = subprocess.run([console_script("pledgebox"), "--keystore", str(world.org.keystore),
                                 "roster", cid, "--format", "jsonl"], capture_output=True,
                                text=True, env=env, timeout=120, check=False)
    assert roster_run.returncode == 0, roster_run.stderr
    assert len(roster_run.stdout.splitlines()) == 5
    assert "1 pledge repeats an earlier pledge" in roster_run.stderr


# ---------- tallies: accepted when they verify, refused otherwise ----------

def _tally(world: World, cid: str, **changes: Any) -> bytes:
    t = json.loads(tally.compute(world.org.session, cid))
    t.update(changes)
    return json.dumps(t, separators=(",", ":")).encode()


def _put(world: World, cid: str, body: bytes, signature: bytes) -> Any:
    return world.org.session.client().request(
        "PUT", f"/api/v1/org/campaigns/{cid}/tally", {"body": b64u(body), "signature": b64u(signature)})


def _sign(world: World, body: bytes) -> bytes:
    signing = world.org.session.signing_key()
    assert signing is not None
    return signing.sign(b"pledgebox/v1/tally\x00" + body)


def _held(cid: str) -> tuple[bytes, bytes] | None:
    with database.connection_context():
        row = Tally.get_or_none(Tally.campaign == cid)
        return None if row is None else (bytes(row.body), bytes(row.signature))


def test_a_tally_that_verifies_is_served_and_ones_that_do_not_are_refused(world: World) -> None:
    cid, other = world.campaign(), world.campaign()
    info = campaign_info(world.base_url, cid)
    for school in ["northview-high"] * 3 + ["covina-high"]:
        post_sealed(world.base_url, info, seal_v11(info, {"school": school}, b64u(secrets.token_bytes(16))))
    body = tally.compute(world.org.session, cid)
    tally.publish(world.org.session, cid, body)

    served = campaign_info(world.base_url, cid)["tally"]
    verify(unb64u(info["signing_key"]), b"pledgebox/v1/tally\x00", unb64u(served["body"]),
           unb64u(served["signature"]))
    t = json.loads(unb64u(served["body"]))
    assert (t["campaign_id"], t["coalition_id"]) == (cid, info["coalition_id"])
    assert t["few"] == ["covina-high", "northview-high"]  # 1 and 3: never published as numbers
    assert t["reached"] == []  # nothing at 5 or more (northview-high's own number is 6)
    assert (t["counts"], t["total"]) == ({"south-hills-high": 0}, 0)
    page = call(world.base_url, "GET", f"/p/{cid}")
    assert served["body"].encode() in page.body  # the page's embedded copy is the same answer
    held = _held(cid)

    tampered = body.replace(b'"south-hills-high":0', b'"south-hills-high":9')
    assert tampered != body
    assert "not signed" in world.refused(400, lambda: _put(world, cid, tampered, _sign(world, body)))
    elsewhere = _tally(world, other)
    world.refused(400, lambda: _put(world, cid, elsewhere, _sign(world, elsewhere)))
    wrong_coalition = _tally(world, cid, coalition_id="another-coalition")
    world.refused(400, lambda: _put(world, cid, wrong_coalition, _sign(world, wrong_coalition)))
    older = _tally(world, cid, day=(la_today() - timedelta(days=1)).isoformat())
    world.refused(409, lambda: _put(world, cid, older, _sign(world, older)))
    too_few = _tally(world, cid, counts={"south-hills-high": 0, "covina-high": 1},
                     few=["northview-high"])
    world.refused(400, lambda: _put(world, cid, too_few, _sign(world, too_few)))
    later = _tally(world, cid, day=(la_today() + timedelta(days=3)).isoformat())
    world.refused(400, lambda: _put(world, cid, later, _sign(world, later)))
    assert _held(cid) == held  # nothing refused replaced it

    again = tally.compute(world.org.session, cid)  # the same day again: the latest wins
    tally.publish(world.org.session, cid, again)
    assert _held(cid) == (again, _sign(world, again))


# ---------- dates in the campaign's zone, at its midnight ----------

def midnight(day: date, zone: str) -> float:
    """The instant `day` begins in `zone`."""
    return datetime.combine(day, time.min, tzinfo=zoneinfo.ZoneInfo(zone)).timestamp()


def set_clock(clock_file: Path, instant: float) -> None:
    """Move the server's clock to `instant` (the file holds an offset in days, fractions allowed)."""
    clock_file.write_text(repr((instant - datetime.now(UTC).timestamp()) / 86400))


@dataclass
class Own:
    world: World
    clock_file: Path


@pytest.fixture(params=["sqlite", "postgres"])
def own(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Own]:
    with backend_server(tmp_path, request.param) as (server, db_url, clock_file):
        org = make_coalition(tmp_path, server.base_url)
        statuses: list[int] = []
        org.session.transport = recording(statuses, org.session.transport)
        yield Own(World(server.base_url, db_url, org, statuses), clock_file)


def test_pledges_are_taken_until_midnight_in_the_campaigns_zone(own: Own) -> None:
    w = own.world
    cid = w.campaign()
    info = campaign_info(w.base_url, cid)
    closes = date.fromisoformat(json.loads(unb64u(info["descriptor"]))["closes_at"])
    end = midnight(closes + timedelta(days=1), LA)  # 08:00 UTC the next day
    set_clock(own.clock_file, end - 120)  # UTC already says the next day; Los Angeles does not
    post_sealed(w.base_url, info, seal_v11(info, {"school": "covina-high"}, None))
    set_clock(own.clock_file, end + 120)
    late = call(w.base_url, "POST", f"/api/v1/campaigns/{cid}/pledges",
                {"key_version": 1, "ciphertext": seal_v11(info, {"school": "covina-high"}, None),
                 "withdraw_token_hash": b64u(bytes(32))})
    assert (late.status, late.error_code) == (410, "campaign_closed")
    assert call(w.base_url, "GET", f"/api/v1/campaigns/{cid}").status == 200  # closed, not gone
    with database.connection_context(), pledge_view():  # the stored day stays the UTC day it arrived
        assert [str(p.received_day) for p in Pledge.select()] == [
            datetime.fromtimestamp(end - 120, UTC).date().isoformat()]


def test_a_campaign_is_gone_and_purged_after_delete_after_in_its_zone(own: Own) -> None:
    w = own.world
    cid, kept = w.campaign(), w.campaign(delete_after=datetime.now(UTC).date() + timedelta(days=25))
    info = campaign_info(w.base_url, cid)
    post_sealed(w.base_url, info, seal_v11(info, {"school": "covina-high"}, None))
    tally.publish(w.org.session, cid, tally.compute(w.org.session, cid))
    delete_after = date.fromisoformat(json.loads(unb64u(info["descriptor"]))["delete_after"])
    end = midnight(delete_after + timedelta(days=1), LA)
    set_clock(own.clock_file, end - 120)
    assert call(w.base_url, "GET", f"/api/v1/campaigns/{cid}").status == 200
    assert purge_expired(Clock(own.clock_file)).campaigns == 0  # not yet, in Los Angeles
    set_clock(own.clock_file, end + 120)
    assert call(w.base_url, "GET", f"/api/v1/campaigns/{cid}").status == 404
    assert call(w.base_url, "GET", f"/p/{cid}").status == 404
    result = purge_expired(Clock(own.clock_file))
    assert (result.campaigns, result.pledges) == (1, 1)
    with database.connection_context(), pledge_view():
        assert [c.id for c in Campaign.select()] == [kept]
        assert Tally.select().count() == 0
        assert Pledge.select().count() == 0


def test_an_announcement_is_not_served_after_its_until_and_is_purged(own: Own) -> None:
    w = own.world
    cid = w.campaign()
    default = json.loads(announce.for_campaign(w.org.session, cid, "See you there", None))
    delete_after = json.loads(unb64u(campaign_info(w.base_url, cid)["descriptor"]))["delete_after"]
    assert default["until"] == delete_after  # tools always set it
    today = la_today()
    short = announce.build_announcement(cid, "Meet at 10 today", None, today, until=today)
    announce.post(w.org.session, cid, short)
    announce.post(w.org.session, cid, announce.for_campaign(w.org.session, cid, "Still on", None))

    def served() -> list[str]:
        items = call(w.base_url, "GET", f"/api/v1/campaigns/{cid}/announcements").json()
        return sorted(json.loads(unb64u(a["body"]))["message"]["en"] for a in items["announcements"])

    assert served() == ["Meet at 10 today", "Still on"]
    end = midnight(today + timedelta(days=1), LA)
    set_clock(own.clock_file, end - 120)
    assert served() == ["Meet at 10 today", "Still on"]
    set_clock(own.clock_file, end + 120)
    assert served() == ["Still on"]
    purge_expired(Clock(own.clock_file))
    with database.connection_context():
        assert Announcement.select().count() == 1


def _replayed_campaign(w: World) -> tuple[str, list[str]]:
    """A campaign with one pledge stored twice and two others; the ids in pledge-id order."""
    cid = w.campaign(threshold=None, per_option=None)
    info = campaign_info(w.base_url, cid)
    replayed = seal_v11(info, {"school": "covina-high"}, b64u(secrets.token_bytes(16)))
    ids = [post_sealed(w.base_url, info, replayed), post_sealed(w.base_url, info, replayed)]
    for school in ("northview-high", "covina-high"):
        ids.append(post_sealed(w.base_url, info, seal_v11(info, {"school": school},
                                                          b64u(secrets.token_bytes(16)))))
    return cid, sorted(ids)


def test_summary_and_report_count_a_replayed_pledge_once_and_say_so(world: World,
                                                                    tmp_path: Path) -> None:
    cid, _ = _replayed_campaign(world)
    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE}
    tool = [console_script("pledgebox"), "--keystore", str(world.org.keystore), "roster", cid]
    summary = subprocess.run([*tool, "--summary"], capture_output=True, text=True, env=env,
                             timeout=120, check=False)
    assert summary.returncode == 0, summary.stderr
    assert summary.stdout.startswith("3 pledges\n")
    assert "1 pledge repeats an earlier pledge" in summary.stderr
    report = tmp_path / "report.html"
    html = subprocess.run([*tool, "--html", str(report)], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert html.returncode == 0, html.stderr
    page = report.read_text()
    assert "<p>3 pledges.</p>" in page
    assert "1 pledge repeats an earlier pledge" in page


def test_reencryption_leaves_a_replayed_copy_out_and_says_so(own: Own) -> None:
    from organizer import rotation

    world = own.world  # a coalition of its own: re-encryption covers all its campaigns
    cid, ids = _replayed_campaign(world)
    stats = roster.Tally()
    first = {r["pledge_id"] for r in roster.pledges(world.org.session, cid, stats)}
    _, resealed = rotation.rotate_then_reencrypt(world.org.session, also_reencrypt=True)
    assert resealed is not None
    assert resealed.duplicates == 1
    with database.connection_context(), pledge_view():
        versions = {p.id: p.key_version for p in Pledge.select().where(Pledge.campaign == cid)}
    copy = (set(ids) - first).pop()
    assert {v for pid, v in versions.items() if pid != copy} == {max(versions.values())}
    assert versions[copy] < max(versions.values())  # left on its old key, as the report says
    after = roster.Tally()
    assert {r["pledge_id"] for r in roster.pledges(world.org.session, cid, after)} == first
    assert after.duplicates == 1

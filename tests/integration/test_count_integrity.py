"""Counts an insider or a stranger cannot bend (issue 17, findings 3 and 6), against a real server.

Findings: an insider who once read a pledge knows its nonce, and through the public API alone
could seal a forgery with that nonce that replaced the real pledge in every roster, export and
tally (amendment 1 of protocol 1.1: pledges that share a nonce but differ are all kept, counted
and flagged); and anyone with the link could seal answers of the wrong type and stop every
count for good (such a pledge is now counted as unopened everywhere).
"""

import hashlib
import io
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from organizer import campaigns, report, roster, tally
from organizer.errors import BadInput, ServerRefused
from tests.conftest import backend_server
from tests.integration.test_protocol_v11 import (
    FIELDS,
    LA,
    b64u,
    campaign_info,
    post_sealed,
    seal_v11,
)
from tests.support.factories import PASSPHRASE, OrganizerHandle, make_coalition
from tests.support.http import call
from tests.support.scripts import console_script

DB_URLS: dict[str, str] = {}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[str, OrganizerHandle]]:
    tmp = tmp_path_factory.mktemp(f"integrity-{request.param}")
    with backend_server(tmp, request.param) as (server, db_url, _):
        DB_URLS[server.base_url] = db_url
        yield server.base_url, make_coalition(tmp, server.base_url)


def _campaign(org: OrganizerHandle, **spec: Any) -> str:
    from datetime import UTC, datetime, timedelta
    today = datetime.now(UTC).date()
    base: dict[str, Any] = {
        "title": "Walkout", "description": "Walk out together.", "action_date": today + timedelta(days=14),
        "closes": today + timedelta(days=13), "delete_after": today + timedelta(days=20),
        "time_zone": LA, "fields": [campaigns.parse_field(f) for f in FIELDS]}
    return campaigns.create(org.session, campaigns.build_descriptor(
        org.session, campaigns.CampaignSpec(**{**base, **spec})))


def _listing_order(org: OrganizerHandle, cid: str) -> list[str]:
    """Pledge ids in the server's listing order (the order every reader meets them in)."""
    page = org.session.client().get(f"/api/v1/org/campaigns/{cid}/pledges", "limit=1000")
    return [row["pledge_id"] for row in page["pledges"]]


def _post_with_token(base_url: str, info: dict[str, Any], ciphertext: str) -> tuple[str, bytes]:
    token = secrets.token_bytes(32)
    reply = call(base_url, "POST", f"/api/v1/campaigns/{info['campaign_id']}/pledges",
                 {"key_version": info["encryption_key"]["version"], "ciphertext": ciphertext,
                  "withdraw_token_hash": b64u(hashlib.blake2b(token, digest_size=32).digest())})
    assert reply.status == 201, reply.body
    return str(reply.json()["pledge_id"]), token


def _forge_first(base_url: str, org: OrganizerHandle, cid: str, victim: str,
                 answers: dict[str, Any], nonce: str) -> str:
    """The attack as the finding tells it: seal with the victim's nonce, withdraw and retry
    until the forgery comes before the real pledge in the server's listing order."""
    info = campaign_info(base_url, cid)
    for _ in range(200):
        forged, token = _post_with_token(base_url, info, seal_v11(info, answers, nonce))
        order = _listing_order(org, cid)
        if order.index(forged) < order.index(victim):
            return forged
        gone = call(base_url, "POST", f"/api/v1/pledges/{forged}/withdraw",
                    {"withdraw_token": b64u(token)})
        assert gone.status == 204, gone.body
    raise AssertionError("no forgery sorted first in 200 tries")


def test_an_insider_cannot_replace_a_pledge_by_reusing_its_nonce(
        site: tuple[str, OrganizerHandle]) -> None:
    base_url, org = site
    cid = _campaign(org)
    info = campaign_info(base_url, cid)
    nonce = b64u(secrets.token_bytes(16))  # the victim's: every organizer who opened it saw it
    real = {"school": "northview-high", "message": "count me in"}
    for _ in range(5):
        post_sealed(base_url, info, seal_v11(info, {"school": "northview-high"},
                                             b64u(secrets.token_bytes(16))))
    while True:  # a victim that is not among the first listed, so the retries end soon
        victim, token = _post_with_token(base_url, info, seal_v11(info, real, nonce))
        if _listing_order(org, cid).index(victim) >= 3:
            break
        call(base_url, "POST", f"/api/v1/pledges/{victim}/withdraw", {"withdraw_token": b64u(token)})
    forged = _forge_first(base_url, org, cid, victim,
                          {"school": "covina-high", "message": "insider@example.org"}, nonce)

    stats = roster.Tally()
    rows = {r["pledge_id"]: r for r in roster.pledges(org.session, cid, stats)}
    assert rows[victim]["answers"] == real  # the real pledge stays in the roster
    assert forged in rows  # and the forgery too: both counted, both flagged
    assert (stats.opened, stats.duplicates, stats.conflicts) == (7, 0, 2)
    assert stats.conflicting == {victim, forged}

    t = json.loads(tally.compute(org.session, cid))
    assert (t["total"], t["counts"]) == (7, {})  # without a threshold: every pledge counted

    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE}
    run = subprocess.run([console_script("pledgebox"), "--keystore", str(org.keystore), "roster",
                          cid, "--format", "jsonl"], capture_output=True, text=True, env=env,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert {json.loads(line)["pledge_id"] for line in run.stdout.splitlines()} >= {victim, forged}
    assert "2 pledges share a nonce with a pledge that says something else" in run.stderr
    assert victim in run.stderr
    assert forged in run.stderr

    html = io.StringIO()
    counted = roster.Tally()
    d = campaigns.find(org.session, cid)["descriptor"]
    from datetime import date
    report.write_html(roster.pledges(org.session, cid, counted), html, title="Walkout",
                      campaign_id=cid, fields=d["fields"], tally=counted, today=date(2027, 1, 1))
    assert "2 pledges share a nonce with a pledge that says something else" in html.getvalue()


def test_a_pledge_stored_twice_is_still_counted_once(site: tuple[str, OrganizerHandle]) -> None:
    """Byte-identical plaintexts under one nonce are one pledge (a replay, or a key rotation's
    copy): amendment 1 keeps this half of the old rule."""
    base_url, org = site
    cid = _campaign(org)
    info = campaign_info(base_url, cid)
    nonce = b64u(secrets.token_bytes(16))
    sealed_twice = [seal_v11(info, {"school": "covina-high"}, nonce) for _ in range(2)]
    ids = [post_sealed(base_url, info, c) for c in sealed_twice]  # two ciphertexts, one plaintext
    stats = roster.Tally()
    kept = [r["pledge_id"] for r in roster.pledges(org.session, cid, stats)]
    assert (stats.opened, stats.duplicates, stats.conflicts) == (1, 1, 0)
    assert kept == [_listing_order(org, cid)[0]]
    assert set(kept) < set(ids)


HOSTILE = {
    "a list for a choice": {"school": ["covina-high"]},
    "an unknown option": {"school": "nowhere-high"},
    "a number for text": {"school": "covina-high", "message": 7},
    "text too long": {"school": "covina-high", "message": "x" * 2001},
    "an object for a choice": {"school": {"id": "covina-high"}},
    "a string for a checkbox": {"school": "covina-high", "help": "yes"},
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_pledge_of_the_wrong_types_is_counted_as_unopened_everywhere(
        site: tuple[str, OrganizerHandle], tmp_path: Path, case: str) -> None:
    base_url, org = site
    cid = _campaign(org, threshold=5, fields=[
        *(campaigns.parse_field(f) for f in FIELDS), campaigns.parse_field("help:checkbox:I can help")])
    info = campaign_info(base_url, cid)
    for _ in range(5):
        post_sealed(base_url, info, seal_v11(info, {"school": "covina-high"}, b64u(secrets.token_bytes(16))))
    post_sealed(base_url, info, seal_v11(info, HOSTILE[case], b64u(secrets.token_bytes(16))))

    stats = roster.Tally()
    assert len(list(roster.pledges(org.session, cid, stats))) == 5
    assert (stats.opened, stats.unopened) == (5, 1)
    t = json.loads(tally.compute(org.session, cid))
    assert t["counts"]["covina-high"] == 5
    assert t["reached"] == ["covina-high"]

    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE}
    tool = [console_script("pledgebox"), "--keystore", str(org.keystore)]
    for args in (["roster", cid, "--format", "csv"], ["roster", cid, "--summary"],
                 ["roster", cid, "--html", str(tmp_path / "r.html")], ["tally", cid]):
        run = subprocess.run([*tool, *args], capture_output=True, text=True, env=env, timeout=120,
                             check=False)
        assert run.returncode == 0, (args, run.stderr)
        assert "1 pledges could not be opened" in run.stderr or "1 pledge could not be opened" in run.stderr


def test_key_rotation_reseals_pledges_that_only_share_a_nonce(
        site: tuple[str, OrganizerHandle], tmp_path: Path) -> None:
    """A copy left on the old key would strand the real pledge once that key goes; only
    byte-identical copies stay behind (and every reader leaves them out anyway)."""
    from organizer import rotation

    base_url, _ = site
    org = make_coalition(tmp_path, base_url)  # rotation covers every campaign of a coalition
    cid = _campaign(org)
    info = campaign_info(base_url, cid)
    nonce = b64u(secrets.token_bytes(16))
    real, forged = (post_sealed(base_url, info, seal_v11(info, {"school": s}, nonce))
                    for s in ("northview-high", "covina-high"))
    copy = seal_v11(info, {"school": "south-hills-high"}, b64u(secrets.token_bytes(16)))
    post_sealed(base_url, info, copy)
    post_sealed(base_url, info, copy)
    _, resealed = rotation.rotate_then_reencrypt(org.session, also_reencrypt=True)
    assert resealed is not None
    assert resealed.duplicates == 1
    stats = roster.Tally()
    rows = {r["pledge_id"]: r for r in roster.pledges(org.session, cid, stats)}
    newest = max(r["key_version"] for r in rows.values())
    assert rows[real]["key_version"] == rows[forged]["key_version"] == newest
    assert (stats.opened, stats.duplicates, stats.conflicts) == (3, 1, 2)


# ---------- amendments 2 and 3: no published number below 5 ----------

def _signed_put(org: OrganizerHandle, cid: str, t: dict[str, Any]) -> Any:
    body = json.dumps(t, separators=(",", ":")).encode()
    signing = org.session.signing_key()
    assert signing is not None
    return org.session.client().request("PUT", f"/api/v1/org/campaigns/{cid}/tally", {
        "body": b64u(body), "signature": b64u(signing.sign(b"pledgebox/v1/tally\x00" + body))})


def test_tools_never_write_a_threshold_below_5(site: tuple[str, OrganizerHandle]) -> None:
    _, org = site
    for spec in ({"threshold": 4}, {"threshold": 5, "per_option": {"covina-high": 1}}):
        with pytest.raises(BadInput, match="from 5 to 100000"):
            _campaign(org, **spec)
    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE}
    run = subprocess.run([console_script("pledgebox"), "--keystore", str(org.keystore), "campaign",
                          "create", "--title", "Walkout", "--action-date", "2031-03-05",
                          "--closes", "2031-03-04", "--delete-after", "2031-03-12",
                          "--field", FIELDS[0], "--threshold", "3"],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert run.returncode == 1, run.stderr
    assert run.stderr.strip().splitlines()[-1].endswith(
        "A threshold is a number of pledges from 5 to 100000: a smaller one would show that a "
        "school has 1 to 4 pledges.")


def test_the_server_refuses_a_total_of_1_to_4_and_a_reached_that_does_not_add_up(
        site: tuple[str, OrganizerHandle]) -> None:
    base_url, org = site
    plain, counted = _campaign(org), _campaign(org, threshold=5)
    head = {"coalition_id": org.session.coalition_id, "day": json.loads(
        tally.compute(org.session, plain))["day"]}
    for total in (1, 4):
        with pytest.raises(ServerRefused, match="1 to 4 is never published"):
            _signed_put(org, plain, {**head, "campaign_id": plain, "total": total, "counts": {},
                                     "few": [], "reached": []})
    _signed_put(org, plain, {**head, "campaign_id": plain, "total": 5, "counts": {}, "few": [],
                             "reached": []})
    options = {"campaign_id": counted, **head}
    for bad in ({"total": 0, "counts": {"covina-high": 0, "south-hills-high": 0}, "few": ["northview-high"],
                 "reached": ["northview-high"]},  # reached while few: would say 1 to 4
                {"total": 5, "counts": {"covina-high": 5, "northview-high": 0, "south-hills-high": 0},
                 "few": [], "reached": []}):  # 5 of 5 but not said to be reached
        with pytest.raises(ServerRefused, match="'reached' lists"):
            _signed_put(org, counted, {**options, **bad})
    assert call(base_url, "GET", f"/api/v1/campaigns/{counted}").json()["tally"] is None


def test_a_campaign_stored_with_a_threshold_below_5_keeps_working(
        site: tuple[str, OrganizerHandle]) -> None:
    """Descriptors stored before amendment 2 are never checked again: the page, the roster and
    the tally work, and `reached` waits for 5 (decided in organizer/tally.py, checked by the
    server)."""
    from server.db import bind, database
    from server.models import Campaign

    base_url, org = site
    cid = _campaign(org, threshold=5)
    item = campaigns.find(org.session, cid)
    old = {**item["descriptor"], "threshold": {"field": "school", "count": 3,
                                                "per_option": {"covina-high": 1}}}
    raw = json.dumps(old, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    signing = org.session.signing_key()
    assert signing is not None
    bind(DB_URLS[base_url])
    with database.connection_context():  # as an earlier server stored it
        Campaign.update(descriptor=raw, descriptor_signature=signing.sign(
            b"pledgebox/v1/campaign\x00" + raw)).where(Campaign.id == cid).execute()
    assert campaigns.find(org.session, cid)["descriptor"]["threshold"]["count"] == 3
    info = campaign_info(base_url, cid)
    for school in ["covina-high"] * 2 + ["northview-high"] * 4:
        post_sealed(base_url, info, seal_v11(info, {"school": school}, b64u(secrets.token_bytes(16))))
    t = json.loads(tally.compute(org.session, cid))
    assert (t["few"], t["reached"]) == (["covina-high", "northview-high"], [])
    tally.publish(org.session, cid, tally.compute(org.session, cid))
    with pytest.raises(ServerRefused, match="'reached' lists"):  # what an old tool would send
        _signed_put(org, cid, {**t, "reached": ["covina-high", "northview-high"]})
    post_sealed(base_url, info, seal_v11(info, {"school": "northview-high"}, b64u(secrets.token_bytes(16))))
    t = json.loads(tally.compute(org.session, cid))
    assert (t["counts"]["northview-high"], t["reached"]) == (5, ["northview-high"])
    tally.publish(org.session, cid, tally.compute(org.session, cid))


# ---------- finding 8: CSV formulas after a separator ----------

HOSTILE_TEXT = ['x;=HYPERLINK("http://evil.example","click")', "a,+1+cmd|' /C calc'!A0",
                'b\t@SUM(1+1)', 'c; "=1+1"', "d;\n-2+3", "=plain"]


def formula_cells(raw: str) -> list[str]:
    """Every cell a spreadsheet could make of `raw` when it splits on `,`, `;` or a tab, honours
    quotes or not, and trims spaces and quotes: the ones that would run as a formula."""
    import re

    found = []
    for piece in re.split(r"[,;\t\r\n]", raw):
        cell = piece.strip().lstrip('"').strip()
        if cell[:1] in ("=", "+", "-", "@"):
            found.append(cell)
    return found


def test_csv_cells_are_quoted_and_no_formula_follows_a_separator(
        site: tuple[str, OrganizerHandle]) -> None:
    import csv

    base_url, org = site
    cid = _campaign(org)
    info = campaign_info(base_url, cid)
    for text in HOSTILE_TEXT:
        post_sealed(base_url, info, seal_v11(info, {"school": "covina-high", "message": text},
                                             b64u(secrets.token_bytes(16))))
    env = {**os.environ, "PLEDGEBOX_PASSPHRASE": PASSPHRASE}
    for extra in ([], ["--ids"]):
        run = subprocess.run([console_script("pledgebox"), "--keystore", str(org.keystore), "roster",
                              cid, "--format", "csv", *extra], capture_output=True, text=True,
                             env=env, timeout=120, check=False)
        assert run.returncode == 0, run.stderr
        assert formula_cells(run.stdout) == []
        rows = list(csv.reader(io.StringIO(run.stdout)))
        assert len(rows) == 1 + len(HOSTILE_TEXT)
        quoted = io.StringIO()
        csv.writer(quoted, quoting=csv.QUOTE_ALL).writerows(rows)
        assert run.stdout.replace("\r\n", "\n") == quoted.getvalue().replace("\r\n", "\n")  # all quoted
        messages = sorted(r[4] for r in rows[1:])
        # the text is all there, a quote mark put before each formula character that follows a
        # separator (or starts the cell), as spreadsheets show text
        assert "x;'=HYPERLINK(\"http://evil.example\",\"click\")" in messages
        assert "'=plain" in messages

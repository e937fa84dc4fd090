"""Protocol v1's public API against a real gunicorn server, on SQLite and on PostgreSQL.

Every status and error code the protocol names, in its exact shape; after every refused request
nothing stored has changed. Most tests share one server and coalition per backend (starting
gunicorn is the slow part); tests that move the clock or rotate the key get a server of their own,
because a server never lets its clock run backwards.
"""

import hashlib
import http.client
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import migrations
from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import seal_pledge
from crypto.signing import EncryptionKey
from crypto.statements import campaign_message, encryption_key_message, verify_statement
from server.db import bind, database
from server.models import Campaign, Coalition, Pledge
from server.models import EncryptionKey as KeyRow
from tests.conftest import backend_server, move_clock, server_env
from tests.support.factories import OrganizerHandle, make_campaign, make_coalition, pledge
from tests.support.http import Reply, call
from tests.support.live import LiveServer
from tests.support.minutes import room_in_this_minute
from tests.support.pledges import pledge_view

ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
CAMPAIGN_KEYS = {"campaign_id", "coalition_id", "coalition_name", "signing_key", "descriptor",
                 "descriptor_signature", "encryption_key", "tally"}
KEY_KEYS = {"version", "not_after", "public_key", "signature"}


@dataclass
class World:
    base_url: str
    db_url: str
    clock_file: Path
    org: OrganizerHandle
    campaign_id: str

    @property
    def pledges_path(self) -> str:
        return f"/api/v1/campaigns/{self.campaign_id}/pledges"


# ---------- one server per backend for the tests that do not move time ----------

@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp(f"public-{request.param}")
    with backend_server(tmp, request.param) as (server, db_url, clock_file):
        org = make_coalition(tmp, server.base_url)
        yield World(server.base_url, db_url, clock_file, org, make_campaign(org))


@pytest.fixture(autouse=True)
def _bound_to_world(request: pytest.FixtureRequest) -> None:
    """Tests with their own server rebind the database; put the shared one back for the others."""
    if "world" in request.fixturenames:
        bind(request.getfixturevalue("world").db_url)


# ---------- helpers ----------

def stored() -> list[tuple[Any, ...]]:
    """Everything stored about pledges, campaigns and keys, to compare before and after a request."""
    with database.connection_context(), pledge_view():
        pledges = sorted((p.id, p.campaign_id, p.key_version, bytes(p.ciphertext),
                          bytes(p.withdraw_token_hash), str(p.received_day)) for p in Pledge.select())
        campaigns = sorted((c.id, bytes(c.descriptor), bytes(c.descriptor_signature))
                           for c in Campaign.select())
        keys = sorted((k.coalition_id, k.version, bytes(k.public_key), k.not_after)
                      for k in KeyRow.select())
    return [pledges, campaigns, keys]


def pledge_rows() -> list[Pledge]:
    with database.connection_context(), pledge_view():
        return list(Pledge.select())


def assert_error(reply: Reply, status: int, code: str, extra: set[str] = frozenset()) -> dict:  # type: ignore[assignment]
    assert reply.status == status, reply.body
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert set(body) == {"error"} | extra
    assert set(body["error"]) == {"code", "message"} | extra  # the server also nests a copy of extras
    assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert isinstance(message, str)
    assert message
    assert "\n" not in message
    return body


def refused(status: int, code: str, base_url: str, method: str, path: str, **kwargs: Any) -> dict:
    """Send one request that must be refused, and check it changed nothing stored."""
    extra = set(kwargs.pop("_extra", ()))
    before = stored()
    reply = call(base_url, method, path, **kwargs)
    body = assert_error(reply, status, code, extra)
    assert stored() == before, "a refused request changed what is stored"
    return body


def token_hash(token: bytes) -> str:
    return b64u_encode(hashlib.blake2b(token, digest_size=32).digest())


def good_body(base_url: str, campaign_id: str, answers: dict | None = None,
              token: bytes | None = None) -> dict[str, Any]:
    key = call(base_url, "GET", f"/api/v1/campaigns/{campaign_id}").json()["encryption_key"]
    return {"key_version": key["version"],
            "ciphertext": b64u_encode(seal_pledge(b64u_decode(key["public_key"]), campaign_id,
                                                  answers or {"school": "covina-high"})),
            "withdraw_token_hash": token_hash(token or secrets.token_bytes(32))}


def raw_post(base_url: str, path: str, data: bytes, content_type: str = "application/json",
             chunked: bool = False) -> Reply:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        body: Any = iter([data[i:i + 4096] for i in range(0, len(data), 4096)]) if chunked else data
        conn.request("POST", path, body=body, headers={"Content-Type": content_type},
                     encode_chunked=chunked)
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


# ---------- GET /api/v1/campaigns/{id} ----------

def test_campaign_answer_has_exactly_the_protocol_shape(world: World) -> None:
    reply = call(world.base_url, "GET", f"/api/v1/campaigns/{world.campaign_id}")
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert "no-store" in reply.headers["cache-control"]
    info = reply.json()
    assert set(info) == CAMPAIGN_KEYS
    assert set(info["encryption_key"]) == KEY_KEYS
    session = world.org.session
    assert info["campaign_id"] == world.campaign_id
    assert info["coalition_id"] == session.coalition_id
    assert info["coalition_name"] == "Covina Schools Coalition"
    assert info["signing_key"] == session.coalition["signing_key"]
    signing = b64u_decode(info["signing_key"], length=32)

    descriptor = b64u_decode(info["descriptor"])
    verify_statement(signing, campaign_message(descriptor),
                     b64u_decode(info["descriptor_signature"], length=64))
    with database.connection_context():
        assert bytes(Campaign.get_by_id(world.campaign_id).descriptor) == descriptor  # bytes as they came
    d = json.loads(descriptor)
    assert d["campaign_id"] == world.campaign_id
    assert d["coalition_id"] == session.coalition_id

    key = info["encryption_key"]
    assert key["version"] == 1
    assert isinstance(key["version"], int)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", key["not_after"])
    verify_statement(signing, encryption_key_message(session.coalition_id, 1, key["not_after"],
                                                     b64u_decode(key["public_key"], length=32)),
                     b64u_decode(key["signature"], length=64))
    assert key["public_key"] == b64u_encode(session.encryption_key(1).public)


@pytest.mark.parametrize("campaign_id", ["cmp_NoSuchCampaign", "A" * 22, "x" * 65, "a.b", "%E2%80%AE"])
def test_unknown_campaign_is_404(world: World, campaign_id: str) -> None:
    refused(404, "unknown_campaign", world.base_url, "GET", f"/api/v1/campaigns/{campaign_id}")


# ---------- POST /api/v1/campaigns/{id}/pledges ----------

def test_a_pledge_is_stored_as_ciphertext_with_only_what_the_protocol_allows(world: World) -> None:
    token = secrets.token_bytes(32)
    body = good_body(world.base_url, world.campaign_id, token=token)
    before = {p.id for p in pledge_rows()}
    reply = call(world.base_url, "POST", world.pledges_path, body)
    assert reply.status == 201, reply.body
    assert reply.headers["content-type"] == "application/json"
    assert set(reply.json()) == {"pledge_id"}
    pledge_id = reply.json()["pledge_id"]
    assert ID_RE.fullmatch(pledge_id)
    assert len(b64u_decode(pledge_id)) >= 16
    [row] = [p for p in pledge_rows() if p.id not in before]
    assert row.id == pledge_id
    assert row.campaign_id == world.campaign_id
    assert row.key_version == 1
    assert bytes(row.ciphertext) == b64u_decode(body["ciphertext"])
    assert bytes(row.withdraw_token_hash) == hashlib.blake2b(token, digest_size=32).digest()
    assert str(row.received_day) == datetime.now(UTC).date().isoformat() or abs(
        (date.fromisoformat(str(row.received_day)) - datetime.now(UTC).date()).days) <= 1
    assert set(Pledge._meta.columns) == {"id", "campaign_id", "key_version", "ciphertext",
                                         "withdraw_token_hash", "received_day"}


def test_pledge_ids_are_random_not_sequential(world: World) -> None:
    ids = [pledge(world.base_url, world.campaign_id).pledge_id for _ in range(5)]
    assert len(set(ids)) == 5
    assert ids != sorted(ids) or ids != sorted(ids, reverse=True)  # not both orders: no counter
    assert all(len(b64u_decode(i)) >= 16 for i in ids)


def test_charset_parameter_on_json_is_accepted(world: World) -> None:
    body = json.dumps(good_body(world.base_url, world.campaign_id)).encode()
    reply = raw_post(world.base_url, world.pledges_path, body, "application/json; charset=utf-8")
    assert reply.status == 201, reply.body


def _with(body: dict, **changes: Any) -> dict:
    out = {**body, **changes}
    return {k: v for k, v in out.items() if v is not DROP}


DROP = object()
HASH31, HASH33 = b64u_encode(bytes(31)), b64u_encode(bytes(33))
BAD_JSON_BODIES = {
    "wrong_type_version_string": {"key_version": "1"},
    "wrong_type_version_bool": {"key_version": True},
    "wrong_type_version_fraction": {"key_version": 1.5},  # 1.0 is 1 (JSON has one number type)
    "version_zero": {"key_version": 0},
    "version_negative": {"key_version": -1},
    "version_huge": {"key_version": 2**63},
    "version_null": {"key_version": None},
    "ciphertext_number": {"ciphertext": 12},
    "ciphertext_list": {"ciphertext": ["AAAA"]},
    "ciphertext_padded": {"ciphertext": "PADDED"},
    "ciphertext_std_alphabet": {"ciphertext": "STD"},
    "ciphertext_whitespace": {"ciphertext": "SPACE"},
    "hash_31_bytes": {"withdraw_token_hash": HASH31},
    "hash_33_bytes": {"withdraw_token_hash": HASH33},
    "hash_padded": {"withdraw_token_hash": b64u_encode(bytes(32)) + "="},
    "hash_stray_bits": {"withdraw_token_hash": b64u_encode(bytes(32))[:-1] + "B"},
    "hash_object": {"withdraw_token_hash": {"h": 1}},
    "missing_ciphertext": {"ciphertext": DROP},
    "missing_version": {"key_version": DROP},
    "missing_hash": {"withdraw_token_hash": DROP},
    "unknown_field": {"pledge_id": "mine"},
    "unknown_field_ip": {"ip": "1.2.3.4"},
}


@pytest.mark.parametrize("case", sorted(BAD_JSON_BODIES))
def test_malformed_fields_are_400_bad_request(world: World, case: str) -> None:
    body = good_body(world.base_url, world.campaign_id)
    changes = dict(BAD_JSON_BODIES[case])
    ct = body["ciphertext"]
    special = {"PADDED": ct + "=" * (-len(ct) % 4 or 4), "STD": ct.replace("-", "+").replace("_", "/") + "+/",
               "SPACE": ct[:100] + " " + ct[100:]}
    if isinstance(changes.get("ciphertext"), str) and changes["ciphertext"] in special:
        changes["ciphertext"] = special[changes["ciphertext"]]
    refused(400, "bad_request", world.base_url, "POST", world.pledges_path, body=_with(body, **changes))


RAW_BAD = {
    "not_json": b"key_version=1&ciphertext=x",
    "truncated_json": b'{"key_version": 1, "ciphertext": "AAAA"',
    "json_array": b"[1, 2, 3]",
    "json_string": b'"pledge"',
    "json_null": b"null",
    "empty": b"",
    "nan": b'{"key_version": NaN, "ciphertext": "AAAA", "withdraw_token_hash": "AAAA"}',
    "not_utf8": b'{"key_version": 1, "ciphertext": "\xff\xfe"}',
    "utf16": '{"key_version": 1}'.encode("utf-16"),
    "deep": b'{"a":' * 200 + b"1" + b"}" * 200,
}


@pytest.mark.parametrize("case", sorted(RAW_BAD))
def test_malformed_json_is_400_bad_request(world: World, case: str) -> None:
    before = stored()
    assert_error(raw_post(world.base_url, world.pledges_path, RAW_BAD[case]), 400, "bad_request")
    assert stored() == before


def test_a_duplicated_field_is_400_even_if_one_copy_is_valid(world: World) -> None:
    body = good_body(world.base_url, world.campaign_id)
    text = json.dumps(body)
    raw = (text[:-1] + ', "key_version": 1}').encode()
    before = stored()
    assert_error(raw_post(world.base_url, world.pledges_path, raw), 400, "bad_request")
    raw = ('{"ciphertext": "' + body["ciphertext"] + '", ' + text[1:]).encode()
    assert_error(raw_post(world.base_url, world.pledges_path, raw), 400, "bad_request")
    assert stored() == before


@pytest.mark.parametrize("length", [0, 48, 1071, 1073, 1024, 2048 + 47, 9 * 1024 + 48, 11 * 1024])
def test_ciphertext_lengths_outside_the_buckets_are_400(world: World, length: int) -> None:
    body = _with(good_body(world.base_url, world.campaign_id),
                 ciphertext=b64u_encode(secrets.token_bytes(length)))
    refused(400, "bad_ciphertext_length", world.base_url, "POST", world.pledges_path, body=body)


def test_every_bucket_length_is_accepted(world: World) -> None:
    """The server checks sizes, not contents: it cannot tell a sealed box from noise."""
    base = good_body(world.base_url, world.campaign_id)
    for k in range(1, 9):
        reply = call(world.base_url, "POST", world.pledges_path,
                     _with(base, ciphertext=b64u_encode(secrets.token_bytes(1024 * k + 48))))
        assert reply.status == 201, (k, reply.body)


def test_pledge_to_unknown_campaign_is_404(world: World) -> None:
    body = good_body(world.base_url, world.campaign_id)
    refused(404, "unknown_campaign", world.base_url, "POST", "/api/v1/campaigns/cmp_Nope/pledges", body=body)
    refused(404, "unknown_campaign", world.base_url, "POST", "/api/v1/campaigns/a.b/pledges", body=body)


def test_a_key_version_ahead_of_the_server_is_409_with_the_current_key(world: World) -> None:
    current = call(world.base_url, "GET", f"/api/v1/campaigns/{world.campaign_id}").json()["encryption_key"]
    body = _with(good_body(world.base_url, world.campaign_id), key_version=current["version"] + 1)
    answer = refused(409, "stale_key", world.base_url, "POST", world.pledges_path, body=body,
                     _extra={"encryption_key"})
    assert answer["encryption_key"] == current  # in the body, beside "error" (protocol v1)


def test_a_body_over_16_kib_is_413(world: World) -> None:
    body = _with(good_body(world.base_url, world.campaign_id), ciphertext="A" * (16 * 1024))
    refused(413, "too_large", world.base_url, "POST", world.pledges_path, body=body)


def test_a_chunked_body_over_16_kib_is_413_without_a_content_length(world: World) -> None:
    body = json.dumps(_with(good_body(world.base_url, world.campaign_id),
                            ciphertext="A" * (20 * 1024))).encode()
    before = stored()
    assert_error(raw_post(world.base_url, world.pledges_path, body, chunked=True), 413, "too_large")
    assert stored() == before


def test_a_chunked_body_under_the_limit_is_accepted(world: World) -> None:
    body = json.dumps(good_body(world.base_url, world.campaign_id)).encode()
    assert raw_post(world.base_url, world.pledges_path, body, chunked=True).status == 201


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx", ""])
def test_a_body_that_is_not_declared_json_is_415(world: World, content_type: str) -> None:
    data = json.dumps(good_body(world.base_url, world.campaign_id)).encode()
    before = stored()
    assert_error(raw_post(world.base_url, world.pledges_path, data, content_type), 415,
                 "unsupported_media_type")
    assert stored() == before


# ---------- POST /api/v1/pledges/{id}/withdraw ----------

def test_withdraw_deletes_the_pledge_and_answers_204(world: World) -> None:
    receipt = pledge(world.base_url, world.campaign_id)
    reply = call(world.base_url, "POST", f"/api/v1/pledges/{receipt.pledge_id}/withdraw",
                 {"withdraw_token": b64u_encode(receipt.token)})
    assert reply.status == 204
    assert reply.body == b""
    assert receipt.pledge_id not in {p.id for p in pledge_rows()}
    # a second withdrawal finds nothing
    refused(404, "unknown_pledge", world.base_url, "POST",
            f"/api/v1/pledges/{receipt.pledge_id}/withdraw",
            body={"withdraw_token": b64u_encode(receipt.token)})


def _comparable(reply: Reply) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in reply.headers.items() if k != "date"}
    return reply.status, reply.body, headers


def test_wrong_token_and_unknown_pledge_are_byte_identical_404s(world: World) -> None:
    receipt = pledge(world.base_url, world.campaign_id)
    wrong = refused(404, "unknown_pledge", world.base_url, "POST",
                    f"/api/v1/pledges/{receipt.pledge_id}/withdraw",
                    body={"withdraw_token": b64u_encode(secrets.token_bytes(32))})
    assert wrong
    wrong_reply = call(world.base_url, "POST", f"/api/v1/pledges/{receipt.pledge_id}/withdraw",
                       {"withdraw_token": b64u_encode(secrets.token_bytes(32))})
    unknown_reply = call(world.base_url, "POST", f"/api/v1/pledges/{'Q' * 22}/withdraw",
                         {"withdraw_token": b64u_encode(secrets.token_bytes(32))})
    odd_reply = call(world.base_url, "POST", "/api/v1/pledges/a.b/withdraw",
                     {"withdraw_token": b64u_encode(secrets.token_bytes(32))})
    assert _comparable(wrong_reply) == _comparable(unknown_reply) == _comparable(odd_reply)
    assert receipt.pledge_id in {p.id for p in pledge_rows()}  # still there


@pytest.mark.parametrize("body", [
    {}, {"withdraw_token": None}, {"withdraw_token": "AAAA"}, {"withdraw_token": b64u_encode(bytes(33))},
    {"withdraw_token": b64u_encode(bytes(32)) + "="}, {"withdraw_token": b64u_encode(bytes(32)), "x": 1},
    {"token": b64u_encode(bytes(32))},
], ids=range(7))
def test_malformed_withdraw_bodies_are_400(world: World, body: dict) -> None:
    receipt = pledge(world.base_url, world.campaign_id)
    refused(400, "bad_request", world.base_url, "POST", f"/api/v1/pledges/{receipt.pledge_id}/withdraw",
            body=body)


def test_withdraw_body_limits_and_media_type(world: World) -> None:
    receipt = pledge(world.base_url, world.campaign_id)
    path = f"/api/v1/pledges/{receipt.pledge_id}/withdraw"
    good = json.dumps({"withdraw_token": b64u_encode(receipt.token)}).encode()
    before = stored()
    assert_error(raw_post(world.base_url, path, good, "text/plain"), 415, "unsupported_media_type")
    assert_error(raw_post(world.base_url, path, good[:-1] + b', "pad": "' + b"x" * 2000 + b'"}'),
                 413, "too_large")
    assert_error(raw_post(world.base_url, path, b"{not json"), 400, "bad_request")
    assert stored() == before


# ---------- no input produces a 500 ----------

@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/campaigns"), ("GET", "/api/v1/nothing"), ("DELETE", "/api/v1/campaigns/x"),
    ("GET", "/api/v1/campaigns/x/pledges"), ("PUT", "/api/v1/pledges/x/withdraw"),
])
def test_other_api_requests_get_the_error_shape(world: World, method: str, path: str) -> None:
    before = stored()
    reply = call(world.base_url, method, path)
    assert reply.status in (404, 405)
    assert_error(reply, reply.status, reply.json()["error"]["code"])
    assert stored() == before


# ---------- tests with a server of their own (time moves, keys rotate) ----------

@pytest.fixture
def own(live_server: LiveServer, tmp_path: Path, clock_file: Path, db_url: str) -> World:
    org = make_coalition(tmp_path, live_server.base_url)
    return World(live_server.base_url, db_url, clock_file, org,
                 make_campaign(org, closes_in=13, delete_in=20))


BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)


@BACKENDS
def test_past_closes_at_pledges_are_410_but_the_campaign_still_answers(own: World) -> None:
    body = good_body(own.base_url, own.campaign_id)
    move_clock(own.clock_file, 14)
    assert call(own.base_url, "GET", f"/api/v1/campaigns/{own.campaign_id}").status == 200
    refused(410, "campaign_closed", own.base_url, "POST", own.pledges_path, body=body)
    # on the closing day itself pledges were still welcome
    assert stored()[0] == []


@BACKENDS
def test_on_its_closing_day_a_campaign_still_takes_pledges(own: World) -> None:
    move_clock(own.clock_file, 13)
    body = good_body(own.base_url, own.campaign_id)
    assert call(own.base_url, "POST", own.pledges_path, body).status == 201


@BACKENDS
def test_past_delete_after_a_campaign_is_unknown(own: World) -> None:
    receipt = pledge(own.base_url, own.campaign_id)
    body = good_body(own.base_url, own.campaign_id)
    move_clock(own.clock_file, 20)  # delete_after itself: still there
    assert call(own.base_url, "GET", f"/api/v1/campaigns/{own.campaign_id}").status == 200
    move_clock(own.clock_file, 21)
    refused(404, "unknown_campaign", own.base_url, "GET", f"/api/v1/campaigns/{own.campaign_id}")
    refused(404, "unknown_campaign", own.base_url, "POST", own.pledges_path, body=body)
    refused(404, "unknown_pledge", own.base_url, "POST", f"/api/v1/pledges/{receipt.pledge_id}/withdraw",
            body={"withdraw_token": b64u_encode(receipt.token)})
    assert call(own.base_url, "GET", f"/p/{own.campaign_id}").status == 404


@BACKENDS
def test_a_wiped_campaign_is_unknown(own: World) -> None:
    from organizer import campaigns

    pledge(own.base_url, own.campaign_id)
    campaigns.wipe(own.org.session, own.campaign_id)
    refused(404, "unknown_campaign", own.base_url, "GET", f"/api/v1/campaigns/{own.campaign_id}")
    assert stored()[0] == []


def rotate(org: OrganizerHandle, version: int = 2) -> EncryptionKey:
    """Publish a new encryption key the way a rotation does: signed by the coalition's key."""
    session = org.session
    key = EncryptionKey.generate(version)
    not_after = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    signature = session.signing_key().sign(
        encryption_key_message(session.coalition_id, version, not_after, key.public))
    with database.connection_context():
        KeyRow.create(coalition=Coalition.get_by_id(session.coalition_id), version=version,
                      public_key=key.public, not_after=not_after, signature=signature)
    return key


@BACKENDS
def test_after_a_rotation_old_key_pledges_are_409_with_the_signed_new_key(own: World) -> None:
    old_body = good_body(own.base_url, own.campaign_id)  # sealed to version 1
    new_key = rotate(own.org)
    answer = refused(409, "stale_key", own.base_url, "POST", own.pledges_path, body=old_body,
                     _extra={"encryption_key"})
    key = answer["encryption_key"]
    assert set(key) == KEY_KEYS
    assert key["version"] == 2
    assert b64u_decode(key["public_key"]) == new_key.public
    verify_statement(own.org.session.signing_public,
                     encryption_key_message(own.org.session.coalition_id, 2, key["not_after"],
                                            new_key.public), b64u_decode(key["signature"]))
    # the client re-seals to the key it was given and is welcome
    retry = good_body(own.base_url, own.campaign_id)
    assert retry["key_version"] == 2
    reply = call(own.base_url, "POST", own.pledges_path, retry)
    assert reply.status == 201
    with database.connection_context(), pledge_view():
        assert Pledge.get_by_id(reply.json()["pledge_id"]).key_version == 2


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_too_many_withdrawals_are_429_with_retry_after(instance: Path, db_url: str, clock_file: Path,
                                                       tmp_path: Path) -> None:
    bind(db_url)
    with database.connection_context():
        migrations.upgrade(database.obj)
    server = LiveServer(server_env(instance, db_url, clock_file, PLEDGEBOX_RATELIMITS="1",
                                   PLEDGEBOX_PURGE_IN_BACKGROUND="0")).start()
    try:
        body = {"withdraw_token": b64u_encode(secrets.token_bytes(32))}
        statuses: list[int] = []
        room_in_this_minute(15)
        while len(statuses) < 200 and 429 not in statuses:  # the limit is a few dozen a minute
            statuses.append(call(server.base_url, "POST", f"/api/v1/pledges/{'Q' * 22}/withdraw",
                                 body).status)
        assert set(statuses[:10]) == {404}
        assert statuses[-1] == 429
        reply = call(server.base_url, "POST", f"/api/v1/pledges/{'Q' * 22}/withdraw", body)
        assert_error(reply, 429, "rate_limited")
        assert int(reply.headers["retry-after"]) >= 1
    finally:
        server.stop()
        if not database.is_closed():
            database.close()

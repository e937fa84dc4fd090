"""Every bad input gets the protocol's error shape, and nothing stored changes because of it."""

import hashlib
import secrets
from pathlib import Path

import pytest

from crypto.encoding import b64u_encode
from server.db import database
from server.models import ALL_MODELS
from tests.support.factories import make_campaign, make_coalition, pledge
from tests.support.http import Reply, call
from tests.support.live import LiveServer
from tests.support.pledges import pledge_view

TOKEN_HASH = b64u_encode(hashlib.blake2b(b"t" * 32, digest_size=32).digest())
CIPHERTEXT = b64u_encode(secrets.token_bytes(1072))
GOOD = f'"key_version": 1, "ciphertext": "{CIPHERTEXT}", "withdraw_token_hash": "{TOKEN_HASH}"'
NONCANONICAL = TOKEN_HASH[:-1] + ("B" if TOKEN_HASH[-1] != "B" else "C")

BAD_BODIES = {
    "not json": b"key_version=1",
    "not utf-8": b'{"key_version": 1, "x": "\xff"}',
    "array": b"[1, 2]",
    "duplicate field": ("{" + GOOD + ', "key_version": 1}').encode(),
    "unknown field": ("{" + GOOD + ', "ip": "203.0.113.1"}').encode(),
    "missing field": f'{{"key_version": 1, "ciphertext": "{CIPHERTEXT}"}}'.encode(),
    "string for number": ("{" + GOOD.replace('"key_version": 1', '"key_version": "1"') + "}").encode(),
    "bool for number": ("{" + GOOD.replace('"key_version": 1', '"key_version": true') + "}").encode(),
    "fraction": ("{" + GOOD.replace('"key_version": 1', '"key_version": 1.5') + "}").encode(),
    "NaN": ("{" + GOOD.replace('"key_version": 1', '"key_version": NaN') + "}").encode(),
    "Infinity": ("{" + GOOD.replace('"key_version": 1', '"key_version": -Infinity') + "}").encode(),
    "1e400": ("{" + GOOD.replace('"key_version": 1', '"key_version": 1e400') + "}").encode(),
    "huge integer": ("{" + GOOD.replace('"key_version": 1', '"key_version": ' + "9" * 4000)
                     + "}").encode(),
    "zero": ("{" + GOOD.replace('"key_version": 1', '"key_version": 0') + "}").encode(),
    "deep nesting": ("{" + GOOD + ', "x": ' + "[" * 5000 + "]" * 5000 + "}").encode(),
    "padded base64": ("{" + GOOD.replace(TOKEN_HASH, TOKEN_HASH + "=") + "}").encode(),
    "standard base64": ("{" + GOOD.replace(TOKEN_HASH, "+/" + TOKEN_HASH[2:]) + "}").encode(),
    "non-canonical base64url": ("{" + GOOD.replace(TOKEN_HASH, NONCANONICAL) + "}").encode(),
    "short hash": ("{" + GOOD.replace(TOKEN_HASH, TOKEN_HASH[:20]) + "}").encode(),
    "lone surrogate": ("{" + GOOD + ', "\\ud800": 1}').encode(),
    "NUL in key": ("{" + GOOD + ', "a\\u0000": 1}').encode(),
    "bad ciphertext length": ("{" + GOOD.replace(CIPHERTEXT, b64u_encode(bytes(1000)))
                              + "}").encode(),
}


def snapshot() -> dict[str, int]:
    with database.connection_context(), pledge_view():  # SQLite: every campaign's table
        return {m.__name__: m.select().count() for m in ALL_MODELS}


def assert_error_shape(reply: Reply, status: int, code: str | None = None) -> None:
    assert reply.status == status, reply.body
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code


@pytest.fixture
def campaign(live_server: LiveServer, tmp_path: Path) -> str:
    return make_campaign(make_coalition(tmp_path, live_server.base_url))


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_bad_pledge_bodies_get_the_error_shape_and_store_nothing(live_server, campaign,
                                                                 name) -> None:
    before = snapshot()
    reply = call(live_server.base_url, "POST", f"/api/v1/campaigns/{campaign}/pledges",
                 raw=BAD_BODIES[name], headers={"Content-Type": "application/json"})
    code = "bad_ciphertext_length" if name == "bad ciphertext length" else "bad_request"
    assert_error_shape(reply, 400, code)
    assert snapshot() == before


def test_wrong_media_type_and_oversized_bodies(live_server, campaign) -> None:
    url = f"/api/v1/campaigns/{campaign}/pledges"
    before = snapshot()
    assert_error_shape(call(live_server.base_url, "POST", url, raw=b"{}",
                            headers={"Content-Type": "text/plain"}), 415, "unsupported_media_type")
    assert_error_shape(call(live_server.base_url, "POST", url, raw=b"{" + b" " * 17_000 + b"}",
                            headers={"Content-Type": "application/json"}), 413, "too_large")
    # A declared length over the limit is refused before a byte of the body is read.
    assert_error_shape(call(live_server.base_url, "POST", url, raw=b"{}", headers={
        "Content-Type": "application/json", "Content-Length": "99999999"}), 413, "too_large")
    assert snapshot() == before


@pytest.mark.parametrize("path", ["/api/v1/campaigns/%00", "/api/v1/campaigns/a%E2%80%AEb",
                                  "/api/v1/campaigns/" + "a" * 300,
                                  "/api/v1/pledges/%00/withdraw"])
def test_odd_ids_in_paths_are_answered_as_unknown(live_server, path) -> None:
    method = "POST" if path.endswith("withdraw") else "GET"
    reply = call(live_server.base_url, method, path,
                 body={"withdraw_token": b64u_encode(bytes(32))} if method == "POST" else None)
    assert reply.status == 404
    assert reply.json()["error"]["code"] in ("unknown_campaign", "unknown_pledge")


@pytest.mark.parametrize("name", ["Bad\u202eName", "NUL\x00name", "isolate\u2066x\u2069",
                                  "mark\u200fx"])
def test_bidi_and_nul_in_a_coalition_name_are_refused(live_server, tmp_path, name) -> None:
    before = snapshot()
    with pytest.raises(Exception, match="name"):
        make_coalition(tmp_path, live_server.base_url, name=name)
    after = snapshot()
    assert after["Coalition"] == before["Coalition"]


def _comparable(reply: Reply) -> tuple[int, dict[str, str], bytes]:
    headers = {k: v for k, v in reply.headers.items() if k != "date"}
    return reply.status, headers, reply.body


def test_no_such_pledge_and_wrong_token_answers_are_byte_identical(live_server,
                                                                   campaign) -> None:
    receipt = pledge(live_server.base_url, campaign)
    wrong_token = call(live_server.base_url, "POST", f"/api/v1/pledges/{receipt.pledge_id}/withdraw",
                       {"withdraw_token": b64u_encode(secrets.token_bytes(32))})
    no_such = call(live_server.base_url, "POST",
                   f"/api/v1/pledges/{b64u_encode(secrets.token_bytes(16))}/withdraw",
                   {"withdraw_token": b64u_encode(receipt.token)})
    assert _comparable(wrong_token) == _comparable(no_such)
    assert_error_shape(no_such, 404, "unknown_pledge")
    done = call(live_server.base_url, "POST", f"/api/v1/pledges/{receipt.pledge_id}/withdraw",
                {"withdraw_token": b64u_encode(receipt.token)})
    assert done.status == 204
    again = call(live_server.base_url, "POST", f"/api/v1/pledges/{receipt.pledge_id}/withdraw",
                 {"withdraw_token": b64u_encode(receipt.token)})
    assert _comparable(again) == _comparable(no_such)


def test_the_token_check_is_constant_time_by_construction() -> None:
    """Code review pinned as a test: the comparison is hmac.compare_digest, on fixed-size hashes."""
    import inspect

    from crypto import _primitives
    from server.store import pledges

    assert "hmac.compare_digest" in inspect.getsource(_primitives.equal)
    source = inspect.getsource(pledges.withdraw_pledge)
    assert "primitives.equal(" in source
    assert "presented ==" not in source
    assert "== presented" not in source

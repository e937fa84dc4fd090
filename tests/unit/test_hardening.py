"""The pieces of hardening that need no server: rate-limit keys, the log allow-list, the document."""

import logging
import os
import re
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Blueprint, Flask

from server import limits, openapi
from server.config import Config, ConfigError, load_config
from server.logs import WITHHELD, AllowListFilter


@pytest.mark.parametrize(("address", "network"), [
    ("198.51.100.7", "198.51.100.0/24"),
    ("198.51.100.250", "198.51.100.0/24"),
    ("::ffff:198.51.100.7", "198.51.100.0/24"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
    ("not an address", "unknown"),
    ("", "unknown"),
])
def test_clients_are_grouped_by_network_not_address(address: str, network: str) -> None:
    assert limits.network_of(address) == network


def test_the_daily_key_ratchets_one_way_and_agrees_across_processes(tmp_path: Path) -> None:
    key_file = tmp_path / "ratelimit.key"
    first = limits.DailyKey(key_file)
    second = limits.DailyKey(key_file)  # a second server reading the same file
    assert first.current() == second.current()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    # Tomorrow, each ratchets by itself and still agrees; yesterday's key is overwritten.
    yesterday = first.key
    tomorrow = limits.ratchet(yesterday, 1)
    assert tomorrow != yesterday
    day, key = limits._ratchet_file(key_file, first.day + timedelta(days=1))
    assert key == tomorrow
    assert yesterday.hex() not in key_file.read_text()
    # A copy started from an older file catches up to the same key.
    day3, key3 = limits._ratchet_file(key_file, first.day + timedelta(days=3))
    assert key3 == limits.ratchet(yesterday, 3)
    assert day3 == first.day + timedelta(days=3)


def test_in_memory_keys_ratchet_too(monkeypatch: pytest.MonkeyPatch) -> None:
    key = limits.DailyKey()
    start, today = key.key, key.day
    monkeypatch.setattr(limits, "utc_today", lambda: today + timedelta(days=2))
    assert key.current() == limits.ratchet(start, 2)


@pytest.mark.parametrize("value", ["lots", "0 per minute", "5 per fortnight", "-3 per hour"])
def test_a_pledge_limit_that_is_not_a_limit_stops_the_server(value: str) -> None:
    for name in ("PLEDGEBOX_RATELIMIT_PER_NETWORK", "PLEDGEBOX_RATELIMIT_PER_CAMPAIGN"):
        with pytest.raises(ConfigError, match=name):
            load_config({name: value})


def test_pledge_limits_are_read_from_the_environment() -> None:
    config = load_config({"PLEDGEBOX_RATELIMIT_PER_NETWORK": "400 per minute;9000 per day"})
    assert config.ratelimit_per_network == "400 per minute;9000 per day"
    assert config.ratelimit_per_campaign == Config.ratelimit_per_campaign


def test_a_foreign_key_file_stops_the_server(tmp_path: Path) -> None:
    bad = tmp_path / "key"
    bad.write_text("hello world\n")
    with pytest.raises(ConfigError):
        limits.DailyKey(bad)


def test_counter_keys_hold_no_address() -> None:
    app = Flask(__name__)
    limits.init_app(app, Config(instance_path=Path("/tmp"), database_url="sqlite:///:memory:"))
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "198.51.100.7"}):
        key = limits.network_key()
    # "n" and 32 hex digits: no room for an address's text (a bare "198" can occur in any hex
    # string by chance, so the shape is what is checked).
    assert re.fullmatch(r"n[0-9a-f]{32}", key)
    assert "198.51.100" not in key
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "198.51.100.200"}):
        assert limits.network_key() == key  # same /24, same counter


def _record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, None)


def test_log_allow_list() -> None:
    f = AllowListFilter()
    assert f.filter(_record("pledgebox.errors", "unexpected error %s", "KeyError"))
    for name in ("werkzeug", "flask-limiter", "peewee", "server", "urllib3"):
        assert not f.filter(_record(name, "GET /p/x from 198.51.100.7"))
    for kept in ("Rate limit storage unreachable - falling back to in-memory storage",
                 "Rate limit storage recovered"):
        assert f.filter(_record("flask-limiter", kept))
    assert not f.filter(_record("flask-limiter", "ratelimit %s (%s) exceeded at endpoint: %s",
                                "1/minute", "n0123", "public.post_pledge"))
    listed = _record("gunicorn.error", "Booting worker with pid: %s", 42)
    assert f.filter(listed)
    assert listed.getMessage() == "Booting worker with pid: 42"
    leaky = _record("gunicorn.error", "Invalid request from ip=198.51.100.7: bad header")
    assert f.filter(leaky)
    assert leaky.getMessage() == WITHHELD
    uri = _record("gunicorn.error", "Error handling request %s", "/p/x?ref=198.51.100.7")
    f.filter(uri)
    assert "198" not in uri.getMessage()


def test_undeclared_endpoints_are_still_documented() -> None:
    app = Flask(__name__)
    bp = Blueprint("x", __name__, url_prefix="/api/v1/org")

    @bp.post("/things/<thing_id>")
    def make_thing(thing_id: str) -> str:
        return ""

    app.register_blueprint(bp)
    doc = openapi.build_document(app)
    op = doc["paths"]["/api/v1/org/things/{thing_id}"]["post"]
    assert op["security"] == [{"RequestSignature": []}]
    assert {"2XX", "400", "401", "404", "429", "500"} <= set(op["responses"])
    assert op["parameters"][0]["name"] == "thing_id"


def test_declared_b64u_patterns_accept_only_canonical_text() -> None:
    import re

    from crypto.encoding import b64u_encode

    pattern = re.compile(openapi.b64u(32)["pattern"])
    value = b64u_encode(bytes(range(32)))
    assert pattern.fullmatch(value)
    assert not pattern.fullmatch(value[:-1] + "B")  # stray bits in the last character
    assert not pattern.fullmatch(value + "=")

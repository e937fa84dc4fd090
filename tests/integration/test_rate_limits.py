"""Rate limits on real servers: a class gets through, a script does not, spoofing earns nothing.

These tests start their own gunicorn servers with limits on (the shared `live_server` fixture
turns them off). The Redis tests share one real redis-server under a fresh key prefix each and
never flush it.
"""

import hashlib
import math
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import migrations
from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import seal_pledge
from server.config import Config
from server.db import bind, database
from tests.conftest import require_part, server_env
from tests.support.factories import make_campaign, make_coalition
from tests.support.http import Reply, call
from tests.support.live import LiveServer
from tests.support.minutes import room_in_this_minute


def start(instance: Path, db_url: str, clock_file: Path, workers: int = 1,
          **extra: str) -> LiveServer:
    env = server_env(instance, db_url, clock_file, PLEDGEBOX_RATELIMITS="1",
                     PLEDGEBOX_PURGE_IN_BACKGROUND="0", **extra)
    return LiveServer(env, workers=workers).start()


@pytest.fixture
def servers(instance: Path, db_url: str, clock_file: Path) -> Iterator[list[LiveServer]]:
    """Started servers, stopped after the test; the test process binds the same database."""
    bind(db_url)
    with database.connection_context():
        migrations.upgrade(database.obj)
    started: list[LiveServer] = []
    yield started
    for server in started:
        server.stop()
    if not database.is_closed():
        database.close()


class Pledger:
    """Posts pledges as a browser would, reusing one sealed ciphertext (the server cannot tell)."""

    def __init__(self, base_url: str, campaign_id: str) -> None:
        info = call(base_url, "GET", f"/api/v1/campaigns/{campaign_id}").json()
        key = info["encryption_key"]
        self.version = key["version"]
        self.ciphertext = b64u_encode(seal_pledge(b64u_decode(key["public_key"]), campaign_id,
                                                  {"school": "covina-high"}))
        self.campaign_id = campaign_id

    def post(self, base_url: str, headers: dict[str, str] | None = None,
             campaign_id: str | None = None) -> Reply:
        token_hash = hashlib.blake2b(secrets.token_bytes(32), digest_size=32).digest()
        body = {"key_version": self.version, "ciphertext": self.ciphertext,
                "withdraw_token_hash": b64u_encode(token_hash)}
        return call(base_url, "POST", f"/api/v1/campaigns/{campaign_id or self.campaign_id}/pledges",
                    body, headers=headers)


def campaign_on(server: LiveServer, tmp_path: Path) -> str:
    return make_campaign(make_coalition(tmp_path, server.base_url))


def pledging_on(servers: list[LiveServer], instance: Path, db_url: str, clock_file: Path,
                tmp_path: Path, **extra: str) -> tuple[LiveServer, Pledger]:
    """A started server (stopped by the `servers` fixture) with a campaign and its pledger."""
    server = start(instance, db_url, clock_file, **extra)
    servers.append(server)
    return server, Pledger(server.base_url, campaign_on(server, tmp_path))


def assert_throttled(reply: Reply) -> None:
    assert reply.status == 429
    assert reply.error_code == "rate_limited"
    assert 1 <= int(reply.headers["retry-after"]) <= 3600
    assert reply.headers["content-type"] == "application/json"


def test_a_class_of_40_from_one_school_network_all_get_201(servers, instance, db_url, clock_file,
                                                           tmp_path) -> None:
    """40 students behind the school's NAT (one /24), each loading the page and pledging."""
    server, pledger = pledging_on(servers, instance, db_url, clock_file, tmp_path,
                                  PLEDGEBOX_TRUSTED_PROXIES="1")
    statuses = []
    for student in range(40):
        via = {"X-Forwarded-For": f"198.51.100.{student + 10}"}
        assert call(server.base_url, "GET", f"/p/{pledger.campaign_id}", headers=via).status == 200
        assert call(server.base_url, "GET", f"/api/v1/campaigns/{pledger.campaign_id}",
                    headers=via).status == 200
        statuses.append(pledger.post(server.base_url, via).status)
    assert statuses == [201] * 40


# Pledges per network per minute, read from the server's default limits (the first of them).
PER_MINUTE = int(Config.ratelimit_per_network.split(" per minute")[0])


def timed(make: Callable[[], list[Reply]]) -> tuple[list[Reply], int]:
    """The replies of a burst, and the most a per-minute quota may accept during it.

    The limiter's sliding-window counter weighs the previous minute by the share of it still in
    the window; a burst that straddles a minute boundary sees that weight slide out while it runs
    and may get that share of the quota early. Anything beyond it is a second quota.
    """
    started = time.monotonic()
    replies = make()
    seconds = time.monotonic() - started
    return replies, PER_MINUTE + math.ceil(PER_MINUTE * seconds / 60)


def test_a_script_sending_1000_pledges_a_minute_is_throttled(servers, instance, db_url, clock_file,
                                                             tmp_path) -> None:
    server, pledger = pledging_on(servers, instance, db_url, clock_file, tmp_path)
    room_in_this_minute(30)
    replies, most = timed(lambda: [pledger.post(server.base_url) for _ in range(1000)])
    accepted = [r for r in replies if r.status == 201]
    refused = [r for r in replies if r.status != 201]
    assert 40 <= len(accepted) <= most
    assert len(refused) >= len(replies) - most
    for reply in refused[:5] + refused[-5:]:
        assert_throttled(reply)


SPOOFS = [
    {"X-Forwarded-For": "{a}"}, {"X-Real-IP": "{a}"}, {"Forwarded": "for={a}"},
    {"X-Forwarded-For": "{a}, {a}"}, {"Client-IP": "{a}"}, {"True-Client-IP": "{a}"},
]


def _spoof(i: int) -> dict[str, str]:
    address = f"{(i % 200) + 11}.{i % 250}.{i // 250}.9"
    return {k: v.format(a=address) for k, v in SPOOFS[i % len(SPOOFS)].items()}


def test_spoofed_forwarding_headers_earn_no_extra_quota_without_trusted_proxies(
        servers, instance, db_url, clock_file, tmp_path) -> None:
    # PLEDGEBOX_TRUSTED_PROXIES=0 (the default)
    server, pledger = pledging_on(servers, instance, db_url, clock_file, tmp_path)
    room_in_this_minute(20)
    replies, most = timed(lambda: [pledger.post(server.base_url, _spoof(i)) for i in range(300)])
    assert sum(r.status == 201 for r in replies) <= most
    assert_throttled(replies[-1])


def test_with_one_trusted_proxy_only_the_proxys_hop_counts(servers, instance, db_url, clock_file,
                                                           tmp_path) -> None:
    """The proxy appends the real address; whatever the client put before it is ignored."""
    server, pledger = pledging_on(servers, instance, db_url, clock_file, tmp_path,
                                  PLEDGEBOX_TRUSTED_PROXIES="1")
    room_in_this_minute(20)
    replies, most = timed(lambda: [pledger.post(server.base_url, {
        "X-Forwarded-For": f"10.{i % 250}.{i // 250}.1, 192.0.2.{i % 200 + 1}"}) for i in range(300)])
    assert sum(r.status == 201 for r in replies) <= most
    assert_throttled(replies[-1])
    # A different network behind the same proxy still gets through.
    assert pledger.post(server.base_url, {"X-Forwarded-For": "203.0.113.5"}).status == 201


def test_a_per_campaign_ceiling_bounds_a_flood_from_many_networks(servers, instance, db_url,
                                                                  clock_file, tmp_path) -> None:
    server = start(instance, db_url, clock_file, PLEDGEBOX_TRUSTED_PROXIES="1")
    servers.append(server)
    admin = make_coalition(tmp_path, server.base_url)
    flooded, other = make_campaign(admin), make_campaign(admin, title="Other")
    # Every request counts toward the ceiling, accepted or not: these are cheap 400s.
    room_in_this_minute(25)
    statuses = [call(server.base_url, "POST", f"/api/v1/campaigns/{flooded}/pledges", {},
                     headers={"X-Forwarded-For": f"100.{64 + i // 250}.{i % 250}.7"}).status
                for i in range(620)]
    assert 400 in statuses
    assert statuses.count(429) >= 1
    fresh = {"X-Forwarded-For": "203.0.113.9"}
    assert_throttled(call(server.base_url, "POST", f"/api/v1/campaigns/{flooded}/pledges", {},
                          headers=fresh))
    assert Pledger(server.base_url, other).post(server.base_url, fresh).status == 201


def test_operators_can_set_the_pledge_limits(servers, instance, db_url, clock_file,
                                             tmp_path) -> None:
    """A district whose schools share one network raises (or here, lowers) the limits."""
    server, pledger = pledging_on(servers, instance, db_url, clock_file, tmp_path,
                                  PLEDGEBOX_TRUSTED_PROXIES="1",
                                  PLEDGEBOX_RATELIMIT_PER_NETWORK="5 per minute",
                                  PLEDGEBOX_RATELIMIT_PER_CAMPAIGN="8 per minute")
    school = {"X-Forwarded-For": "198.51.100.20"}
    room_in_this_minute(10)
    assert [pledger.post(server.base_url, school).status for _ in range(5)] == [201] * 5
    assert_throttled(pledger.post(server.base_url, school))
    other = [pledger.post(server.base_url, {"X-Forwarded-For": f"203.0.113.{i}"}).status
             for i in range(1, 4)]
    assert other == [201, 201, 429], "the campaign's ceiling of 8 a minute holds"


# --- several processes sharing Redis --------------------------------------------------------


def redis_env(tmp_path: Path, key_file: Path | None) -> dict[str, str]:
    url = require_part("PLEDGEBOX_TEST_REDIS_URL", "Redis")
    env = {"PLEDGEBOX_RATELIMIT_STORAGE": url,
           "PLEDGEBOX_RATELIMIT_PREFIX": "pbtest_" + secrets.token_hex(6)}
    if key_file is not None:
        env["PLEDGEBOX_RATELIMIT_KEY_FILE"] = str(key_file)
    return env


def redis_keys(prefix: str) -> list[bytes]:
    import redis

    client = redis.Redis.from_url(os.environ["PLEDGEBOX_TEST_REDIS_URL"])
    try:
        return list(client.scan_iter(match=f"*{prefix}*", count=1000))
    finally:
        client.close()


@pytest.mark.redis
def test_two_server_processes_share_limits_through_redis_and_the_key_file(
        servers, instance, db_url, clock_file, tmp_path) -> None:
    key_file = tmp_path / "run" / "ratelimit.key"
    key_file.parent.mkdir()
    env = redis_env(tmp_path, key_file)
    first = start(instance, db_url, clock_file, workers=2, **env)
    servers.append(first)
    second = start(instance, db_url, clock_file, workers=2, **env)
    servers.append(second)
    campaign = campaign_on(first, tmp_path)
    pledger = Pledger(first.base_url, campaign)
    replies, most = timed(lambda: [pledger.post((first, second)[i % 2].base_url) for i in range(300)])
    accepted = sum(r.status == 201 for r in replies)
    assert 40 <= accepted <= most, accepted  # one shared quota, not one per process or worker
    assert_throttled(replies[-1])
    assert_throttled(replies[-2])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keys = redis_keys(env["PLEDGEBOX_RATELIMIT_PREFIX"])
    assert keys, "the servers must have counted in Redis"
    for key in keys:
        assert b"127.0.0" not in key
        assert b"::1" not in key


@pytest.mark.redis
def test_without_the_shared_key_file_separate_servers_count_apart(
        servers, instance, db_url, clock_file, tmp_path) -> None:
    """Proof that the shared key is what joins the counters (each server draws its own)."""
    env = redis_env(tmp_path, None)
    first = start(instance, db_url, clock_file, **env)
    servers.append(first)
    second = start(instance, db_url, clock_file, **env)
    servers.append(second)
    campaign = campaign_on(first, tmp_path)
    pledger = Pledger(first.base_url, campaign)
    replies = [pledger.post((first, second)[i % 2].base_url) for i in range(300)]
    assert sum(r.status == 201 for r in replies) > 120

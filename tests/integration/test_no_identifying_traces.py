"""Nothing that identifies anyone, anywhere: sentinel addresses and browsers leave no trace.

Three real servers share one SQLite database and one Redis (limits on, so Redis is used):
IPv4 behind one trusted proxy (X-Forwarded-For carries an IPv4 sentinel), IPv6 on ::1 behind one
trusted proxy (an IPv6 sentinel), and IPv4 trusting no proxy while clients spoof every forwarding
header with the sentinels. Every request carries a sentinel User-Agent and Referer. Then every log,
the database files, a Redis dump and the temp folder are searched for the sentinels in every
encoding we can think of: text, packed bytes, hex, base64, the /24 and /64 network: zero hits.
"""

import base64
import ipaddress
import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from crypto.encoding import b64u_encode
from organizer import roster
from organizer.client import urllib_transport
from server.db import database
from server.logs import WITHHELD
from tests.conftest import migrate, require_part, server_env
from tests.support.factories import make_campaign, make_coalition, pledge
from tests.support.http import call
from tests.support.live import LiveServer

pytestmark = [pytest.mark.redis, pytest.mark.slow]

IPV4 = f"203.0.113.{secrets.randbelow(100) + 120}"
IPV6 = f"2001:db8:{secrets.randbelow(0xFFFF):x}:{secrets.randbelow(0xFFFF):x}::77"
AGENT = "SentinelBrowser/" + secrets.token_hex(8)
REFERER = "https://sentinel-" + secrets.token_hex(6) + ".invalid/share"


def encodings(text: str, packed: bytes | None = None) -> dict[str, bytes]:
    """The sentinel as text and in the encodings a careless server might write it in."""
    out = {"text": text.encode(), "utf-16": text.encode("utf-16-le"),
           "base64(text)": base64.b64encode(text.encode()).rstrip(b"="),
           "hex(text)": text.encode().hex().encode(), "url": quote(text, safe="").encode()}
    if packed is not None:
        out |= {"packed": packed, "hex": packed.hex().encode(),
                "HEX": packed.hex().upper().encode(),
                "base64": base64.b64encode(packed).rstrip(b"="),
                "base64url": b64u_encode(packed).encode()}
    return out


def sentinels() -> dict[str, bytes]:
    v4, v6 = ipaddress.ip_address(IPV4), ipaddress.ip_address(IPV6)
    found: dict[str, bytes] = {}
    for name, text, packed in (("ipv4", IPV4, v4.packed), ("ipv6", IPV6, v6.packed)):
        found |= {f"{name} {k}": v for k, v in encodings(text, packed).items()}
    found["ipv6 exploded"] = v6.exploded.encode()
    found["/24"] = str(ipaddress.ip_network(f"{IPV4}/24", strict=False)).encode()
    found["/24 prefix"] = IPV4.rsplit(".", 1)[0].encode() + b"."
    found["/64"] = str(ipaddress.ip_network(f"{IPV6}/64", strict=False)).encode()
    found["/64 packed"] = v6.packed[:8]
    for name, text in (("user agent", AGENT), ("referer", REFERER)):
        found |= {f"{name} {k}": v for k, v in encodings(text).items()}
    return found


HEADERS = {"User-Agent": AGENT, "Referer": REFERER}


def spoofing(address: str) -> dict[str, str]:
    return {**HEADERS, "X-Forwarded-For": address, "X-Real-IP": address,
            "Forwarded": f'for="{address}"', "True-Client-IP": address, "Client-IP": address}


@pytest.fixture
def fleet(instance: Path, db_url: str, clock_file: Path, tmp_path: Path
          ) -> Iterator[dict[str, LiveServer | str]]:
    redis_url = require_part("PLEDGEBOX_TEST_REDIS_URL", "Redis")
    prefix = "pbtrace_" + secrets.token_hex(6)
    migrate(db_url)
    common = {"PLEDGEBOX_RATELIMITS": "1", "PLEDGEBOX_PURGE_IN_BACKGROUND": "0",
              "PLEDGEBOX_RATELIMIT_STORAGE": redis_url, "PLEDGEBOX_RATELIMIT_PREFIX": prefix,
              "PLEDGEBOX_RATELIMIT_KEY_FILE": str(instance / "ratelimit.key"),
              "TMPDIR": str(tmp_path / "server-tmp")}
    (tmp_path / "server-tmp").mkdir()
    servers: dict[str, LiveServer | str] = {"prefix": prefix}
    try:
        servers["v4"] = LiveServer(host="127.0.0.1", env=server_env(
            instance, db_url, clock_file, PLEDGEBOX_TRUSTED_PROXIES="1", **common)).start()
        servers["v6"] = LiveServer(host="::1", env=server_env(
            instance, db_url, clock_file, PLEDGEBOX_TRUSTED_PROXIES="1", **common)).start()
        servers["untrusting"] = LiveServer(host="127.0.0.1", env=server_env(
            instance, db_url, clock_file, **common)).start()
        yield servers
    finally:
        for server in servers.values():
            if isinstance(server, LiveServer):
                server.stop()
        if not database.is_closed():
            database.close()


def use_everything(base: str, headers: dict[str, str], tmp: Path) -> None:
    """A day of use: organizers set up, students load pages and pledge, errors of every kind."""

    def transport(method: str, url: str, body: bytes, hdrs: dict[str, str]) -> tuple[int, bytes]:
        return urllib_transport(method, url, body, {**hdrs, **headers})

    admin = make_coalition(tmp, base, transport)
    campaign = make_campaign(admin)
    for path in ("/", f"/p/{campaign}", "/withdraw", "/static/css/pledgebox.css",
                 f"/api/v1/campaigns/{campaign}", "/api/openapi.json", "/nothing?ref=x",
                 f"/p/{campaign}?utm_source=sentinel"):
        assert call(base, "GET", path, headers=headers).status in (200, 404)
    receipts = [pledge(base, campaign, {"school": "covina-high", "message": f"hi {i}"})
                for i in range(3)]
    for r in receipts:  # the factory sends no sentinel headers; these do
        call(base, "POST", f"/api/v1/campaigns/{campaign}/pledges", raw=b'{"x":', headers={
            **headers, "Content-Type": "application/json"})
    withdraw = call(base, "POST", f"/api/v1/pledges/{receipts[0].pledge_id}/withdraw",
                    {"withdraw_token": b64u_encode(receipts[0].token)}, headers=headers)
    assert withdraw.status == 204
    call(base, "POST", f"/api/v1/pledges/{receipts[1].pledge_id}/withdraw",
         {"withdraw_token": b64u_encode(bytes(32))}, headers=headers)
    call(base, "PUT", "/api/v1/campaigns/x", headers=headers)
    call(base, "POST", f"/api/v1/campaigns/{campaign}/pledges", raw=b" " * 20_000,
         headers={**headers, "Content-Type": "application/json"})
    call(base, "GET", "/api/v1/org/me", headers=headers)  # unsigned organizer call: 401
    statuses = {call(base, "POST", f"/api/v1/pledges/{receipts[2].pledge_id}/withdraw",
                     {"withdraw_token": b64u_encode(bytes(32))}, headers=headers).status
                for _ in range(35)}
    assert 429 in statuses, "the rate limiter must have stored counters"
    tally = roster.Tally()
    assert len(list(roster.pledges(admin.session, campaign, tally))) == 2


def malformed_request(base: str) -> None:
    """Bytes gunicorn itself rejects, naming the sentinels (its messages embed request data)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"GET /{AGENT} HTTP/1.1\r\nHost: x\r\nBad Header {IPV4}: y\r\n\r\n".encode())
        sock.recv(4096)


def redis_dump(tmp: Path, prefix: str) -> Path:
    import redis

    url = os.environ["PLEDGEBOX_TEST_REDIS_URL"]
    client = redis.Redis.from_url(url)
    out = tmp / "redis-dump.bin"
    with out.open("wb") as f:
        for key in client.scan_iter(match=f"*{prefix}*", count=1000):
            f.write(key + b"\n" + (client.dump(key) or b"") + b"\n")
    client.close()
    assert out.stat().st_size > 0, "the servers must have counted in Redis"
    rdb = tmp / "redis-full.rdb"
    subprocess.run(["redis-cli", "-u", url, "--rdb", str(rdb)], check=True, capture_output=True,
                   timeout=60)
    return out


def files_under(root: Path, since: float | None = None) -> Iterator[Path]:
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            try:
                if path.is_file() and (since is None or path.stat().st_mtime >= since):
                    yield path
            except OSError:
                continue


def test_sentinel_addresses_and_browsers_leave_no_trace(fleet, tmp_path: Path) -> None:
    started = time.time()
    use_everything(fleet["v4"].base_url, {**HEADERS, "X-Forwarded-For": IPV4}, tmp_path / "a")
    use_everything(fleet["v6"].base_url, {**HEADERS, "X-Forwarded-For": IPV6}, tmp_path / "b")
    use_everything(fleet["untrusting"].base_url, spoofing(IPV4), tmp_path / "c")
    call(fleet["untrusting"].base_url, "GET", "/", headers=spoofing(IPV6))
    for name in ("v4", "v6", "untrusting"):
        malformed_request(fleet[name].base_url)
    for name in ("v4", "v6", "untrusting"):
        fleet[name].stop()  # flush every log and close the database
    redis_dump(tmp_path, fleet["prefix"])

    logs = list(tmp_path.rglob("server-*.log"))
    assert len(logs) == 3
    assert any(b"Booting worker" in p.read_bytes() for p in logs), "the logs must be real logs"
    # gunicorn's "Invalid request from ip=…" was written, and withheld by the allow-list.
    assert all(WITHHELD.encode() in p.read_bytes() for p in logs)
    assert list(tmp_path.rglob("pledgebox.sqlite3*")), "the database files must be scanned"

    needles = sentinels()
    hits = []
    ours = list(files_under(tmp_path))
    for path in ours:
        data = path.read_bytes()
        hits += [(str(path), what) for what, needle in needles.items() if needle in data]
    # The shared temp folder: what anything wrote there during the test. Short binary needles
    # (4 packed bytes) would match random data written by others, so text forms only.
    text_needles = {k: v for k, v in needles.items()
                    if not any(w in k for w in ("packed", "base64", "hex", "HEX", "prefix", "utf"))}
    for path in files_under(Path(tempfile.gettempdir()), since=started):
        if tmp_path in path.parents or path.stat().st_size > 50_000_000:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        hits += [(str(path), what) for what, needle in text_needles.items() if needle in data]
    assert len(ours) >= 8
    assert hits == []

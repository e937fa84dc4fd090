"""Every response of a real server carries the exact security headers, and every script its hash.

The routes come from the app's own url_map, so a route added later is covered without editing
this test; error responses (404, 405, 413 with and without Content-Length) and every static file
are requested too.
"""

import base64
import hashlib
import http.client
import re
import socket
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from server import create_app
from server.assets import INLINE_SCRIPT, assets
from server.config import Config
from tests.conftest import server_env
from tests.support.factories import make_campaign, make_coalition
from tests.support.hardening import assert_hardened
from tests.support.http import Reply, call
from tests.support.live import LiveServer

STATIC = Path(__file__).resolve().parents[2] / "server" / "static"
def _url_for_rule(rule: str, campaign_id: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>",
                  lambda m: campaign_id if m.group(1) == "campaign_id" else "AAAAAAAAAAAAAAAAAAAAAA",
                  rule)


@pytest.fixture
def campaign(live_server: LiveServer, tmp_path: Path) -> str:
    return make_campaign(make_coalition(tmp_path, live_server.base_url))


def test_every_route_and_error_carries_the_security_headers(live_server, config: Config,
                                                            campaign: str) -> None:
    app = create_app(config)
    base = live_server.base_url
    seen = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = _url_for_rule(rule.rule, campaign)
        for method in sorted(rule.methods or ()):
            reply = call(base, method, path, raw=b"{}" if method in {"POST", "PUT"} else None,
                         headers={"Content-Type": "application/json"})
            assert reply.status < 500, f"{method} {path}: {reply.status}"
            assert_hardened(reply, f"{method} {rule.rule} → {reply.status}")
            seen += 1
        # A method the rule does not allow: 405, hardened too.
        other = "PATCH" if "PATCH" not in (rule.methods or ()) else "PUT"
        reply = call(base, other, path)
        assert reply.status == 405
        assert reply.headers["allow"]
        assert_hardened(reply, f"{other} {rule.rule}")
    assert seen >= 20
    for path in ("/nothing-here", "/api/v1/nothing", "/static/nothing.js", "/p/%00"):
        reply = call(base, "GET", path)
        assert reply.status == 404
        assert_hardened(reply, f"GET {path}")
    big = call(base, "POST", f"/api/v1/campaigns/{campaign}/pledges", raw=b" " * 20_000,
               headers={"Content-Type": "application/json"})
    assert big.status == 413
    assert big.error_code == "too_large"
    assert_hardened(big, "413")


def test_every_static_file_is_hardened_and_cacheable(live_server) -> None:
    files = [p for p in STATIC.rglob("*") if p.is_file()]
    assert files
    for path in files:
        name = path.relative_to(STATIC).as_posix()
        url = f"/static/{assets()[name].digest}/{name}"
        reply = call(live_server.base_url, "GET", url)
        assert reply.status == 200, url
        assert reply.body == path.read_bytes()
        assert_hardened(reply, url, static=True)


def chunked_post(base_url: str, path: str, size: int) -> tuple[int, bytes]:
    """A POST with Transfer-Encoding: chunked and no Content-Length, over a raw socket."""
    parts = urlsplit(base_url)
    chunk = b"[" * 4096
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                     "Connection: close\r\n\r\n".encode())
        try:
            for _ in range(size // len(chunk)):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer and close before reading everything
        data = b""
        while True:
            part = sock.recv(65536)
            if not part:
                break
            data += part
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_a_chunked_body_without_length_is_refused_before_parsing(live_server, campaign) -> None:
    status, body = chunked_post(live_server.base_url, f"/api/v1/campaigns/{campaign}/pledges",
                                64 * 1024)
    assert status == 413
    assert b'"too_large"' in body
    # A small chunked body is read and parsed as usual.
    status, body = chunked_post(live_server.base_url, f"/api/v1/campaigns/{campaign}/pledges", 0)
    assert status == 400
    assert b'"bad_request"' in body


def test_hsts_only_over_tls_said_by_a_trusted_proxy(instance, db_url, clock_file,
                                                   live_server) -> None:
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4"}
    # Untrusted (PLEDGEBOX_TRUSTED_PROXIES=0): the header is the client's word, and ignored.
    assert_hardened(call(live_server.base_url, "GET", "/", headers=https), "trust 0")
    behind = LiveServer(server_env(instance, db_url, clock_file, PLEDGEBOX_TRUSTED_PROXIES="1",
                                   PLEDGEBOX_RATELIMITS="0", PLEDGEBOX_PURGE_IN_BACKGROUND="0"))
    behind.start()
    try:
        for path in ("/", "/api/v1/campaigns/nope", "/api/openapi.json"):
            assert_hardened(call(behind.base_url, "GET", path, headers=https), path, tls=True)
        css = f"/static/{assets()['css/pledgebox.css'].digest}/css/pledgebox.css"
        assert_hardened(call(behind.base_url, "GET", css, headers=https),
                        "static over tls", static=True, tls=True)
        assert_hardened(call(behind.base_url, "GET", "/", headers={
            "X-Forwarded-Proto": "http"}), "plain http behind the proxy")
    finally:
        behind.stop()


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.assets: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" or (tag == "link" and "stylesheet" in (a.get("rel") or "")):
            self.assets.append({"tag": tag, **a})


def test_every_script_and_stylesheet_carries_a_matching_integrity_hash(live_server,
                                                                       campaign) -> None:
    checked = 0
    for page in ("/", "/withdraw", f"/p/{campaign}", "/nothing-here"):
        html = call(live_server.base_url, "GET", page).body.decode()
        parser = _Assets()
        parser.feed(html)
        # The only inline script is our built file, allowed by its hash in the CSP.
        inline_ok = f"<script>{assets()[INLINE_SCRIPT].data.decode()}</script>"
        assert "<script>" not in html.replace(inline_ok, "").replace(" ", ""), f"inline script on {page}"
        for asset in parser.assets:
            if asset["tag"] == "script" and "src" not in asset and page.startswith("/p/"):
                continue  # the inline built script, checked above
            url = asset.get("src") or asset.get("href")
            assert url, f"{page}: an inline {asset['tag']}"
            assert url.startswith("/static/"), f"{page}: {url} is not served from our origin"
            integrity = asset.get("integrity") or ""
            algo, _, digest = integrity.partition("-")
            assert algo in ("sha256", "sha384", "sha512"), f"{page}: {url} has no integrity"
            served = call(live_server.base_url, "GET", url).body
            assert base64.b64decode(digest) == hashlib.new(algo, served).digest(), url
            checked += 1
    assert checked >= 4


def raw_exchange(base_url: str, request: bytes) -> Reply:
    """Send bytes as they are (no client library would send these) and parse the answer."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                     response.read())


ECHO = b"zqxj"  # in every refused request below; must not come back


@pytest.mark.parametrize(("request_bytes", "status", "code"), [
    (b"GET /" + ECHO * 1250 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "too_large"),
    (ECHO + b" " + ECHO + b" " + ECHO + b"\r\n\r\n", 400, "bad_request"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%s%d: %s\r\n" % (ECHO, i, ECHO)
                                                 for i in range(101)) + b"\r\n",
     431, "too_large"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Q: " + ECHO * 2250 + b"\r\n\r\n", 431, "too_large"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-" + ECHO + b"\x01: q\r\n\r\n", 400, "bad_request"),
], ids=["request-line", "not-http", "header-count", "header-size", "header-name"])
def test_requests_gunicorn_refuses_itself_get_the_error_shape_and_headers(
        live_server: LiveServer, request_bytes: bytes, status: int, code: str) -> None:
    """These never reach Flask: gunicorn answers them (server/gunicorn_worker.py)."""
    reply = raw_exchange(live_server.base_url, request_bytes)
    assert reply.status == status
    assert reply.headers["content-type"] == "application/json"
    assert reply.error_code == code
    assert reply.json()["error"]["message"]
    assert ECHO not in reply.body.lower(), "nothing the client sent is echoed back"
    assert_hardened(reply, f"gunicorn's own {status}")

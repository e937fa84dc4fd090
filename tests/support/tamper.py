"""A tampering layer in front of a real Pledgebox server: a small loopback HTTP proxy that
forwards every request and lets a test rewrite chosen answers, as an intruder on the box would.

It also records every request's headers as received (in order), so tests can check what the
watch sends. `Tamper` gets (request headers, path, headers, body) and returns new headers and
body; it sets `applied` when it changed something, so a test fails if its attack no longer
matches the page it attacks (the page changed) rather than passing without attacking.
"""

import base64
import hashlib
import http.client
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Headers = list[tuple[str, str]]
Rewrite = Callable[[Headers, str, Headers, bytes], tuple[Headers, bytes] | None]


@dataclass
class Proxy:
    upstream: str
    rewrite: Rewrite | None = None
    seen: list[tuple[str, Headers]] = field(default_factory=list)
    applied: int = 0
    down: bool = False  # answer nothing at all, as a server that is off
    base_url: str = ""
    httpd: ThreadingHTTPServer | None = None


def header(headers: Headers, name: str) -> str:
    return next((v for k, v in headers if k.lower() == name.lower()), "")


def set_header(headers: Headers, name: str, value: str) -> Headers:
    return [(k, value if k.lower() == name.lower() else v) for k, v in headers]


def inline_script_hash(html: str) -> str:
    script = re.search(r"<script>(.*?)</script>", html, re.DOTALL)
    assert script is not None
    digest = hashlib.sha256(script.group(1).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def rehash_csp(headers: Headers, old_html: str, new_html: str) -> Headers:
    """What a careful intruder does after changing the inline script: allow its new hash."""
    csp = header(headers, "Content-Security-Policy").replace(
        inline_script_hash(old_html), inline_script_hash(new_html))
    return set_header(headers, "Content-Security-Policy", csp)


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    up = urlsplit(proxy.upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            if proxy.down:
                self.close_connection = True
                return
            received = list(self.headers.items())
            proxy.seen.append((self.path, received))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
            fwd = {k: v for k, v in received if k.lower() not in ("connection", "accept-encoding")}
            conn.request(self.command, self.path, body=body, headers=fwd)
            resp = conn.getresponse()
            data, headers = resp.read(), [(k, v) for k, v in resp.getheaders()
                                          if k.lower() not in ("content-length", "connection",
                                                               "transfer-encoding", "date")]
            conn.close()
            if proxy.rewrite is not None:
                changed = proxy.rewrite(received, self.path, headers, data)
                if changed is not None:
                    proxy.applied += 1
                    headers, data = changed
            self.send_response(resp.status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = do_PUT = _forward

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def tampering_proxy(upstream: str, rewrite: Rewrite | None = None) -> Iterator[Proxy]:
    proxy = Proxy(upstream, rewrite)
    proxy.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    proxy.httpd.daemon_threads = True
    proxy.base_url = f"http://127.0.0.1:{proxy.httpd.server_address[1]}"
    thread = threading.Thread(target=proxy.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.httpd.shutdown()
        proxy.httpd.server_close()

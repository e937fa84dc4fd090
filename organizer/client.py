"""HTTP client for the organizers' API: every request signed with this organizer's Ed25519 key."""

import functools
import json
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from crypto.encoding import b64u_encode
from crypto.request_auth import SignatureParams, sign_request
from organizer import clock, server_address
from organizer.errors import (
    AppLocked,
    RemovedFromCoalition,
    ServerRedirected,
    ServerRefused,
    ServerUnreachable,
)
from organizer.printable import printable

# (method, url, body, headers) -> (status, body bytes). Swappable so the demo can talk in-process.
Transport = Callable[[str, str, bytes, dict[str, str]], tuple[int, bytes]]

TIMEOUT = 60
CHUNK = 64 * 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 30x answer comes back as what it is (an HTTPError with its status), never followed:
    following one would carry a signed request and its headers to whatever host the server
    names (the laptop's own network, or http after https)."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> None:
        return None


# urllib's own opener, with redirects left unfollowed: every request this tool makes goes here.
OPENER = urllib.request.build_opener(_NoRedirect)


def is_redirect(status: int) -> bool:
    return 300 <= status < 400


def _read(resp: Any, stop: threading.Event | None) -> bytes:
    """The answer's body, a socket read at a time, given up as soon as `stop` is set (the app
    locked): a server that trickles an answer cannot keep a thread, and the keys it was opened
    with, alive after a lock."""
    parts = []
    while chunk := resp.read1(CHUNK):
        if stop is not None and stop.is_set():
            raise AppLocked()
        parts.append(chunk)
    return b"".join(parts)


def urllib_transport(method: str, url: str, body: bytes, headers: dict[str, str],
                     stop: threading.Event | None = None) -> tuple[int, bytes]:
    # Client() accepts only http(s) URLs, so no file: or custom scheme reaches the opener.
    req = urllib.request.Request(url, data=body if body else None, method=method, headers=headers)  # noqa: S310
    try:
        with OPENER.open(req, timeout=TIMEOUT) as resp:
            # A read is abandoned on lock; a write's answer is read to its end, so the tool
            # never forgets what the server has just done (it is short, and the socket times out).
            return resp.status, _read(resp, stop if method == "GET" else None)
    except urllib.error.HTTPError as exc:
        return exc.code, b"" if is_redirect(exc.code) else exc.read()
    except (urllib.error.URLError, OSError) as exc:
        parts = urlsplit(url)
        raise ServerUnreachable(address=f"{parts.scheme}://{parts.netloc}") from exc


class Client:
    def __init__(self, base_url: str, keyid: str, sign_secret: bytes,
                 transport: Transport = urllib_transport, stop: threading.Event | None = None) -> None:
        # Every address goes through here (coalition create, join, set_server, the keystore's):
        # https, or http only on loopback and .onion (organizer/server_address.py).
        self.base_url = server_address.check(base_url)
        self._host = urlsplit(self.base_url).netloc  # signed as @authority
        self.keyid = keyid
        self._sign_secret = sign_secret
        self._stop = stop
        if transport is urllib_transport and stop is not None:
            transport = functools.partial(urllib_transport, stop=stop)
        self._transport = transport

    def request(self, method: str, path: str, payload: Any = None, query: str = "") -> Any:
        body = b"" if payload is None else json.dumps(payload).encode("utf-8")
        data = self._send(method, path, body, query)
        return json.loads(data) if data else None

    def get(self, path: str, query: str = "") -> Any:
        return self.request("GET", path, query=query)

    def get_bytes(self, path: str, query: str = "") -> bytes:
        """A GET whose answer is not JSON (a binary pledge page); the caller parses it strictly."""
        return self._send("GET", path, b"", query)

    def post(self, path: str, payload: Any) -> Any:
        return self.request("POST", path, payload)

    def _send(self, method: str, path: str, body: bytes, query: str) -> bytes:
        params = SignatureParams(int(clock.now()), self.keyid, b64u_encode(secrets.token_bytes(16)))
        headers = sign_request(self._sign_secret, method=method, host=self._host, path=path,
                               query=query, body=body, params=params)
        if body:
            headers["Content-Type"] = "application/json"
        url = self.base_url + path + (f"?{query}" if query else "")
        if self._stop is not None and self._stop.is_set():
            raise AppLocked()
        status, data = self._transport(method, url, body, headers)
        if is_redirect(status):  # whatever the transport: nothing the API answers is a redirect
            raise ServerRedirected()
        if status >= 400:
            said = _error_message(status, data)
            if status == 403 and said == REMOVED:  # the server's word: at worst, a page that says so
                raise RemovedFromCoalition(said)
            raise ServerRefused(said)
        return data


REMOVED = "This organizer was removed from the coalition."  # server/api/auth.py


def _error_message(status: int, data: bytes) -> str:
    """The server's sentence, made safe for a terminal and kept short: it is the server's word."""
    try:
        return printable(str(json.loads(data)["error"]["message"]), limit=300)
    except (ValueError, KeyError, TypeError):
        return f"The server answered with an error (HTTP {status}); try again later."

"""HTTP/1.1 as a browser sends it: our header order and set only, one connection per visit
(as a browser keeps one open for a page and its files), optionally through a SOCKS5 proxy.

urllib would add its own `User-Agent: Python-urllib`, `Accept-Encoding: identity` and
`Connection: close` and capitalise names its own way: a server could single the watch out by
them. http.client with skip_host/skip_accept_encoding sends exactly the headers given.

SOCKS5 (RFC 1928, with RFC 1929 username/password) is a few dozen lines here rather than a
dependency: the watch needs CONNECT by host name only (`socks5h`, so DNS goes through the proxy
too), and Tor opens a fresh circuit for each new username/password (IsolateSOCKSAuth, on by
default), which the watch uses to change its exit for every round.
"""

import http.client
import secrets
import socket
import struct
import zlib
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

MAX_BODY = 8 * 1024 * 1024  # the pledge page is ~60 KB; anything near this is not our page
TIMEOUT = 30


class CouldNotFetch(Exception):
    """The server (or the proxy) did not answer: the watch could not check, which is no alarm."""


class UnreadableEncoding(Exception):
    """An answer compressed in a way this release's deployment never uses (it sends gzip)."""


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    username: str = ""
    password: str = ""

    @classmethod
    def parse(cls, url: str) -> "Proxy":
        parts = urlsplit(url)
        if parts.scheme not in ("socks5h", "socks5") or not parts.hostname:
            raise ValueError("The proxy must look like socks5h://127.0.0.1:9050 (Tor's address).")
        return cls(parts.hostname, parts.port or 1080, unquote(parts.username or ""),
                   unquote(parts.password or ""))

    def isolated(self) -> "Proxy":
        """Fresh credentials, so Tor builds a new circuit (one vantage point per round)."""
        if self.username:
            return self
        return Proxy(self.host, self.port, "pb" + secrets.token_hex(8), secrets.token_hex(8))


def _recv(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise CouldNotFetch("the proxy closed the connection")
        data += chunk
    return data


def socks5_connect(proxy: Proxy, host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to host:port through the proxy, the name resolved by the proxy."""
    sock = socket.create_connection((proxy.host, proxy.port), timeout)
    try:
        methods = b"\x00\x02" if proxy.username else b"\x00"
        sock.sendall(b"\x05" + bytes([len(methods)]) + methods)
        version, method = _recv(sock, 2)
        if version != 5 or method not in methods:
            raise CouldNotFetch("the proxy refused every way of logging in")
        if method == 2:
            user, word = proxy.username.encode()[:255], proxy.password.encode()[:255]
            sock.sendall(b"\x01" + bytes([len(user)]) + user + bytes([len(word)]) + word)
            if _recv(sock, 2)[1] != 0:
                raise CouldNotFetch("the proxy refused its login")
        name = host.encode("idna")[:255]
        sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", port))
        reply = _recv(sock, 4)
        if reply[1] != 0:
            raise CouldNotFetch(f"the proxy could not reach the server (SOCKS error {reply[1]})")
        skip = {1: 4, 4: 16}.get(reply[3])
        _recv(sock, (skip if skip is not None else _recv(sock, 1)[0]) + 2)
        return sock
    except BaseException:
        sock.close()
        raise


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    wire_bytes: int  # bytes received as sent (compressed), for the bench

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


def decode_body(raw: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise UnreadableEncoding(encoding)
    # gzip (wbits 16+), zlib-wrapped deflate (wbits 15), raw deflate (wbits -15), as browsers accept.
    tries = (16 + zlib.MAX_WBITS,) if encoding != "deflate" else (zlib.MAX_WBITS, -zlib.MAX_WBITS)
    for wbits in tries:
        try:
            d = zlib.decompressobj(wbits)
            out = d.decompress(raw, MAX_BODY)
            break
        except zlib.error as exc:
            if wbits == tries[-1]:
                raise UnreadableEncoding(f"broken {encoding}") from exc
    if len(out) >= MAX_BODY:
        raise UnreadableEncoding(f"{encoding} larger than any page of ours")
    return out


@dataclass
class Browser:
    """One visit's connection: the requests a student's browser makes for one page."""

    origin: str
    proxy: Proxy | None = None
    _conn: http.client.HTTPConnection | None = field(default=None, repr=False)

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            parts = urlsplit(self.origin)
            host, port = parts.hostname or "", parts.port
            conn: http.client.HTTPConnection
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(host, port, timeout=TIMEOUT)
            else:
                conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
            proxy = self.proxy
            if proxy is not None:
                conn._create_connection = (  # type: ignore[attr-defined]
                    lambda address, timeout, source=None: socks5_connect(proxy, host, address[1], timeout))
            self._conn = conn
        return self._conn

    def get(self, path: str, headers: list[tuple[str, str]]) -> Answer:
        for attempt in (0, 1):  # a kept-alive connection the server closed meanwhile: once more
            conn = self._connection()
            try:
                conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    conn.putheader(name, value)
                conn.endheaders()
                resp = conn.getresponse()
                raw = resp.read(MAX_BODY + 1)
                answer = Answer(resp.status, list(resp.getheaders()), raw, len(raw))
                if resp.will_close:
                    self.close()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if attempt:
                    raise CouldNotFetch(str(exc) or type(exc).__name__) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise CouldNotFetch(str(exc) or type(exc).__name__) from exc
        answer.body = decode_body(answer.body, ", ".join(answer.header("Content-Encoding")))
        return answer

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

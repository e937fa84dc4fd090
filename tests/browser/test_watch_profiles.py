"""The watch's requests carry nothing that tells them apart from a real browser's beyond what
browsers themselves vary (user agent, client hints, language): Chromium and the watch's
Chromium-family profiles are recorded on the wire by the same raw socket server, for each kind of
request a student's visit makes (the page, its stylesheet, script, icon, and a fetch() as the
page's callApi makes it), and compared header by header, in order (issue 19)."""

import socket
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from organizer.watch.http import Browser as WatchBrowser
from organizer.watch.profiles import PROFILES

pytestmark = pytest.mark.browser

PAGE = (b'<!doctype html><html><head><link rel="stylesheet" href="/s.css">'
        b'<link rel="icon" type="image/svg+xml" href="/f.svg"></head><body>'
        b'<script src="/a.js"></script><script>fetch("/api",{method:"GET",credentials:"omit",'
        b'cache:"no-store",redirect:"error",referrerPolicy:"no-referrer",'
        b'headers:{Accept:"application/json"}})</script></body></html>')
KINDS = {"/p": "document", "/s.css": "style", "/a.js": "script", "/f.svg": "image", "/api": "fetch"}
# What browsers vary between one another: these differ by profile, by design.
VARIES = {"user-agent", "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform"}


class Recorder:
    """Answers every request and records its header lines exactly as they came on the wire."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = self.sock.getsockname()[1]
        self.seen: dict[str, list[tuple[str, str]]] = {}
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        data = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, data = data.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                self.seen[path] = [tuple(line.split(": ", 1)) for line in lines[1:]]  # type: ignore[misc]
                body = PAGE if path == "/p" else b""
                kind = b"text/html" if path == "/p" else b"text/plain"
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: " + kind + b"\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\nReferrer-Policy: no-referrer\r\n\r\n" + body)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.sock.close()


def _chromium(browser: Browser, recorder: Recorder) -> dict[str, list[tuple[str, str]]]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"http://127.0.0.1:{recorder.port}/p")
    page.wait_for_timeout(1500)
    context.close()
    seen, recorder.seen = dict(recorder.seen), {}
    assert set(KINDS) <= set(seen), sorted(seen)
    return seen


def _watch(recorder: Recorder, profile_index: int) -> dict[str, list[tuple[str, str]]]:
    profile = PROFILES[profile_index]
    client = WatchBrowser(f"http://127.0.0.1:{recorder.port}")
    for path, kind in KINDS.items():
        client.get(path, profile.headers(kind, "en", f"127.0.0.1:{recorder.port}", secure=True))  # type: ignore[arg-type]
    client.close()
    seen, recorder.seen = dict(recorder.seen), {}
    return seen


@pytest.mark.parametrize("index", [i for i, p in enumerate(PROFILES) if p.engine == "chromium"])
def test_chromium_profiles_send_what_chromium_sends_in_its_order(browser: Browser, recorder: Recorder,
                                                                 index: int) -> None:
    real = _chromium(browser, recorder)
    ours = _watch(recorder, index)
    for path in KINDS:
        assert [k for k, _ in ours[path]] == [k for k, _ in real[path]], path
        for (name, value), (_, real_value) in zip(ours[path], real[path], strict=True):
            if name.lower() not in VARIES:
                assert value == real_value, (path, name)


def test_no_profile_sends_a_cookie_a_referer_or_anything_a_browser_would_not() -> None:
    for profile in PROFILES:
        for kind in ("document", "script", "style", "image", "fetch"):
            names = [k.lower() for k, _ in profile.headers(kind, "es", "example.org", secure=True)]  # type: ignore[arg-type]
            assert len(names) == len(set(names))
            assert not {"cookie", "referer", "origin", "x-requested-with"} & set(names)
            assert names.count("user-agent") == 1
            if profile.engine == "webkit":  # Safari sends no client hints
                assert not [n for n in names if n.startswith("sec-ch-")]
            assert "python" not in " ".join(v.lower() for _, v in profile.headers(kind, "es", "h", True))  # type: ignore[arg-type]

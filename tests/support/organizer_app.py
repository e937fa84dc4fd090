"""The organizer app served for real on a loopback port, in a thread of the test process.

The app's state (and so its movable clock) stays reachable from the test: only time is faked.
`Browser` is a tiny HTTP client that keeps the app's cookie and lets a test set any header,
including Host, to check the guard the way a hostile page or process would meet it.
"""

import http.client
import re
import threading
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from werkzeug.serving import BaseWSGIServer

from organizer.app.serve import build_server
from organizer.app.state import AppState, MovableClock


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


@dataclass
class RunningApp:
    state: AppState
    server: BaseWSGIServer
    clock: MovableClock
    thread: threading.Thread

    @property
    def port(self) -> int:
        return self.state.port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start_app(keystore: Path) -> RunningApp:
    clock = MovableClock()
    state = AppState(keystore, clock=clock)
    server = build_server(state, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return RunningApp(state, server, clock, thread)


@dataclass
class Browser:
    """Keeps the session cookie like a browser; every header can be overridden."""

    app: RunningApp
    cookie: str | None = None
    csrf: str = ""
    host: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.app.port, timeout=30)
        hdrs = {"Host": self.host or f"127.0.0.1:{self.app.port}", **self.extra}
        if self.cookie:
            hdrs["Cookie"] = f"pledgebox_app={self.cookie}"
        body = None
        if form is not None:
            body = urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        hdrs.update(headers or {})
        conn.request(method, path, body=body, headers=hdrs)
        reply = conn.getresponse()
        answer = Answer(reply.status, reply.headers, reply.read())
        conn.close()
        for value in answer.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie(value)
            if "pledgebox_app" in jar:
                self.cookie = jar["pledgebox_app"].value
        found = re.search(r'data-csrf="([^"]+)"', answer.text)
        if found:
            self.csrf = found.group(1)
        return answer

    def get(self, path: str, **kw: object) -> Answer:
        return self.request("GET", path, **kw)  # type: ignore[arg-type]

    def post(self, path: str, form: dict[str, str] | None = None, csrf: bool = True,
             origin: str | None = "own", headers: dict[str, str] | None = None) -> Answer:
        form = dict(form or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        hdrs = dict(headers or {})
        if origin == "own":
            hdrs["Origin"] = self.app.origin
        elif origin is not None:
            hdrs["Origin"] = origin
        return self.request("POST", path, form=form, headers=hdrs)

    def sign_in(self) -> Answer:
        """Open the first address, as the browser `pledgebox app` opens does."""
        token = self.app.state.token
        assert token, "the one-time token was already used"
        answer = self.get(f"/?token={token}")
        record = self.app.state.browser(self.cookie)
        assert record is not None
        self.csrf = record.csrf  # what every page carries in data-csrf and its forms
        return answer

"""Tiny real HTTP servers on 127.0.0.1 whose answers a test chooses: one that answers what it is
told (a redirect, say) and records every request, and one that trickles its answer a byte at a
time (a server that holds a request open without ever timing out)."""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Loopback:
    """Answers every request with `answer` (status, headers, body) and records it in `seen`.
    With `trickle` set, the body is announced as 1 MB and sent one byte every `trickle` seconds
    until the client goes away."""

    answer: tuple[int, dict[str, str], bytes] = (200, {}, b"")
    trickle: float | None = None
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "Loopback":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                owner.seen.append((self.command, self.path, dict(self.headers)))
                if owner.trickle is not None:
                    self._trickle(owner.trickle)
                    return
                status, headers, body = owner.answer
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _trickle(self, every: float) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(1_000_000))
                self.end_headers()
                try:
                    while not owner.stopping.is_set():
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(every)
                except OSError:
                    return  # the client went away

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        assert self.server is not None
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

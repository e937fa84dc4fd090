"""`pledgebox app`: serve the organizer app on the loopback address until Ctrl-C.

Werkzeug's threaded server, not gunicorn: one person's browser talks to it, and it must hold
the unlocked keys in this one process's memory. Its request log is silenced: the first address
carries the one-time token, and nothing about what the organizer does belongs in a terminal log.
"""

import logging
import signal
import socket
import sys
import threading
import webbrowser
from pathlib import Path
from types import FrameType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from organizer.app import create_app
from organizer.app.state import AppState
from organizer.app.upkeep import Upkeep
from organizer.errors import BadInput

HOST = "127.0.0.1"


class QuietHandler(WSGIRequestHandler):
    def version_string(self) -> str:
        return "Pledgebox"  # not Werkzeug's and Python's versions

    def log(self, type: str, message: str, *args: Any) -> None:
        """Log nothing: request lines hold the token, and paths say what the organizer does."""


def build_server(state: AppState, port: int) -> BaseWSGIServer:
    """Bind 127.0.0.1 only (never 0.0.0.0, never ::) and record the port the guard checks."""
    app = create_app(state)
    # werkzeug logs a failure while streaming (an export) with its traceback, which could quote
    # an answer: the app's only output is what serve() prints itself.
    logging.getLogger("werkzeug").disabled = True
    # Bound here, not by werkzeug: a taken port is then one plain sentence, not its exit(1).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        try:
            listener.bind((HOST, port))
        except OSError as exc:
            raise BadInput(f"Port {port} on this laptop is taken: pick another with --port, or "
                           "leave --port out to get a free one.") from exc
        listener.listen(64)
        server = make_server(HOST, port, app, threaded=True, request_handler=QuietHandler,
                             fd=listener.fileno())  # werkzeug serves a duplicate of it
    state.port = server.socket.getsockname()[1]
    return server


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(keystore: Path, port: int = 0, open_browser: bool = True,
          again: str = "pledgebox app") -> None:
    state = AppState(keystore)
    server = build_server(state, port)
    url = state.first_url()
    print(url, flush=True)
    how = ("It is opening in your browser; if it does not, open the address above in your "
           "browser" if open_browser else "Open the address above in your browser")
    print(f"The Pledgebox app is running on this laptop only. {how} (it works once). "
          "Press Ctrl-C here to stop it.", file=sys.stderr, flush=True)
    upkeep = Upkeep(state)
    upkeep.start()
    watch = server.app.extensions["pledgebox_watch"]  # type: ignore[attr-defined]
    watch.start()  # the page watch, while the app is open (organizer/app/watching.py)
    for signum in (signal.SIGINT, signal.SIGTERM):  # even when started with SIGINT ignored
        signal.signal(signum, _interrupt)
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        server.serve_forever()  # werkzeug's returns quietly on Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        upkeep.stop()
        watch.stop()
        state.lock_now()
        server.server_close()
    print("\nThe Pledgebox app has stopped and your keys are locked. To open it again, run: "
          + again, file=sys.stderr, flush=True)

"""`pledgebox app`: serve the organizer app on the loopback address until Ctrl-C.

Werkzeug's threaded server, not gunicorn: one person's browser talks to it, and it must hold
the unlocked keys in this one process's memory. Its request log is silenced: the first address
carries the one-time token, and nothing about what the organizer does belongs in a terminal log.

The app comes back on the same address when it can (issue 18, item 8): the port of the last run is
kept in the tool's config folder (`app-port`: a number, not a secret; never the token), tried first,
and bound with SO_REUSEADDR so that a run right after Ctrl-C is not refused while the last run's
connections wait out TIME_WAIT. (On Linux SO_REUSEADDR never lets two sockets listen on one port.)
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
from organizer.session import default_keystore_path

HOST = "127.0.0.1"


class QuietHandler(WSGIRequestHandler):
    def version_string(self) -> str:
        return "Pledgebox"  # not Werkzeug's and Python's versions

    def log(self, type: str, message: str, *args: Any) -> None:
        """Log nothing: request lines hold the token, and paths say what the organizer does."""


def port_file() -> Path:
    """Where the last run's port is kept: the tool's config folder, beside the default keystore."""
    return default_keystore_path().parent / "app-port"


def remembered_port() -> int:
    """The last run's port, or 0 (any free one) when there is none or it is not a port number."""
    try:
        value = int(port_file().read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return 0
    return value if 1024 <= value <= 65535 else 0


def remember_port(port: int) -> None:
    """Keep the port for the next run; a config folder that cannot be written costs only that."""
    path = port_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(f"{port}\n", encoding="ascii")
    except OSError:
        return


def _listen(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, port))
        listener.listen(64)
    except OSError:
        listener.close()
        raise
    return listener


def build_server(state: AppState, port: int | None) -> BaseWSGIServer:
    """Bind 127.0.0.1 only (never 0.0.0.0, never ::) and record the port the guard checks.

    `port`: the one asked for (0: any free one), or None: the last run's if it is free, else any."""
    app = create_app(state)
    # werkzeug logs a failure while streaming (an export) with its traceback, which could quote
    # an answer: the app's only output is what serve() prints itself.
    logging.getLogger("werkzeug").disabled = True
    # Bound here, not by werkzeug: a taken port is then one plain sentence, not its exit(1).
    try:
        listener = _listen(remembered_port() if port is None else port)
    except OSError as exc:
        if port is not None:
            raise BadInput(f"Port {port} on this laptop is taken: pick another with --port, or "
                           "leave --port out to get a free one.") from exc
        listener = _listen(0)  # the usual one is in use (another run of the app, say)
    with listener:
        server = make_server(HOST, listener.getsockname()[1], app, threaded=True,
                             request_handler=QuietHandler,
                             fd=listener.fileno())  # werkzeug serves a duplicate of it
    state.port = server.socket.getsockname()[1]
    return server


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(keystore: Path, port: int | None = None, open_browser: bool = True,
          again: str = "pledgebox app") -> None:
    state = AppState(keystore, command=again)
    server = build_server(state, port)
    remember_port(state.port)
    upkeep = Upkeep(state)
    watch = server.app.extensions["pledgebox_watch"]  # type: ignore[attr-defined]
    # Before the address is printed, and everything after inside the try: a Ctrl-C (or a
    # script's SIGINT) at any moment from then on stops the app cleanly.
    for signum in (signal.SIGINT, signal.SIGTERM):  # even when started with SIGINT ignored
        signal.signal(signum, _interrupt)
    try:
        upkeep.start()
        watch.start()  # the page watch, while the app is open (organizer/app/watching.py)
        url = state.first_url()
        print(url, flush=True)
        how = ("It is opening in your browser; if it does not, open the address above in your "
               "browser" if open_browser else "Open the address above in your browser")
        print(f"The Pledgebox app is running on this laptop only. {how} (it works once). "
              "Press Ctrl-C here to stop it.", file=sys.stderr, flush=True)
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
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

"""Logging by allow-list: our own messages, a fixed set of gunicorn's, nothing about a request.

Our messages (loggers under `pledgebox`) are written to carry only counts, class names and route
rules. Everything else is dropped: werkzeug's request log, flask-limiter's breach messages (its two
about Redis going and coming back are kept), peewee's
SQL with its parameters, Flask's tracebacks. gunicorn writes through its own handlers, so it gets
its own logger class (`GunicornLogger`, set in server/gunicorn_conf.py): no access log at all, and
of its error log only messages whose template is listed here, because some of its messages embed
the client's address or the request line ("Invalid request from ip=…", "Error handling request /…").
Tracebacks are never formatted: their messages can echo values from a statement or a request.
"""

import logging
import sys
import threading
from types import TracebackType
from typing import Any

from gunicorn.glogging import Logger as _GunicornBase

OUR_PREFIX = "pledgebox"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# gunicorn's messages that hold only its own state (pids, signals, listen addresses, versions).
GUNICORN_TEMPLATES = frozenset({
    "Starting gunicorn %s", "Listening at: %s (%s)", "Listening at: %s", "Using worker: %s",
    "Booting worker with pid: %s", "Worker exiting (pid: %s)", "Handling signal: %s",
    "Shutting down: %s", "Worker (pid:%s) exited with code %s.", "Worker (pid:%s) exited with code %s",
    "WORKER TIMEOUT (pid:%s)", "Worker (pid:%s) was sent %s!",
    "Worker (pid:%s) was sent %s! Perhaps out of memory?",
    "graceful stop of workers", "Hang up: %s", "Parent changed, shutting down: %s",
    "Autorestarting worker after current request.", "Control socket disabled",
    "Reason: %s", "Master has been promoted.", "Quick shutdown requested",
})
WITHHELD = "a gunicorn message was withheld by the log allow-list"
# flask-limiter's messages about its storage, which name no request: an operator must learn that
# while Redis is away each process counts alone (several servers then let several times through).
LIMITER_TEMPLATES = frozenset({
    "Rate limit storage unreachable - falling back to in-memory storage",
    "Rate limit storage recovered",
})


def _scrub(record: logging.LogRecord) -> None:
    record.exc_info = None
    record.exc_text = None
    record.stack_info = None


class AllowListFilter(logging.Filter):
    """Pass our own loggers; pass gunicorn's listed templates; drop or withhold everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub(record)
        if record.name == OUR_PREFIX or record.name.startswith(OUR_PREFIX + "."):
            return True
        if record.name == "flask-limiter":
            return record.msg in LIMITER_TEMPLATES and not record.args
        if record.name == "gunicorn.error":
            if not (isinstance(record.msg, str) and record.msg in GUNICORN_TEMPLATES):
                record.msg, record.args = WITHHELD, ()
            return True
        return False


class GunicornLogger(_GunicornBase):
    """gunicorn's logger with no access log and the allow-list on every error-log handler."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.addFilter(AllowListFilter())
        self.access_log.handlers.clear()
        self.access_log.disabled = True

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        """Never: an access log is a list of students' addresses."""


def _log_uncaught(exc_type: type[BaseException], _exc: BaseException | None = None,
                  _tb: TracebackType | None = None) -> None:
    logging.getLogger("pledgebox.uncaught").error("uncaught %s", exc_type.__name__)


def configure(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(AllowListFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("werkzeug", "gunicorn.access", "peewee"):
        logging.getLogger(name).disabled = True
    # Tracebacks of threads (the purge timer) and of the main thread: the class name only.
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda args: _log_uncaught(args.exc_type)

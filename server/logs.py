"""Logging by allow-list: only our own loggers' messages, never requests, addresses or bodies.

Our messages are written to carry only counts, class names and route rules. Werkzeug's request
log is silenced and gunicorn runs without an access log (server/gunicorn_conf.py).
"""

import logging
import sys

ALLOWED_PREFIXES = ("pledgebox", "gunicorn.error")


class AllowListFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(ALLOWED_PREFIXES):
            return False
        # Never format exception tracebacks: their locals and messages can hold request data.
        record.exc_info = None
        record.exc_text = None
        return True


def configure(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(AllowListFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("werkzeug").disabled = True
    logging.getLogger("gunicorn.access").disabled = True

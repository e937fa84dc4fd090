"""gunicorn's threaded worker, with its own refusals in the protocol's error shape.

Some requests never reach Flask: a request line over `limit_request_line`, too many or too large
headers, a line that is not HTTP. gunicorn answers those itself with a small HTML page that
echoes the offending line and carries none of our security headers. This worker swaps that
writer for one that answers like the app does: the error object of docs/protocol.md, the same
headers as every other response, and nothing of what the client sent.
"""

import json
import socket
from http import HTTPStatus

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from server.headers import ALWAYS, NO_STORE

# gunicorn's status → (our code, a sentence that quotes nothing from the request).
_REFUSALS = {
    400: ("bad_request", "The request is not valid HTTP."),
    403: ("forbidden", "The request was refused."),
    414: ("too_large", "The request line is too long."),
    417: ("bad_request", "The request's Expect header cannot be met."),
    431: ("too_large", "The request has too many headers, or one that is too long."),
    501: ("bad_request", "The request uses a transfer coding this server does not accept."),
}
_FALLBACK = ("internal_error", "Something went wrong on the server; nothing was stored.")


def error_response(status: int) -> bytes:
    """The whole HTTP response for one of gunicorn's own refusals."""
    code, message = _REFUSALS.get(status, _FALLBACK)
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    headers = {**ALWAYS, **NO_STORE, "Connection": "close",
               "Content-Type": "application/json", "Content-Length": str(len(body))}
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode("latin-1") + body


def write_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in for `gunicorn.util.write_error`; `reason` and `mesg` (which quote the request) unused."""
    util.write_nonblock(sock, error_response(status_int))


class ProtocolErrorWorker(ThreadWorker):
    """Threads (gunicorn_conf.threads) so that one slow request does not hold up the pledges
    behind it: a student's withdrawal waiting on its fsync, an organizer's roster page, a
    burst of withdrawals. Each thread has its own database connection (peewee's are per thread)."""

    def init_process(self) -> None:
        # gunicorn looks `util.write_error` up at each call; this process is a forked worker.
        util.write_error = write_error
        super().init_process()

"""API errors: one class per protocol error code, and ONE handler that renders the protocol's shape."""

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from peewee import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as WerkzeugMethodNotAllowed

log = logging.getLogger("pledgebox.errors")


class ApiError(Exception):
    status = 400
    code = "bad_request"
    message = "The request is malformed."

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.extra = extra

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(ApiError):
    pass


class BadCiphertextLength(ApiError):
    code = "bad_ciphertext_length"
    message = "The ciphertext length must be 1024*k + 48 bytes for k from 1 to 8."


class Unauthorized(ApiError):
    status, code, message = 401, "unauthorized", "This request is not signed by a known organizer."


class Forbidden(ApiError):
    status, code, message = 403, "forbidden", "Your role in this coalition does not allow this."


class UnknownCampaign(ApiError):
    status, code, message = 404, "unknown_campaign", "There is no such campaign."


class UnknownPledge(ApiError):
    status, code, message = 404, "unknown_pledge", "No pledge matches this receipt."


class NotFound(ApiError):
    status, code, message = 404, "not_found", "There is nothing here."


class MethodNotAllowed(ApiError):
    status, code, message = 405, "method_not_allowed", "This method is not allowed here."


class StaleKey(ApiError):
    status, code = 409, "stale_key"
    message = "The coalition's encryption key has changed; encrypt again to the current key."


class Conflict(ApiError):
    status, code, message = 409, "conflict", "This conflicts with what is already stored."


class CampaignClosed(ApiError):
    status, code, message = 410, "campaign_closed", "This campaign no longer accepts pledges."


class TooLarge(ApiError):
    status, code, message = 413, "too_large", "The request body is too large."


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"
    message = "Send the body as application/json."


class RateLimited(ApiError):
    status, code, message = 429, "rate_limited", "Too many requests; wait a little and try again."

    def __init__(self, retry_after: int = 60) -> None:
        super().__init__()
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(ApiError):
    status, code = 503, "unavailable"
    message = "The server cannot store anything right now; try again in a few seconds."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


def render(error: ApiError) -> Response:
    # Extra fields (409's encryption_key) sit in the body beside "error", as protocol v1 says and
    # the pledge page reads them; the copy inside "error" is kept for clients written against it.
    response = jsonify({"error": {"code": error.code, "message": error.message, **error.extra},
                        **error.extra})
    response.status_code = error.status
    response.headers.update(error.headers())
    return response


def _wants_html() -> bool:
    # Machines read /api/ and /healthz (a health check's "database down" is JSON, not a page).
    return not request.path.startswith(("/api/", "/healthz"))


def respond(error: ApiError) -> Response | tuple[str, int, dict[str, str]]:
    """The error as the protocol's JSON shape under /api/, as a plain page everywhere else."""
    if _wants_html():
        return (render_template("error.html", message=error.message), error.status,
                error.headers())
    return render(error)


_HTTP_MAP: dict[int, type[ApiError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 405: MethodNotAllowed,
    413: TooLarge, 415: UnsupportedMediaType,
}


def _from_http(error: HTTPException) -> ApiError:
    cls = _HTTP_MAP.get(error.code or 500)
    if cls is not None:
        return cls()
    # werkzeug's own description only (never echoed request data): e.g. 414, 416, 431.
    api = ApiError(error.description or "The request failed.")
    api.status, api.code = error.code or 500, "http_error"
    return api


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, respond)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response | tuple[str, int, dict[str, str]]:
        api = _from_http(error)
        response = respond(api)
        if isinstance(error, WerkzeugMethodNotAllowed) and error.valid_methods:
            # RFC 9110: a 405 names the methods that are allowed.
            allow = {"Allow": ", ".join(sorted(error.valid_methods))}
            if isinstance(response, tuple):
                return response[0], response[1], {**response[2], **allow}
            response.headers.update(allow)
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _db_down(error: Exception) -> Response | tuple[str, int, dict[str, str]]:
        # The class name only: database messages can echo values from the statement.
        log.warning("database unavailable: %s", type(error).__name__)
        return respond(Unavailable())

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response | tuple[str, int, dict[str, str]]:
        log.error("unexpected error %s on %s %s", type(error).__name__, request.method,
                  request.url_rule.rule if request.url_rule else "(no route)")
        api = ApiError("Something went wrong on the server; nothing was stored.")
        api.status, api.code = 500, "internal_error"
        return respond(api)

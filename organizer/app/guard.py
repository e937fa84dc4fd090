"""The app's security in one place: who may talk to it (before_request) and the headers (after_request).

Order matters and is fixed: the Host header first (a DNS-rebinding page reaches us under its own
hostname, so nothing else may run for it), then the one-time token or the session cookie, then,
for anything that changes state, the Origin and the CSRF token. Views never repeat any of this.
"""

import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request
from werkzeug.wrappers import Response

from organizer.app.state import AppState, BrowserSession

COOKIE = "pledgebox_app"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# A request the page's script makes on its own (progress, refresh): it does not count as the
# organizer being active, so an open tab alone never keeps the keys unlocked.
BACKGROUND_HEADER = "X-Pledgebox-Background"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; "
       "object-src 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: with it, Chromium sends `Origin: null` on every form POST (the Fetch
    # standard's rule), and the Origin check below could not tell our own forms from a stranger's.
    # same-origin sends a referrer to this app only, never to any other site.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def state() -> AppState:
    app_state: AppState = current_app.extensions["pledgebox_app"]
    return app_state


def allowed_hosts(port: int) -> frozenset[str]:
    return frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})


def _refuse(status: int, text: str) -> Response:
    return Response(text + "\n", status=status, mimetype="text/plain")


def _exchange_token(app_state: AppState) -> Response:
    cookie = app_state.exchange_token(request.args["token"])
    if cookie is None:
        if app_state.browser(request.cookies.get(COOKIE)) is not None:
            return redirect("/", code=303)  # an old address reopened in the same browser
        return _refuse(401, "This address was already used or is wrong. Stop the app (Ctrl-C) "
                       "and run `pledgebox app` again to get a new one.")
    reply = redirect("/", code=303)
    reply.set_cookie(COOKIE, cookie, httponly=True, samesite="Strict", path="/")
    return reply


def _same_origin() -> bool:
    origin = request.headers.get("Origin", "")
    parts = urlsplit(origin)
    return parts.scheme == "http" and parts.netloc == request.host and not parts.path


def check_request() -> Response | None:
    app_state = state()
    if request.host not in allowed_hosts(app_state.port):
        return _refuse(403, "This app answers only at 127.0.0.1 or localhost.")
    if request.method == "GET" and request.path == "/" and "token" in request.args:
        return _exchange_token(app_state)
    browser: BrowserSession | None = app_state.browser(request.cookies.get(COOKIE))
    if browser is None:
        return _refuse(401, "Open the app from the address `pledgebox app` printed in your "
                       "terminal (stop it with Ctrl-C and run it again for a new one).")
    if request.method not in SAFE_METHODS:
        if not _same_origin():
            abort(403, "This request came from another site and was refused.")
        offered = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
        if not secrets.compare_digest(offered.encode(), browser.csrf.encode()):
            abort(403, "This form was out of date. Go back, reload the page and try again.")
    g.browser = browser
    app_state.lock_if_idle()
    if request.headers.get(BACKGROUND_HEADER) != "1" and app_state.session is not None:
        app_state.touch()
    return None


def secure_headers(response: Response) -> Response:
    response.headers.update(HEADERS)
    if g.get("frame_self"):  # the wizard's phone-sized preview of the student page, framed by us only
        response.headers["Content-Security-Policy"] = CSP.replace(
            "frame-ancestors 'none'", "frame-ancestors 'self'")
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers.pop("Server", None)
    return response


def init_app(app: Flask) -> None:
    app.before_request(check_request)
    app.after_request(secure_headers)

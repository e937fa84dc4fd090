"""The app's security in one place: who may talk to it (before_request) and the headers (after_request).

Order matters and is fixed: the Host header first (a DNS-rebinding page reaches us under its own
hostname, so nothing else may run for it), then the one-time token or the session cookie, then,
for anything that changes state, the Origin and the CSRF token. Views never repeat any of this.
"""

import base64
import hashlib
import secrets
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, render_template, request
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


# The command to type, easy to spot on the page below (the app's own pages have no such element).
_CLOSED_CSS = ("\ncode { font-size: 1rem; background: var(--brand-soft); padding: .1rem .4rem; "
               "border-radius: 6px; }\n")


@cache
def _closed_assets() -> tuple[str, str, str]:
    """The app's stylesheet, its CSP hash and the app's icon as a data: address, for the one page
    served before any session (it cannot load /static)."""
    static = Path(current_app.root_path) / "static"
    css = (static / "app.css").read_text(encoding="utf-8") + _CLOSED_CSS
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    icon = "data:image/svg+xml;base64," + base64.b64encode((static / "icon.svg").read_bytes()).decode("ascii")
    return css, digest, icon


def _closed(used: bool) -> Response:
    """401 for a browser the app has not let in, as a page that looks like the app, in the
    browser's language (Accept-Language), saying what to do. It gives nothing away: no session,
    no token, no page of the app; its only style is the app's stylesheet, allowed by its hash."""
    css, digest, icon = _closed_assets()
    g.inline_style = digest
    page = render_template("closed.html", css=css, icon=icon, used=used, command=state().command)
    return Response(page, status=401, mimetype="text/html")


def _exchange_token(app_state: AppState) -> Response:
    cookie = app_state.exchange_token(request.args["token"])
    if cookie is None:
        if app_state.browser(request.cookies.get(COOKIE)) is not None:
            return redirect("/", code=303)  # an old address reopened in the same browser
        return _closed(used=True)
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
        return _closed(used=False)
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
    if g.get("inline_style"):  # the page for a browser not let in (_closed): its one style block
        response.headers["Content-Security-Policy"] = response.headers["Content-Security-Policy"].replace(
            "style-src 'self'", f"style-src 'sha256-{g.inline_style}'")
    response.headers.pop("Server", None)
    return response


def init_app(app: Flask) -> None:
    app.before_request(check_request)
    app.after_request(secure_headers)

"""Strict security headers on every response: pages, API, errors and static files alike.

The set is asserted over every route by tests/integration/test_headers.py. HSTS goes out only
when the request came over TLS (directly, or as said by a trusted proxy: PLEDGEBOX_TRUSTED_PROXIES),
so a plain-HTTP test or onion deployment never pins itself to HTTPS by accident.
"""

from flask import Flask, Response, request

from server.assets import INLINE_SCRIPT, INLINE_STYLE, csp_hash

# The pledge page's inline script and style are allowed by their hashes (server/assets.py).
CSP = (
    f"default-src 'none'; script-src 'self' {csp_hash(INLINE_SCRIPT)}; "
    f"style-src 'self' {csp_hash(INLINE_STYLE)}; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; "
    "object-src 'none'"
)
PERMISSIONS = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=(), interest-cohort=(), "
    "browsing-topics=()"
)
HSTS = "max-age=63072000; includeSubDomains"
STATIC_MAX_AGE = 31536000  # a year: a static address names its bytes, so it never changes
STATIC_CACHE = f"public, max-age={STATIC_MAX_AGE}, immutable"

# Sent on every response, whatever it is.
ALWAYS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": PERMISSIONS,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "X-Permitted-Cross-Domain-Policies": "none",
}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _cacheable() -> bool:
    """Static files that were found: their address holds their content's hash (server/assets.py)."""
    return request.endpoint == "static"


def secure_headers(response: Response) -> Response:
    h = response.headers
    h.update(ALWAYS)
    if _cacheable() and response.status_code in (200, 304):
        h["Cache-Control"] = STATIC_CACHE
        h.pop("Pragma", None)
    else:
        h.update(NO_STORE)
    if request.is_secure:
        h["Strict-Transport-Security"] = HSTS
    else:
        h.pop("Strict-Transport-Security", None)
    # Werkzeug's development server would add its version; gunicorn sends "Server: gunicorn"
    # without one (accepted: the software is easy to fingerprint anyway, its version is not).
    h.pop("Server", None)
    return response


def init_app(app: Flask) -> None:
    app.after_request(secure_headers)

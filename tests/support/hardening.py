"""What every response of the server must carry: the exact security headers, nothing more."""

import re

from server.headers import ALWAYS, STATIC_CACHE
from tests.support.http import Reply

# Headers a response may carry besides the security set; anything else is a finding.
ORDINARY = {"content-type", "content-length", "date", "server", "connection", "cache-control",
            "pragma", "allow", "retry-after", "etag", "last-modified", "accept-ranges",
            "transfer-encoding", "vary", "content-language", "content-disposition"}
SECURITY = {name.lower() for name in ALWAYS}


def assert_hardened(reply: Reply, what: str, static: bool = False, tls: bool = False) -> None:
    h = reply.headers
    for name, value in ALWAYS.items():
        assert h.get(name.lower()) == value, f"{what}: {name}"
    csp = dict(part.strip().split(" ", 1) for part in h["content-security-policy"].split(";"))
    assert csp["default-src"] in ("'none'", "'self'"), what
    assert csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["form-action"] == "'self'"
    assert "unsafe-inline" not in h["content-security-policy"]
    assert "unsafe-eval" not in h["content-security-policy"]
    assert "http" not in h["content-security-policy"], "no third-party origins"
    assert h["referrer-policy"] == "no-referrer"
    assert h["x-content-type-options"] == "nosniff"
    assert "camera=()" in h["permissions-policy"]
    assert "geolocation=()" in h["permissions-policy"]
    if static:
        assert h["cache-control"] == STATIC_CACHE, what
    else:
        assert h["cache-control"] == "no-store", what
    server = h.get("server", "")
    assert not re.search(r"[0-9/]", server), f"{what}: Server header names a version: {server}"
    assert ("strict-transport-security" in h) == tls, what
    assert "set-cookie" not in h, what
    unexpected = set(h) - ORDINARY - SECURITY - {"strict-transport-security"}
    assert not unexpected, f"{what}: unexpected headers {unexpected}"

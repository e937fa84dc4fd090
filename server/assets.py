"""Static files at addresses that name their content, and the pledge page's inline script and style.

A static file is served only at /static/<digest>/<path>, where <digest> is the start of the
SHA-256 of its bytes: such an address is cached for a year as immutable (server/headers.py), and
an address whose digest is not the file's current one is a 404. So after an upgrade no browser
or proxy can pair an old address with new bytes, or hold an old script that fails a new SRI hash.

The pledge page carries its script and stylesheet inline instead (on a slow phone every request
costs a round trip before the form can be used); the Content-Security-Policy allows exactly those
bytes by their hashes, never by 'unsafe-inline'. Files are read once, at first use.
"""

import base64
import hashlib
import hmac
import mimetypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask import Flask, Response, url_for
from markupsafe import Markup
from werkzeug.exceptions import NotFound

STATIC = Path(__file__).parent / "static"
DIGEST_CHARS = 16  # 64 bits of SHA-256: a name for a version, not a security boundary (SRI is)
INLINE_SCRIPT = "js/pledgebox.js"
INLINE_STYLE = "css/pledgebox.css"


@dataclass(frozen=True)
class Asset:
    data: bytes
    digest: str
    mimetype: str

    def integrity(self, algorithm: str = "sha384") -> str:
        raw = hashlib.new(algorithm, self.data).digest()
        return f"{algorithm}-{base64.b64encode(raw).decode('ascii')}"


@cache
def assets() -> dict[str, Asset]:
    found = {}
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if mimetype.startswith("text/") or mimetype.endswith(("javascript", "+xml")):
                mimetype += "; charset=utf-8"
            found[path.relative_to(STATIC).as_posix()] = Asset(
                data, hashlib.sha256(data).hexdigest()[:DIGEST_CHARS], mimetype)
    return found


def serve(digest: str, filename: str) -> Response:
    asset = assets().get(filename)
    if asset is None or not hmac.compare_digest(asset.digest, digest):
        raise NotFound()
    return Response(asset.data, mimetype=asset.mimetype)


def asset_url(filename: str) -> str:
    return url_for("static", digest=assets()[filename].digest, filename=filename)


def sri(filename: str) -> str:
    """Subresource Integrity of a static file as served."""
    return assets()[filename].integrity()


def inline(filename: str) -> Markup:
    """A file's text to place inside <script> or <style>, byte for byte as its CSP hash says."""
    text = assets()[filename].data.decode("utf-8")
    if "</" in text or "<!--" in text:
        raise ValueError(f"{filename} cannot be inlined: it contains '</' or '<!--'")
    return Markup(text)  # noqa: S704  (our own built file, checked above, not user input)


def csp_hash(filename: str) -> str:
    return f"'{assets()[filename].integrity('sha256')}'"


def init_app(app: Flask) -> None:
    """Replaces Flask's own static route (unversioned addresses) with the content-named one."""
    app.add_url_rule("/static/<digest>/<path:filename>", endpoint="static", view_func=serve)
    app.jinja_env.globals.update(asset_url=asset_url, sri=sri, inline=inline)
    # Templates' own indentation and line breaks around tags cost bytes on every page view.
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True

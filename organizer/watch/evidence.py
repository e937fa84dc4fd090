"""Evidence of a difference, kept on this laptop: the bytes received, the headers, what this
release serves instead and a readable diff. All of it is what the server sent to anyone who asks
(the watch sends no cookie, no key, nothing secret), so nothing in it is a secret either."""

import difflib
import os
import re
import time
from pathlib import Path

_SLUG = re.compile(r"[^a-z0-9]+")


def data_dir() -> Path:
    """The tool's data folder ($XDG_DATA_HOME/pledgebox, else ~/.local/share/pledgebox)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pledgebox"


def _lines(text: str) -> list[str]:
    """Minified pages are one long line: break after each tag and statement so a diff is short."""
    return re.sub(r"(>|;|\{|\})", r"\1\n", text).splitlines(keepends=True)


def readable_diff(expected: str, got: str) -> str:
    return "".join(difflib.unified_diff(_lines(expected), _lines(got), "this release serves",
                                        "the server sent", n=2))


def save(campaign_id: str, client: str, what: str, path: str, body: bytes,
         headers: list[tuple[str, str]], expected: str | None, root: Path | None = None) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    name = f"{stamp}-{campaign_id[:16]}-{_SLUG.sub('-', client.lower()).strip('-')}"
    folder = (root or data_dir() / "watch") / name
    n = 1
    while folder.exists():
        n += 1
        folder = folder.with_name(f"{name}-{n}")
    folder.mkdir(parents=True, mode=0o700)
    (folder / "what.txt").write_text(f"{campaign_id}\t{client}\t{path}\n{what}\n", encoding="utf-8")
    (folder / "received.bin").write_bytes(body)
    (folder / "received-headers.txt").write_text(
        "".join(f"{k}: {v}\n" for k, v in headers), encoding="utf-8")
    if expected is not None:
        (folder / "expected.html").write_text(expected, encoding="utf-8")
        got = body.decode("utf-8", "replace")
        (folder / "diff.txt").write_text(readable_diff(expected, got), encoding="utf-8")
    return folder

"""The page watch's manifest is this code's own pages, and the watch renders as the server does.

The organizer tool may not import server/, so the watch works from a manifest the server's code
writes (`python -m server.watch_manifest`). These tests fail when the committed manifest no
longer matches the templates, scripts, translations or headers, and when the watch's own
rendering rules drift from Flask's.
"""

import ast
import json
import tomllib
from pathlib import Path

from flask import render_template_string

from organizer.watch import release
from server.release import RELEASE
from server.watch_manifest import TARGET, render_manifest

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_manifest_is_what_this_code_serves() -> None:
    fresh = render_manifest()
    assert TARGET.read_text(encoding="utf-8") == fresh, (
        "organizer/watch/manifests/current.json is stale: run `python -m server.watch_manifest` "
        "and commit it with the change to the pages")


def test_the_release_the_pages_name_is_the_packages_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version == RELEASE == release.own_release().name


def test_page_json_writes_what_flasks_tojson_writes(app) -> None:  # type: ignore[no-untyped-def]
    value = {"z": 1, "a": ["<script>", "it's", "a&b", "ñandú", "\u2028"], "m": {"b": None, "a": True}}
    with app.test_request_context("/"):
        served = render_template_string("{{ v|tojson }}", v=value)
    assert release.page_json(value) == served


def test_the_organizer_tool_never_imports_the_server() -> None:
    for path in (ROOT / "organizer").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "server" or n.startswith("server.") for n in names), path


def test_every_release_manifest_names_its_static_files_by_content() -> None:
    for known in release.releases().values():
        assert known.data["static"], known.name
        for entry in known.data["static"].values():
            assert entry["sha256"].startswith(entry["digest"])
    assert json.loads((release.MANIFESTS / "current.json").read_text())["release"] == RELEASE

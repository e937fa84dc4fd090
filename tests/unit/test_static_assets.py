"""The files students download stay what we reviewed: hashed, rebuildable, small, CSP-safe."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
STATIC = ROOT / "server" / "static"
TEMPLATES = ROOT / "server" / "templates"
BUNDLE = "server/static/vendor/pledgebox-crypto-lib.js"
OUR_SCRIPTS = ["js/envelope.js", "js/pledge-page.js"]


def sri_sha384(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def test_vendored_bundle_matches_its_recorded_integrity() -> None:
    recorded = json.loads((WEB / "vendor-integrity.json").read_text(encoding="utf-8"))
    assert set(recorded) == {BUNDLE}
    assert sri_sha384((ROOT / BUNDLE).read_bytes()) == recorded[BUNDLE]


def test_vendored_bundle_is_reproduced_by_a_fresh_build(tmp_path: Path) -> None:
    npm = shutil.which("npm")
    if not (WEB / "node_modules").is_dir():
        pytest.skip("web/node_modules is absent (run `npm ci` in web/ to check the build)")
    assert npm is not None, "web/node_modules exists but npm is not on PATH"
    subprocess.run(
        [npm, "run", "--silent", "build", "--", "--out-dir", str(tmp_path)],
        cwd=WEB,
        check=True,
        capture_output=True,
        timeout=120,
    )
    rebuilt = (tmp_path / "pledgebox-crypto-lib.js").read_bytes()
    assert rebuilt == (ROOT / BUNDLE).read_bytes(), "rebuild differs: run `npm run build` in web/"


def test_package_json_pins_exact_versions() -> None:
    package = json.loads((WEB / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((WEB / "package-lock.json").read_text(encoding="utf-8"))
    for name, version in package["devDependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned: {version}"
        locked = lock["packages"][f"node_modules/{name}"]
        assert locked["version"] == version
        assert locked["integrity"].startswith("sha512-")
    assert package["devDependencies"]["tweetnacl"] == "1.0.3"


def test_bundle_exposes_only_the_audited_libraries() -> None:
    text = (ROOT / BUNDLE).read_text(encoding="ascii")
    assert "globalThis.PledgeboxLib=Object.freeze({nacl:" in text
    assert "tweetnacl 1.0.3" in text.splitlines()[0]
    assert "@noble/hashes" in text.splitlines()[0]


def test_first_visit_stays_under_100_kb_compressed() -> None:
    files = [BUNDLE, "server/static/css/pledgebox.css"]
    files += [f"server/static/{name}" for name in OUR_SCRIPTS]
    total = sum(len(gzip.compress((ROOT / f).read_bytes(), compresslevel=9)) for f in files)
    assert total <= 100 * 1024, f"{total} bytes gzipped"


def test_our_scripts_avoid_what_the_csp_forbids_and_what_could_track() -> None:
    forbidden = [
        r"\beval\s*\(",
        r"new\s+Function\b",
        r"\.innerHTML\b",
        r"\.outerHTML\b",
        r"insertAdjacentHTML",
        r"document\.write",
        r"\.style\.",
        r"setAttribute\(\s*['\"](on\w+|style)['\"]",
        r"document\.cookie",
        r"localStorage",
        r"sessionStorage",
        r"indexedDB",
        r"https?://",
    ]
    for name in OUR_SCRIPTS:
        source = (STATIC / name).read_text(encoding="utf-8")
        for pattern in forbidden:
            assert not re.search(pattern, source), f"{name} matches {pattern}"


def test_templates_have_no_inline_script_style_or_foreign_origin() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"inline script in {template.name}"
        assert "<style" not in text, template.name
        assert not re.search(r"\sstyle=", text), template.name
        assert not re.search(r"\son[a-z]+=", text), f"inline handler in {template.name}"
        foreign = re.search(r"(src|href)=\"(https?:)?//", text)
        assert not foreign, f"foreign origin in {template.name}"


def test_every_script_and_stylesheet_carries_integrity() -> None:
    tags = []
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        tags += re.findall(r"<script[^>]*>|<link[^>]*rel=\"stylesheet\"[^>]*>", text)
    assert tags
    for tag in tags:
        m = re.search(r"filename='([^']+)'\).*integrity=\"\{\{ sri\('([^']+)'\) \}\}\"", tag)
        assert m, f"no url_for/sri pair in {tag}"
        assert m.group(1) == m.group(2), tag
        assert (STATIC / m.group(1)).is_file(), tag


def test_css_uses_no_external_resources() -> None:
    css = (STATIC / "css" / "pledgebox.css").read_text(encoding="utf-8")
    assert "@import" not in css
    assert "url(" not in css
    assert "@font-face" not in css

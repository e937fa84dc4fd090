"""The Linux path of docs/organizers.md, from nothing: a wheel of this checkout installed into a
fresh virtual environment (as pipx does), then `pledgebox --help` and `pledgebox app` answering on
loopback. It catches what an editable install hides: a template, script, catalog or word list
left out of the wheel, or a dependency missing from pyproject.toml."""

import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def checkout_copy(target: Path) -> Path:
    """The files git would check out (tracked, or new and not ignored), so no stale build/ leaks in."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def test_a_wheel_installs_into_a_fresh_venv_and_the_app_answers(tmp_path):
    source = checkout_copy(tmp_path / "src")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, timeout=120)
    wheel = next((tmp_path / "dist").glob("pledgebox-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=60)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile",
                    str(wheel)], check=True, timeout=240)
    pledgebox = venv / "bin" / "pledgebox"
    clean_env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path / "home"),
                 "LANG": "C.UTF-8"}
    clean_env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})

    helped = subprocess.run([str(pledgebox), "--help"], capture_output=True, text=True,
                            env=clean_env, timeout=60, check=False)
    assert helped.returncode == 0, helped.stderr
    assert "pledgebox app" in helped.stdout or " app " in helped.stdout

    app = subprocess.Popen([str(pledgebox), "app", "--no-browser"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=clean_env, cwd=tmp_path)
    try:
        assert app.stdout is not None
        line = app.stdout.readline()
        found = re.fullmatch(r"(http://127\.0\.0\.1:\d+)/\?token=[\w-]+\n", line)
        assert found, line
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with browser.open(line.strip(), timeout=30) as reply:  # token → cookie → welcome page
            assert "Welcome to Pledgebox" in reply.read().decode()  # templates, catalogs
        with browser.open(found.group(1) + "/static/app.js", timeout=30) as script:
            assert b"strengthMeter" in script.read()  # static files came with the wheel
    finally:
        app.terminate()
        _, err = app.communicate(timeout=30)
    assert "To open it again, run: pledgebox app" in err
    assert "Traceback" not in err

"""The release an organizer installs, from nothing: scripts/release builds the wheel, the sdist and the
single-file app twice and gets the same bytes; the files pass `sha256sum -c`; the single file runs on a
fresh Python with nothing installed (the documented path) and the wheel installs into a fresh virtual
environment as pipx does. It catches what an editable install hides: a template, script, catalog or word
list left out, a dependency missing from pyproject.toml or release/organizer-lock.txt, a build that is
not reproducible."""

import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]  # a first build downloads ~65 wheels
MACHINES = {  # what the single file promises (docs/organizers.md)
    "linux-x86_64": {"system": "Linux", "arch": "x86_64", "libc": (2, 28), "macos": (0, 0), "bits": 64},
    "linux-arm64": {"system": "Linux", "arch": "aarch64", "libc": (2, 28), "macos": (0, 0), "bits": 64},
    "macos-apple": {"system": "Darwin", "arch": "arm64", "libc": (0, 0), "macos": (11, 0), "bits": 64},
    "macos-intel": {"system": "Darwin", "arch": "x86_64", "libc": (0, 0), "macos": (11, 0), "bits": 64},
    "windows": {"system": "Windows", "arch": "x86_64", "libc": (0, 0), "macos": (0, 0), "bits": 64},
}


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The release built twice from this checkout, into two folders."""
    folders = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    for folder in folders:
        done = subprocess.run([sys.executable, str(ROOT / "scripts" / "release"), "--out", str(folder)],
                              capture_output=True, text=True, timeout=900, check=False)
        assert done.returncode == 0, done.stderr
    return folders


@pytest.fixture(scope="module")
def bootstrap() -> ModuleType:
    path = ROOT / "release" / "single_file_main.py"
    spec = importlib.util.spec_from_file_location("single_file_main", path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def clean_env(home: Path, path: str) -> dict[str, str]:
    env = {"PATH": f"{path}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    return env


def test_two_builds_of_one_commit_are_the_same_bytes_and_pass_sha256sum(releases):
    first, second = releases
    sums = (first / "SHA256SUMS").read_text()
    assert sums == (second / "SHA256SUMS").read_text()
    names = sorted(line.split("  ")[1] for line in sums.splitlines())
    version = re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M)[1]
    assert names == sorted([f"pledgebox-{version}-py3-none-any.whl", f"pledgebox-{version}.pyz",
                            f"pledgebox-{version}.tar.gz"])
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=first, capture_output=True, text=True,
                             check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK") == 3, checked.stdout
    for name in names:  # and not by luck of the sums file: the bytes themselves
        assert hashlib.sha256((first / name).read_bytes()).digest() == \
            hashlib.sha256((second / name).read_bytes()).digest()


def test_the_single_file_runs_on_a_fresh_python_with_nothing_installed(releases, tmp_path):
    single = next(releases[0].glob("pledgebox-*.pyz"))
    fresh = tmp_path / "python"  # a virtual environment without the system's packages: only pip
    subprocess.run([sys.executable, "-m", "venv", str(fresh)], check=True, timeout=120)
    env = clean_env(tmp_path / "home", str(fresh / "bin"))
    helped = subprocess.run(["python3", str(single), "--help"], capture_output=True, text=True, env=env,
                            timeout=120, check=False)
    assert helped.returncode == 0, helped.stderr
    assert "pledgebox" in helped.stdout
    assert " app " in helped.stdout
    unpacked = list((tmp_path / "home" / ".cache" / "pledgebox").glob("app-*"))
    assert len(unpacked) == 1
    assert not (unpacked[0] / "server").exists()
    answer_on_loopback(["python3", str(single), "app", "--no-browser"], env, tmp_path)


def test_the_wheel_installs_into_a_fresh_venv_as_pipx_does_and_the_app_answers(releases, tmp_path):
    wheel = next(releases[0].glob("pledgebox-*.whl"))
    venv = tmp_path / "venv"
    env = clean_env(tmp_path / "home", str(venv / "bin"))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=60)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile", str(wheel)],
                   check=True, timeout=240, env=env)
    helped = subprocess.run([str(venv / "bin" / "pledgebox"), "--help"], capture_output=True, text=True,
                            env=env, timeout=60, check=False)
    assert helped.returncode == 0, helped.stderr
    answer_on_loopback([str(venv / "bin" / "pledgebox"), "app", "--no-browser"], env, tmp_path)


def answer_on_loopback(command: list[str], env: dict[str, str], cwd: Path) -> None:
    """`pledgebox app` prints its one-time address, serves the welcome page and its script, stops on ^C."""
    app = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                           cwd=cwd)
    try:
        assert app.stdout is not None
        line = app.stdout.readline()
        found = re.fullmatch(r"(http://127\.0\.0\.1:\d+)/\?token=[\w-]+\n", line)
        assert found, line + (app.stderr.read() if app.poll() is not None and app.stderr else "")
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with browser.open(line.strip(), timeout=30) as reply:  # token → cookie → welcome page
            assert "Welcome to Pledgebox" in reply.read().decode()  # templates, catalogs
        with browser.open(found.group(1) + "/static/app.js", timeout=30) as script:
            assert b"strengthMeter" in script.read()  # static files came along
    finally:
        app.terminate()
        _, err = app.communicate(timeout=30)
    assert "To open it again, run: pledgebox app" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("minor", [11, 12, 13, 14])
@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_every_promised_machine_finds_a_build_of_every_part(releases, bootstrap, machine, minor):
    single = next(releases[0].glob("pledgebox-*.pyz"))
    with zipfile.ZipFile(single) as bundle:
        carried = [n.removeprefix("wheels/") for n in bundle.namelist() if n.startswith("wheels/")]
    chosen = bootstrap.choose(carried, {**MACHINES[machine], "minor": minor})
    assert len(chosen) == len({name.split("-")[0] for name in carried})  # one of each distribution
    native = [name for name in chosen if not name.endswith("-any.whl")]
    assert {name.split("-")[0] for name in native} >= {"cffi", "pynacl", "argon2_cffi_bindings"}
    expected = {"Linux": "linux", "Darwin": "macosx", "Windows": "win_amd64"}[MACHINES[machine]["system"]]
    assert all(expected in name for name in native), native


def test_a_machine_without_a_build_is_told_so_in_one_sentence(releases, bootstrap):
    single = next(releases[0].glob("pledgebox-*.pyz"))
    with zipfile.ZipFile(single) as bundle:
        carried = [n.removeprefix("wheels/") for n in bundle.namelist() if n.startswith("wheels/")]
    old_linux = {**MACHINES["linux-x86_64"], "libc": (2, 17), "minor": 12}
    with pytest.raises(bootstrap.NoBuildHere, match=r"no build of .*argon2_cffi_bindings.*Linux x86_64"):
        bootstrap.choose(carried, old_linux)
    with pytest.raises(bootstrap.NoBuildHere, match="Python 3.15"):
        bootstrap.choose(carried, {**MACHINES["windows"], "minor": 15})

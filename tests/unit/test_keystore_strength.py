"""A keystore's argon2id costs (finding 17.11): the test suites' cheap parameters can never be
switched on in an installed tool, and a keystore sealed with weaker costs than this release's is
re-sealed with them at its next unlock, atomically and losing nothing."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crypto.keystore import TEST_KDF, KdfParams, Keystore
from organizer.session import TEST_KDF_ENV, Session, restore_backup
from tests.support.factories import PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]


def kdf_of(path: Path) -> KdfParams:
    k = json.loads(path.read_text("utf-8"))["kdf"]
    return KdfParams(k["time_cost"], k["memory_cost"], k["parallelism"])


def installed_copy(where: Path) -> Path:
    """The organizer tool laid out as an installer lays it out: its packages, without the source
    tree around them (no pyproject.toml, no tests/), as in a wheel, pipx or the single-file app."""
    site = where / "site-packages"
    for package in ("organizer", "crypto"):
        shutil.copytree(ROOT / package, site / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return site


def test_an_installed_tool_never_uses_the_test_suites_cheap_kdf(tmp_path):
    site = installed_copy(tmp_path)
    keystore = tmp_path / "keystore.json"
    env = {**os.environ, "PYTHONPATH": str(site), TEST_KDF_ENV: "1",
           "PLEDGEBOX_PASSPHRASE": PASSPHRASE}
    run = subprocess.run([sys.executable, "-m", "organizer.cli", "--keystore", str(keystore), "init"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
                         check=False)
    assert run.returncode == 0, run.stderr
    assert kdf_of(keystore) == KdfParams()  # 256 MiB, t=3, whatever the environment says


def test_the_source_tree_still_lets_the_test_suite_use_it(tmp_path):
    assert os.environ.get(TEST_KDF_ENV) == "1"  # set by tests/conftest.py
    Session.create(tmp_path / "k.json", PASSPHRASE)
    assert kdf_of(tmp_path / "k.json") == TEST_KDF


def test_a_weak_keystore_is_resealed_with_this_releases_costs_at_unlock(tmp_path, monkeypatch):
    path = tmp_path / "laptop" / "keystore.json"
    made = Session.create(path, PASSPHRASE)  # the test suite's cheap costs: a weak keystore
    made.data["server"] = "https://pledges.example.org"
    made.save()
    before = json.loads(path.read_text("utf-8"))
    monkeypatch.delenv(TEST_KDF_ENV)  # as a person's tool runs
    opened = Session.open(path, PASSPHRASE)
    assert kdf_of(path) == KdfParams()
    after = json.loads(path.read_text("utf-8"))
    assert after["kdf"]["salt"] != before["kdf"]["salt"]  # a new salt with the new costs
    assert opened.data == made.data  # nothing lost
    assert Session.open(path, PASSPHRASE).data == made.data
    assert sorted(p.name for p in path.parent.iterdir()) == ["keystore.json"]  # no temp file left
    with pytest.raises(Exception, match="does not unlock"):
        Session.open(path, "not the passphrase at all")
    assert opened.keystore.kdf == KdfParams()
    opened.save()  # later saves keep the new costs
    assert kdf_of(path) == KdfParams()


def test_a_restored_weak_backup_is_resealed_too(tmp_path, monkeypatch):
    old = tmp_path / "old.json"
    made = Session.create(old, PASSPHRASE)
    monkeypatch.delenv(TEST_KDF_ENV)
    target = tmp_path / "new" / "keystore.json"
    restored = restore_backup(target, old.read_bytes(), PASSPHRASE)
    assert kdf_of(target) == KdfParams()
    assert restored.data == made.data


def test_stronger_costs_are_never_lowered(tmp_path, monkeypatch):
    path = tmp_path / "keystore.json"
    strong = KdfParams(time_cost=4, memory_cost=KdfParams().memory_cost)
    Keystore.create(path, PASSPHRASE, {"identity": None, "secrets": {}}, strong)
    monkeypatch.delenv(TEST_KDF_ENV)
    Session.open(path, PASSPHRASE)
    assert kdf_of(path) == strong

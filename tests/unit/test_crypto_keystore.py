"""crypto/keystore.py: the organizer's passphrase-locked file (argon2id + SecretBox), and its failures."""

import copy
import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.errors import CryptoError, KeystoreCorrupt, WrongPassphrase
from crypto.keystore import TEST_KDF, KdfParams, Keystore

PASSPHRASE = "correct horse battery staple"
PAYLOAD = {"identity": {"sign_seed": "SECRET-SEED-VALUE"}, "server": "https://pledges.example.org"}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "keystore.json"


@pytest.fixture
def store(path: Path) -> Keystore:
    return Keystore.create(path, PASSPHRASE, copy.deepcopy(PAYLOAD), TEST_KDF)


def one_line(error: BaseException) -> str:
    text = str(error)
    assert text
    assert "\n" not in text
    return text


def doc(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


def test_create_then_unlock_gives_back_the_payload(store: Keystore, path: Path) -> None:
    opened = Keystore.unlock(path, PASSPHRASE)
    assert opened.payload == PAYLOAD
    assert opened.kdf == TEST_KDF


def test_a_non_ascii_passphrase_works(path: Path) -> None:
    Keystore.create(path, "contraseña ñandú 🔑", PAYLOAD, TEST_KDF)
    assert Keystore.unlock(path, "contraseña ñandú 🔑").payload == PAYLOAD
    with pytest.raises(WrongPassphrase):
        Keystore.unlock(path, "contrasena nandu 🔑")


def test_the_file_holds_only_ciphertext_and_the_kdf_parameters(store: Keystore, path: Path) -> None:
    text = path.read_text("utf-8")
    assert "SECRET-SEED-VALUE" not in text
    assert "pledges.example.org" not in text
    d = doc(path)
    assert d["format"] == "pledgebox-keystore"
    assert d["version"] == 1
    assert d["kdf"]["name"] == "argon2id"
    assert (d["kdf"]["time_cost"], d["kdf"]["memory_cost"], d["kdf"]["parallelism"]) == (
        TEST_KDF.time_cost, TEST_KDF.memory_cost, TEST_KDF.parallelism)
    assert set(d) == {"format", "version", "kdf", "box"}


def test_unlock_uses_the_parameters_stored_in_the_file(path: Path) -> None:
    """Costs can be raised later: an old file keeps opening with the costs it was made with."""
    custom = KdfParams(time_cost=2, memory_cost=16384, parallelism=2)
    Keystore.create(path, PASSPHRASE, PAYLOAD, custom)
    assert Keystore.unlock(path, PASSPHRASE).kdf == custom
    # and they really are used: the same passphrase under other costs is another key
    d = doc(path)
    d["kdf"]["time_cost"] = 1
    path.write_text(json.dumps(d))
    with pytest.raises(WrongPassphrase):
        Keystore.unlock(path, PASSPHRASE)


def test_default_costs_are_not_weakened() -> None:
    """Unlocking should take about a second (measured in bench/, never asserted on time here)."""
    default = KdfParams()
    assert default.memory_cost >= 256 * 1024
    assert default.time_cost >= 3
    assert default != TEST_KDF


def test_each_save_uses_a_fresh_nonce_and_keeps_the_salt(store: Keystore, path: Path) -> None:
    before = doc(path)
    store.payload["server"] = "https://other.example.org"
    store.save()
    after = doc(path)
    assert after["box"] != before["box"]
    assert after["kdf"]["salt"] == before["kdf"]["salt"]
    assert Keystore.unlock(path, PASSPHRASE).payload["server"] == "https://other.example.org"


def test_wrong_passphrase_is_one_line(store: Keystore, path: Path) -> None:
    with pytest.raises(WrongPassphrase) as info:
        Keystore.unlock(path, PASSPHRASE + "!")
    assert "passphrase" in one_line(info.value)


def test_an_empty_passphrase_is_refused(path: Path) -> None:
    with pytest.raises(CryptoError):
        Keystore.create(path, "", PAYLOAD, TEST_KDF)
    assert not path.exists()


def test_an_existing_keystore_is_never_overwritten(store: Keystore, path: Path) -> None:
    before = path.read_bytes()
    with pytest.raises(CryptoError, match="refusing to overwrite"):
        Keystore.create(path, "another", {"x": 1}, TEST_KDF)
    assert path.read_bytes() == before


def test_a_missing_file_is_reported_as_missing(path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Keystore.unlock(path, PASSPHRASE)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=10_000))
def test_a_truncated_file_is_reported_as_damaged(store: Keystore, path: Path, cut: int) -> None:
    full = path.read_bytes()
    cut %= len(full)
    damaged = path.with_name("damaged.json")
    damaged.write_bytes(full[:cut])
    with pytest.raises(KeystoreCorrupt) as info:
        Keystore.unlock(damaged, PASSPHRASE)
    assert "damaged" in one_line(info.value)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0, max_value=10_000))
def test_a_tampered_box_never_opens(store: Keystore, path: Path, position: int) -> None:
    """SecretBox's MAC cannot tell tampering from a wrong passphrase; either way, one line, no data."""
    d = doc(path)
    box = d["box"]
    i = position % len(box)
    d["box"] = box[:i] + ("A" if box[i] != "A" else "B") + box[i + 1:]
    tampered = path.with_name("tampered.json")
    tampered.write_text(json.dumps(d))
    with pytest.raises((WrongPassphrase, KeystoreCorrupt)) as info:
        Keystore.unlock(tampered, PASSPHRASE)
    one_line(info.value)


@pytest.mark.parametrize(("where", "value"), [
    ("time_cost", 0), ("time_cost", -1), ("time_cost", 1.5), ("time_cost", "3"), ("time_cost", True),
    ("time_cost", None), ("time_cost", 10**6),
    ("memory_cost", 1), ("memory_cost", 2**40), ("memory_cost", "8192"),
    ("parallelism", 0), ("parallelism", 2**33),
    ("name", "scrypt"), ("salt", "AAAA"), ("salt", None),
])
def test_doctored_kdf_parameters_are_one_line_errors(store: Keystore, path: Path, where: str,
                                                     value: object) -> None:
    d = doc(path)
    d["kdf"][where] = value
    path.write_text(json.dumps(d))
    with pytest.raises(KeystoreCorrupt) as info:
        Keystore.unlock(path, PASSPHRASE)
    one_line(info.value)


@pytest.mark.parametrize("text", [
    "", "not json", "[]", "null", '"keystore"', "{}",
    '{"format": "pledgebox-keystore", "version": 2, "kdf": {}, "box": ""}',
    '{"format": "something-else", "version": 1}',
    "\ufeff{",
])
def test_files_that_are_not_keystores_are_one_line_errors(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    with pytest.raises(KeystoreCorrupt) as info:
        Keystore.unlock(path, PASSPHRASE)
    one_line(info.value)


@pytest.mark.parametrize("box", ["", "AAAA", "not base64!", None, 12])
def test_a_missing_or_short_box_is_damage_not_a_wrong_passphrase(store: Keystore, path: Path,
                                                                  box: object) -> None:
    d = doc(path)
    d["box"] = box
    path.write_text(json.dumps(d))
    with pytest.raises(KeystoreCorrupt):
        Keystore.unlock(path, PASSPHRASE)


def test_binary_garbage_is_a_one_line_error(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(os.urandom(300) + b"\xff\xfe")
    with pytest.raises(KeystoreCorrupt):
        Keystore.unlock(path, PASSPHRASE)


# ---------- on disk ----------

def test_file_is_private_and_its_new_folder_too(store: Keystore, path: Path) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    store.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_save_is_atomic_a_crash_before_the_rename_keeps_the_old_file(
        store: Keystore, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = path.read_bytes()

    def crash(*_args: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    store.payload["server"] = "https://changed.example.org"
    with pytest.raises(OSError, match="power cut"):
        store.save()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp file left
    monkeypatch.undo()
    assert Keystore.unlock(path, PASSPHRASE).payload == PAYLOAD


def test_save_syncs_the_new_file_before_renaming_it_into_place(
        store: Keystore, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    store.save()
    assert "fsync" in events
    assert events.index("fsync") < events.index("replace")


def test_a_crash_while_writing_leaves_no_partial_file(
        store: Keystore, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = path.read_bytes()

    def crash(_fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        store.save()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]

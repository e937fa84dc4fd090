"""The real `pledgebox` and `pledgebox-server` console scripts, as subprocesses, against a live server.

What scripts rely on (docs/cli.md): what goes to stdout and nothing else, counts and warnings on
stderr, exit 0 / 1 (one plain sentence) / 2 (usage).
"""

import csv
import io
import json
import os
import re
import secrets
import stat
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crypto import _primitives as p
from crypto.encoding import b64u_decode
from crypto.identity import safety_words
from server.db import bind, database
from server.store.partitions import pledge_table
from tests.conftest import server_env
from tests.support.factories import pledge
from tests.support.http import call
from tests.support.live import LiveServer
from tests.support.scripts import console_script

PASSPHRASE = "quartz lantern ripple gazebo mantis"
FIELDS = ["school!:choice:Your school|Tu escuela:Covina High,Northview High",
          "message:text:Message|Mensaje", "help:checkbox:I want to help|Quiero ayudar"]
BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


class Organizer:
    """One organizer's laptop: a keystore path and the passphrase in the environment."""

    def __init__(self, keystore: Path, passphrase: str = PASSPHRASE) -> None:
        self.keystore, self.passphrase = keystore, passphrase

    def __call__(self, *args: str, passphrase: str | None = None, env: dict[str, str] | None = None
                 ) -> Run:
        environ = {**os.environ, "PLEDGEBOX_PASSPHRASE": passphrase or self.passphrase, **(env or {})}
        proc = subprocess.run([console_script("pledgebox"), "--keystore", str(self.keystore), *args],
                              capture_output=True, text=True, env=environ, stdin=subprocess.DEVNULL,
                              timeout=120, check=False)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str) -> Run:
        run = self(*args)
        assert run.code == 0, run.err
        return run


def operator(env: dict[str, str], *args: str) -> Run:
    proc = subprocess.run([console_script("pledgebox-server"), *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120, check=False)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def assert_one_line_error(run: Run) -> str:
    assert run.code == 1, (run.out, run.err)
    assert run.out == ""
    assert len(run.err_lines) == 1, run.err
    assert "Traceback" not in run.err
    return run.err_lines[0]


@pytest.fixture
def operator_env(instance: Path, db_url: str, clock_file: Path) -> dict[str, str]:
    return server_env(instance, db_url, clock_file)


@pytest.fixture
def campaign(live_server: LiveServer, operator_env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """An organizer set up entirely through the two console scripts, with one campaign."""
    org = Organizer(tmp_path / "laptop" / "keystore.json")
    fingerprint = org.ok("init").out.strip()
    code_run = operator(operator_env, "setup-code", "--expires", "30m")
    assert code_run.code == 0, code_run.err
    code = code_run.out.strip()
    coalition_run = org.ok("coalition", "create", "--server", live_server.base_url, "--setup-code", code,
                           "--name", "Covina Schools Coalition")
    today = datetime.now(UTC).date()
    created = org.ok("campaign", "create", "--title", "Walkout Feb 27", "--description", "Walk out.",
                     "--action-date", str(today + timedelta(days=14)),
                     "--closes", str(today + timedelta(days=13)),
                     "--delete-after", str(today + timedelta(days=20)),
                     *[a for f in FIELDS for a in ("--field", f)], "--qr", str(tmp_path / "walkout"))
    link = created.out.strip()
    return {"org": org, "fingerprint": fingerprint, "code": code, "coalition": coalition_run,
            "created": created, "link": link, "campaign_id": link.split("/p/")[1].split("#")[0],
            "base_url": live_server.base_url, "qr": tmp_path / "walkout"}


# ---------- init, whoami ----------

def test_init_prints_the_fingerprint_alone_and_whoami_repeats_it(tmp_path: Path) -> None:
    org = Organizer(tmp_path / "new" / "keystore.json")
    run = org.ok("init")
    assert re.fullmatch(r"[0-9a-f]{40}\n", run.out)
    fingerprint = run.out.strip()
    assert stat.S_IMODE(org.keystore.stat().st_mode) == 0o600
    assert PASSPHRASE not in org.keystore.read_text()

    who = org.ok("whoami")
    assert who.out == fingerprint + "\n"
    assert safety_words(fingerprint) in who.err

    again = org("init")
    assert "already exists" in assert_one_line_error(again)
    assert org.ok("whoami").out == fingerprint + "\n"  # the first keystore is untouched


def test_init_refuses_a_weak_passphrase_with_one_sentence_and_a_suggestion(tmp_path: Path) -> None:
    org = Organizer(tmp_path / "weak" / "keystore.json")
    line = assert_one_line_error(org("init", passphrase="abc"))
    assert "That passphrase is too easy to guess" in line
    suggestion = line.split("For example: ", 1)[1]
    assert len(suggestion.split(" ")) == 6
    assert not org.keystore.exists()
    assert re.fullmatch(r"[0-9a-f]{40}\n", org.ok("init").out)


def test_wrong_passphrase_is_exit_1_with_one_line(tmp_path: Path) -> None:
    org = Organizer(tmp_path / "keystore.json")
    org.ok("init")
    line = assert_one_line_error(org("whoami", passphrase="not the passphrase"))
    assert "passphrase" in line


def test_a_missing_keystore_is_exit_1_with_one_line(tmp_path: Path) -> None:
    line = assert_one_line_error(Organizer(tmp_path / "nowhere.json")("whoami"))
    assert "init" in line


@pytest.mark.parametrize("damage", ["truncate", "garbage", "doctored_kdf", "flipped_box"])
def test_a_damaged_keystore_is_exit_1_with_one_line(tmp_path: Path, damage: str) -> None:
    org = Organizer(tmp_path / "keystore.json")
    org.ok("init")
    text = org.keystore.read_text()
    doc = json.loads(text)
    if damage == "truncate":
        org.keystore.write_text(text[: len(text) // 2])
    elif damage == "garbage":
        org.keystore.write_bytes(os.urandom(200))
    elif damage == "doctored_kdf":
        doc["kdf"]["time_cost"] = 0
        org.keystore.write_text(json.dumps(doc))
    else:
        doc["box"] = doc["box"][:-5] + ("A" if doc["box"][-5] != "A" else "B") + doc["box"][-4:]
        org.keystore.write_text(json.dumps(doc))
    assert_one_line_error(org("whoami"))


def test_a_server_that_does_not_answer_is_exit_1_with_one_line(tmp_path: Path) -> None:
    org = Organizer(tmp_path / "keystore.json")
    org.ok("init")
    run = org("coalition", "create", "--server", "http://127.0.0.1:9", "--setup-code", "x", "--name", "N")
    assert "reach" in assert_one_line_error(run)


@pytest.mark.parametrize("args", [
    [], ["roster"], ["campaign", "create", "--title", "T"], ["roster", "X", "--format", "xml"],
    ["campaign", "create", "--title", "T", "--action-date", "next friday", "--closes", "2030-01-01",
     "--delete-after", "2030-01-02"],
    ["no-such-command"], ["whoami", "--unknown-option"],
], ids=range(7))
def test_wrong_usage_is_exit_2(tmp_path: Path, args: list[str]) -> None:
    run = Organizer(tmp_path / "keystore.json")(*args)
    assert run.code == 2, (run.out, run.err)
    assert run.out == ""
    assert "usage" in run.err.lower()


# ---------- the organizer's whole loop ----------

@BACKENDS
def test_setup_code_coalition_and_campaign_through_the_console_scripts(campaign: dict[str, Any]) -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", campaign["code"])
    coalition_id = campaign["coalition"].out.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", coalition_id)

    info = call(campaign["base_url"], "GET", f"/api/v1/campaigns/{campaign['campaign_id']}").json()
    assert campaign["link"] == (f"{campaign['base_url']}/p/{campaign['campaign_id']}"
                                f"#k={info['signing_key']}")
    assert campaign["created"].out == campaign["link"] + "\n"  # the link alone on stdout
    assert info["coalition_id"] == coalition_id
    descriptor = json.loads(b64u_decode(info["descriptor"]))
    assert [f["id"] for f in descriptor["fields"]] == ["school", "message", "help"]
    assert descriptor["title"] == "Walkout Feb 27"

    png = campaign["qr"].with_suffix(".png").read_bytes()
    svg = campaign["qr"].with_suffix(".svg").read_text()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == height
    assert width >= 200
    assert "<svg" in svg
    assert "</svg>" in svg

    # the setup code was single-use
    org2 = Organizer(campaign["org"].keystore.with_name("second.json"))
    org2.ok("init")
    again = org2("coalition", "create", "--server", campaign["base_url"], "--setup-code",
                 campaign["code"], "--name", "Another")
    assert_one_line_error(again)


def test_campaign_list_and_show(campaign: dict[str, Any]) -> None:
    org, cid = campaign["org"], campaign["campaign_id"]
    pledge(campaign["base_url"], cid)
    listed = org.ok("campaign", "list").out
    assert cid in listed
    assert "Walkout Feb 27" in listed
    assert "1 pledge" in listed
    shown = org.ok("campaign", "show", cid).out
    assert "Walkout Feb 27" in shown
    assert campaign["link"] in shown
    unknown = org("campaign", "show", "cmp_NotOurs")
    assert_one_line_error(unknown)


def test_campaign_create_writes_protocol_1_1_from_its_options(campaign: dict[str, Any]) -> None:
    org, today = campaign["org"], datetime.now(UTC).date()
    dates = ["--action-date", str(today + timedelta(days=14)), "--closes", str(today + timedelta(days=13)),
             "--delete-after", str(today + timedelta(days=20))]
    created = org.ok("campaign", "create", "--title", "Walkout", "--title-es", "Salida",
                     "--description-es", "Salimos.", "--time-zone", "America/Los_Angeles",
                     "--threshold", "100", "--threshold-option", "northview-high=40", *dates,
                     *[a for f in FIELDS for a in ("--field", f)])
    cid = created.out.strip().split("/p/")[1].split("#")[0]
    info = call(campaign["base_url"], "GET", f"/api/v1/campaigns/{cid}").json()
    d = json.loads(b64u_decode(info["descriptor"]))
    assert d["protocol"] == "1.1"
    assert d["coalition_name"] == "Covina Schools Coalition"
    assert d["i18n"] == {"es": {"title": "Salida", "description": "Salimos."}}
    assert d["time_zone"] == "America/Los_Angeles"
    assert d["threshold"] == {"field": "school", "count": 100, "per_option": {"northview-high": 40}}
    shown = org.ok("campaign", "show", cid).out
    assert "time zone: America/Los_Angeles" in shown
    assert "threshold: 100 pledges per school" in shown
    # without --time-zone: this laptop's zone (the test runs the tool with TZ set)
    plain = org("campaign", "create", "--title", "Walkout", *dates, "--field", FIELDS[0],
                env={"TZ": "America/Chicago"})
    cid = plain.out.strip().split("/p/")[1].split("#")[0]
    info = call(campaign["base_url"], "GET", f"/api/v1/campaigns/{cid}").json()
    assert json.loads(b64u_decode(info["descriptor"]))["time_zone"] == "America/Chicago"
    for bad in (["--time-zone", "Pacific Time"], ["--threshold", "5", "--threshold-field", "message"]):
        refused = org("campaign", "create", "--title", "Walkout", *dates, *bad,
                      *[a for f in FIELDS for a in ("--field", f)])
        assert_one_line_error(refused)


ANSWERS = [
    {"school": "covina-high", "message": "Hasta la victoria, ¡juntos! 🌵", "help": True},
    {"school": "northview-high", "message": "=HYPERLINK(\"http://evil\")", "help": False},
    {"school": "covina-high", "message": "line one\nline two", "help": True},
]


def jsonl_rows(text: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in text.splitlines()]
    assert text.endswith("\n") or text == ""
    return rows


@BACKENDS
def test_roster_in_every_format(campaign: dict[str, Any], tmp_path: Path) -> None:
    org, cid, base = campaign["org"], campaign["campaign_id"], campaign["base_url"]
    receipts = {pledge(base, cid, a).pledge_id: a for a in ANSWERS}

    jsonl = org.ok("roster", cid, "--format", "jsonl")
    rows = jsonl_rows(jsonl.out)
    assert {r["pledge_id"] for r in rows} == set(receipts)
    for row in rows:
        assert set(row) == {"pledge_id", "received_day", "key_version", "answers"}
        assert row["answers"] == receipts[row["pledge_id"]]
        assert row["key_version"] == 1
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["received_day"])
    assert "3 pledges opened" in jsonl.err
    for answers in ANSWERS:
        assert answers["message"] not in jsonl.err  # stderr has counts, never entries

    csv_run = org.ok("roster", cid, "--format", "csv")
    table = list(csv.reader(io.StringIO(csv_run.out)))
    assert table[0][:3] == ["pledge_id", "received_day", "key_version"]
    assert len(table[0]) == 6  # one column per question, headed by its label
    by_id = {r[0]: r for r in table[1:]}
    assert set(by_id) == set(receipts)
    formula = next(r for r in table[1:] if "HYPERLINK" in r[4])
    assert formula[4].startswith("'=")  # never runs as a spreadsheet formula
    assert any(r[4] == "line one\nline two" for r in table[1:])

    tabled = org.ok("roster", cid)
    lines = tabled.out.splitlines()
    assert lines[0].split()[:4] == ["received", "school", "message", "help"]
    assert len(lines) == 4
    assert any("Covina High" in line for line in lines[1:])  # option labels, not ids

    out_file = tmp_path / "export" / "roster.jsonl"
    out_file.parent.mkdir()
    to_file = org.ok("roster", cid, "--format", "jsonl", "-o", str(out_file))
    assert to_file.out == ""
    assert sorted(jsonl_rows(out_file.read_text()), key=lambda r: r["pledge_id"]) == sorted(
        rows, key=lambda r: r["pledge_id"])
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600


def _seal_raw(base: str, cid: str, plaintext: bytes) -> str:
    """A pledge with any plaintext sealed to the campaign's key: anyone holding the public key can."""
    from crypto.encoding import b64u_encode
    from crypto.envelope import pad

    key = call(base, "GET", f"/api/v1/campaigns/{cid}").json()["encryption_key"]
    body = {"key_version": key["version"],
            "ciphertext": b64u_encode(p.seal(b64u_decode(key["public_key"]), pad(plaintext))),
            "withdraw_token_hash": b64u_encode(secrets.token_bytes(32))}
    reply = call(base, "POST", f"/api/v1/campaigns/{cid}/pledges", body)
    assert reply.status == 201
    return str(reply.json()["pledge_id"])


@BACKENDS
def test_damaged_and_hostile_pledges_are_reported_on_stderr_and_left_out(
        campaign: dict[str, Any], db_url: str) -> None:
    org, cid, base = campaign["org"], campaign["campaign_id"], campaign["base_url"]
    good = pledge(base, cid, ANSWERS[0]).pledge_id
    tampered = pledge(base, cid, ANSWERS[1]).pledge_id
    bind(db_url)
    with database.connection_context():
        table = pledge_table(cid)
        q = database.param
        (ciphertext,) = database.execute_sql(
            f'SELECT ciphertext FROM "{table}" WHERE id = {q}', (tampered,)).fetchone()
        damaged = bytearray(bytes(ciphertext))
        damaged[100] ^= 0x01
        database.execute_sql(f'UPDATE "{table}" SET ciphertext = {q} WHERE id = {q}',
                             (bytes(damaged), tampered))
    # sealed properly but not a pledge of this campaign, or not a pledge at all
    other_campaign = _seal_raw(base, cid, json.dumps(
        {"v": 1, "campaign_id": "cmp_Elsewhere", "answers": {"school": "x"}}).encode())
    not_json = _seal_raw(base, cid, b"\x00\x01 not json")
    too_deep = _seal_raw(base, cid, b"[" * 6000)
    # answers of types the fields do not have: counted as unopened too (issue 17, finding 6)
    odd_types = _seal_raw(base, cid, json.dumps(
        {"v": 1, "campaign_id": cid, "answers": {"school": ["covina-high"], "message": {"x": 1},
                                                  "help": "yes"}}).encode())

    for fmt in ("jsonl", "csv", "table"):
        run = org.ok("roster", cid, "--format", fmt)
        assert "Traceback" not in run.err
        assert "5 pledges could not be opened" in run.err, run.err
        assert "1 pledges opened" in run.err
        for left_out in (tampered, other_campaign, not_json, too_deep, odd_types):
            assert left_out not in run.out
        if fmt == "jsonl":
            assert {r["pledge_id"] for r in jsonl_rows(run.out)} == {good}
    summary = org.ok("roster", cid, "--summary")
    assert "Traceback" not in summary.err


# ---------- the operator's database commands ----------

@BACKENDS
def test_db_status_is_1_while_migrations_are_pending_and_0_after_upgrade(
        operator_env: dict[str, str]) -> None:
    pending = operator(operator_env, "db", "status")
    assert pending.code == 1, pending.err
    assert "0001_initial" in pending.out
    upgraded = operator(operator_env, "db", "upgrade")
    assert upgraded.code == 0, upgraded.err
    assert "0001_initial" in upgraded.out
    assert operator(operator_env, "db", "status").code == 0
    again = operator(operator_env, "db", "upgrade")
    assert again.code == 0


def test_operator_usage_errors_are_exit_2(operator_env: dict[str, str]) -> None:
    for args in (["db"], ["db", "sideways"], ["setup-code", "--expires", "forever"], ["frobnicate"]):
        run = operator(operator_env, *args)
        assert run.code == 2, (args, run.err)


def test_setup_code_prints_the_code_alone(operator_env: dict[str, str]) -> None:
    run = operator(operator_env, "setup-code")
    assert run.code == 0, run.err
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}\n", run.out)

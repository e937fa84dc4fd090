"""`pledgebox-server run --demo DIR`: a newcomer's first minutes, end to end through the real scripts."""

import json
import os
import re
import signal
import stat
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto.encoding import b64u_decode
from organizer import coalition
from organizer.session import Session
from server.cli import shown_url
from tests.support.factories import pledge
from tests.support.http import call
from tests.support.live import free_port
from tests.support.scripts import console_script

DEMO_KEYS = {"base_url", "campaign_id", "share_link", "keystore", "passphrase"}


def _real_env() -> dict[str, str]:
    """What a newcomer's shell has: no test switches, no database URL, no passphrase."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLEDGEBOX_")}
    env["PLEDGEBOX_INSECURE_TEST_KDF"] = "0"
    return env


class Demo:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.log = folder.parent / f"demo-{port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "Demo":
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [console_script("pledgebox-server"), "run", "--demo", str(self.folder),
                 "--port", str(self.port)],
                env=_real_env(), stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("demo exited:\n" + self.log.read_text())
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("demo did not start:\n" + self.log.read_text())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path / "demo", free_port())
    try:
        yield running.start()
    finally:
        running.stop()


def roster_jsonl(info: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**_real_env(), "PLEDGEBOX_PASSPHRASE": info["passphrase"]}
    return subprocess.run([console_script("pledgebox"), "--keystore", info["keystore"], "roster",
                           info["campaign_id"], "--format", "jsonl"],
                          capture_output=True, text=True, env=env, timeout=180, check=False)


def test_demo_writes_demo_json_serves_and_the_roster_opens(demo: Demo) -> None:
    info_path = demo.folder / "demo.json"
    info = json.loads(info_path.read_text())
    assert set(info) == DEMO_KEYS
    assert all(isinstance(v, str) and v for v in info.values())
    assert stat.S_IMODE(info_path.stat().st_mode) == 0o600  # it holds the passphrase

    assert info["base_url"] == f"http://127.0.0.1:{demo.port}"
    answer = call(info["base_url"], "GET", f"/api/v1/campaigns/{info['campaign_id']}")
    assert answer.status == 200
    campaign = answer.json()
    assert info["share_link"] == f"{info['base_url']}/p/{info['campaign_id']}#k={campaign['signing_key']}"
    assert call(info["base_url"], "GET", f"/p/{info['campaign_id']}").status == 200

    keystore = Path(info["keystore"])
    assert keystore.parent == demo.folder
    assert keystore.is_file()
    assert info["passphrase"] not in keystore.read_text()
    assert (demo.folder / "pledgebox.sqlite3").is_file()  # embedded SQLite under DIR

    fields = {f["id"]: f for f in json.loads(b64u_decode(campaign["descriptor"]))["fields"]}
    assert fields["school"]["type"] == "choice"
    assert any(f["type"] == "text" for f in fields.values())

    school = fields["school"]["options"][0]["id"]
    text_field = next(f["id"] for f in fields.values() if f["type"] == "text")
    sent = pledge(info["base_url"], info["campaign_id"], {"school": school, text_field: "demo pledge ✊"})

    run = roster_jsonl(info)
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["pledge_id"] for r in rows] == [sent.pledge_id]
    assert rows[0]["answers"] == {"school": school, text_field: "demo pledge ✊"}
    assert re.search(r"\b1 pledges? opened", run.stderr)


def test_running_the_demo_again_keeps_its_coalition_and_campaign(tmp_path: Path) -> None:
    first = Demo(tmp_path / "demo", free_port()).start()
    try:
        info = json.loads((first.folder / "demo.json").read_text())
        sent = pledge(info["base_url"], info["campaign_id"])
    finally:
        first.stop()
    again = Demo(first.folder, first.port).start()
    try:
        assert json.loads((first.folder / "demo.json").read_text()) == info
        run = roster_jsonl(info)
        assert run.returncode == 0, run.stderr
        assert [json.loads(line)["pledge_id"] for line in run.stdout.splitlines()] == [sent.pledge_id]
    finally:
        again.stop()


def test_the_demo_on_another_port_moves_its_share_link_and_keystore(tmp_path: Path) -> None:
    first = Demo(tmp_path / "demo", free_port()).start()
    try:
        info = json.loads((first.folder / "demo.json").read_text())
        sent = pledge(info["base_url"], info["campaign_id"])
    finally:
        first.stop()
    moved = Demo(first.folder, free_port()).start()
    try:
        now = json.loads((moved.folder / "demo.json").read_text())
        assert now["base_url"] == f"http://127.0.0.1:{moved.port}"
        assert now["share_link"] == info["share_link"].replace(info["base_url"], now["base_url"])
        assert stat.S_IMODE((moved.folder / "demo.json").stat().st_mode) == 0o600
        assert call(now["base_url"], "GET", now["share_link"].split("#")[0].removeprefix(now["base_url"])
                    ).status == 200
        # The roster asks the keystore's server: it answers only if the keystore followed the move.
        run = roster_jsonl(now)
        assert run.returncode == 0, run.stderr
        assert [json.loads(line)["pledge_id"] for line in run.stdout.splitlines()] == [sent.pledge_id]
    finally:
        moved.stop()


def setup_code(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([console_script("pledgebox-server"), "setup-code", *args], cwd=cwd,
                          capture_output=True, text=True, env=_real_env(), timeout=60, check=False)


def test_setup_code_beside_a_demo_works_on_the_demo(demo: Demo, tmp_path: Path) -> None:
    info = json.loads((demo.folder / "demo.json").read_text())
    done = setup_code("--demo", str(demo.folder), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"the demo in {demo.folder}" in done.stderr
    assert f"sqlite:///{demo.folder / 'pledgebox.sqlite3'}" in done.stderr
    assert not (tmp_path / "instance").exists()  # no stray database beside it

    newcomer = Session.create(tmp_path / "second.json", "a passphrase for the second coalition")
    made = coalition.create(newcomer, info["base_url"], done.stdout.strip(), "A second coalition")
    assert made["coalition_id"] == newcomer.coalition_id


def test_setup_code_says_which_database_it_used(tmp_path: Path) -> None:
    done = setup_code(cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"sqlite:///{tmp_path / 'instance' / 'pledgebox.sqlite3'}" in done.stderr
    assert done.stdout.strip()
    assert done.stdout.strip() not in done.stderr

    refused = setup_code("--demo", str(tmp_path / "nothing"), cwd=tmp_path)
    assert refused.returncode == 1
    assert "holds no demo" in refused.stderr


def test_a_database_password_is_never_shown() -> None:
    assert shown_url("postgresql://pb:s3cret@db:5432/pledgebox") == "postgresql://pb:***@db:5432/pledgebox"
    assert shown_url("sqlite:////data/pledgebox.sqlite3") == "sqlite:////data/pledgebox.sqlite3"


def test_a_demo_listening_everywhere_links_to_this_machine() -> None:
    from fullstack.demo import demo_base_url

    assert demo_base_url("0.0.0.0", 8080) == "http://127.0.0.1:8080"
    assert demo_base_url("::", 8080) == "http://127.0.0.1:8080"
    assert demo_base_url("::1", 9000) == "http://[::1]:9000"
    assert demo_base_url("192.0.2.5", 80) == "http://192.0.2.5:80"

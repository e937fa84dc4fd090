"""`pledgebox app` as an organizer runs it: the address alone on the first line, loopback only,
nothing logged, and Ctrl-C says how to open it again."""

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.scripts import console_script

FIRST_LINE = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{43})\n")


def start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], int, str]:
    proc = subprocess.Popen(
        [console_script("pledgebox"), "--keystore", str(tmp_path / "ks.json"), "app",
         "--no-browser", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PLEDGEBOX_INSECURE_TEST_KDF": "1",
             "XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert proc.stdout is not None
    line = proc.stdout.readline()  # flushed at once, before any request
    found = FIRST_LINE.fullmatch(line)
    assert found, line
    return proc, int(found.group(1)), found.group(2)


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on `port`, from the kernel's own tables."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A" and len(address) == width:
                found.add(address)
    return found


def other_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if address.startswith("127.") else address


def test_prints_the_address_serves_loopback_only_and_stops_on_ctrl_c(tmp_path):
    proc, port, token = start(tmp_path)
    try:
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and nothing else
        elsewhere = other_address()
        if elsewhere:
            with socket.socket() as s:
                s.settimeout(2)
                assert s.connect_ex((elsewhere, port)) != 0
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as caught:
            opener.open(f"http://127.0.0.1:{port}/?token={token}", timeout=10)
        assert caught.value.code == 303
        assert "pledgebox_app=" in caught.value.headers["Set-Cookie"]
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "To open it again, run: pledgebox --keystore" in err
    assert token not in err
    assert token not in out
    assert "GET" not in err
    assert "Traceback" not in err


def test_a_chosen_port_is_used(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc, got, _ = start(tmp_path, "--port", str(port))
    proc.terminate()
    proc.communicate(timeout=20)
    assert got == port


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def test_a_taken_port_is_one_plain_sentence(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        run = subprocess.run([console_script("pledgebox"), "--keystore", str(tmp_path / "k.json"),
                              "app", "--no-browser", "--port", str(port)], capture_output=True,
                             text=True, timeout=60, check=False,
                             env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert run.returncode == 1
    assert run.stdout == ""
    assert f"Port {port} on this laptop is taken" in run.stderr
    assert "Traceback" not in run.stderr


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    return err


def test_the_app_comes_back_on_the_same_address(tmp_path):
    """Issue 18, item 8: a bookmark keeps working from one run to the next, and right after
    Ctrl-C (the last run's connections still in TIME_WAIT) the port is free to use again."""
    proc, first, token = start(tmp_path)
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError):
        opener.open(f"http://127.0.0.1:{first}/?token={token}", timeout=10)
    # A connection the browser keeps open (as Chromium does): on Ctrl-C the app closes it first, so
    # the port stays in TIME_WAIT for a minute, which refused `--port` before SO_REUSEADDR.
    idle = socket.create_connection(("127.0.0.1", first))
    time.sleep(0.2)
    stop(proc)
    remembered = (tmp_path / "config" / "pledgebox" / "app-port").read_text()
    assert remembered.strip() == str(first)  # the port, not a secret: never the token
    assert token not in remembered
    proc, again, _ = start(tmp_path)
    stop(proc)
    assert again == first
    proc, chosen, _ = start(tmp_path, "--port", str(first))  # as typed right after Ctrl-C
    stop(proc)
    idle.close()
    assert chosen == first


def test_a_taken_remembered_port_gives_a_free_one(tmp_path):
    proc, first, _ = start(tmp_path)
    try:
        other, second, _ = start(tmp_path)  # the same keystore's app is still running there
        err = stop(other)
    finally:
        stop(proc)
    assert second != first
    assert "Traceback" not in err

"""A real Pledgebox server (gunicorn, `pledgebox-server run`) on a free loopback port."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, env: dict[str, str], workers: int = 1, port: int | None = None,
                 host: str = "127.0.0.1") -> None:
        self.env = {**os.environ, **env}
        self.workers = workers
        self.host = host
        self.port = port or free_port()
        self.base_url = f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(env["PLEDGEBOX_INSTANCE_PATH"]) / f"server-{self.port}.log"

    def start(self) -> "LiveServer":
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "run", "--host", self.host,
             "--port", str(self.port), "--workers", str(self.workers)],
            env=self.env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + self.log_path.read_text())
            try:
                urllib.request.urlopen(self.base_url + "/", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start:\n" + self.log_path.read_text())

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

"""deploy/compose.yaml started with podman-compose, as an operator starts it, under a test's own name.

The settings an operator puts in deploy/.env come from the process environment instead (compose
reads both), so the test leaves no file in the repository.
"""

import json
import secrets
import ssl
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.containers.images import DEPLOY, podman_env, run
from tests.support.live import free_port


def compose_command(project: str, overrides: tuple[Path, ...] = ()) -> list[str]:
    # The podman-compose of this environment (a test dependency), whatever PATH says.
    files = [arg for path in (DEPLOY / "compose.yaml", *overrides) for arg in ("--file", str(path))]
    return [sys.executable, "-m", "podman_compose", "--project-name", project, *files]


@dataclass
class Deployment:
    settings: dict[str, str]
    project: str = field(default_factory=lambda: "pbtest" + secrets.token_hex(4))
    https_port: int = field(default_factory=free_port)
    overrides: tuple[Path, ...] = ()
    ca_file: Path | None = None  # Caddy's root certificate, once `up` has fetched it
    # Each service's container name, once looked up: it stays while the deployment runs (stopped,
    # killed, restarted: the same container), and a lookup is a `podman ps` of its own.
    names: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def base_url(self) -> str:
        # `localhost` gets a certificate from Caddy's own CA: `tls internal`, with no CA to reach.
        return f"https://localhost:{self.https_port}"

    def env(self) -> dict[str, str]:
        return {**podman_env(), "PLEDGEBOX_DOMAIN": "localhost",
                "PLEDGEBOX_HTTPS_BIND": f"127.0.0.1:{self.https_port}",
                "PLEDGEBOX_HTTP_BIND": f"127.0.0.1:{free_port()}", **self.settings}

    def compose(self, *args: str, timeout: float = 300) -> str:
        command = compose_command(self.project, self.overrides)
        return run([*command, *args], env=self.env(), timeout=timeout).stdout

    def up(self, ca_file: Path) -> "Deployment":
        self.ca_file = ca_file
        self.compose("up", "-d", "--no-build")
        self.wait_apps_ready()
        self.wait_ready(ca_file)
        return self

    def wait_apps_ready(self, deadline_s: float = 90) -> None:
        """Until every app container answers /healthz itself. podman-compose does not wait for
        PostgreSQL to be healthy, so an app that starts first exits and is restarted; Caddy alone
        would hide that behind the other app while the first one still flaps."""
        deadline = time.monotonic() + deadline_s
        probe = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=3)"
        for service in sorted(s for s in self.services() if s.startswith("app")):
            while True:
                done = run(["podman", "exec", self.container(service), "/opt/pledgebox/bin/python",
                            "-c", probe], check=False, timeout=30)
                if done.returncode == 0:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{service} never answered /healthz:\n{self.logs(service)[-3000:]}")
                time.sleep(1)

    def down(self) -> None:
        run([*compose_command(self.project, self.overrides), "down", "--volumes", "--timeout", "5"],
            env=self.env(), check=False)
        self.names.clear()

    def container(self, service: str) -> str:
        if service not in self.names:
            listing = run(["podman", "ps", "-a", "--format", "json",
                           "--filter", f"label=io.podman.compose.project={self.project}",
                           "--filter", f"label=com.docker.compose.service={service}"]).stdout
            names = [c["Names"][0] for c in json.loads(listing or "[]")]
            assert len(names) == 1, f"{service}: {names}"
            self.names[service] = names[0]
        return self.names[service]

    def services(self) -> set[str]:
        listing = run(["podman", "ps", "--format", "json",
                       "--filter", f"label=io.podman.compose.project={self.project}"]).stdout
        return {c["Labels"]["com.docker.compose.service"] for c in json.loads(listing or "[]")}

    def podman(self, *args: str, timeout: float = 120) -> str:
        return run(["podman", *args], timeout=timeout).stdout

    def client_addresses(self, service: str) -> set[str]:
        """What `service` sees as the address of a client on the host: its networks' gateways."""
        text = self.podman("inspect", self.container(service), "--format",
                           "{{range .NetworkSettings.Networks}}{{.Gateway}} {{end}}")
        return set(text.split())

    def files_holding(self, service: str, needles: list[str]) -> dict[str, list[str]]:
        """Every file `service` wrote (its layer, its volumes, its tmpfs mounts) that holds a needle."""
        container = self.container(service)
        found: dict[str, list[str]] = {}
        places: list[Path] = []
        changed = [line.split(" ", 1)[1] for line in self.podman("diff", container).splitlines()
                   if line[:1] in "AC"]
        root = Path(self.podman("mount", container).strip())
        try:
            # the layer's changed files (a changed folder's files are listed one by one), and
            # everything in the volumes
            places += [root / path.lstrip("/") for path in changed if (root / path.lstrip("/")).is_file()]
            mounts = json.loads(self.podman("inspect", container, "--format", "{{json .Mounts}}"))
            places += [Path(m["Source"]) for m in mounts if m.get("Type") == "volume"]
            for place in places:
                for file in ([place] if place.is_file() else place.rglob("*") if place.is_dir() else []):
                    if file.is_file() and not file.is_symlink():
                        data = file.read_bytes()
                        hits = [n for n in needles if n.encode() in data]
                        if hits:
                            found[str(file)] = hits
        finally:
            self.podman("unmount", container)
        tmpfs = self.podman("inspect", container, "--format",
                            "{{range $k, $v := .HostConfig.Tmpfs}}{{$k}} {{end}}").split()
        # and what podman mounts as tmpfs in a read-only container: one `grep` per mount and needle,
        # all in one exec (an exec costs a container runtime start; a grep of a tmpfs, nothing)
        mounts = sorted({*tmpfs, "/tmp", "/run", "/var/tmp", "/dev/shm"})
        each = ('for m in ' + " ".join(mounts) + '; do for n in "$@"; do grep -rlF -e "$n" -- "$m" '
                '2>/dev/null | while IFS= read -r f; do printf "%s\\t%s\\n" "$n" "$f"; done; done; done')
        done = run(["podman", "exec", container, "sh", "-c", each, "sh", *needles], check=False)
        for line in done.stdout.splitlines():
            needle, name = line.split("\t", 1)
            found.setdefault(f"{service}:{name}", []).append(needle)
        return found

    def logs(self, service: str) -> str:
        done = run(["podman", "logs", self.container(service)])
        return done.stdout + done.stderr

    def caddy_root(self, target: Path) -> Path:
        """Caddy's own root certificate, the one a browser would be told to trust for `localhost`."""
        root = "/var/lib/pledgebox-caddy/caddy/pki/authorities/local/root.crt"
        self.podman("cp", f"{self.container('caddy')}:{root}", str(target))
        return target

    def wait_ready(self, ca_file: Path, path: str = "/healthz", deadline_s: float = 90,
                   steady_s: float | None = None) -> None:
        """Until `path` has answered 200 through Caddy for `steady_s` without a miss. With the
        `scale` profile's two apps that is 7 s, longer than Caddy's DNS refresh (5 s), so both are
        in its upstreams and both answer (also while one is stopped: Caddy's view settles before
        the next step); with one app, 2 s (one upstream: once Caddy answers, there is no second one
        to wait for)."""
        if steady_s is None:
            steady_s = 7.0 if "scale" in self.settings.get("COMPOSE_PROFILES", "").split(",") else 2.0
        deadline = time.monotonic() + deadline_s
        last: object = None
        steady_since: float | None = None
        while time.monotonic() < deadline:
            try:
                if not ca_file.exists():
                    self.caddy_root(ca_file)
                context = ssl.create_default_context(cafile=str(ca_file))
                with urllib.request.urlopen(self.base_url + path, timeout=3, context=context) as r:
                    if r.status == 200:
                        steady_since = steady_since or time.monotonic()
                        if time.monotonic() - steady_since >= steady_s:
                            return
            except (OSError, RuntimeError) as exc:
                last, steady_since = exc, None
            time.sleep(0.5)
        raise RuntimeError(f"{self.project} not ready through Caddy: {last}\n"
                           + "\n".join(f"--- {s}\n{self.logs(s)[-3000:]}" for s in sorted(self.services())))

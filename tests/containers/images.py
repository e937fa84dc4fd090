"""The images deploy/compose.yaml runs, built on a machine that reaches no container registry.

What the operator's registry would give is made from Debian's own packages instead, and tagged
with the names the files name, so deploy/ is tested unchanged:
- the base (`docker.io/library/debian:bookworm-slim`): `mmdebstrap --variant=minbase` plus
  python3, imported with `podman import`; the tarball is cached between runs on one machine;
- caddy:2, postgres:15-bookworm, redis:7-bookworm: stand-ins with Debian's packages
  (tests/containers/standins/Containerfile), the official images' entry points and paths;
- Caddy and Tor as deploy/caddy and deploy/tor build them on top of those;
- the app image: deploy/Containerfile itself, through `podman-compose build`, with Python
  packages as wheels built on the host by Debian's python3 (the image's interpreter) and
  installed with --no-index.
Each step's time is printed, so a slow CI run says where its minutes went.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
STANDINS = Path(__file__).resolve().parent / "standins"
BASE_TAG = "docker.io/library/debian:bookworm-slim"
STANDIN_TAGS = {"caddy": "docker.io/library/caddy:2", "postgres": "docker.io/library/postgres:15-bookworm",
                "redis": "docker.io/library/redis:7-bookworm"}
APP_TAG = "localhost/pledgebox:latest"
TOR_TAG = "localhost/pledgebox-tor:latest"
CADDY_TAG = "localhost/pledgebox-caddy:latest"
CACHE = Path(os.environ.get("PLEDGEBOX_CI_CACHE", "/var/cache/pledgebox-ci"))
# What podman needs on these machines (see docs/deploy.md, "Testing the containers"): runc (crun
# refuses the hybrid cgroups), no default ulimits (refused), cgroupfs and file events (no systemd).
CONTAINERS_CONF = """\
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


def podman_env() -> dict[str, str]:
    conf = CACHE / "containers.conf"
    if not conf.exists() or conf.read_text() != CONTAINERS_CONF:
        CACHE.mkdir(parents=True, exist_ok=True)
        conf.write_text(CONTAINERS_CONF)
    # docker format keeps the Containerfile's HEALTHCHECK (the OCI format has no field for it).
    return {**os.environ, "CONTAINERS_CONF": str(conf), "BUILDAH_FORMAT": "docker"}


def run(args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 600,
        check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(args), env=env or podman_env(), capture_output=True, text=True,
                          timeout=timeout, check=False, cwd=cwd)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


@contextmanager
def step(what: str) -> Iterator[None]:
    began = time.monotonic()
    yield
    print(f"[containers] {what}: {time.monotonic() - began:.1f} s", file=sys.stderr)


def has_image(tag: str) -> bool:
    return run(["podman", "image", "exists", tag], check=False).returncode == 0


def base_image() -> None:
    """Debian bookworm minbase with python3, from Debian's packages; the tarball is cached."""
    if has_image(BASE_TAG):
        return
    tarball = CACHE / "debian-bookworm-minbase-python3.tar"
    if not tarball.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".partial.tar")  # mmdebstrap picks the format by suffix
        partial.unlink(missing_ok=True)
        with step("mmdebstrap bookworm minbase + python3"):
            run(["mmdebstrap", "--variant=minbase", "--include=python3", "--quiet",
                 "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
                 "--dpkgopt=path-exclude=/usr/share/locale/*", "bookworm", str(partial)], timeout=900)
        partial.rename(tarball)
    with step("podman import"):
        run(["podman", "import", "--change", 'CMD ["bash"]', str(tarball), BASE_TAG])


def standin_images() -> None:
    for target, tag in STANDIN_TAGS.items():
        with step(f"stand-in {tag}"):
            run(["podman", "build", "-q", "--target", target, "-t", tag,
                 "-f", str(STANDINS / "Containerfile"), str(STANDINS)], timeout=900)


def debian_python() -> str:
    """The interpreter the image runs (Debian's python3): wheels' markers are judged by it."""
    for candidate in ("/usr/bin/python3", sys.executable):
        if run([candidate, "-m", "pip", "--version"], check=False).returncode == 0:
            return candidate
    raise RuntimeError("no python3 with pip to build wheels")


def wheels() -> None:
    """pledgebox from the working tree, plus its dependencies and pip, into deploy/wheels.

    The dependencies' wheels are cached per pyproject.toml; pledgebox's own wheel is built from
    a clean copy (no stale build/ folder) with a fixed timestamp, so unchanged code gives the same
    bytes and the image build's cache holds. It is cached too, per the clean copy's files (names,
    modes and bytes): a session on unchanged code builds no wheel at all.
    """
    target = DEPLOY / "wheels"
    for old in target.glob("*.whl"):
        old.unlink()
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    deps = CACHE / f"wheels-{digest}"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
    with tempfile.TemporaryDirectory() as tmp, step("pip wheel (host)"):
        _clean_copy(Path(tmp))
        own = CACHE / f"pledgebox-wheel-{_tree_digest(Path(tmp))}"  # before any build writes there
        if not deps.is_dir():
            partial = deps.with_suffix(".partial")
            shutil.rmtree(partial, ignore_errors=True)
            run([debian_python(), "-m", "pip", "wheel", "-q", "--wheel-dir", str(partial), tmp, "pip"],
                env=env)
            for built in partial.glob("pledgebox-*.whl"):
                built.unlink()
            partial.rename(deps)
        for wheel in deps.glob("*.whl"):
            shutil.copy2(wheel, target / wheel.name)
        if not own.is_dir():
            partial = own.with_suffix(".partial")
            shutil.rmtree(partial, ignore_errors=True)
            run([debian_python(), "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(partial), tmp],
                env=env)
            partial.rename(own)
            for old in sorted(CACHE.glob("pledgebox-wheel-*"), key=lambda d: d.stat().st_mtime)[:-5]:
                shutil.rmtree(old, ignore_errors=True)  # the last few only
        for wheel in own.glob("pledgebox-*.whl"):
            shutil.copy2(wheel, target / wheel.name)


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder)}\0{path.stat().st_mode & 0o777}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]


def _clean_copy(folder: Path) -> None:
    """The files git knows or would add, as they are now in the working tree."""
    files = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                cwd=ROOT).stdout.split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file() and not name.startswith(("deploy/wheels/", "web/")):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)


def app_image(compose: Sequence[str]) -> None:
    """deploy/Containerfile through `podman-compose build`, from the wheels in deploy/wheels."""
    with step("podman-compose build app (deploy/Containerfile)"):
        run([*compose, "build", "app"], env={**podman_env(), "PLEDGEBOX_DOMAIN": "localhost"})
    # The images this replaced, so runs on one machine do not pile them up.
    run(["podman", "image", "prune", "--force", "--filter",
         "label=org.opencontainers.image.title=pledgebox"], check=False)


def tor_image() -> None:
    with step("tor image (deploy/tor/Containerfile)"):
        run(["podman", "build", "-q", "-t", TOR_TAG, str(DEPLOY / "tor")], timeout=600)


def caddy_image() -> None:
    """deploy/caddy/Containerfile: the caddy:2 stand-in, run as its own user."""
    with step("caddy image (deploy/caddy/Containerfile)"):
        run(["podman", "build", "-q", "-t", CADDY_TAG, str(DEPLOY / "caddy")], timeout=600)


def all_images(compose: Sequence[str]) -> None:
    with step("all images"), ThreadPoolExecutor(max_workers=1) as pool:
        built_wheels = pool.submit(wheels)  # on the host, meanwhile
        base_image()
        standin_images()
        tor_image()
        caddy_image()
        built_wheels.result()
        app_image(compose)

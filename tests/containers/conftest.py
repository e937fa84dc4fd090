"""Fixtures for the container tests: images built once per session, and each deployment ("world",
tests/containers/worlds.py) brought up once and shared by the modules that run on it.

Every test here is marked `containers`. Missing tools fail the run in CI (scripts/test installs
them) and skip it elsewhere.
"""

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.containers import images
from tests.containers.compose import Deployment, compose_command
from tests.containers.worlds import WORLDS, Worlds

TOOLS = ("podman", "mmdebstrap", "runc", "tor", "caddy")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "world(name): the deployment a container test module runs on "
                            "(tests/containers/worlds.py)")


def world_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("world")
    return str(marker.args[0]) if marker else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    ours = [i for i, item in enumerate(items) if here in Path(item.path).parents]
    for i in ours:
        items[i].add_marker(pytest.mark.containers)
        # The first test also builds every image: about three minutes on a fresh machine.
        items[i].add_marker(pytest.mark.timeout(900))
    # The modules of one world run one after another, so it is brought up once (each module's
    # own order is kept; modules without a world go first). Any other order still passes: a world
    # asked for again is brought up again.
    rank = {name: n for n, name in enumerate(WORLDS)}
    ordered = sorted(ours, key=lambda i: (rank.get(world_of(items[i]) or "", -1), i))
    moved = [items[i] for i in ordered]
    for i, item in zip(ours, moved, strict=True):
        items[i] = item


@pytest.fixture(scope="session")
def built_images() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if importlib.util.find_spec("podman_compose") is None:
        missing.append("podman-compose (pip install -e '.[test]')")
    if missing:
        message = f"{', '.join(missing)} not installed (scripts/test installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    images.all_images(compose_command("pbbuild"))


@pytest.fixture(scope="session")
def worlds(built_images: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worlds]:
    running = Worlds(tmp_path_factory.mktemp("worlds"))
    try:
        yield running
    finally:
        running.leave()
        print(f"[containers] deployments brought up: {len(running.brought_up)} "
              f"({', '.join(running.brought_up)})", file=sys.stderr)


@pytest.fixture(scope="module")
def deployment(worlds: Worlds, request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """The running deployment of this module's world (`pytest.mark.world`), its Caddy's root
    certificate trusted meanwhile, in this process and in the scripts it runs."""
    marker = request.node.get_closest_marker("world")
    if marker is None:
        raise RuntimeError(f"{request.node.nodeid} uses `deployment` without pytest.mark.world")
    running = worlds.enter(str(marker.args[0]))
    assert running.ca_file is not None
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SSL_CERT_FILE", str(running.ca_file))
        yield running


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("containers")


@pytest.fixture(scope="module")
def trust(deployment: Deployment) -> Path:
    """The deployment's Caddy root certificate (trusted while `deployment` is in use)."""
    assert deployment.ca_file is not None
    return deployment.ca_file

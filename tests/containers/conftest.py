"""Fixtures for the container tests: images built once per session, deployments per module.

Every test here is marked `containers`. Missing tools fail the run in CI (scripts/test installs
them) and skip it elsewhere.
"""

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.containers import images
from tests.containers.compose import compose_command

TOOLS = ("podman", "mmdebstrap", "runc", "tor", "caddy")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.containers)
            # The first test also builds every image: about three minutes on a fresh machine.
            item.add_marker(pytest.mark.timeout(900))


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


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("containers")


@pytest.fixture(scope="module")
def trust(module_tmp: Path) -> Iterator[Path]:
    """Trust Caddy's root certificate, in this process and in the scripts it runs."""
    ca_file = module_tmp / "caddy-root.crt"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SSL_CERT_FILE", str(ca_file))
        yield ca_file

"""The onion subnet each world takes (tests/containers/worlds.py): never one the machine holds.

CI once failed all 19 container tests at `podman network create`: the `onion` network's fixed
subnet was held by something else on the machine (another test run's world, or one a killed run
left behind). Each world now picks a free /29 and, when podman refuses it anyway, another.
"""

import ipaddress
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.containers import worlds
from tests.containers.images import run


@pytest.fixture
def squatter(built_images: None) -> Iterator[tuple[str, ipaddress.IPv4Network]]:
    """A network of someone else's on a /29 that was free: what a second run's world holds."""
    subnet = worlds.free_onion_subnet(set())
    name = "pbsquatter" + secrets.token_hex(4)
    run(["podman", "network", "create", "--internal", "--subnet", str(subnet), name])
    try:
        yield name, subnet
    finally:
        run(["podman", "network", "rm", "--force", name], check=False)


def test_the_pick_skips_every_subnet_a_network_of_the_machine_holds(
        squatter: tuple[str, ipaddress.IPv4Network], monkeypatch: pytest.MonkeyPatch) -> None:
    _, held = squatter
    used = worlds.networks_in_use()
    assert any(held.overlaps(u) for u in used)
    pool = held.supernet(new_prefix=28)  # the held /29 and one other
    (other,) = [subnet for subnet in pool.subnets(new_prefix=29) if subnet != held]
    monkeypatch.setattr(worlds, "ONION_POOL", pool)
    if any(other.overlaps(u) for u in used):  # the neighbour happens to be taken too
        with pytest.raises(RuntimeError, match="is free on this machine"):
            worlds.free_onion_subnet(set())
    else:
        assert {worlds.free_onion_subnet(set()) for _ in range(20)} == {other}
        with pytest.raises(RuntimeError, match=f"no /29 of {pool} is free on this machine"):
            worlds.free_onion_subnet({other})
    assert worlds.onion_settings(held) == {
        "PLEDGEBOX_ONION_SUBNET": str(held), "PLEDGEBOX_ONION_CADDY_IP": str(held.network_address + 2)}


def test_a_world_takes_another_subnet_when_podman_refuses_the_one_it_picked(
        squatter: tuple[str, ipaddress.IPv4Network], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The held subnet picked first, as when another run's world takes it between the look and
    the `up`: podman refuses it, and the world comes up on another, serving through Caddy."""
    _, held = squatter
    real_pick = worlds.free_onion_subnet
    asked: list[set[ipaddress.IPv4Network]] = []

    def held_one_first(refused: set[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
        asked.append(set(refused))
        return held if not refused else real_pick(refused)

    monkeypatch.setattr(worlds, "free_onion_subnet", held_one_first)
    running = worlds.Worlds(tmp_path)
    try:
        deployment = running.enter("plain")  # `up` waits until it serves through Caddy
        subnet = ipaddress.IPv4Network(deployment.settings["PLEDGEBOX_ONION_SUBNET"])
        assert asked == [set(), {held}]
        assert not subnet.overlaps(held)
        assert f"podman refused the onion network {held}: trying another" in capsys.readouterr().err
        project_networks = run(["podman", "network", "ls", "--format", "{{.Name}}",
                                "--filter", f"label=io.podman.compose.project={deployment.project}"])
        assert f"{deployment.project}_onion" in project_networks.stdout.split()
    finally:
        running.leave()

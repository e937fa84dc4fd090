"""What a running container may do, read from the kernel's view of its first process."""

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tests.containers.compose import Deployment
from tests.containers.images import APP_TAG, run


@dataclass(frozen=True)
class Confinement:
    uid: int
    capabilities: dict[str, int]  # CapInh, CapPrm, CapEff, CapBnd, CapAmb as bit masks
    no_new_privs: bool
    read_only_root: bool
    wrote_to_root: bool


def confinement(deployment: Deployment, service: str) -> Confinement:
    container = deployment.container(service)
    status = deployment.podman("exec", container, "cat", "/proc/1/status")
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    sets = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
    caps = {name: int(fields[name].strip(), 16) for name in sets}
    inspect = json.loads(deployment.podman("inspect", container))[0]
    probe = run(["podman", "exec", container, "sh", "-c", "echo x > /pb-write-probe"], check=False)
    return Confinement(uid=int(fields["Uid"].split()[1]), capabilities=caps,
                       no_new_privs=fields.get("NoNewPrivs", "").strip() == "1",
                       read_only_root=bool(inspect["HostConfig"]["ReadonlyRootfs"]),
                       wrote_to_root=probe.returncode == 0)


def assert_all_confined(deployment: Deployment, services: Sequence[str]) -> None:
    """Each of `services`: not root, no capability in any set, no new privileges, a root filesystem
    it cannot write. Checked in order; their probes run side by side (each is a few podman
    commands that mostly wait on the container runtime)."""
    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        found = list(pool.map(lambda service: confinement(deployment, service), services))
    for service, seen in zip(services, found, strict=True):
        assert_found_confined(seen, service)


def routes_out(deployment: Deployment, services: Sequence[str]) -> list[str]:
    """Those of `services` whose network namespace has a default route, in order (probed side by side)."""
    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        routed = list(pool.map(lambda service: has_route_out(deployment, service), services))
    return [service for service, out in zip(services, routed, strict=True) if out]


def assert_found_confined(found: Confinement, service: str) -> None:
    """What assert_all_confined asks of one service, on what was found."""
    assert found.uid != 0, f"{service} runs as root"
    assert not any(found.capabilities.values()), f"{service} keeps capabilities: {found.capabilities}"
    assert found.no_new_privs, f"{service} may gain privileges"
    assert found.read_only_root, f"{service}'s root filesystem is not read-only"
    assert not found.wrote_to_root, f"{service} wrote to its root filesystem"


def connect_from(deployment: Deployment, service: str, host: str, port: int) -> str:
    """Try a TCP connection from inside `service`'s network namespace; what happened, in a word."""
    return connections_from(deployment, service, [(host, port)])[0]


CONNECT_EACH = """
import json, socket, sys
out = []
for host, port in json.loads(sys.argv[1]):
    try:
        socket.create_connection((host, port), timeout=5).close()
        out.append("connected")
    except OSError as exc:
        out.append(type(exc).__name__)
print(json.dumps(out))
"""


def connections_from(deployment: Deployment, service: str, targets: Sequence[tuple[str, int]]) -> list[str]:
    """connect_from for each of `targets` in turn, in order, each a connection of its own, from one
    probe container (a container start costs seconds; a refused connection, milliseconds)."""
    done = python_in_namespace_of(deployment, service, CONNECT_EACH, json.dumps(list(targets)))
    found = json.loads(done)
    assert len(found) == len(targets), (targets, found)
    return [str(word) for word in found]


def python_in_namespace_of(deployment: Deployment, service: str, code: str, *args: str,
                           env: tuple[str, ...] = (), timeout: float = 120) -> str:
    """Run `code` with the app image's Python inside `service`'s network namespace (as a process
    of that container would reach the network); its stdout."""
    container = deployment.container(service)
    pod = deployment.podman("inspect", container, "--format", "{{.Pod}}").strip()
    return run(["podman", "run", "--rm", *(["--pod", pod] if pod else []),
                "--network", f"container:{container}", "--tmpfs", "/data",
                *(arg for pair in env for arg in ("--env", pair)), APP_TAG,
                "python3", "-c", code, *args], timeout=timeout).stdout


def network_namespace(deployment: Deployment, service: str) -> str:
    """The kernel's name of `service`'s network namespace, e.g. net:[4026532781]."""
    return deployment.podman("exec", deployment.container(service), "readlink", "/proc/1/ns/net").strip()


def address_on(deployment: Deployment, service: str, network: str) -> str:
    name = f"{deployment.project}_{network}"
    return deployment.podman("inspect", deployment.container(service), "--format",
                             f'{{{{(index .NetworkSettings.Networks "{name}").IPAddress}}}}').strip()


def has_route_out(deployment: Deployment, service: str) -> bool:
    """Whether `service`'s network namespace has a default route (IPv4 or IPv6)."""
    container = deployment.container(service)
    ipv4 = deployment.podman("exec", container, "cat", "/proc/net/route").splitlines()[1:]
    ipv6 = run(["podman", "exec", container, "cat", "/proc/net/ipv6_route"], check=False).stdout.splitlines()
    default6 = "00000000000000000000000000000000 00 "
    return (any(line.split()[1] == "00000000" for line in ipv4 if line.split())
            or any(line.startswith(default6) and not line.rstrip().endswith("lo") for line in ipv6))

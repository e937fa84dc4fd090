"""Run the Pledgebox organizer tool from one file: `python3 pledgebox-VERSION.pyz app`.

This is the `__main__.py` of the single-file app that scripts/release builds. The file is a zip
archive holding the tool and its dependencies as wheels for several kinds of computer; this script
picks the wheels this Python can load, unpacks them once into a cache folder named after their
hashes (so a new release never mixes with an old one), and runs `pledgebox`. It uses the standard
library only: nothing is imported from the archive before its wheels are chosen, and nothing is
downloaded.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

WHEELS = "wheels/"
NEEDS = (3, 11)
# The old manylinux names and the glibc version each stands for (PEP 600).
LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


class NoBuildHere(Exception):
    """This file carries no build of a needed part for this computer."""


def main() -> int:
    if sys.version_info[:2] < NEEDS:
        print(f"Pledgebox needs Python {NEEDS[0]}.{NEEDS[1]} or newer; this is Python "
              f"{platform.python_version()}. Install a newer Python and run this file again.",
              file=sys.stderr)
        return 1
    archive = Path(__file__).resolve().parent
    try:
        site = unpack(archive, machine_here())
    except NoBuildHere as missing:
        print(f"{missing} Pledgebox runs on 64-bit Windows, macOS and Linux with Python 3.11 to 3.14; "
              "ask whoever gave you this file, or install it with pipx (docs/organizers.md).",
              file=sys.stderr)
        return 1
    sys.path[:0] = [str(site)]
    from organizer.cli import main as pledgebox  # noqa: PLC0415 (only importable once unpacked)

    return pledgebox()


def machine_here() -> dict[str, object]:
    """What decides which wheels load here: Python's minor version, the system, the CPU, the C library."""
    system = platform.system()
    arch = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "arm64" if system == "Darwin" else "aarch64"}.get(arch, arch)
    libc = (0, 0)
    if system == "Linux":
        found = (os.confstr("CS_GNU_LIBC_VERSION") or "") if hasattr(os, "confstr") else ""
        if found.startswith("glibc "):
            libc = tuple(int(p) for p in found.split()[1].split(".")[:2])  # type: ignore[assignment]
    macos = (0, 0)
    if system == "Darwin":
        macos = tuple(int(p) for p in (platform.mac_ver()[0] or "0.0").split(".")[:2])  # type: ignore[assignment]
    return {"minor": sys.version_info[1], "system": system, "arch": arch, "libc": libc,
            "macos": macos, "bits": 64 if sys.maxsize > 2**32 else 32}


def platform_fits(tag: str, machine: dict[str, object]) -> bool:
    if tag == "any":
        return True
    system, arch = machine["system"], machine["arch"]
    if system == "Linux" and machine["bits"] == 64 and tag.endswith("_" + str(arch)):
        head = tag[: -len(str(arch)) - 1]
        if head in LEGACY_MANYLINUX:
            return LEGACY_MANYLINUX[head] <= machine["libc"]  # type: ignore[operator]
        if head.startswith("manylinux_"):
            major, minor = head.split("_")[1:3]
            return (int(major), int(minor)) <= machine["libc"]  # type: ignore[operator]
    if system == "Darwin" and tag.startswith("macosx_"):
        major, minor, kind = tag.split("_", 3)[1:]
        kinds = {str(arch), "universal2"} | ({"intel", "universal"} if arch == "x86_64" else set())
        return kind in kinds and (int(major), int(minor)) <= machine["macos"]  # type: ignore[operator]
    if system == "Windows":
        return tag == {"x86_64": "win_amd64", "aarch64": "win_arm64"}.get(str(arch), "win32")
    return False


def python_fits(python: str, abi: str, minor: int) -> bool:
    for py in python.split("."):
        if abi == "none" and py in {"py3", f"py3{minor}", f"cp3{minor}"}:
            return True
        if abi == f"cp3{minor}" and py == f"cp3{minor}":
            return True
        if abi == "abi3" and py.startswith("cp3") and int(py[3:]) <= minor:
            return True
    return False


def wheel_fits(filename: str, machine: dict[str, object]) -> bool:
    python, abi, plat = filename[: -len(".whl")].split("-")[-3:]
    return (any(python_fits(python, a, int(machine["minor"])) for a in abi.split("."))  # type: ignore[call-overload]
            and any(platform_fits(p, machine) for p in plat.split(".")))


def choose(wheels: list[str], machine: dict[str, object]) -> list[str]:
    """One wheel of every distribution the file carries; a build for this machine before a generic one."""
    chosen: dict[str, str] = {}
    for name in sorted(wheels, key=lambda w: w.endswith("-any.whl")):
        distribution = name.split("-")[0].lower()
        if distribution not in chosen and wheel_fits(name, machine):
            chosen[distribution] = name
    missing = sorted({w.split("-")[0].lower() for w in wheels} - chosen.keys())
    if missing:
        raise NoBuildHere(f"This file carries no build of {', '.join(missing)} for this computer "
                          f"(Python 3.{machine['minor']} on {machine['system']} {machine['arch']}).")
    return sorted(chosen.values())


def unpack(archive: Path, machine: dict[str, object]) -> Path:
    """Unpack the chosen wheels once; the folder's name is a hash of what it holds."""
    with zipfile.ZipFile(archive) as bundle:
        names = [n[len(WHEELS):] for n in bundle.namelist() if n.startswith(WHEELS) and n.endswith(".whl")]
        picked = choose(names, machine)
        tag = hashlib.sha256("\n".join(f"{n}:{bundle.getinfo(WHEELS + n).CRC}" for n in picked).encode())
        home = cache_home() / f"app-{tag.hexdigest()[:20]}"
        if (home / ".complete").exists():
            return home
        home.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=home.parent))
        try:
            for name in picked:
                with bundle.open(WHEELS + name) as raw, zipfile.ZipFile(raw) as wheel:
                    for member in wheel.namelist():
                        if member.startswith(("/", "\\")) or ".." in Path(member).parts:
                            raise NoBuildHere(f"The part {name} in this file is damaged.")
                    wheel.extractall(scratch)
            (scratch / ".complete").touch()
            try:
                os.replace(scratch, home)
            except OSError:  # another run unpacked the same parts first
                shutil.rmtree(scratch, ignore_errors=True)
        finally:
            if scratch.exists():
                shutil.rmtree(scratch, ignore_errors=True)
    return home


def cache_home() -> Path:
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "pledgebox" / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pledgebox"


if __name__ == "__main__":
    sys.exit(main())

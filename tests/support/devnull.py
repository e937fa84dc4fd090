"""The host's /dev/null must stay the kernel's null device through every test: a guard.

Twice in the fifth session's full runs the host's /dev/null was a regular file owned by uid 10001
(the app image's user) after the container tests, and every later program writing to /dev/null as
another user failed (initdb in test_faults). The owner is explained and was reproduced: once
/dev/null is *any* regular file, the next container started or exec'd as uid 10001 makes it that
uid's, because conmon gives the container the host's /dev/null as stdin and runc (its
fixStdioPermissions) hands the container's user every stdio file that is not the null device. So
the owner names the last container started, not what replaced the device, which can be any test
that ran before it as root, or a process outside the run (docs/deploy.md, "How CI tests this").
Hence a guard on the whole suite, not only the container tests: every phase (setup, call,
teardown) of every test is checked before and after, the device is put back, and the phase that
found it broken fails, saying what the file held (its first bytes name its writer).
"""

import os
import stat
import time
from collections.abc import Generator
from pathlib import Path

import pytest

NULL_DEVICE = os.makedev(1, 3)


def damage(path: Path) -> str | None:
    """None while `path` is the null device (c 1 3); otherwise what it is instead ("missing", "a
    regular file (...)"), with what a regular file begins with (its writers' words name them)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "missing"
    if stat.S_ISCHR(st.st_mode) and st.st_rdev == NULL_DEVICE:
        return None
    kind = ("a regular file" if stat.S_ISREG(st.st_mode) else "a symbolic link" if stat.S_ISLNK(st.st_mode)
            else "a character device" if stat.S_ISCHR(st.st_mode) else "not a device")
    said = (f"{kind} (uid {st.st_uid}, gid {st.st_gid}, mode {stat.filemode(st.st_mode)}, "
            f"{st.st_size} bytes, changed {time.strftime('%H:%M:%S', time.gmtime(st.st_ctime))} UTC)")
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            said += f", beginning {f.read(160)!r}"
    return said


def restore(path: Path) -> str:
    """Put the null device back (root only); what was done, for the failure's message."""
    if os.geteuid() != 0:
        return f"not put back (needs root): mknod -m 666 {path} c 1 3"
    path.unlink(missing_ok=True)
    os.mknod(path, 0o666 | stat.S_IFCHR, NULL_DEVICE)
    os.chmod(path, 0o666)  # mknod's mode is cut by the umask
    return "put back as the null device"


class NullGuard:
    """A pytest plugin: checks `path` before and after each phase of each test and fails the
    phase that found it broken (after putting the device back, so later tests are unharmed)."""

    def __init__(self, path: Path = Path("/dev/null")) -> None:
        self.path = path

    def _guard(self, item: pytest.Item, phase: str) -> Generator[None, object, object]:
        before = damage(self.path)
        if before:
            done = restore(self.path)
            pytest.fail(f"{self.path} was {before} when the {phase} of {item.nodeid} began ({done}): "
                        "it was damaged between tests, or by a process outside this run", pytrace=False)
        try:
            return (yield)
        finally:
            after = damage(self.path)
            if after:
                done = restore(self.path)
                pytest.fail(f"The {phase} of {item.nodeid} left {self.path} {after} ({done}): "
                            "a test that damages the host fails", pytrace=False)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._guard(item, "setup"))

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._guard(item, "call"))

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None
                                ) -> Generator[None, object, object]:
        return (yield from self._guard(item, "teardown"))

"""The /dev/null guard (tests/support/devnull.py) fails the test phase that damaged the device and
puts it back. Checked on a null device of its own (made with mknod in a scratch folder), in a pytest
run of its own, so the host's /dev/null is never touched."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

INNER_TESTS = '''
import os
from pathlib import Path
import pytest

NULL = Path(os.environ["GUARDED"])

def test_leaves_it_alone():
    with open(NULL, "w") as f:
        f.write("written to the null device, as programs do")

def test_replaces_it_with_a_file_as_a_copy_out_would():
    NULL.unlink()
    NULL.write_text("sha256:0123 copied over the device")

def test_untouched_after_the_damage():
    pass

@pytest.fixture
def teardown_that_damages():
    yield
    NULL.unlink()

def test_damaged_by_a_fixture_teardown(teardown_that_damages):
    pass
'''


def null_device(path: Path) -> None:
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))


@pytest.fixture
def inner_run(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        message = "making a null device needs root (CI runs as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    guarded = tmp_path / "null"
    null_device(guarded)
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pytest.ini").write_text("[pytest]\n")
    (inner / "conftest.py").write_text(
        "import os\nfrom pathlib import Path\nfrom tests.support.devnull import NullGuard\n\n"
        "def pytest_configure(config):\n"
        "    config.pluginmanager.register(NullGuard(Path(os.environ['GUARDED'])), 'guard')\n")
    (inner / "test_inner.py").write_text(INNER_TESTS)
    return guarded


def test_the_phase_that_replaced_the_null_device_fails_and_it_is_put_back(inner_run: Path) -> None:
    env = {**os.environ, "GUARDED": str(inner_run), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-q",
                           str(inner_run.parent / "inner")], capture_output=True, text=True, env=env,
                          cwd=inner_run.parent / "inner", timeout=120, check=False)
    out = done.stdout
    assert done.returncode == 1, out
    assert "PASSED test_inner.py::test_leaves_it_alone" in out
    assert "PASSED test_inner.py::test_untouched_after_the_damage" in out  # repaired: no knock-on
    assert out.count("\nFAILED test_inner.py::") == 1, out
    assert out.count("\nERROR test_inner.py::") == 1, out
    assert (f"The call of test_inner.py::test_replaces_it_with_a_file_as_a_copy_out_would left {inner_run} "
            "a regular file (uid 0, gid 0, mode -rw-r--r--, 34 bytes, changed ") in out
    assert ("beginning b'sha256:0123 copied over the device' (put back as the null device): a test that "
            "damages the host fails") in out
    assert (f"The teardown of test_inner.py::test_damaged_by_a_fixture_teardown left {inner_run} missing "
            "(put back as the null device)") in out
    st = os.lstat(inner_run)
    assert stat.S_ISCHR(st.st_mode)
    assert st.st_rdev == os.makedev(1, 3)
    assert stat.S_IMODE(st.st_mode) == 0o666

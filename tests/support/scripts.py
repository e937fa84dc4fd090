"""The installed console scripts, as an organizer or operator runs them."""

import os
import shutil

import pytest


def console_script(name: str) -> str:
    """The path of `name`; in CI a missing script fails the test, elsewhere it skips it."""
    path = shutil.which(name)
    if path is None:
        message = f"the {name} console script is not installed (pip install -e .)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path

"""Which release this is: every page says it (a meta tag), so an organizer's page watch knows
which of the releases it carries a manifest for to compare the page with (docs/page-watch.md).

Kept equal to pyproject.toml's version by tests/unit/test_watch_manifest.py.
"""

RELEASE = "0.1.0"

"""`pledgebox`, the organizer's command-line face (docs/cli.md); organizer/app/ is the other face,
and both stand on the shared core in organizer/."""

from organizer.cli.pledgebox import build_parser, main

__all__ = ["build_parser", "main"]

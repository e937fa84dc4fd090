"""What the command modules share to declare their commands: the help layout, the date type, and
`add_command`, so every command's --help reads the same whichever module registers it."""

import argparse
from collections.abc import Callable
from datetime import date
from typing import Any


class HelpFormatter(argparse.HelpFormatter):
    """Wraps one-line descriptions to the terminal; keeps multi-line examples as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def iso_date(text: str) -> date:
    """A YYYY-MM-DD option, refused with an example of the shape when it is anything else."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2027-02-27") from None


def add_command(parent: Any, name: str, func: Callable[[argparse.Namespace], None],
                help_text: str, epilog: str | None = None) -> argparse.ArgumentParser:
    """One subcommand whose --help starts with the same sentence the command list shows."""
    p: argparse.ArgumentParser = parent.add_parser(
        name, help=help_text, description=help_text, epilog=epilog, formatter_class=HelpFormatter)
    p.set_defaults(func=func)
    return p

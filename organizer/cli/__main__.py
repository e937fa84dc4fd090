"""`python -m organizer.cli`: the same tool as the `pledgebox` command."""

import sys

from organizer.cli import main

sys.exit(main())

"""`python -m bot` is the same as the `stackprep` command."""

import sys

from bot.cli.entry import main

sys.exit(main())

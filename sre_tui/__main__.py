"""`python -m sre_tui` is the same as `sre-tui`."""

import sys

from sre_tui.cli import main

sys.exit(main())

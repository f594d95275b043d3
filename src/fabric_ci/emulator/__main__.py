"""`python -m fabric_ci.emulator`: run the emulator until Ctrl+C."""

import sys

from fabric_ci.emulator.cli import main

sys.exit(main())

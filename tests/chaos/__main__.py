"""`python -m tests.chaos`: the chaos run (make chaos)."""

import sys

from tests.chaos.harness import main

sys.exit(main())

"""`python -m fabric_ci <command>`: the same entrypoint as the `fabric-ci` script."""

import sys

from fabric_ci.cli import main

sys.exit(main())

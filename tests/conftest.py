"""Test collection across the suite."""

import os

# tests/image runs the built image in Docker: `make e2e-actions` builds the image, starts a daemon and
# runs these with FABRIC_CI_IMAGE set (.ci/run does it on every CI run). `make test` needs no Docker.
collect_ignore = [] if os.environ.get("FABRIC_CI_IMAGE") else ["image"]

# The job container act runs `runs-on: ubuntu-latest` in (`-P ubuntu-latest=...`): what the
# self-test workflow's run steps use, on the Debian layer docker/base-image.sh builds. GitHub's
# ubuntu-latest has all of it.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
# Debian bookworm's versions: a test runner, not a product image (hadolint DL3008 does not apply).
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends \
        bash ca-certificates curl git jq nodejs python3 docker.io \
    && rm -rf /var/lib/apt/lists/*

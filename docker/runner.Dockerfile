# The job container act runs `runs-on: ubuntu-latest` in (`-P ubuntu-latest=...`): what the
# self-test workflow's run steps use, on the Debian layer docker/base-image.sh builds. GitHub's
# ubuntu-latest has all of it.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends \
        bash ca-certificates curl git jq nodejs python3 docker.io \
    && rm -rf /var/lib/apt/lists/*

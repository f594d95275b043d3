# One image for every fabric-ci GitHub action (the root action.yml and each command folder build it
# with the repository root as context) and for Azure Pipelines container jobs.
#
# Deliberately absent:
#   ENTRYPOINT - each action.yml names `fabric-ci` itself; Azure Pipelines container jobs need an
#                image without one (the agent starts its own process in the container).
#   USER       - GitHub mounts the workspace and file-command files owned by the runner's user and
#                expects root in the container; another user cannot write GITHUB_OUTPUT.
#   WORKDIR    - GitHub sets the working directory to the workspace (/github/workspace) itself.
FROM python:3.12-slim

LABEL org.opencontainers.image.source="https://github.com/fabric-ci/fabric-ci" \
      org.opencontainers.image.description="fabric-ci: run Microsoft Fabric deployment pipelines from CI (GitHub Actions, Azure Pipelines, a terminal)" \
      org.opencontainers.image.licenses="MIT"

# Unbuffered, so workflow commands reach the log in order and at once; no .pyc files written at
# run time into a container that is thrown away.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# Dependencies first, each pinned by hash, in a layer that changes only with the lock. The lock
# also holds hatchling, so the package below builds without reaching for anything unpinned.
COPY requirements/runtime.lock /tmp/fabric-ci/runtime.lock
RUN pip install --no-cache-dir --require-hashes -r /tmp/fabric-ci/runtime.lock

COPY pyproject.toml README.md /tmp/fabric-ci/
COPY src/ /tmp/fabric-ci/src/
RUN pip install --no-cache-dir --no-deps --no-build-isolation /tmp/fabric-ci \
    && rm -rf /tmp/fabric-ci \
    && fabric-ci --version

CMD ["fabric-ci", "--help"]

# One image for every fabric-ci GitHub action (the root action.yml and each command folder build it
# with the repository root as context), for the Azure DevOps tasks' `runtime: docker`, and for the
# emulator as a service container (`--entrypoint fabric-ci-emulator`, configured by environment).
#
# Deliberately absent:
#   ENTRYPOINT - each action.yml names `fabric-ci` itself; Azure Pipelines container jobs need an
#                image without one (the agent starts its own process in the container).
#   USER       - GitHub mounts the workspace and file-command files owned by the runner's user and
#                expects root in the container; another user cannot write GITHUB_OUTPUT.
#   WORKDIR    - GitHub sets the working directory to the workspace (/github/workspace) itself.
#
# Build: `make image` (docker build with BuildKit). Behind a TLS-inspecting proxy, hand pip the
# proxy's CA as a BuildKit secret; it is mounted for one RUN and never stored in a layer:
#   DOCKER_BUILDKIT=1 docker build --secret id=ca-bundle,src=/path/to/ca.pem .

# The base: python:3.12-slim-bookworm (its multi-architecture index), pinned by digest so that every
# build starts from the same base. A literal FROM, not an ARG default, so that Dependabot sees and
# updates the digest.
# `make image` passes BASE_IMAGE, a stand-in built from Debian's packages, where no registry is
# reachable (docker/base-image.sh); BuildKit then never resolves this stage.
ARG BASE_IMAGE=python-base
FROM python:3.12-slim-bookworm@sha256:782412e85d0f0984994c290652577d4018aff08145c85b262bb63dc0c7522254 AS python-base

# --- build: the virtual environment, then everything that is not imported at run time removed ---
FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_CACHE_DIR=1
# Dependencies first, each pinned by hash, in a layer that changes only with the lock. The lock also
# holds hatchling, so the package below builds without reaching for anything unpinned.
COPY requirements/runtime.lock /src/requirements/runtime.lock
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && python -m venv --without-pip /opt/fabric-ci \
    && pip --python /opt/fabric-ci/bin/python install --require-hashes -r /src/requirements/runtime.lock
COPY pyproject.toml README.md /src/
COPY src/ /src/src/
# Build tools leave with the build stage. PyGithub and PyNaCl come with actions-toolkit, which
# fabric-ci uses only for workflow commands (actions_toolkit.core/command/file_command never import
# them), and no step ever loads them. pycparser is cffi's parser for building bindings; the bindings
# cryptography uses are compiled already. `pip check` would now name them; `fabric-ci --version` below
# and every action in `make e2e-actions` prove nothing imported is missing.
RUN pip --python /opt/fabric-ci/bin/python install --no-deps --no-build-isolation /src \
    && pip --python /opt/fabric-ci/bin/python uninstall --yes \
        hatchling editables pathspec pluggy tomlkit trove-classifiers packaging pygithub pynacl pycparser \
    && /opt/fabric-ci/bin/fabric-ci --version

# --- the image ---------------------------------------------------------------------------------
FROM ${BASE_IMAGE}
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.source="https://github.com/fabric-ci/fabric-ci" \
      org.opencontainers.image.title="fabric-ci" \
      org.opencontainers.image.description="fabric-ci: run Microsoft Fabric deployment pipelines from CI (GitHub Actions, Azure Pipelines, a terminal)" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# Unbuffered, so workflow commands reach the log in order and at once. No .pyc written at run time
# into a container that is thrown away: instead what fabric-ci imports from the standard library is
# compiled here, once. The base ships without its .pyc files, and compiling them cost about 0.7 s of
# every start (`make bench`: 1.43 s from `docker run` to the first request, 0.72 s compiled).
# Compiled: the standard-library modules that loaded while every fabric_ci module (never a
# __main__) was imported, a 4.1 MB layer where the whole standard library would be 5.6 MB.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/fabric-ci/bin:$PATH
COPY --from=build /opt/fabric-ci /opt/fabric-ci
RUN python -c "import importlib, pkgutil, py_compile, sys, sysconfig; import fabric_ci; \
[importlib.import_module(m.name) for m in pkgutil.walk_packages(fabric_ci.__path__, 'fabric_ci.') \
 if not m.name.endswith('__main__')]; \
stdlib = sysconfig.get_paths()['stdlib'] + '/'; \
[py_compile.compile(m.__file__, doraise=True) for m in list(sys.modules.values()) \
 if (getattr(m, '__file__', None) or '').startswith(stdlib) and m.__file__.endswith('.py')]"
CMD ["fabric-ci", "--help"]

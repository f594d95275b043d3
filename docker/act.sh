#!/usr/bin/env bash
# `make e2e-actions`, first half: the action self-test workflow (.github/workflows/actions.yml) run
# by nektos/act, the image built by `make image` standing in for every action's Dockerfile build.
#
#   docker/act.sh IMAGE
#
# act builds `runs.image: ../Dockerfile` without host networking, so pip cannot reach the package
# index inside it: the image is tagged as act names an action's image instead
# (act-<action path>-dockeraction:latest; act-dockeraction:latest for the root action) and act runs
# with --rebuild=false. Nothing is pulled (--pull=false): the runner image is built here too.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:?usage: docker/act.sh IMAGE}
docker=$(docker/dockerd.sh client)
act=${ACT:-.venv/bin/act}
runner=fabric-ci-local/act-runner:bookworm
debian=fabric-ci-local/python:3.12-slim-bookworm-debian

if ! "$docker" image inspect "$runner" >/dev/null 2>&1; then
    if ! "$docker" image inspect "$debian" >/dev/null 2>&1; then
        if "$docker" pull --quiet debian:bookworm-slim >/dev/null 2>&1; then debian=debian:bookworm-slim
        else DOCKER=$docker docker/base-image.sh "${debian%-debian}"; fi
    fi
    echo "e2e-actions: building the act runner image $runner"
    "$docker" build --quiet --network host --build-arg "BASE_IMAGE=$debian" -t "$runner" \
        -f docker/runner.Dockerfile docker >/dev/null
fi

for action in */action.yml action.yml; do
    folder=$(dirname "$action")
    name="act-dockeraction"
    [ "$folder" = . ] || name="act-$folder-dockeraction"
    "$docker" tag "$image" "$name:latest"
done

# The workflow gives the service `credentials:` (a private ghcr.io package on github.com); act cannot
# interpolate github.token without a GITHUB_TOKEN secret, and with --pull=false never logs in.
started=$(date +%s)
"$act" push --workflows .github/workflows/actions.yml --job self-test \
    --platform "ubuntu-latest=$runner" --pull=false --rebuild=false \
    --var "SELF_TEST_EMULATOR_IMAGE=$image" --var SELF_TEST_EMULATOR_HOSTNAME=localhost \
    --secret GITHUB_TOKEN=act-has-no-token
echo "e2e-actions: act ran the action self-test in $(( $(date +%s) - started )) s"

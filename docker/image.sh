#!/usr/bin/env bash
# `make image`: build the fabric-ci image from the project's Dockerfile.
#
#   docker/image.sh TAG
#
# The base is the Dockerfile's pinned BASE_IMAGE when this machine has it or can pull it; otherwise
# a stand-in built from Debian's packages (docker/base-image.sh), built once and reused. CA_BUNDLE,
# when set, is handed to pip as a BuildKit secret (a TLS-inspecting proxy's CA); it never reaches a
# layer of the image.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:?usage: docker/image.sh TAG}
docker=$(docker/dockerd.sh client)
pinned=$(sed -n 's/^FROM \(python:[^ ]*@sha256:[0-9a-f]*\) AS python-base$/\1/p' Dockerfile)
stand_in=fabric-ci-local/python:3.12-slim-bookworm
[ -n "$pinned" ] || { echo "image: no pinned base (FROM python:...@sha256:... AS python-base) in the Dockerfile" >&2; exit 1; }

if "$docker" image inspect "$pinned" >/dev/null 2>&1 || "$docker" pull --quiet "$pinned" >/dev/null 2>&1; then
    base=$pinned
else
    base=$stand_in
    if ! "$docker" image inspect "$base" >/dev/null 2>&1; then
        echo "image: $pinned cannot be pulled here; building a stand-in from Debian's packages"
        DOCKER=$docker docker/base-image.sh "$base"
    fi
fi

secret=()
if [ -n "${CA_BUNDLE:-}" ]; then secret=(--secret "id=ca-bundle,src=$CA_BUNDLE"); fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
DOCKER_BUILDKIT=1 "$docker" build --quiet --network host "${secret[@]}" \
    --build-arg "BASE_IMAGE=$base" --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
    -t "$tag" . >/dev/null
size=$("$docker" image inspect -f '{{.Size}}' "$tag")
base_size=$("$docker" image inspect -f '{{.Size}}' "$base")
awk -v t="$tag" -v b="$base" -v s="$size" -v bs="$base_size" \
    'BEGIN { printf "image: %s, %.1f MB (+%.1f MB over %s)\n", t, s / 1e6, (s - bs) / 1e6, b }'

#!/usr/bin/env bash
# A Docker daemon for `make image` and `make e2e-actions`, on a machine that may have none.
#
#   docker/dockerd.sh start   use the running daemon, or install Debian's docker.io and start one
#   docker/dockerd.sh stop    stop the daemon this script started (by its PID), nothing else
#   docker/dockerd.sh client  print the docker client to build with
#
# The daemon started here has no default bridge and no iptables rules (--bridge=none,
# --iptables=false: these machines allow neither); containers use --network host or a user-defined
# bridge network, which is also how GitHub's runner connects a job's containers.
set -euo pipefail
cd "$(dirname "$0")/.."
state=.cache/docker
pidfile=$state/dockerd.pid

# A client that builds with BuildKit (RUN --mount=type=secret needs it): `docker` with the buildx
# plugin, or Debian's 20.10 client, which has BuildKit built in. A newer client without buildx (as
# on these machines in /usr/local/bin) refuses DOCKER_BUILDKIT=1.
client() {
    if docker buildx version >/dev/null 2>&1; then echo docker
    elif [ -x /usr/bin/docker ] && /usr/bin/docker version --format '{{.Client.Version}}' 2>/dev/null | grep -q '^20\.'; then
        echo /usr/bin/docker
    else echo docker
    fi
}

running() { "$(client)" info >/dev/null 2>&1; }

case "${1:-}" in
start)
    if running; then exit 0; fi
    if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null || [ ! -x /usr/bin/docker ]; then
        echo "dockerd.sh: installing Docker and debootstrap from Debian's packages ..."
        sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            docker.io containerd runc iptables debootstrap binutils >/dev/null
    fi
    mkdir -p "$state"
    # setsid: the daemon outlives this shell and make, and is stopped by `stop` alone.
    setsid dockerd --storage-driver=overlay2 --iptables=false --ip-masq=false --bridge=none \
        --pidfile "$PWD/$pidfile.dockerd" >"$state/dockerd.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 1 60); do
        if running; then echo "dockerd.sh: dockerd started (PID $(cat "$pidfile"), log $state/dockerd.log)"; exit 0; fi
        sleep 0.5
    done
    echo "dockerd.sh: dockerd did not answer within 30 s; its log:" >&2
    tail -20 "$state/dockerd.log" >&2
    exit 1
    ;;
stop)
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        echo "dockerd.sh: dockerd (PID $pid) stopped"
    fi
    rm -f "$pidfile"
    ;;
client) client ;;
*) echo "usage: docker/dockerd.sh start|stop|client" >&2; exit 2 ;;
esac

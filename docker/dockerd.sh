#!/usr/bin/env bash
# A Docker daemon for `make image` and `make e2e-actions`, on a machine that may have none.
#
#   docker/dockerd.sh start   use the running daemon, or install Debian's docker.io and start one
#   docker/dockerd.sh stop    stop the daemon this script started (by its PID), nothing else
#   docker/dockerd.sh client  print the docker client to build with
#   docker/dockerd.sh install PACKAGE...  apt-get install them (root, or sudo)
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

# Debian's packages, installed once where missing: the daemon (and the 20.10 client), and what
# docker/base-image.sh builds the offline base with.
install() {
    sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    echo "dockerd.sh: installing $* from Debian's packages ..."
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The PID in the pidfile, if it is still the dockerd this script started (a stale file after a
# reboot may name another process by now).
ours() {
    [ -f "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]
}

case "${1:-}" in
start)
    if running; then exit 0; fi
    if [ -S /var/run/docker.sock ] && ! [ -w /var/run/docker.sock ]; then
        echo "dockerd.sh: a Docker daemon is there but $(id -un) may not use it (/var/run/docker.sock): join the docker group" >&2
        exit 1
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "dockerd.sh: no Docker daemon answers, and starting one needs root: start Docker, or run as root" >&2
        exit 1
    fi
    if ! command -v dockerd >/dev/null || [ ! -x /usr/bin/docker ]; then install docker.io containerd runc iptables; fi
    mkdir -p "$state"
    # setsid: the daemon outlives this shell and make, and is stopped by `stop` alone. Its own
    # pidfile is kept here too, so that it never takes the system daemon's /var/run/docker.pid.
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
    if ! ours; then rm -f "$pidfile"; exit 0; fi
    kill "$pid"
    # dockerd gives its containers 15 s to stop before it exits itself.
    for _ in $(seq 1 120); do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$pidfile"
            echo "dockerd.sh: dockerd (PID $pid) stopped"
            exit 0
        fi
        sleep 0.25
    done
    echo "dockerd.sh: dockerd (PID $pid) is still running 30 s after SIGTERM; its log: $state/dockerd.log" >&2
    exit 1
    ;;
client) client ;;
install) shift; install "$@" ;;
*) echo "usage: docker/dockerd.sh start|stop|client|install PACKAGE..." >&2; exit 2 ;;
esac

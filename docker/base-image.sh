#!/usr/bin/env bash
# Build a stand-in for the Dockerfile's base image (python:3.12-slim-bookworm) from Debian's packages
# and this machine's CPython 3.12, for machines that reach Debian's mirror and PyPI but no container
# registry (the CI machines). On a machine that can pull the pinned base, `make image` never runs this.
#
#   docker/base-image.sh TAG
#
# Leaves TAG (the Python base) and TAG-debian (the Debian layer alone, which the act runner image in
# docker/runner.Dockerfile builds on).
#
# Two layers, as Docker Hub's images are built:
#   1. debian:bookworm-slim: debootstrap --variant=minbase, plus what Docker Hub's slim images carry
#      and minbase lacks. Without the apt/dpkg clean-up configuration the first `apt-get install`
#      layer above it is about 100 MB instead of 14 MB.
#   2. python:3.12-slim-bookworm: the interpreter copied into /usr/local and cleaned the way
#      docker-library/python does (no tests, tkinter, idle, *.pyc, libpython*.a; stripped), its
#      runtime libraries from apt, and pip from ensurepip's own wheel.
#
# Trap (why pip comes from ensurepip): the pip installed on these machines trusts their TLS proxy (a
# CA appended to its certifi bundle, and a .pth file in site-packages). Copying it would make an image
# build pass here that fails for a user behind a corporate proxy; site-packages is left behind whole.
set -euo pipefail

tag=${1:?usage: docker/base-image.sh TAG}
docker=${DOCKER:-docker}
python_version=${BASE_PYTHON_VERSION:-3.12}
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The interpreter to copy: $BASE_PYTHON, else pyenv's newest $python_version, else python$python_version on PATH
# (a pyenv shim there fails unless that version is selected, hence pyenv's folder first).
python=${BASE_PYTHON:-}
if [ -z "$python" ] && command -v pyenv >/dev/null; then
    python=$(find "$(pyenv root)/versions" -maxdepth 3 -path "*/versions/$python_version.*/bin/python$python_version" \
        2>/dev/null | sort -V | tail -1)
fi
python=${python:-$(command -v "python$python_version" || true)}
if [ -z "$python" ] || ! python_prefix=$("$python" -c 'import sys; print(sys.base_prefix)' 2>/dev/null); then
    echo "docker/base-image.sh: no CPython $python_version on this machine to copy; set BASE_PYTHON to one" >&2
    exit 1
fi
# docker-library's images are built --enable-shared (libpython in /usr/local/lib); a static build
# would work too, but is not what the Dockerfile's base is.
if ! compgen -G "$python_prefix/lib/libpython3*.so.1.0" >/dev/null; then
    echo "docker/base-image.sh: $python is not a shared-library build (no $python_prefix/lib/libpython3*.so.1.0); set BASE_PYTHON to one built with --enable-shared" >&2
    exit 1
fi
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v strip >/dev/null || missing+=(binutils)
[ ${#missing[@]} = 0 ] || "$(dirname "$0")/dockerd.sh" install "${missing[@]}"

echo "base image: debootstrap $suite (minbase) ..."
rootfs=$work/rootfs
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }

# What debian:*-slim carries (docker-library/debian's rootfs tweaks).
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
echo 'Acquire::GzipIndexes "true";' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'APT::AutoRemove::SuggestsImportant "false";' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CONF
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/usr/share/doc/*/changelog* "$rootfs"/usr/share/man/* \
    "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
"$docker" import --change 'CMD ["bash"]' - "$tag-debian" < <(tar -C "$rootfs" --numeric-owner -c .) >/dev/null

echo "base image: CPython $python_version from $python_prefix ..."
py=$work/python/usr/local
mkdir -p "$py/bin" "$py/lib" "$py/include"
cp -a "$python_prefix/lib/python$python_version" "$py/lib/"
cp -a "$python_prefix"/lib/libpython3*.so* "$py/lib/"
cp -a "$python_prefix/include/python$python_version" "$py/include/"
cp -a "$python_prefix/bin/python$python_version" "$py/bin/"
stdlib=$py/lib/python$python_version
rm -rf "$stdlib"/site-packages/* "$stdlib"/test "$stdlib"/*/test "$stdlib"/*/tests "$stdlib"/idlelib \
    "$stdlib"/tkinter "$stdlib"/turtledemo "$stdlib"/lib-dynload/_tkinter* "$stdlib"/config-*/libpython*.a
find "$py" -depth -type d -name __pycache__ -exec rm -rf {} +
find "$py" -type f -name '*.py[co]' -delete
find "$py" -type f \( -name '*.so' -o -name '*.so.*' -o -name "python$python_version" \) -exec strip --strip-unneeded {} +
(cd "$py/bin" && ln -s "python$python_version" python3 && ln -s python3 python)

cat >"$work/python/Dockerfile" <<DOCKERFILE
FROM $tag-debian
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 PYTHON_VERSION=$("$python" -c 'import platform; print(platform.python_version())')
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates netbase tzdata \\
        libssl3 libffi8 libsqlite3-0 libbz2-1.0 liblzma5 zlib1g libncursesw6 libreadline8 libuuid1 libexpat1 \\
    && rm -rf /var/lib/apt/lists/*
COPY usr/ /usr/
RUN ldconfig \\
    && python3 -m ensurepip --default-pip \\
    && (cd /usr/local/bin && ln -sf pip3 pip) \\
    && find /usr/local -depth -type d -name __pycache__ -exec rm -rf {} + \\
    && python3 --version && pip --version
CMD ["python3"]
DOCKERFILE
"$docker" build --quiet --network host -t "$tag" "$work/python" >/dev/null
echo "base image: $tag"

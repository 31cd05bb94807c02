#!/bin/sh
# Installs what eqlite needs on Debian 12 (only what is missing), then builds.
# Usage: scripts/setup.sh [BUILD_DIR] [meson options...]
set -eu
cd "$(dirname "$0")/.."
PACKAGES="build-essential pkg-config meson ninja-build re2c lemon libcriterion-dev libpcre2-dev
          libutf8proc-dev libsimdjson-dev zlib1g-dev libyaml-dev libtoml11-dev scdoc libevtx-dev libbfio-dev
          python3 python3-yaml gzip libevtx-utils python3-evtx libnats-dev nats-server
          ${EQLITE_EXTRA_PACKAGES:-}"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
BUILD=${1:-build}
[ $# -gt 0 ] && shift
if [ ! -d "$BUILD" ]; then
    meson setup "$BUILD" --buildtype=release "$@" >/dev/null
elif [ $# -gt 0 ]; then
    meson configure "$BUILD" "$@" >/dev/null # options given now apply to a directory made before
fi
ninja -C "$BUILD" >/dev/null
echo "built $BUILD"

#!/bin/sh
# Installs the Debian packages that building and testing detour need.
# Idempotent: installs only what is missing, and only when run as root.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev libpcre2-dev libcurl4-openssl-dev libssl-dev
libcmocka-dev python3 python3-pytest curl openssl graphviz libjansson-dev libsqlite3-dev scdoc
tzdata pebble haproxy chromium libnss3-tools strace
libnghttp2-dev nghttp2-client libvectorscan-dev libhiredis-dev redis-server redis-sentinel
libgumbo-dev libpsl-dev libidn2-dev publicsuffix h2o apache2 nginx libtomlplusplus-dev g++
libxml2-dev zlib1g-dev wget caddy wrk valgrind"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing

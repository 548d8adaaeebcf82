#!/usr/bin/env bash
# Installs the Debian packages tcpscope needs that are missing.
#   scripts/deps.sh build   - to build and run
#   scripts/deps.sh test    - to build and run every test suite
set -euo pipefail

build_pkgs=(meson ninja-build gcc pkg-config libc6-dev liburing-dev libinih-dev libhiredis-dev libmicrohttpd-dev librdkafka-dev libsystemd-dev libcap-dev)
test_pkgs=(python3 iproute2 clang libclang-rt-14-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler strace redis-server prometheus curl kcat)
# tests/service: systemd-analyze (systemd), setpriv (util-linux), the
# Debian package's build and lint
test_pkgs+=(systemd util-linux debhelper dpkg-dev lintian)
build_pkgs+=(libnats-dev) test_pkgs+=(nats-server) # nats:// and its tests

case "${1:-build}" in
build) want=("${build_pkgs[@]}") ;;
test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "tcpscope: missing Debian packages: ${missing[*]}" >&2
	echo "tcpscope: run as root, or: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "tcpscope: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/bin/sh
# Install what kura needs to build, run and test, from Debian packages only.
# Idempotent: installs only packages that are missing, and does nothing when all are there.
# Usage: scripts/deps.sh [--test]   (--test adds the peers the test suite talks to)
set -eu

build_pkgs="build-essential cmake pkg-config
libmicrohttpd-dev libgnutls28-dev gnutls-bin libsodium-dev libsqlite3-dev libjansson-dev
libcurl4-gnutls-dev libinih-dev"
test_pkgs="libcmocka-dev python3 python3-aiosmtpd curl"

pkgs=$build_pkgs
if [ "${1:-}" = "--test" ]; then pkgs="$pkgs $test_pkgs"; fi

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing

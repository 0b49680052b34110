#!/bin/sh
# Install what kura needs to build, run and test, from Debian packages only.
# Idempotent: installs only what is missing, and does nothing when everything is there.
# Usage: scripts/deps.sh [--test]   (--test adds the peers the test suite talks to)
set -eu

# libssl-dev: libcrypto, whose AES-256-GCM seals file contents (src/crypto/filecrypt.c).
build_pkgs="build-essential cmake pkg-config
libmicrohttpd-dev libgnutls28-dev gnutls-bin libsodium-dev libsqlite3-dev libjansson-dev
libcurl4-gnutls-dev libinih-dev liboath-dev libqrencode-dev libfido2-dev libcbor-dev libssl-dev
libxml2-dev libutf8proc-dev libseccomp-dev libpq-dev"
# Test peers: a real SMTP server (aiosmtpd), oathtool for TOTP codes, Chromium driven by
# playwright-core (npm, tests/browser) for WebAuthn; litmus, cadaver and rclone for WebDAV
# (tests/integration/test_dav.c). The WebDAV benchmark peers (apache2, nginx) come with bench/webdav.sh;
# bench/peers.sh installs its own (nginx, libnginx-mod-http-dav-ext, rclone, wrk) the same way.
# No sqlite3 command: the tests look through the API and kura admin, not into kura.db (issue 12).
# fonts-noto-cjk: Japanese text in Chromium, for screenshots of the pages (docs/HACKING.md).
# prometheus: promtool checks /metrics (tests/integration/test_metrics.c); systemd:
# systemd-analyze rates contrib/kura.service (tests/contrib/systemd_analyze.sh).
# The S3 blob backend's peer is s3rver (npm, tests/s3; Node.js as for tests/browser): Debian 12
# has no S3-compatible server but radosgw, which needs a running Ceph cluster.
test_pkgs="libcmocka-dev python3 python3-aiosmtpd curl oathtool chromium litmus cadaver rclone
fonts-noto-cjk prometheus systemd"
# testssl.sh: the TLS check of kura serve (ctest contrib/testssl, tests/contrib/testssl.sh)
test_pkgs="$test_pkgs testssl.sh"
# The fuzz corpus replay (scripts/test-fuzz.sh) builds the libFuzzer targets with clang; its
# sanitizer and libFuzzer runtime is only a recommendation of clang on Debian 12.
test_pkgs="$test_pkgs clang libclang-rt-14-dev"
# postgresql-15: the integration suites run a second time on PostgreSQL (integration-pg/*,
# issue 10); the harness runs its own initdb and postgres from /usr/lib/postgresql/15/bin.
# pg_trgm (the name-search index) ships in postgresql-15 itself on Debian 12. libpq-dev (build):
# kura's PostgreSQL backend, src/store/db_pg.c.
test_pkgs="$test_pkgs postgresql-15"
# haproxy: the two-node topology of the integration harness (integration-2n/*, test_two_nodes;
# KURA_IT_TOPOLOGY=2nodes): two kura nodes behind it, as docs/scale-out.md configures it.
test_pkgs="$test_pkgs haproxy"

pkgs=$build_pkgs
if [ "${1:-}" = "--test" ]; then pkgs="$pkgs $test_pkgs"; fi

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
# Node.js may come from Debian or from the machine's own install; only add it when absent.
if [ "${1:-}" = "--test" ] && ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing

#!/usr/bin/env bash
# Runs golemproxy's whole test suite: unit tests and the tests against real memcached,
# redis-server and nutcracker processes on 127.0.0.1 (installed first if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build "$@"
# The Debian package: build, lintian, install, run as the unit would, purge.
scripts/package-test.sh
# libFuzzer on the request framer, the reply parser and the config loader, 30 s each.
scripts/fuzz.sh 30

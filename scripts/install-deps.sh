#!/usr/bin/env bash
# Installs, with apt, every Debian package that building golemproxy and running its
# tests needs: the C libraries it links, the real servers the tests start
# (memcached, redis-server, Debian's nutcracker for side-by-side checks, memccapable),
# and the tools that build and check the Debian package (scripts/package-test.sh).
set -euo pipefail

packages=(libevent-dev libyaml-dev pkgconf memcached redis-server nutcracker libmemcached-tools iproute2
    dpkg-dev debhelper fakeroot lintian systemd)

# From PyPI: the Prometheus test parses /metrics with the reference parser, and the
# Redis tests drive the proxy with redis-py.
if ! python3 -c 'import prometheus_client' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check prometheus_client
fi
if ! python3 -c 'import redis' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check redis
fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
    exit 0
fi

sudo=()
if [ "$(id -u)" != 0 ]; then sudo=(sudo); fi
echo "installing: ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
# Packaged services must not grab their default ports on a dev box; the tests start
# their own instances on free loopback ports.
echo 'exit 101' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
"${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
trap '"${sudo[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

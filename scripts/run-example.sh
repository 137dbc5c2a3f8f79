#!/usr/bin/env bash
# Installs what golemproxy needs, builds it, starts two memcached and two redis-server
# processes on loopback and runs golemproxy in the foreground on
# examples/golemproxy.yml (memcache on 127.0.0.1:22121, Redis on 127.0.0.1:22122).
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
user=()
if [ "$(id -u)" = 0 ]; then user=(-u nobody); fi  # memcached refuses to run as root
for port in 11212 11213; do
    memcached "${user[@]}" -l 127.0.0.1 -p "$port" -U 0 -m 64 &
    pids+=($!)
done
for port in 6380 6381; do
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize no >/dev/null &
    pids+=($!)
done
bin="$(swift build -c release --show-bin-path)"
"$bin/golemproxy" -t -c examples/golemproxy.yml
echo "golemproxy: memcache on 127.0.0.1:22121 (try: printf 'set k 0 0 1\r\nv\r\nget k\r\n' | nc -q1 127.0.0.1 22121)," >&2
echo "  Redis on 127.0.0.1:22122 (try: redis-cli -p 22122 mset a 1 b 2 && redis-cli -p 22122 mget a b), stats on 127.0.0.1:22222" >&2
"$bin/golemproxy" -c examples/golemproxy.yml -a 127.0.0.1 "$@"

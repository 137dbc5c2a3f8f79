#!/usr/bin/env bash
# Fuzzes golemproxy's parsers with libFuzzer: the memcache request framer, the memcache
# reply line parser, the config loader and the RESP request and reply framers
# (Sources/GolemFuzz). Each target runs for
# SECONDS (default 60) on a copy of its seed corpus (Fuzz/corpus/<target>); a crash
# leaves its input in Fuzz/crashes/ and fails the script. Replay a crash with
#   GOLEM_FUZZ_TARGET=<target> .build-fuzz/debug/golem-fuzz Fuzz/crashes/<file>
# and add the input to Fuzz/corpus/<target>, which the test suite replays.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
swift build --product golem-fuzz --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DGOLEM_LIBFUZZER \
    -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
binary="$(swift build --scratch-path .build-fuzz --show-bin-path)/golem-fuzz"
mkdir -p Fuzz/crashes
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
for target in request response config redis-request redis-reply; do
    cp -r "Fuzz/corpus/$target" "$work/$target"
    echo "fuzz: $target for ${seconds}s" >&2
    if ! SWIFT_BACKTRACE=enable=no GOLEM_FUZZ_TARGET="$target" "$binary" -max_total_time="$seconds" -max_len=4096 \
        -artifact_prefix="Fuzz/crashes/$target-" "$work/$target" > "$work/$target.log" 2>&1; then
        echo "fuzz: $target FAILED; see Fuzz/crashes/ and:" >&2
        tail -30 "$work/$target.log" >&2
        status=1
    else
        echo "fuzz: $target ok ($(grep -o 'Done [0-9]* runs' "$work/$target.log" | tail -1))" >&2
    fi
done
exit $status

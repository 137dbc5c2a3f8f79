#!/usr/bin/env bash
# Checks the Debian package end to end, as root, on this machine:
#   1. builds it with dpkg-buildpackage in a temporary copy of the tree (nothing is
#      written into the repository or next to it, and no earlier .deb is reused);
#   2. runs lintian (no errors, no warnings) and checks the binary needs no Swift runtime;
#   3. installs it with dpkg -i and checks its files, the golemproxy user, the mode of
#      /etc/golemproxy, the man page, systemd-analyze verify and security (<= 2.0);
#   4. runs golemproxy -t on the example configs, then starts the daemon the way
#      golemproxy.service would (its ExecStartPre and ExecStart lines, DAEMON_OPTS from
#      /etc/default/golemproxy, as user golemproxy; systemd need not be PID 1), sends a
#      set and a get through it to a memcached this script starts on a free loopback
#      port, sends SIGHUP, stops it with SIGTERM and expects exit status 0;
#   5. purges the package (also when a step fails) and checks that it is gone.
# Ends with one line: "package-test: PASS ..." (exit 0) or "package-test: FAIL: ..." (exit 1).
# DEB_BUILD_OPTIONS defaults to "nocheck parallel=<cpus>", with the nocheck build profile
# (scripts/test.sh runs the test suite itself); the Swift toolchain comes from PATH or
# SWIFT_BIN (debian/README.source).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

failure=""
step=""
tmp=""
installed=no
memcached_pid=""
daemon_pid=""
child_pid=""
config=/etc/golemproxy/golemproxy.yml
probe=/etc/golemproxy/package-test-probe.yml
runtime_dirs=()

say() { echo "package-test: $*" >&2; }
fail() {
    failure="$*"
    exit 1
}
begin() {
    step="$*"
    say "$step"
}

# True while the process is running (a zombie counts as stopped).
alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# Stops a process this script started: SIGTERM, then SIGKILL after 5 s.
stop_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        alive "$pid" || break
        sleep 0.1
    done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
}

# Stops a long command started by run_long: timeout(1) leads its own process group
# and passes SIGTERM on to it; whatever is left of the group after 10 s is killed.
stop_group() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 -- "-$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    set +e
    trap - EXIT INT TERM
    # A signal may arrive inside a redirected command: report on the script's own output.
    exec 1>&8 2>&9
    stop_group "$child_pid"
    stop_pid "$daemon_pid"
    stop_pid "$memcached_pid"
    if [ "$installed" = yes ]; then
        rm -f "$config" "$probe"
        for dir in "${runtime_dirs[@]}"; do rm -rf "/run/$dir"; done
        if ! dpkg --purge golemproxy >"$tmp/purge.log" 2>&1; then
            cat "$tmp/purge.log" >&2
            [ -n "$failure" ] || failure="dpkg --purge golemproxy failed"
            status=1
        fi
    fi
    if ((status != 0)) && [ -s "${tmp:-/nonexistent}/daemon.log" ]; then
        say "golemproxy's standard error:"
        sed 's/^/    /' "$tmp/daemon.log" >&2
    fi
    [ -n "$tmp" ] && rm -rf "$tmp"
    if ((status == 0)); then
        echo "package-test: PASS: $summary"
    else
        echo "package-test: FAIL: ${failure:-step failed: $step}"
        status=1
    fi
    exit "$status"
}
summary=""
exec 8>&1 9>&2
trap cleanup EXIT
trap 'failure="interrupted during: $step"; exit 1' INT TERM

# Runs a long command (build, lintian) under timeout(1) in the background and waits
# for it, so that SIGINT/SIGTERM reach the trap at once; cleanup stops its process group.
run_long() {
    timeout "$@" &
    child_pid=$!
    local rc=0
    wait "$child_pid" || rc=$?
    child_pid=""
    return "$rc"
}

# A TCP port on 127.0.0.1 that nothing listens on (and not already picked), below the
# kernel's ephemeral range: a port inside it can be taken by any outgoing connection
# between this check and the bind (seen once: the stats port was).
picked=" "
ephemeral_low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % (ephemeral_low - 20000)))
        case "$picked" in *" $port "*) continue ;; esac
        if [ -z "$(ss -Hltn "sport = :$port")" ]; then
            picked+="$port "
            echo "$port"
            return 0
        fi
    done
    fail "no free TCP port found"
}

# Waits (at most 10 s) until 127.0.0.1:$1 accepts connections and $2 is still running.
wait_port() {
    for _ in $(seq 100); do
        alive "$2" || return 1
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

# Sends $2 (printf format) to 127.0.0.1:$1 and prints everything read back until the
# peer closes (the requests end with "quit"); at most 5 s.
converse() {
    timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" && printf "$1" >&3 && cat <&3' "$1" "$2"
}

# Runs a command as the unit's user with the unit's limits, in a clean environment
# holding the unit's EnvironmentFile variables: what systemd does (minus the sandbox).
as_service() {
    umask "$unit_umask"
    ulimit -n "$unit_nofile"
    exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        "${unit_env[@]}" \
        setpriv --reuid="$unit_user" --regid="$unit_group" --clear-groups --no-new-privs \
        --inh-caps=-all --bounding-set=-all -- "$@"
}

# One command line of the unit (ExecStartPre=, ExecStart=), split into words as systemd
# splits it: "$NAME" becomes the variable's words, "${NAME}" its value as one word.
unit_command() {
    local key=$1 line word name value
    local -
    set -f
    line=$(sed -n "s/^$key=//p" "$unit")
    [ -n "$line" ] || fail "$unit has no $key="
    [ "$(printf '%s\n' "$line" | wc -l)" = 1 ] || fail "$unit has more than one $key="
    case "$line" in
        [-@+!:]*) fail "$key= has a prefix this test does not emulate: $line" ;;
    esac
    command_words=()
    for word in $line; do
        case "$word" in
            \$[A-Za-z_]*)
                name=${word#\$}
                value=$(env_value "$name")
                for value in $value; do command_words+=("$value"); done
                ;;
            *\$\{*)
                name=${word#*\$\{}
                name=${name%%\}*}
                command_words+=("${word/\$\{$name\}/$(env_value "$name")}")
                ;;
            *) command_words+=("$word") ;;
        esac
    done
}
env_value() {
    local entry
    for entry in "${unit_env[@]}"; do
        if [ "${entry%%=*}" = "$1" ]; then
            printf '%s' "${entry#*=}"
            return 0
        fi
    done
}
unit_setting() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (dpkg -i, a system user)"

begin "installing build and test dependencies"
scripts/install-deps.sh

status=$(dpkg-query -W -f='${db:Status-Status}' golemproxy 2>/dev/null || true)
if [ -n "$status" ] && [ "$status" != not-installed ]; then
    fail "golemproxy is already on this machine ($status); purge it first: dpkg --purge golemproxy"
fi
if [ -n "${SWIFT_BIN:-}" ]; then
    [ -x "$SWIFT_BIN/swift" ] || fail "SWIFT_BIN=$SWIFT_BIN has no swift"
else
    command -v swift >/dev/null || fail "swift is not on PATH (or set SWIFT_BIN)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/golemproxy-package-test.XXXXXX")
chmod 0755 "$tmp"

begin "copying the source tree to $tmp/src"
mkdir -p "$tmp/src/golemproxy"
tar -C "$repo" --exclude=./.git --exclude='./.build*' --exclude='./debian/.build-*' \
    --exclude=./debian/.debhelper --exclude=./debian/golemproxy --exclude='*.deb' -cf - . |
    tar -C "$tmp/src/golemproxy" -xf -

begin "building the package (dpkg-buildpackage -b -us -uc)"
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS-nocheck parallel=$(nproc)}"
case " $DEB_BUILD_OPTIONS " in *" nocheck "*) export DEB_BUILD_PROFILES="${DEB_BUILD_PROFILES:-nocheck}" ;; esac
if ! run_long 3600 env -C "$tmp/src/golemproxy" dpkg-buildpackage -b -us -uc >"$tmp/build.log" 2>&1; then
    tail -n 40 "$tmp/build.log" >&2
    fail "dpkg-buildpackage failed (last lines above)"
fi
version=$(cd "$tmp/src/golemproxy" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
deb="$tmp/src/golemproxy_${version}_${arch}.deb"
changes="$tmp/src/golemproxy_${version}_${arch}.changes"
[ -f "$deb" ] || fail "dpkg-buildpackage did not produce $(basename "$deb")"
say "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"

begin "checking the package's dependencies"
depends=$(dpkg-deb -f "$deb" Depends)
say "Depends: $depends"
case "$depends" in *swift*) fail "Depends names a Swift package: $depends" ;; esac
for lib in libc6 libevent-core-2.1-7 libevent-pthreads-2.1-7 libyaml-0-2; do
    case "$depends" in *"$lib"*) ;; *) fail "Depends lacks $lib (dh_shlibdeps): $depends" ;; esac
done

begin "running lintian"
lintian_status=0
run_long 900 lintian --fail-on error,warning "$changes" >"$tmp/lintian.log" 2>&1 || lintian_status=$?
grep -v '^running with root privileges' "$tmp/lintian.log" >&2 || true
if ((lintian_status != 0)) || grep -q '^[EW]: ' "$tmp/lintian.log"; then
    fail "lintian reports errors or warnings (exit $lintian_status)"
fi

begin "installing with dpkg -i"
installed=yes
dpkg -i "$deb" >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2
    fail "dpkg -i failed"
}

begin "checking the installed files"
for path in /usr/sbin/golemproxy /lib/systemd/system/golemproxy.service /etc/default/golemproxy \
    /etc/logrotate.d/golemproxy /usr/share/man/man8/golemproxy.8.gz /usr/lib/sysusers.d/golemproxy.conf \
    /etc/golemproxy/golemproxy.yml.example /usr/share/doc/golemproxy/examples/golemproxy.yml \
    /usr/share/doc/golemproxy/copyright; do
    [ -e "$path" ] || fail "$path is not installed"
done
[ -x /usr/sbin/golemproxy ] || fail "/usr/sbin/golemproxy is not executable"
[ ! -e "$config" ] || fail "$config is shipped; the service must stay inert until the admin writes one"
if ldd /usr/sbin/golemproxy | grep -i swift >&2; then
    fail "/usr/sbin/golemproxy needs a Swift runtime library (not linked with --static-swift-stdlib)"
fi
dynamic=$(readelf -d /usr/sbin/golemproxy)
grep -q 'BIND_NOW' <<<"$dynamic" || fail "/usr/sbin/golemproxy is not linked with -z now"
grep -q 'PIE' <<<"$dynamic" || fail "/usr/sbin/golemproxy is not a PIE"
if grep -E 'RPATH|RUNPATH' <<<"$dynamic" >&2; then fail "/usr/sbin/golemproxy has a library search path"; fi

begin "checking the golemproxy user and the mode of /etc/golemproxy"
getent passwd golemproxy >/dev/null || fail "no user golemproxy"
getent group golemproxy >/dev/null || fail "no group golemproxy"
IFS=: read -r _ _ uid _ _ _ shell < <(getent passwd golemproxy)
((uid < 1000)) || fail "golemproxy is not a system user (uid $uid)"
case "$shell" in */nologin | /bin/false) ;; *) fail "golemproxy has a login shell: $shell" ;; esac
etc_mode=$(stat -c '%a %U %G' /etc/golemproxy)
[ "$etc_mode" = "750 root golemproxy" ] || fail "/etc/golemproxy is '$etc_mode', not '750 root golemproxy'"
# A config holding a redis_auth password, even one created world-readable, stays
# unreadable for other users; the service's group reads it.
printf 'beta:\n  listen: 127.0.0.1:22122\n  redis: true\n  redis_auth: package-test-secret\n  servers:\n   - 127.0.0.1:6379:1\n' >"$probe"
chmod 0644 "$probe"
if setpriv --reuid=nobody --regid=nogroup --clear-groups cat "$probe" >/dev/null 2>&1; then
    fail "user nobody can read $probe (a config with redis_auth)"
fi
setpriv --reuid=golemproxy --regid=golemproxy --clear-groups cat "$probe" >/dev/null ||
    fail "user golemproxy cannot read $probe"
rm -f "$probe"

begin "checking the man page documents every option, signal, file and the stats port"
man_text=$(zcat /usr/share/man/man8/golemproxy.8.gz | sed 's/\\-/-/g')
mapfile -t usage_options < <(/usr/sbin/golemproxy --help 2>&1 | grep -oE -- '(^| )-(-[a-z][a-z-]*|[A-Za-z?])' | tr -d ' ' | sort -u)
((${#usage_options[@]} >= 14)) || fail "golemproxy --help lists only ${#usage_options[@]} options"
for word in "${usage_options[@]}" SIGHUP SIGTERM SIGINT SIGTTIN SIGTTOU 22222 \
    /etc/golemproxy/golemproxy.yml /etc/default/golemproxy /lib/systemd/system/golemproxy.service \
    'MIGRATING FROM NUTCRACKER' DAEMON_OPTS redis_auth; do
    [ "$word" = "-?" ] && continue
    grep -qF -- "$word" <<<"$man_text" || fail "golemproxy(8) does not mention $word"
done

begin "checking the unit with systemd-analyze"
unit=/lib/systemd/system/golemproxy.service
if ! verify_out=$(systemd-analyze verify "$unit" 2>&1) || [ -n "$verify_out" ]; then
    printf '%s\n' "$verify_out" >&2
    fail "systemd-analyze verify $unit reports problems"
fi
systemd-analyze security --offline=true "$unit" >"$tmp/security.log" 2>&1 || true
exposure=$(sed -n 's/.*Overall exposure level for golemproxy.service: \([0-9.]*\).*/\1/p' "$tmp/security.log")
[ -n "$exposure" ] || {
    cat "$tmp/security.log" >&2
    fail "systemd-analyze security gave no exposure level"
}
say "systemd-analyze security: exposure $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "exposure level $exposure is above 2.0"
grep -qE '^ExecStartPre=/usr/sbin/golemproxy (-t|--test-conf) ' "$unit" || fail "no ExecStartPre config test"
grep -qE '^ExecReload=/bin/kill -HUP \$MAINPID$' "$unit" || fail "ExecReload does not send SIGHUP"
grep -qx "ConditionPathExists=$config" "$unit" || fail "the unit does not wait for $config"
grep -qx 'Type=simple' "$unit" || fail "the unit is not Type=simple"

begin "testing the example configurations with golemproxy -t"
unit_user=$(unit_setting User)
unit_group=$(unit_setting Group)
unit_umask=$(unit_setting UMask)
unit_nofile=$(unit_setting LimitNOFILE)
[ "$unit_user" = golemproxy ] || fail "the unit runs as '$unit_user', not golemproxy"
: "${unit_group:=$unit_user}" "${unit_umask:=0022}" "${unit_nofile:=1024}"
((unit_nofile >= 10000)) || fail "LimitNOFILE=$unit_nofile is too small for a proxy"
# systemd (PID 1) may raise the limit; this script can only go up to its hard limit.
hard_nofile=$(ulimit -Hn)
if [ "$hard_nofile" != unlimited ] && ((hard_nofile < unit_nofile)); then
    say "LimitNOFILE=$unit_nofile is above this shell's hard limit; running with $hard_nofile"
    unit_nofile=$hard_nofile
fi
unit_env=()
for example in /etc/golemproxy/golemproxy.yml.example /usr/share/doc/golemproxy/examples/golemproxy.yml; do
    (as_service /usr/sbin/golemproxy -t -c "$example") >"$tmp/check.log" 2>&1 || {
        cat "$tmp/check.log" >&2
        fail "golemproxy -t -c $example failed"
    }
    grep -q "syntax is ok" "$tmp/check.log" || fail "golemproxy -t -c $example did not say 'syntax is ok'"
done

begin "starting memcached on a free loopback port"
memcached_port=$(free_port)
proxy_port=$(free_port)
stats_port=$(free_port)
memcached -u nobody -l 127.0.0.1 -p "$memcached_port" -U 0 -m 16 -t 1 >"$tmp/memcached.log" 2>&1 &
memcached_pid=$!
wait_port "$memcached_port" "$memcached_pid" || fail "memcached did not start on 127.0.0.1:$memcached_port"

begin "writing $config and DAEMON_OPTS, starting golemproxy as the unit's ExecStart"
cat >"$tmp/golemproxy.yml" <<EOF
# Written by scripts/package-test.sh.
alpha:
  listen: 127.0.0.1:$proxy_port
  hash: fnv1a_64
  distribution: ketama
  timeout: 2000
  servers:
   - 127.0.0.1:$memcached_port:1
EOF
install -m 0640 -o root -g golemproxy "$tmp/golemproxy.yml" "$config"
sed -i "s|^DAEMON_OPTS=.*|DAEMON_OPTS=\"-a 127.0.0.1 -s $stats_port --threads 2\"|" /etc/default/golemproxy
# EnvironmentFile= (a leading "-" means optional).
env_file=$(unit_setting EnvironmentFile)
env_file=${env_file#-}
if [ -n "$env_file" ] && [ -f "$env_file" ]; then
    mapfile -t unit_env < <(set -a && . "$env_file" && sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' "$env_file" |
        while read -r name; do printf '%s=%s\n' "$name" "${!name}"; done)
fi
for key in RuntimeDirectory LogsDirectory; do
    dir=$(unit_setting "$key")
    [ -n "$dir" ] || continue
    base=/run
    [ "$key" = LogsDirectory ] && base=/var/log
    install -d -m "$(unit_setting "${key}Mode" | grep . || echo 0755)" -o "$unit_user" -g "$unit_group" "$base/$dir"
    [ "$base" = /run ] && runtime_dirs+=("$dir")
done
unit_command ExecStartPre
say "ExecStartPre: ${command_words[*]}"
(as_service "${command_words[@]}") >"$tmp/check.log" 2>&1 || {
    cat "$tmp/check.log" >&2
    fail "ExecStartPre failed"
}
unit_command ExecStart
say "ExecStart: ${command_words[*]}"
(as_service "${command_words[@]}") >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
wait_port "$proxy_port" "$daemon_pid" || fail "golemproxy did not listen on 127.0.0.1:$proxy_port"
owner=$(ps -o user= -p "$daemon_pid" | tr -d ' ')
[ "$owner" = golemproxy ] || fail "golemproxy runs as '$owner'"
nofile=$(awk '/^Max open files/ {print $4}' "/proc/$daemon_pid/limits")
[ "$nofile" = "$unit_nofile" ] || fail "golemproxy's open file limit is $nofile, not $unit_nofile"

begin "sending a set and a get through the proxy"
value="v$RANDOM$RANDOM"
reply=$(converse "$proxy_port" "set package-test 0 0 ${#value}\r\n$value\r\nget package-test\r\nquit\r\n") || true
expected=$(printf 'STORED\r\nVALUE package-test 0 %d\r\n%s\r\nEND\r' "${#value}" "$value")
[ "$reply" = "$expected" ] || fail "proxy replied $(printf '%q' "$reply"), expected $(printf '%q' "$expected")"
direct=$(converse "$memcached_port" "get package-test\r\nquit\r\n") || true
[ "$direct" = "$(printf 'VALUE package-test 0 %d\r\n%s\r\nEND\r' "${#value}" "$value")" ] ||
    fail "the value did not reach memcached: $(printf '%q' "$direct")"

begin "reading the stats port (-a 127.0.0.1 -s $stats_port from DAEMON_OPTS)"
# nutcracker's stats listener: one JSON document per connection, then close.
stats=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" && cat <&3' "$stats_port") ||
    fail "the stats port 127.0.0.1:$stats_port did not send a document and close within 5 s"
stats=${stats%"${stats##*[![:space:]]}"}
case "$stats" in
    "{"*'"alpha"'*"}") ;;
    *) fail "the stats port did not answer a JSON object with pool alpha: ${stats:0:300}" ;;
esac

begin "sending SIGHUP (the unit's ExecReload)"
kill -HUP "$daemon_pid"
sleep 0.5
alive "$daemon_pid" || fail "golemproxy exited on SIGHUP"
reply=$(converse "$proxy_port" "get package-test\r\nquit\r\n") || true
[ "$reply" = "$(printf 'VALUE package-test 0 %d\r\n%s\r\nEND\r' "${#value}" "$value")" ] ||
    fail "after SIGHUP the proxy replied $(printf '%q' "$reply")"

begin "stopping golemproxy with SIGTERM"
kill -TERM "$daemon_pid"
for _ in $(seq 200); do
    alive "$daemon_pid" || break
    sleep 0.1
done
alive "$daemon_pid" && fail "golemproxy still runs 20 s after SIGTERM"
exit_status=0
wait "$daemon_pid" || exit_status=$?
daemon_pid=""
((exit_status == 0)) || fail "golemproxy exited with status $exit_status on SIGTERM"
[ -z "$(ss -Hltn "sport = :$proxy_port")" ] || fail "port $proxy_port still listens after golemproxy stopped"

begin "purging the package"
rm -f "$config"
for dir in "${runtime_dirs[@]}"; do rm -rf "/run/$dir"; done
installed=no
dpkg --purge golemproxy >"$tmp/purge.log" 2>&1 || {
    cat "$tmp/purge.log" >&2
    fail "dpkg --purge golemproxy failed"
}
for path in /usr/sbin/golemproxy /etc/golemproxy /lib/systemd/system/golemproxy.service /etc/default/golemproxy; do
    [ ! -e "$path" ] || fail "$path is left after purge"
done
[ -z "$(dpkg-statoverride --list /etc/golemproxy)" ] || fail "the statoverride of /etc/golemproxy is left after purge"

summary="golemproxy_${version}_${arch}.deb built, lintian clean, systemd-analyze security $exposure,"
summary+=" installed, set/get through golemproxy as user golemproxy, SIGTERM exit 0, stats JSON, purged"

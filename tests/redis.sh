#!/usr/bin/env bash
# tests/redis.sh -- a private, throwaway Redis for tests and demos.
#
# No system service: redis-server as the current user on a free loopback
# port and a unix socket in a fresh temporary directory, no persistence,
# stopped by its pid (never by name) -- also when the command it wraps
# fails or is interrupted.
#
#   tests/redis.sh start [DIR]        start a server (DIR: new temp dir);
#                                     prints its env (also in DIR/env)
#   tests/redis.sh stop DIR           stop it by pid, remove DIR
#   tests/redis.sh halt DIR           SAVE, stop it by pid, keep DIR (fault tests)
#   tests/redis.sh resume DIR         start it again, same port and socket,
#                                     with the data halt saved
#   tests/redis.sh load DIR N         load the data below, N keys each
#   tests/redis.sh cli DIR ARGS...    redis-cli as the admin over the socket
#   tests/redis.sh run [-n N] CMD...  start, load N (default 100000), run CMD
#                                     with the env exported, stop
#
# The env (KEY=value lines, for `set -a; . DIR/env`):
#   AW_REDIS_HOST AW_REDIS_PORT AW_REDIS_SOCKET AW_REDIS_USER
#   AW_REDIS_PASSWORD AW_REDIS_DIR AW_REDIS_PID AW_REDIS_CTL AW_REDIS_ROWS
# ACL user aw has a random password (AW_REDIS_PASSWORD: the adapter reads
# it from there, so it is on no command line). The default user needs no
# password and reaches the server over the socket and loopback: the tests'
# admin (CLIENT KILL USER aw) and redis-benchmark, which takes a password
# only on its command line.
#
# Data (every value a function of the key, so results can be checked
# without asking the server), i = 1..N:
#   customer:<i>  hash: id <i>, name name-<i>, city city-<i%12> (absent
#                 when i%7=0), balance <i*7919%100003> (absent when i%11=0),
#                 score <i>.25
#   user:<i>      string name-<i>
#   k:<i as 12 digits, from 0 to N-1>  string customer-<i>-<i*7919%100003>
#                 (redis-benchmark's __rand_int__ with -r N names the same)
#   items:<c>     list of c%5 strings item-<c>-<s>, c = 1..2000
#   rank          sorted set: member <i> score <i>.5, i = 1..1000
set -euo pipefail
export LC_ALL=C
CTL=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
READY_S=${AW_REDIS_READY_TIMEOUT:-30}
STOP_S=${AW_REDIS_STOP_TIMEOUT:-30}

die() { echo "redis.sh: $*" >&2; exit 1; }

need() {
    command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 ||
        die "missing redis-server/redis-cli: apt-get install -y redis-server (or scripts/deps.sh redis)"
}

cli() { local d=$1; shift; redis-cli -s "$d/sock" "$@"; }

free_port() {
    local p
    for _ in $(seq 50); do
        p=$(( 20000 + RANDOM % 40000 ))
        ss -Htln "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
    done
    die "no free port found"
}

# launch DIR PORT: start redis-server, wait until it answers (deadline
# READY_S). Returns 2 if the port was taken, 1 on any other failure.
launch() {
    local d=$1 port=$2
    rm -f "$d/pid" "$d/sock"
    {
        echo "port $port"
        echo "bind 127.0.0.1"
        echo "unixsocket $d/sock"
        echo "unixsocketperm 700"
        echo "save \"\""
        echo "appendonly no"
        echo "dir $d"
        echo "pidfile $d/pid"
        echo "logfile $d/redis.log"
        echo "daemonize no"
        echo "maxclients 4000"
        echo "user default on nopass ~* &* +@all"
        echo "user aw on >$(cat "$d/password") ~* &* +@all"
    } > "$d/redis.conf"
    chmod 600 "$d/redis.conf"
    # setsid: not in our process group, so ^C reaches us, and the trap stops it.
    setsid redis-server "$d/redis.conf" </dev/null >/dev/null 2>&1 &
    local spid=$! deadline=$((SECONDS + READY_S))
    echo "$spid" > "$d/launch_pid"
    while :; do
        if [ "$(cli "$d" ping 2>/dev/null)" = PONG ]; then
            echo "$spid" > "$d/pid"
            return 0
        fi
        if ! kill -0 "$spid" 2>/dev/null; then
            grep -q "Address already in use" "$d/redis.log" 2>/dev/null && return 2
            echo "redis.sh: redis-server exited; last lines of $d/redis.log:" >&2
            tail -5 "$d/redis.log" >&2 || true
            return 1
        fi
        [ $SECONDS -lt $deadline ] || { echo "redis.sh: not ready after ${READY_S}s" >&2; kill_pid "$d"; return 1; }
        # Poll the socket: the server gives no other signal of readiness.
        sleep 0.02
    done
}

# kill_pid DIR: SIGTERM by pid, wait (deadline STOP_S), then SIGKILL.
kill_pid() {
    local d=$1 pid=""
    [ -s "$d/pid" ] && pid=$(cat "$d/pid")
    [ -n "$pid" ] || { [ -s "$d/launch_pid" ] && pid=$(cat "$d/launch_pid"); }
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || { rm -f "$d/pid"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_S))
    while kill -0 "$pid" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
            echo "redis.sh: pid $pid did not stop in ${STOP_S}s; SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.02
    done
    rm -f "$d/pid"
}

write_env() {
    local d=$1
    {
        echo "AW_REDIS_HOST=127.0.0.1"
        echo "AW_REDIS_PORT=$(cat "$d/port")"
        echo "AW_REDIS_SOCKET=$d/sock"
        echo "AW_REDIS_USER=aw"
        echo "AW_REDIS_PASSWORD=$(cat "$d/password")"
        echo "AW_REDIS_DIR=$d"
        echo "AW_REDIS_PID=$(cat "$d/pid" 2>/dev/null)"
        echo "AW_REDIS_CTL=$CTL"
        [ -s "$d/rows" ] && echo "AW_REDIS_ROWS=$(cat "$d/rows")"
    } > "$d/env"
    chmod 600 "$d/env"
}

cmd_start() {
    need
    local d=${1:-}
    if [ -z "$d" ]; then d=$(mktemp -d "${TMPDIR:-/tmp}/aw-redis.XXXXXX")
    else mkdir -p "$d"; d=$(cd "$d" && pwd); fi
    [ ! -s "$d/pid" ] || ! kill -0 "$(cat "$d/pid")" 2>/dev/null || die "a server already runs in $d"
    chmod 700 "$d"
    head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/password"
    chmod 600 "$d/password"
    local rc=2
    for _ in 1 2 3 4 5; do
        local port
        port=$(free_port)
        echo "$port" > "$d/port"
        set +e; launch "$d" "$port"; rc=$?; set -e
        [ $rc -eq 2 ] || break
    done
    [ $rc -eq 0 ] || die "could not start redis-server (log: $d/redis.log)"
    write_env "$d"
    cat "$d/env"
}

cmd_stop() {
    local d=${1:?usage: redis.sh stop DIR}
    [ -d "$d" ] || return 0
    kill_pid "$d"
    [ -n "${AW_REDIS_KEEP:-}" ] || rm -rf "$d"
}

# The data survives through an explicit SAVE (dump.rdb in DIR, read back at
# start): the server itself never saves.
cmd_halt() {
    local d=${1:?usage: redis.sh halt DIR}
    [ "$(cli "$d" save 2>&1)" = OK ] || die "halt: SAVE failed"
    kill_pid "$d"
}

cmd_resume() {
    local d=${1:?usage: redis.sh resume DIR}
    [ -s "$d/port" ] || die "$d holds no server"
    launch "$d" "$(cat "$d/port")" || die "could not restart redis-server (log: $d/redis.log)"
    write_env "$d"
}

# RESP for every command, one awk pass, loaded through redis-cli --pipe.
cmd_load() {
    local d=${1:?usage: redis.sh load DIR N} n=${2:?usage: redis.sh load DIR N}
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || die "load: N must be a positive number"
    local t0=$SECONDS
    awk -v n="$n" '
        function cmd(argc, a,    s, i) {
            s = "*" argc "\r\n"
            for (i = 1; i <= argc; i++) s = s "$" length(a[i]) "\r\n" a[i] "\r\n"
            printf "%s", s
        }
        BEGIN {
            for (i = 1; i <= n; i++) {
                delete a; c = 0
                a[++c] = "HSET"; a[++c] = "customer:" i
                a[++c] = "id"; a[++c] = i
                a[++c] = "name"; a[++c] = "name-" i
                if (i % 7 != 0) { a[++c] = "city"; a[++c] = "city-" (i % 12) }
                if (i % 11 != 0) { a[++c] = "balance"; a[++c] = (i * 7919) % 100003 }
                a[++c] = "score"; a[++c] = i ".25"
                cmd(c, a)
                delete a; a[1] = "SET"; a[2] = "user:" i; a[3] = "name-" i; cmd(3, a)
                j = i - 1
                delete a; a[1] = "SET"; a[2] = sprintf("k:%012d", j)
                a[3] = "customer-" j "-" ((j * 7919) % 100003); cmd(3, a)
            }
            for (c = 1; c <= 2000; c++) {
                if (c % 5 == 0) continue
                delete a; k = 0; a[++k] = "RPUSH"; a[++k] = "items:" c
                for (s = 0; s < c % 5; s++) a[++k] = "item-" c "-" s
                cmd(k, a)
            }
            for (i = 1; i <= 1000; i++) { delete a; a[1] = "ZADD"; a[2] = "rank"; a[3] = i ".5"; a[4] = i; cmd(4, a) }
        }' > "$d/load.resp"
    cli "$d" --pipe < "$d/load.resp" > "$d/load.log" 2>&1 ||
        { tail -3 "$d/load.log" >&2; die "load: redis-cli --pipe failed"; }
    grep -q "errors: 0," "$d/load.log" || { tail -3 "$d/load.log" >&2; die "load: redis-cli --pipe reported errors"; }
    local got want=$((3 * n + 1600 + 1))
    got=$(cli "$d" dbsize)
    [ "$got" = "$want" ] || die "load: expected $want keys, got '$got'"
    rm -f "$d/load.resp"
    echo "$n" > "$d/rows"
    write_env "$d"
    echo "redis.sh: loaded $n customers (and users, k: keys) in $((SECONDS - t0)) s" >&2
}

cmd_cli() { local d=${1:?usage: redis.sh cli DIR ARGS...}; shift; cli "$d" "$@"; }

cmd_run() {
    local n=100000
    if [ "${1:-}" = "-n" ]; then n=${2:?}; shift 2; fi
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || die "usage: redis.sh run [-n N] CMD..."
    # Global, not local: the EXIT trap runs after this function returns.
    REDIS_RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/aw-redis.XXXXXX")
    local d=$REDIS_RUN_DIR
    trap 'cmd_stop "$REDIS_RUN_DIR"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    cmd_start "$d" > /dev/null
    cmd_load "$d" "$n"
    set +e
    ( set -a; . "$d/env"; set +a; exec "$@" )
    local rc=$?
    set -e
    return $rc
}

sub=${1:-}
[ $# -gt 0 ] && shift
case "$sub" in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    halt) cmd_halt "$@" ;;
    resume) cmd_resume "$@" ;;
    load) cmd_load "$@" ;;
    cli) cmd_cli "$@" ;;
    run) cmd_run "$@" ;;
    *) sed -n '2,40p' "$CTL" >&2; exit 2 ;;
esac

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
SRV_NAME=redis.sh SRV_PROG=redis-server SRV_POLL=0.02
. "$(dirname "$CTL")/server_lib.sh"

need() {
    command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 ||
        die "missing redis-server/redis-cli: apt-get install -y redis-server (or scripts/deps.sh redis)"
}

cli() { local d=$1; shift; redis-cli -s "$d/sock" "$@"; }

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
    local spid=$!
    echo "$spid" > "$d/launch_pid"
    srv_wait_ready "$d" "$spid" "$d/redis.log" "Address already in use" pong "$d" || return
    echo "$spid" > "$d/pid"
}

pong() { [ "$(cli "$1" ping 2>/dev/null)" = PONG ]; }

# kill_pid DIR: SIGTERM by pid, wait (deadline STOP_S), then SIGKILL.
kill_pid() { srv_kill "$1" "$(srv_pid "$1")" TERM; }

write_env() {
    local d=$1
    srv_write_env "$d" "AW_REDIS_HOST=127.0.0.1" \
        "AW_REDIS_PORT=$(cat "$d/port")" \
        "AW_REDIS_SOCKET=$d/sock" \
        "AW_REDIS_USER=aw" \
        "AW_REDIS_PASSWORD=$(cat "$d/password")" \
        "AW_REDIS_DIR=$d" \
        "AW_REDIS_PID=$(cat "$d/pid" 2>/dev/null)" \
        "AW_REDIS_CTL=$CTL" \
        "$(srv_rows AW_REDIS_ROWS "$d")"
}

cmd_start() {
    need
    local d
    d=$(srv_dir "${1:-}" aw-redis)
    chmod 700 "$d"
    head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/password"
    chmod 600 "$d/password"
    srv_launch_free "$d" "$d/redis.log"
    write_env "$d"
    cat "$d/env"
}

cmd_stop() { srv_stop "${1:?usage: redis.sh stop DIR}" "${AW_REDIS_KEEP:-}"; }

# The data survives through an explicit SAVE (dump.rdb in DIR, read back at
# start): the server itself never saves.
cmd_halt() {
    local d=${1:?usage: redis.sh halt DIR}
    [ "$(cli "$d" save 2>&1)" = OK ] || die "halt: SAVE failed"
    kill_pid "$d"
}

cmd_resume() { local d=${1:?usage: redis.sh resume DIR}; srv_resume "$d" "$d/redis.log"; }

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

cmd_run() { srv_run aw-redis "$@"; }

srv_main 40 "$@"

# tests/server_lib.sh -- what tests/mariadb.sh, tests/postgres.sh and
# tests/redis.sh share, sourced by each (not run on its own): a free
# loopback port, waiting for a server with a deadline, stopping it by pid
# (never by name), the start-on-a-free-port retry, stop / resume, the
# `run` wrapper with its traps, and the subcommand dispatch.
#
# The sourcing script sets, before it sources this file:
#   SRV_NAME   its name for messages ("mariadb.sh")
#   SRV_PROG   the server program's name for messages ("mariadbd")
#   CTL        its own absolute path (the usage text is its header)
#   READY_S    seconds a start may take, STOP_S seconds a stop may take
#   SRV_POLL   seconds between readiness polls (default 0.05)
# and defines, for the helpers here:
#   launch DIR PORT   start the server, wait (srv_wait_ready): 0 ready,
#                     2 the port was taken, 1 any other failure
#   kill_pid DIR      stop it by pid (srv_kill)
#   write_env DIR     (re)write DIR/env
#   cmd_start [DIR], cmd_load DIR N, and any other cmd_<subcommand>
SRV_POLL=${SRV_POLL:-0.05}

die() { echo "$SRV_NAME: $*" >&2; exit 1; }

# A port nothing listens on now; the server may still lose a race for it,
# in which case srv_launch_free picks another.
free_port() {
    local p
    for _ in $(seq 50); do
        p=$(( 20000 + RANDOM % 40000 ))
        ss -Htln "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
    done
    die "no free port found"
}

# srv_wait_ready DIR SPID LOG TAKEN CMD...: until CMD succeeds (0), the
# server process SPID exits (2 if LOG matches the grep pattern TAKEN --
# the port was taken --, else 1, with LOG's last lines) or READY_S
# passes (1, the server stopped by kill_pid). The server gives no other
# signal of readiness than answering, so this polls.
srv_wait_ready() {
    local d=$1 spid=$2 log=$3 taken=$4
    shift 4
    local deadline=$((SECONDS + READY_S))
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        if ! kill -0 "$spid" 2>/dev/null; then
            grep -q "$taken" "$log" 2>/dev/null && return 2
            echo "$SRV_NAME: $SRV_PROG exited; last lines of $log:" >&2
            tail -5 "$log" >&2 || true
            return 1
        fi
        [ $SECONDS -lt $deadline ] || { echo "$SRV_NAME: not ready after ${READY_S}s" >&2; kill_pid "$d"; return 1; }
        sleep "$SRV_POLL"
    done
}

# srv_pid DIR: the server's pid from DIR/pid, else the launched one's.
srv_pid() {
    local d=$1
    if [ -s "$d/pid" ]; then cat "$d/pid"
    elif [ -s "$d/launch_pid" ]; then cat "$d/launch_pid"; fi
}

# srv_kill DIR PID SIG: send SIG to PID, wait for it to exit (deadline
# STOP_S), then SIGKILL; DIR/pid is removed. Never by name.
srv_kill() {
    local d=$1 pid=$2 sig=$3
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then rm -f "$d/pid"; return 0; fi
    kill -"$sig" "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_S))
    while kill -0 "$pid" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
            echo "$SRV_NAME: pid $pid did not stop in ${STOP_S}s; SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep "$SRV_POLL"
    done
    rm -f "$d/pid"
}

# srv_write_env DIR LINE...: the non-empty LINEs (KEY=value) into DIR/env,
# mode 600.
srv_write_env() {
    local d=$1 line
    shift
    for line in "$@"; do [ -z "$line" ] || echo "$line"; done > "$d/env"
    chmod 600 "$d/env"
}

# srv_rows KEY DIR: "KEY=N" once DIR holds N loaded rows, else nothing.
srv_rows() { [ ! -s "$2/rows" ] || echo "$1=$(cat "$2/rows")"; }

# srv_dir DIR PREFIX: DIR made absolute (created), or a new temp dir;
# dies if a server runs there.
srv_dir() {
    local d=${1:-}
    if [ -z "$d" ]; then d=$(mktemp -d "${TMPDIR:-/tmp}/$2.XXXXXX")
    else mkdir -p "$d"; d=$(cd "$d" && pwd); fi
    [ ! -s "$d/pid" ] || ! kill -0 "$(cat "$d/pid")" 2>/dev/null || die "a server already runs in $d"
    echo "$d"
}

# srv_launch_free DIR LOG: launch on a free port (DIR/port), up to five
# tries while the port is taken; dies if the server does not start.
srv_launch_free() {
    local d=$1 rc=2 port
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        echo "$port" > "$d/port"
        set +e; launch "$d" "$port"; rc=$?; set -e
        [ $rc -eq 2 ] || break
    done
    [ $rc -eq 0 ] || die "could not start $SRV_PROG (log: $2)"
}

# srv_stop DIR KEEP: stop the server of DIR, remove DIR unless KEEP is set.
srv_stop() {
    local d=$1
    [ -d "$d" ] || return 0
    kill_pid "$d"
    [ -n "$2" ] || rm -rf "$d"
}

# srv_resume DIR LOG: start the halted server of DIR again, same port.
srv_resume() {
    local d=$1
    [ -s "$d/port" ] || die "$d holds no server"
    launch "$d" "$(cat "$d/port")" || die "could not restart $SRV_PROG (log: $2)"
    write_env "$d"
}

# srv_run PREFIX [-n N] CMD...: start a server in a new temp dir, load N
# rows (default 100000), run CMD with the env exported, stop the server
# by pid whatever happens to CMD (failure, ^C, SIGTERM); CMD's status.
srv_run() {
    local prefix=$1 n=100000
    shift
    if [ "${1:-}" = "-n" ]; then n=${2:?}; shift 2; fi
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || die "usage: $SRV_NAME run [-n N] CMD..."
    # Global, not local: the EXIT trap runs after this function returns.
    SRV_RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$prefix.XXXXXX")
    local d=$SRV_RUN_DIR
    trap 'cmd_stop "$SRV_RUN_DIR"' EXIT
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

# srv_main LINES SUBCOMMAND ARGS...: runs cmd_<SUBCOMMAND>; anything else
# prints lines 2..LINES of the script (its usage) and exits 2.
srv_main() {
    local lines=$1 sub=${2:-}
    shift $(( $# > 1 ? 2 : 1 ))
    if [ -n "$sub" ] && declare -F "cmd_$sub" >/dev/null; then "cmd_$sub" "$@"
    else sed -n "2,${lines}p" "$CTL" >&2; exit 2; fi
}

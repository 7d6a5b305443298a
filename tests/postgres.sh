#!/usr/bin/env bash
# tests/postgres.sh -- a private, throwaway PostgreSQL for tests and demos.
#
# No system service, no pre-installed cluster: initdb into a fresh
# temporary directory, postgres on a free loopback port and a unix socket
# in that directory, stopped by its pid (never by name) -- also when the
# command it wraps fails or is interrupted. PostgreSQL refuses to run as
# root: as root, the server's tools run as the `postgres` user (runuser)
# in a folder that user owns.
#
#   tests/postgres.sh start [DIR]        start a server (DIR: new temp dir);
#                                        prints its env (also in DIR/env)
#   tests/postgres.sh stop DIR           stop it by pid, remove DIR
#   tests/postgres.sh halt DIR           stop it by pid, keep DIR (fault tests)
#   tests/postgres.sh resume DIR         start it again, same port and socket
#   tests/postgres.sh load DIR N         (re)load the tables below, N rows
#   tests/postgres.sh sql DIR 'SQL'      run SQL as the superuser over the socket
#   tests/postgres.sh run [-n N] CMD...  start, load N rows (default 100000),
#                                        run CMD with the env exported, stop
#
# The env (KEY=value lines, for `set -a; . DIR/env`):
#   AW_PG_HOST AW_PG_PORT AW_PG_SOCKET (a directory) AW_PG_USER AW_PG_PASSWORD
#   AW_PG_DB AW_PG_DIR AW_PG_PID AW_PG_CTL AW_PG_BIN AW_PG_ROWS (after load)
# User aw (random password, scram over TCP) may read database awtest; the
# superuser postgres needs no password over the socket (the tests
# pg_terminate_backend as it).
#
# Tables in awtest, the same as tests/mariadb.sh loads (every value a
# function of the key): sbtest1(id, k, c, pad) with k = id*7919 % 100003;
# customers(id, name, city NULL when id%7=0, balance NULL when id%11=0,
# score = id + 0.25, note NULL); items(cust, seq, label): cust 1..2000 has
# cust%5 rows, cust 0 has 5000.
set -euo pipefail
export LC_ALL=C
CTL=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
READY_S=${AW_PG_READY_TIMEOUT:-60}
STOP_S=${AW_PG_STOP_TIMEOUT:-60}
SRV_NAME=postgres.sh SRV_PROG=postgres
. "$(dirname "$CTL")/server_lib.sh"

pg_bin() {
    local b
    b=$(pg_config --bindir 2>/dev/null || true)
    # pg_config of libpq-dev may point at /usr/bin: take the server's folder.
    for d in "$b" /usr/lib/postgresql/*/bin; do
        [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && { echo "$d"; return; }
    done
    die "no PostgreSQL server binaries (initdb, postgres): apt-get install -y postgresql (or scripts/deps.sh postgres)"
}
BIN=$(pg_bin)

# As root, the server and its tools run as `postgres`.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

psql_su() { local d=$1; shift; as_pg "$BIN/psql" -X -q -h "$d/pg" -p "$(cat "$d/port")" -U postgres -v ON_ERROR_STOP=1 "$@"; }

server_pid() {
    local d=$1
    [ -s "$d/pg/data/postmaster.pid" ] && head -1 "$d/pg/data/postmaster.pid" && return
    [ -s "$d/launch_pid" ] && cat "$d/launch_pid"
}

# launch DIR PORT: start postgres, wait until it answers (deadline READY_S).
# Returns 2 if the port was taken, 1 on any other failure.
launch() {
    local d=$1 port=$2
    echo "$port" > "$d/port"
    : > "$d/pg/log"
    chown --reference="$d/pg" "$d/pg/log" 2>/dev/null || true
    # setsid: not in our process group, so ^C reaches us, and the trap stops it.
    if [ "$(id -u)" -eq 0 ]; then
        setsid runuser -u postgres -- "$BIN/postgres" -D "$d/pg/data" -p "$port" -k "$d/pg" \
            -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off \
            -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB \
            </dev/null >>"$d/pg/log" 2>&1 &
    else
        setsid "$BIN/postgres" -D "$d/pg/data" -p "$port" -k "$d/pg" \
            -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off \
            -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB \
            </dev/null >>"$d/pg/log" 2>&1 &
    fi
    local spid=$!
    echo "$spid" > "$d/launch_pid"
    srv_wait_ready "$d" "$spid" "$d/pg/log" "Address already in use\|could not bind" \
        "$BIN/pg_isready" -q -h "$d/pg" -p "$port" || return
    server_pid "$d" > "$d/pid"
}

# kill_pid DIR: SIGINT (fast shutdown) the postmaster by its pid, wait for
# it to exit (deadline STOP_S), then SIGKILL. Never by name.
kill_pid() { srv_kill "$1" "$(server_pid "$1" || true)" INT; }

write_env() {
    local d=$1
    srv_write_env "$d" "AW_PG_HOST=127.0.0.1" \
        "AW_PG_PORT=$(cat "$d/port")" \
        "AW_PG_SOCKET=$d/pg" \
        "AW_PG_USER=aw" \
        "AW_PG_PASSWORD=$(cat "$d/password")" \
        "AW_PG_DB=awtest" \
        "AW_PG_DIR=$d" \
        "AW_PG_PID=$(cat "$d/pid" 2>/dev/null)" \
        "AW_PG_CTL=$CTL" \
        "AW_PG_BIN=$BIN" \
        "$(srv_rows AW_PG_ROWS "$d")"
}

cmd_start() {
    local d
    d=$(srv_dir "${1:-}" aw-pg)
    chmod 755 "$d"
    mkdir -p "$d/pg"
    [ "$(id -u)" -eq 0 ] && chown postgres "$d/pg"
    head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/password"
    as_pg "$BIN/initdb" -D "$d/pg/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        -E UTF8 --locale=C > "$d/initdb.log" 2>&1 ||
        { tail -5 "$d/initdb.log" >&2; die "initdb failed (log: $d/initdb.log)"; }
    srv_launch_free "$d" "$d/pg/log"
    psql_su "$d" -d postgres <<SQL
CREATE USER aw PASSWORD '$(cat "$d/password")';
CREATE DATABASE awtest OWNER aw;
SQL
    write_env "$d"
    cat "$d/env"
}

cmd_stop() { srv_stop "${1:?usage: postgres.sh stop DIR}" "${AW_PG_KEEP:-}"; }
cmd_halt() { kill_pid "${1:?usage: postgres.sh halt DIR}"; }
cmd_resume() { local d=${1:?usage: postgres.sh resume DIR}; srv_resume "$d" "$d/pg/log"; }

cmd_load() {
    local d=${1:?usage: postgres.sh load DIR N} n=${2:?usage: postgres.sh load DIR N}
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || die "load: N must be a positive number"
    local t0=$SECONDS
    psql_su "$d" -d awtest <<SQL
SET client_min_messages = warning;
SET ROLE aw;
DROP TABLE IF EXISTS sbtest1, customers, items;
CREATE TABLE sbtest1(id INT NOT NULL PRIMARY KEY, k INT NOT NULL DEFAULT 0,
    c VARCHAR(120) NOT NULL DEFAULT '', pad VARCHAR(60) NOT NULL DEFAULT '');
CREATE TABLE customers(id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL,
    city VARCHAR(32) NULL, balance BIGINT NULL, score DOUBLE PRECISION NULL, note TEXT NULL);
CREATE TABLE items(cust BIGINT NOT NULL, seq INT NOT NULL, label VARCHAR(40) NOT NULL,
    PRIMARY KEY(cust, seq));
INSERT INTO sbtest1 SELECT i, (i::bigint * 7919) % 100003, 'customer-' || i || '-' || ((i::bigint * 7919) % 100003),
    'pad-' || i FROM generate_series(1, $n) i;
CREATE INDEX k_1 ON sbtest1(k);
INSERT INTO customers SELECT i, 'name-' || i, CASE WHEN i % 7 = 0 THEN NULL ELSE 'city-' || (i % 12) END,
    CASE WHEN i % 11 = 0 THEN NULL ELSE (i::bigint * 7919) % 100003 END, i + 0.25, NULL
    FROM generate_series(1, $n) i;
INSERT INTO items SELECT c, s, 'item-' || c || '-' || s FROM generate_series(1, 2000) c,
    generate_series(0, 3) s WHERE s < c % 5;
INSERT INTO items SELECT 0, s, 'item-0-' || s FROM generate_series(0, 4999) s;
ANALYZE sbtest1, customers, items;
SQL
    local got
    got=$(psql_su "$d" -d awtest -At -F ' ' -c 'SELECT (SELECT COUNT(*) FROM sbtest1), (SELECT COUNT(*) FROM customers)')
    [ "$got" = "$n $n" ] || die "load: expected $n rows in each table, got '$got'"
    echo "$n" > "$d/rows"
    write_env "$d"
    echo "postgres.sh: loaded $n rows in $((SECONDS - t0)) s" >&2
}

cmd_sql() {
    local d=${1:?usage: postgres.sh sql DIR SQL}
    psql_su "$d" -d awtest -At -c "${2:?usage: postgres.sh sql DIR SQL}"
}

cmd_run() { srv_run aw-pg "$@"; }

srv_main 33 "$@"

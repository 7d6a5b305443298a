#!/usr/bin/env bash
# tests/mariadb.sh -- a private, throwaway MariaDB for tests and demos.
#
# No system service, no pre-installed server: mariadb-install-db into a
# fresh temporary directory, mariadbd as the current user on a free loopback
# port and a unix socket in that directory, stopped by its pid (never by
# name) -- also when the command it wraps fails or is interrupted.
#
#   tests/mariadb.sh start [DIR]        start a server (DIR: new temp dir);
#                                       prints its env (also in DIR/env)
#   tests/mariadb.sh stop DIR           stop it by pid, remove DIR
#   tests/mariadb.sh halt DIR           stop it by pid, keep DIR (fault tests)
#   tests/mariadb.sh resume DIR         start it again, same port and socket
#   tests/mariadb.sh load DIR N         (re)load the tables below, N rows
#   tests/mariadb.sh sql DIR 'SQL'      run SQL as root over the socket
#   tests/mariadb.sh run [-n N] CMD...  start, load N rows (default 100000),
#                                       run CMD with the env exported, stop
#
# The env (KEY=value lines, for `set -a; . DIR/env`):
#   AW_MYSQL_HOST AW_MYSQL_PORT AW_MYSQL_SOCKET AW_MYSQL_USER
#   AW_MYSQL_PASSWORD AW_MYSQL_DB AW_MYSQL_DIR AW_MYSQL_PID AW_MYSQL_CTL
#   AW_MYSQL_ROWS (after load)
# User aw (random password) may read database awtest; root has no password
# and is reachable over the socket only (the tests KILL connections as root).
#
# Tables in awtest (every value a function of the key, so results can be
# checked without asking the server):
#   sbtest1(id INT PK, k INT, c VARCHAR(120), pad VARCHAR(60))  sysbench's
#       layout, rows 1..N: k = id*7919 % 100003, c = 'customer-<id>-<k>'
#       -- sysbench oltp_point_select runs against the same table we do.
#   customers(id BIGINT PK, name VARCHAR(64), city VARCHAR(32) NULL,
#       balance BIGINT NULL, score DOUBLE NULL, note TEXT NULL), rows 1..N:
#       name 'name-<id>', city NULL when id%7=0, balance NULL when id%11=0.
#   items(cust BIGINT, seq INT, label VARCHAR(40), PK(cust, seq)):
#       cust 1..2000 has cust%5 rows, cust 0 has 5000 rows.
set -euo pipefail
export LC_ALL=C
CTL=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
READY_S=${AW_MYSQL_READY_TIMEOUT:-60}
STOP_S=${AW_MYSQL_STOP_TIMEOUT:-60}
SRV_NAME=mariadb.sh SRV_PROG=mariadbd
. "$(dirname "$CTL")/server_lib.sh"

need() {
    local missing=()
    for c in mariadbd mariadb-install-db mariadb; do
        command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || missing+=("$c")
    done
    [ ${#missing[@]} -eq 0 ] ||
        die "missing ${missing[*]}: apt-get install -y mariadb-server (or scripts/deps.sh mysql)"
}

mariadbd_bin() { command -v mariadbd 2>/dev/null || echo /usr/sbin/mariadbd; }

client() { local d=$1; shift; mariadb --no-defaults --socket="$d/sock" -uroot "$@"; }

# launch DIR PORT: start mariadbd, wait until it answers (deadline READY_S).
# Returns 2 if the port was taken, 1 on any other failure.
launch() {
    local d=$1 port=$2
    rm -f "$d/pid" "$d/sock"
    # setsid: not in our process group, so ^C reaches us, and the trap stops it.
    setsid "$(mariadbd_bin)" --no-defaults --datadir="$d/data" --socket="$d/sock" \
        --port="$port" --bind-address=127.0.0.1 --user="$(id -un)" --skip-log-bin \
        --pid-file="$d/pid" --log-error="$d/error.log" --skip-name-resolve \
        --local-infile=1 --max-connections=1000 --innodb-buffer-pool-size=512M \
        --innodb-flush-log-at-trx-commit=2 --performance-schema=OFF \
        --max-prepared-stmt-count=100000 </dev/null >/dev/null 2>&1 &
    local spid=$!
    echo "$spid" > "$d/launch_pid"
    srv_wait_ready "$d" "$spid" "$d/error.log" "Address already in use\|Do you already have another" \
        client "$d" -e 'select 1' || return
    [ -s "$d/pid" ] || echo "$spid" > "$d/pid"
}

# kill_pid DIR: SIGTERM the server by its pid, wait for it to exit (deadline
# STOP_S), then SIGKILL. Never by name.
kill_pid() { srv_kill "$1" "$(srv_pid "$1")" TERM; }

write_env() {
    local d=$1
    srv_write_env "$d" "AW_MYSQL_HOST=127.0.0.1" \
        "AW_MYSQL_PORT=$(cat "$d/port")" \
        "AW_MYSQL_SOCKET=$d/sock" \
        "AW_MYSQL_USER=aw" \
        "AW_MYSQL_PASSWORD=$(cat "$d/password")" \
        "AW_MYSQL_DB=awtest" \
        "AW_MYSQL_DIR=$d" \
        "AW_MYSQL_PID=$(cat "$d/pid" 2>/dev/null)" \
        "AW_MYSQL_CTL=$CTL" \
        "$(srv_rows AW_MYSQL_ROWS "$d")"
}

cmd_start() {
    need
    local d
    d=$(srv_dir "${1:-}" aw-mariadb)
    mariadb-install-db --no-defaults --datadir="$d/data" --user="$(id -un)" \
        --auth-root-authentication-method=normal --skip-test-db > "$d/install.log" 2>&1 ||
        { tail -5 "$d/install.log" >&2; die "mariadb-install-db failed (log: $d/install.log)"; }
    srv_launch_free "$d" "$d/error.log"
    head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/password"
    local pw
    pw=$(cat "$d/password")
    client "$d" <<SQL
CREATE DATABASE awtest;
DELETE FROM mysql.global_priv WHERE User = '';
FLUSH PRIVILEGES;
CREATE USER 'aw'@'localhost' IDENTIFIED BY '$pw';
CREATE USER 'aw'@'127.0.0.1' IDENTIFIED BY '$pw';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP ON awtest.* TO 'aw'@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP ON awtest.* TO 'aw'@'127.0.0.1';
SQL
    write_env "$d"
    cat "$d/env"
}

cmd_stop() { srv_stop "${1:?usage: mariadb.sh stop DIR}" "${AW_MYSQL_KEEP:-}"; }
cmd_halt() { kill_pid "${1:?usage: mariadb.sh halt DIR}"; }
cmd_resume() { local d=${1:?usage: mariadb.sh resume DIR}; srv_resume "$d" "$d/error.log"; }

cmd_load() {
    local d=${1:?usage: mariadb.sh load DIR N} n=${2:?usage: mariadb.sh load DIR N}
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || die "load: N must be a positive number"
    local t0=$SECONDS
    awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) { k = (i * 7919) % 100003;
        printf "%d\t%d\tcustomer-%d-%d\tpad-%d\n", i, k, i, k, i } }' > "$d/sbtest1.tsv"
    awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) {
        city = (i % 7 == 0) ? "\\N" : "city-" (i % 12);
        bal = (i % 11 == 0) ? "\\N" : (i * 7919) % 100003;
        printf "%d\tname-%d\t%s\t%s\t%d.25\t\\N\n", i, i, city, bal, i } }' > "$d/customers.tsv"
    awk 'BEGIN { for (c = 1; c <= 2000; c++) for (s = 0; s < c % 5; s++)
                     printf "%d\t%d\titem-%d-%d\n", c, s, c, s;
                 for (s = 0; s < 5000; s++) printf "0\t%d\titem-0-%d\n", s, s }' > "$d/items.tsv"
    client "$d" --local-infile=1 awtest <<SQL
DROP TABLE IF EXISTS sbtest1, customers, items;
CREATE TABLE sbtest1(id INT NOT NULL PRIMARY KEY, k INT NOT NULL DEFAULT 0,
    c VARCHAR(120) NOT NULL DEFAULT '', pad VARCHAR(60) NOT NULL DEFAULT '', KEY k_1(k));
CREATE TABLE customers(id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL,
    city VARCHAR(32) NULL, balance BIGINT NULL, score DOUBLE NULL, note TEXT NULL);
CREATE TABLE items(cust BIGINT NOT NULL, seq INT NOT NULL, label VARCHAR(40) NOT NULL,
    PRIMARY KEY(cust, seq));
LOAD DATA LOCAL INFILE '$d/sbtest1.tsv' INTO TABLE sbtest1;
LOAD DATA LOCAL INFILE '$d/customers.tsv' INTO TABLE customers;
LOAD DATA LOCAL INFILE '$d/items.tsv' INTO TABLE items;
SQL
    local got
    got=$(client "$d" -N awtest -e 'SELECT (SELECT COUNT(*) FROM sbtest1), (SELECT COUNT(*) FROM customers)')
    [ "$got" = "$n	$n" ] || die "load: expected $n rows in each table, got '$got'"
    rm -f "$d"/*.tsv
    echo "$n" > "$d/rows"
    write_env "$d"
    echo "mariadb.sh: loaded $n rows in $((SECONDS - t0)) s" >&2
}

cmd_sql() {
    local d=${1:?usage: mariadb.sh sql DIR SQL}
    client "$d" -N awtest -e "${2:?usage: mariadb.sh sql DIR SQL}"
}

cmd_run() { srv_run aw-mariadb "$@"; }

srv_main 30 "$@"

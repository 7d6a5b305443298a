#!/usr/bin/env bash
# tests/test_aw_enrich_pg.sh -- aw-enrich on PostgreSQL gives the same bytes
# as on SQLite (and so as on MariaDB: tests/test_aw_enrich_mysql.sh). The
# data of tests/enrich_data.sql (awkward text, NULLs, 0/1/3 rows per key)
# is built in SQLite, copied value for value (hex, so newlines, quotes and
# UTF-8 survive) into the throwaway server, and each join runs once per
# store -- SQLite, PostgreSQL pool, PostgreSQL async -- with the same SQL;
# outputs must be identical. Plus the open errors a user meets.
#
# Usage: tests/postgres.sh run -n 1000 tests/test_aw_enrich_pg.sh path/to/aw-enrich
# (make test does this). Needs the AW_PG_* environment postgres.sh exports;
# the password reaches aw-enrich through PGPASSWORD. Every aw-enrich run is
# bounded by timeout(1). Last line: "N passed, N failed".
set -u
export LC_ALL=C
BIN=${1:?usage: tests/test_aw_enrich_pg.sh path/to/aw-enrich}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
HERE=$(cd "$(dirname "$0")" && pwd)
LIMIT=${AW_ENRICH_TEST_TIMEOUT:-120}
passed=0 failed=0
ok()  { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

for v in AW_PG_HOST AW_PG_PORT AW_PG_USER AW_PG_PASSWORD AW_PG_DB AW_PG_CTL AW_PG_DIR; do
    [ -n "${!v:-}" ] || { bad setup "$v is not set: run through tests/postgres.sh run"; finish; }
done
export PGPASSWORD=$AW_PG_PASSWORD
T=$(mktemp -d "${TMPDIR:-/tmp}/aw-enrich-pg.XXXXXX")
[ -n "${AW_ENRICH_KEEP:-}" ] || trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

run() {
    local name=$1; shift
    # --timeout-ms: the bytes are under test here, not latency; a loaded
    # machine once took more than the default 1 s for one record.
    timeout "$LIMIT" "$BIN" --no-progress --timeout-ms 30000 "$@" > "$name.out" 2> "$name.err"
    rc=$?
}
admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$AW_PG_HOST" -p "$AW_PG_PORT" -U "$AW_PG_USER" "$AW_PG_DB" "$@"; }

# ------------------------------------------------------------ the data
sqlite3 db.sqlite < "$HERE/enrich_data.sql" &&
sqlite3 db.sqlite "CREATE VIEW e_customers AS SELECT id, name, city, balance FROM customers;
                   CREATE VIEW e_addresses AS SELECT rowid AS n, customer_id, street, zip FROM addresses;" ||
    { bad setup "cannot build the SQLite database"; finish; }

# h(x): x as a PostgreSQL literal that keeps every byte.
h() { printf "CASE WHEN %s IS NULL THEN 'NULL' ELSE 'convert_from(''\\\\x' || hex(%s) || '''::bytea, ''UTF8'')' END" "$1" "$1"; }
{
    echo "SET client_min_messages = warning;"
    echo "DROP TABLE IF EXISTS e_customers, e_addresses;"
    echo "CREATE TABLE e_customers(id BIGINT PRIMARY KEY, name TEXT NULL, city TEXT NULL,
          balance DOUBLE PRECISION NULL);"
    echo "CREATE TABLE e_addresses(n BIGINT PRIMARY KEY, customer_id BIGINT, street TEXT NULL, zip TEXT NULL);"
    echo "CREATE INDEX ON e_addresses(customer_id);"
    sqlite3 -batch -noheader db.sqlite "SELECT 'INSERT INTO e_customers VALUES(' || id || ', ' ||
        ($(h name)) || ', ' || ($(h city)) || ', ' || coalesce(CAST(balance AS TEXT), 'NULL') || ');'
        FROM customers"
    sqlite3 -batch -noheader db.sqlite "SELECT 'INSERT INTO e_addresses VALUES(' || rowid || ', ' ||
        customer_id || ', ' || ($(h street)) || ', ' || ($(h zip)) || ');' FROM addresses"
} > load.sql
admin < load.sql > load.log 2>&1 || { bad setup "cannot load the data into PostgreSQL: $(head -c 300 load.log)"; finish; }
got=$(admin -At -F '	' -c "SELECT (SELECT COUNT(*) FROM e_customers), (SELECT COUNT(*) FROM e_addresses)")
want=$(sqlite3 -separator '	' db.sqlite "SELECT (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM addresses)")
[ "$got" = "$want" ] && ok "data copied ($got rows)" || { bad "data copied" "PostgreSQL has '$got', SQLite '$want'"; finish; }
# the bytes too: every text value, hex, in key order
pgsum=$(admin -At -c "SELECT md5(string_agg(coalesce(encode(convert_to(name, 'UTF8'), 'hex'), 'N') || '/' ||
        coalesce(encode(convert_to(city, 'UTF8'), 'hex'), 'N'), ',' ORDER BY id)) FROM e_customers")
sqsum=$(sqlite3 db.sqlite "SELECT group_concat(CASE WHEN name IS NULL THEN 'N' ELSE lower(hex(name)) END || '/' ||
        CASE WHEN city IS NULL THEN 'N' ELSE lower(hex(city)) END, ',')
        FROM (SELECT * FROM customers ORDER BY id)" | tr -d '\n' | md5sum | cut -d' ' -f1)
[ "$pgsum" = "$sqsum" ] && ok "text copied byte for byte" || bad "text copied byte for byte" "$pgsum vs $sqsum"

sqlite3 -batch -csv -header db.sqlite "SELECT id, customer_id, note FROM orders ORDER BY id" > orders.csv
sqlite3 -batch -noheader db.sqlite \
    "SELECT json_object('id', id, 'customer_id', customer_id, 'note', note) FROM orders ORDER BY id" > orders.jsonl

# ------------------------------------------------- same bytes as SQLite
CUST_SQL='SELECT name, city, balance FROM e_customers WHERE id = ?'
ADDR_SQL='SELECT street, zip FROM e_addresses WHERE customer_id = ? ORDER BY n'
PG="postgres://$AW_PG_USER@$AW_PG_HOST:$AW_PG_PORT/$AW_PG_DB"   # password: PGPASSWORD
for q in cust addr; do
    [ $q = cust ] && sql=$CUST_SQL || sql=$ADDR_SQL
    for fmt in csv jsonl; do
        for join in inner left; do
            base=${q}_${fmt}_$join
            run "$base.sqlite" --dsn "sqlite:db.sqlite?threads=2" --sql "$sql" --key customer_id \
                --join "$join" < "orders.$fmt"
            [ "$rc" -eq 0 ] && [ -s "$base.sqlite.out" ] ||
                { bad "$base" "the SQLite run failed (exit $rc): $(head -c 300 "$base.sqlite.err")"; continue; }
            for dsn in "$PG?strategy=pool&threads=4" "$PG?strategy=async&connections=2&pipeline=64" \
                       "postgresql://$AW_PG_USER@$AW_PG_HOST:$AW_PG_PORT/$AW_PG_DB?strategy=async&connections=1&pipeline=8&io=thread"; do
                n=$base.${dsn##*strategy=}; n=${n%%&*}; [[ "$dsn" == *io=thread* ]] && n=$n.thread
                run "$n" --dsn "$dsn" --sql "$sql" --key customer_id --join "$join" < "orders.$fmt"
                if [ "$rc" -ne 0 ]; then bad "$n" "exit $rc: $(head -c 300 "$n.err")"
                elif cmp -s "$base.sqlite.out" "$n.out"; then ok "$n = sqlite"
                else bad "$n" "differs from the SQLite run:"; diff "$base.sqlite.out" "$n.out" | head -10; fi
            done
        done
    done
done
run addr_unordered --dsn "$PG?strategy=async&connections=2&pipeline=16" --sql "$ADDR_SQL" --key customer_id \
    --join left --mode unordered < orders.jsonl
if [ "$rc" -eq 0 ] && cmp -s <(sort addr_jsonl_left.sqlite.out) <(sort addr_unordered.out); then
    ok "addr_unordered is a permutation of the SQLite run"
else bad addr_unordered "exit $rc, or not a permutation of the SQLite run"; fi

# ------------------------------------------------------ errors at open
expect() {
    local name=$1 code=$2 words=$3
    if [ "$rc" -ne "$code" ]; then bad "$name" "exit $rc, wanted $code; stderr: $(head -c 400 "$name.err")"
    elif ! grep -qF -- "$words" "$name.err"; then bad "$name" "stderr lacks '$words': $(head -c 400 "$name.err")"
    elif grep -qF -- "$AW_PG_PASSWORD" "$name.err"; then bad "$name" "the password is in the message"
    else ok "$name"; fi
}
PGPASSWORD=wrong run wrong_password --dsn "$PG" --sql "$CUST_SQL" --key customer_id < orders.csv
expect wrong_password 2 "wrong user or password"
run no_table --dsn "$PG?strategy=pool&threads=1" --sql "SELECT name FROM clients WHERE id = ?" \
    --key customer_id < orders.csv
expect no_table 2 'relation "clients" does not exist'
run bad_param --dsn "$PG?strategy=async&threads=2" --sql "$CUST_SQL" --key customer_id < orders.csv
expect bad_param 2 "threads= is for strategy=pool"
run unknown_param --dsn "$PG?bogus=1" --sql "$CUST_SQL" --key customer_id < orders.csv
expect unknown_param 2 "unknown parameter 'bogus'"
finish

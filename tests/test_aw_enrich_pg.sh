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
BIN=${1:?usage: tests/test_aw_enrich_pg.sh path/to/aw-enrich}
. "$(dirname "$0")/enrich_lib.sh"
BIN=$(el_bin "$BIN")
el_need_env postgres.sh AW_PG_HOST AW_PG_PORT AW_PG_USER AW_PG_PASSWORD AW_PG_DB AW_PG_CTL AW_PG_DIR
export PGPASSWORD=$AW_PG_PASSWORD
el_tmp enrich-pg
# --timeout-ms: the bytes are under test here, not latency; a loaded
# machine once took more than the default 1 s for one record.
RUN_EXTRA=(--timeout-ms 30000)
admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$AW_PG_HOST" -p "$AW_PG_PORT" -U "$AW_PG_USER" "$AW_PG_DB" "$@"; }

# ------------------------------------------------------------ the data
el_sqlite_db views

# h(x): x as a PostgreSQL literal that keeps every byte.
h() { printf "CASE WHEN %s IS NULL THEN 'NULL' ELSE 'convert_from(''\\\\x' || hex(%s) || '''::bytea, ''UTF8'')' END" "$1" "$1"; }
{
    echo "SET client_min_messages = warning;"
    echo "DROP TABLE IF EXISTS e_customers, e_addresses;"
    echo "CREATE TABLE e_customers(id BIGINT PRIMARY KEY, name TEXT NULL, city TEXT NULL,
          balance DOUBLE PRECISION NULL);"
    echo "CREATE TABLE e_addresses(n BIGINT PRIMARY KEY, customer_id BIGINT, street TEXT NULL, zip TEXT NULL);"
    echo "CREATE INDEX ON e_addresses(customer_id);"
    el_inserts
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

el_orders

# ------------------------------------------------- same bytes as SQLite
PG="postgres://$AW_PG_USER@$AW_PG_HOST:$AW_PG_PORT/$AW_PG_DB"   # password: PGPASSWORD
for q in cust addr; do
    [ $q = cust ] && sql=$E_CUST_SQL || sql=$E_ADDR_SQL
    el_same_as_sqlite $q "$sql" "$sql" "$PG?strategy=pool&threads=4" "$PG?strategy=async&connections=2&pipeline=64" \
        "postgresql://$AW_PG_USER@$AW_PG_HOST:$AW_PG_PORT/$AW_PG_DB?strategy=async&connections=1&pipeline=8&io=thread"
done
el_unordered "$PG?strategy=async&connections=2&pipeline=16" "$E_ADDR_SQL"

# ------------------------------------------------------ errors at open
PGPASSWORD=wrong run wrong_password --dsn "$PG" --sql "$E_CUST_SQL" --key customer_id < orders.csv
expect wrong_password 2 "wrong user or password" "$AW_PG_PASSWORD"
run no_table --dsn "$PG?strategy=pool&threads=1" --sql "SELECT name FROM clients WHERE id = ?" \
    --key customer_id < orders.csv
expect no_table 2 'relation "clients" does not exist' "$AW_PG_PASSWORD"
run bad_param --dsn "$PG?strategy=async&threads=2" --sql "$E_CUST_SQL" --key customer_id < orders.csv
expect bad_param 2 "threads= is for strategy=pool" "$AW_PG_PASSWORD"
run unknown_param --dsn "$PG?bogus=1" --sql "$E_CUST_SQL" --key customer_id < orders.csv
expect unknown_param 2 "unknown parameter 'bogus'" "$AW_PG_PASSWORD"
finish

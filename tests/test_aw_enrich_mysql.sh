#!/usr/bin/env bash
# tests/test_aw_enrich_mysql.sh -- aw-enrich on MariaDB gives the same bytes
# as on SQLite. The data of tests/enrich_data.sql (awkward text, NULLs,
# 0/1/3 rows per key) is built in SQLite, copied value for value (hex, so
# newlines, quotes and UTF-8 survive) into the throwaway server, and each
# join runs once per store -- SQLite, MySQL pool, MySQL async -- with the
# same SQL; outputs must be identical. Plus the open errors a user meets.
#
# Usage: tests/mariadb.sh run -n 1000 tests/test_aw_enrich_mysql.sh path/to/aw-enrich
# (make test does this). Needs the AW_MYSQL_* environment mariadb.sh exports.
# Every aw-enrich run is bounded by timeout(1). Last line: "N passed, N failed".
BIN=${1:?usage: tests/test_aw_enrich_mysql.sh path/to/aw-enrich}
. "$(dirname "$0")/enrich_lib.sh"
BIN=$(el_bin "$BIN")
el_need_env mariadb.sh AW_MYSQL_HOST AW_MYSQL_PORT AW_MYSQL_SOCKET AW_MYSQL_USER AW_MYSQL_PASSWORD AW_MYSQL_DB
el_tmp enrich-mysql

admin() { mariadb --no-defaults --socket="$AW_MYSQL_SOCKET" -uroot "$AW_MYSQL_DB" "$@"; }

# ------------------------------------------------------------ the data
el_sqlite_db views

# h(x): x as a MariaDB literal that keeps every byte.
h() { printf "CASE WHEN %s IS NULL THEN 'NULL' ELSE 'CONVERT(X''' || hex(%s) || ''' USING utf8mb4)' END" "$1" "$1"; }
{
    echo "SET NAMES utf8mb4;"
    echo "DROP TABLE IF EXISTS e_customers, e_addresses;"
    echo "CREATE TABLE e_customers(id BIGINT PRIMARY KEY, name TEXT NULL, city TEXT NULL,
          balance DOUBLE NULL) DEFAULT CHARSET = utf8mb4;"
    echo "CREATE TABLE e_addresses(n BIGINT PRIMARY KEY, customer_id BIGINT, street TEXT NULL,
          zip TEXT NULL, KEY(customer_id)) DEFAULT CHARSET = utf8mb4;"
    el_inserts
} > load.sql
admin < load.sql || { bad setup "cannot load the data into MariaDB"; finish; }
got=$(admin -N -e "SELECT (SELECT COUNT(*) FROM e_customers), (SELECT COUNT(*) FROM e_addresses)")
want=$(sqlite3 -separator '	' db.sqlite "SELECT (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM addresses)")
[ "$got" = "$want" ] && ok "data copied ($got rows)" || { bad "data copied" "MariaDB has '$got', SQLite '$want'"; finish; }

el_orders

# ------------------------------------------------- same bytes as SQLite
MY="mysql://$AW_MYSQL_USER@$AW_MYSQL_HOST:$AW_MYSQL_PORT/$AW_MYSQL_DB"   # password: AW_MYSQL_PASSWORD
for q in cust addr; do
    [ $q = cust ] && sql=$E_CUST_SQL || sql=$E_ADDR_SQL
    el_same_as_sqlite $q "$sql" "$sql" "$MY?strategy=pool&threads=4" "$MY?strategy=async&connections=4"
done
# Unordered: the same records, in some order.
el_unordered "$MY?strategy=async&connections=8" "$E_ADDR_SQL"

# ------------------------------------------------------ errors at open
run wrong_password --dsn "mysql://$AW_MYSQL_USER:wrong@$AW_MYSQL_HOST:$AW_MYSQL_PORT/$AW_MYSQL_DB" \
    --sql "$E_CUST_SQL" --key customer_id < orders.csv
expect wrong_password 2 "wrong user or password" "$AW_MYSQL_PASSWORD"
run no_table --dsn "$MY?strategy=pool&threads=1" --sql "SELECT name FROM clients WHERE id = ?" \
    --key customer_id < orders.csv
expect no_table 2 "clients" "$AW_MYSQL_PASSWORD"
run bad_param --dsn "$MY?strategy=async&threads=2" --sql "$E_CUST_SQL" --key customer_id < orders.csv
expect bad_param 2 "threads= is for strategy=pool" "$AW_MYSQL_PASSWORD"
finish

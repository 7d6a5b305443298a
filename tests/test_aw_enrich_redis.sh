#!/usr/bin/env bash
# tests/test_aw_enrich_redis.sh -- aw-enrich on Redis gives the same bytes
# as on SQLite. The data of tests/enrich_data.sql (awkward text, NULLs,
# 0/1/3 rows per key) is built in SQLite and copied byte for byte into the
# throwaway Redis (RESP made by sqlite3 itself, loaded with redis-cli
# --pipe): customer i -> hash e_customer:i (a NULL is an absent field) and
# string e_name:i, addresses -> list e_streets:<customer>. Each join runs
# once per store -- SQLite, Redis pool, Redis async -- and the outputs must
# be identical. Redis has no "row of NULLs": a key whose requested fields
# are all absent is no row, so the SQL says the same
# (`AND (name IS NOT NULL OR city IS NOT NULL)`), and a list holds no NULL
# (`AND street IS NOT NULL`). Plus the open errors a
# user meets.
#
# Usage: tests/redis.sh run -n 1000 tests/test_aw_enrich_redis.sh path/to/aw-enrich
# (make test does this). Needs the AW_REDIS_* environment redis.sh exports.
# Every aw-enrich run is bounded by timeout(1). Last line: "N passed, N failed".
BIN=${1:?usage: tests/test_aw_enrich_redis.sh path/to/aw-enrich}
. "$(dirname "$0")/enrich_lib.sh"
BIN=$(el_bin "$BIN")
el_need_env redis.sh AW_REDIS_HOST AW_REDIS_PORT AW_REDIS_SOCKET AW_REDIS_USER AW_REDIS_PASSWORD
el_tmp enrich-redis

# ------------------------------------------------------------ the data
el_sqlite_db
# r(args...): one RESP command from SQL expressions (byte lengths).
arg() { printf "'\$' || length(CAST(%s AS BLOB)) || char(13, 10) || %s || char(13, 10)" "$1" "$1"; }
cmd() {
    local n=$# s="'*$#' || char(13, 10)"
    for a in "$@"; do s="$s || $(arg "$a")"; done
    echo "$s"
}
{
    sqlite3 -batch -noheader -newline '' db.sqlite "
        SELECT $(cmd "'HSET'" "'e_customer:' || id" "'name'" "name") FROM customers WHERE name IS NOT NULL;
        SELECT $(cmd "'HSET'" "'e_customer:' || id" "'city'" "city") FROM customers WHERE city IS NOT NULL;
        SELECT $(cmd "'SET'" "'e_name:' || id" "name") FROM customers WHERE name IS NOT NULL;
        SELECT $(cmd "'RPUSH'" "'e_streets:' || customer_id" "street") FROM addresses
            WHERE street IS NOT NULL ORDER BY rowid;"
} > load.resp
redis-cli -s "$AW_REDIS_SOCKET" --pipe < load.resp > load.log 2>&1 && grep -q "errors: 0," load.log ||
    { bad setup "cannot load the data into Redis: $(tail -2 load.log)"; finish; }
got=$(redis-cli -s "$AW_REDIS_SOCKET" eval "return #redis.call('keys', 'e_customer:*')" 0)
want=$(sqlite3 db.sqlite "SELECT COUNT(*) FROM customers WHERE name IS NOT NULL OR city IS NOT NULL")
[ "$got" = "$want" ] && ok "data copied ($got customers)" || { bad "data copied" "Redis has '$got', SQLite '$want'"; finish; }

el_orders

# ------------------------------------------------- same bytes as SQLite
RD="redis://$AW_REDIS_USER@$AW_REDIS_HOST:$AW_REDIS_PORT/0"   # password: AW_REDIS_PASSWORD
for q in cust name addr; do
    case $q in
        cust) sql="SELECT name, city FROM customers WHERE id = ? AND (name IS NOT NULL OR city IS NOT NULL)"
              cmd="HMGET e_customer:? name city" ;;
        name) sql="SELECT name AS value FROM customers WHERE id = ? AND name IS NOT NULL"
              cmd="GET e_name:?" ;;
        addr) sql="SELECT street AS value FROM addresses WHERE customer_id = ? AND street IS NOT NULL ORDER BY rowid"
              cmd="LRANGE e_streets:? 0 -1" ;;
    esac
    el_same_as_sqlite $q "$sql" "$cmd" "$RD?strategy=pool&threads=4" "$RD?strategy=async&connections=2&pipeline=64"
done
el_unordered "$RD?strategy=async&connections=2" "LRANGE e_streets:? 0 -1"

# ------------------------------------------------------ errors at open
AW_REDIS_PASSWORD=wrong-pw run wrong_password --dsn "$RD" --sql "GET e_name:?" --key customer_id < orders.csv
expect wrong_password 2 "wrong user or password" "$AW_REDIS_PASSWORD"
grep -q "wrong-pw" wrong_password.err && bad wrong_password_hidden "the password is in the message" ||
    ok wrong_password_hidden
run uri_password --dsn "redis://$AW_REDIS_USER:s3cret-wrong@$AW_REDIS_HOST:$AW_REDIS_PORT/0" \
    --sql "GET e_name:?" --key customer_id < orders.csv
expect uri_password 2 "redis://$AW_REDIS_USER:***@" "$AW_REDIS_PASSWORD"
grep -q "s3cret" uri_password.err && bad uri_password_hidden "the password is in the message" ||
    ok uri_password_hidden
run unknown_command --dsn "$RD?strategy=pool&threads=1" --sql "FETCH e_name:?" --key customer_id < orders.csv
expect unknown_command 2 "unknown command 'FETCH'" "$AW_REDIS_PASSWORD"
run bad_param --dsn "$RD?strategy=async&threads=2" --sql "GET e_name:?" --key customer_id < orders.csv
expect bad_param 2 "threads= is for strategy=pool" "$AW_REDIS_PASSWORD"
run two_keys --dsn "$RD?threads=1" --sql "GET e_name:?" --key customer_id --key id < orders.csv
expect two_keys 2 "--sql has 1 placeholder (?) but 2 --key were given" "$AW_REDIS_PASSWORD"
finish

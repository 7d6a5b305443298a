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
set -u
export LC_ALL=C
BIN=${1:?usage: tests/test_aw_enrich_redis.sh path/to/aw-enrich}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
HERE=$(cd "$(dirname "$0")" && pwd)
LIMIT=${AW_ENRICH_TEST_TIMEOUT:-120}
passed=0 failed=0
ok()  { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

for v in AW_REDIS_HOST AW_REDIS_PORT AW_REDIS_SOCKET AW_REDIS_USER AW_REDIS_PASSWORD; do
    [ -n "${!v:-}" ] || { bad setup "$v is not set: run through tests/redis.sh run"; finish; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/aw-enrich-redis.XXXXXX")
[ -n "${AW_ENRICH_KEEP:-}" ] || trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

run() {
    local name=$1; shift
    timeout "$LIMIT" "$BIN" --no-progress "$@" > "$name.out" 2> "$name.err"
    rc=$?
}

# ------------------------------------------------------------ the data
sqlite3 db.sqlite < "$HERE/enrich_data.sql" || { bad setup "cannot build the SQLite database"; finish; }
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

sqlite3 -batch -csv -header db.sqlite "SELECT id, customer_id, note FROM orders ORDER BY id" > orders.csv
sqlite3 -batch -noheader db.sqlite \
    "SELECT json_object('id', id, 'customer_id', customer_id, 'note', note) FROM orders ORDER BY id" > orders.jsonl

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
    for fmt in csv jsonl; do
        for join in inner left; do
            base=${q}_${fmt}_$join
            run "$base.sqlite" --dsn "sqlite:db.sqlite?threads=2" --sql "$sql" --key customer_id \
                --join "$join" < "orders.$fmt"
            [ "$rc" -eq 0 ] && [ -s "$base.sqlite.out" ] ||
                { bad "$base" "the SQLite run failed (exit $rc): $(head -c 300 "$base.sqlite.err")"; continue; }
            for dsn in "$RD?strategy=pool&threads=4" "$RD?strategy=async&connections=2&pipeline=64"; do
                n=$base.${dsn##*strategy=}; n=${n%%&*}
                run "$n" --dsn "$dsn" --sql "$cmd" --key customer_id --join "$join" < "orders.$fmt"
                if [ "$rc" -ne 0 ]; then bad "$n" "exit $rc: $(head -c 300 "$n.err")"
                elif cmp -s "$base.sqlite.out" "$n.out"; then ok "$n = sqlite"
                else bad "$n" "differs from the SQLite run:"; diff "$base.sqlite.out" "$n.out" | head -10; fi
            done
        done
    done
done
run addr_unordered --dsn "$RD?strategy=async&connections=2" --sql "LRANGE e_streets:? 0 -1" \
    --key customer_id --join left --mode unordered < orders.jsonl
if [ "$rc" -eq 0 ] && cmp -s <(sort addr_jsonl_left.sqlite.out) <(sort addr_unordered.out); then
    ok "addr_unordered is a permutation of the SQLite run"
else bad addr_unordered "exit $rc, or not a permutation of the SQLite run"; fi

# ------------------------------------------------------ errors at open
expect() {
    local name=$1 code=$2 words=$3
    if [ "$rc" -ne "$code" ]; then bad "$name" "exit $rc, wanted $code; stderr: $(head -c 400 "$name.err")"
    elif ! grep -qF -- "$words" "$name.err"; then bad "$name" "stderr lacks '$words': $(head -c 400 "$name.err")"
    else ok "$name"; fi
}
AW_REDIS_PASSWORD=wrong-pw run wrong_password --dsn "$RD" --sql "GET e_name:?" --key customer_id < orders.csv
expect wrong_password 2 "wrong user or password"
grep -q "wrong-pw" wrong_password.err && bad wrong_password_hidden "the password is in the message" ||
    ok wrong_password_hidden
run uri_password --dsn "redis://$AW_REDIS_USER:s3cret-wrong@$AW_REDIS_HOST:$AW_REDIS_PORT/0" \
    --sql "GET e_name:?" --key customer_id < orders.csv
expect uri_password 2 "redis://$AW_REDIS_USER:***@"
grep -q "s3cret" uri_password.err && bad uri_password_hidden "the password is in the message" ||
    ok uri_password_hidden
run unknown_command --dsn "$RD?strategy=pool&threads=1" --sql "FETCH e_name:?" --key customer_id < orders.csv
expect unknown_command 2 "unknown command 'FETCH'"
run bad_param --dsn "$RD?strategy=async&threads=2" --sql "GET e_name:?" --key customer_id < orders.csv
expect bad_param 2 "threads= is for strategy=pool"
run two_keys --dsn "$RD?threads=1" --sql "GET e_name:?" --key customer_id --key id < orders.csv
expect two_keys 2 "--sql has 1 placeholder (?) but 2 --key were given"
finish

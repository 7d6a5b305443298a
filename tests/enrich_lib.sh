# tests/enrich_lib.sh -- what the shell tests share, sourced (not run on
# its own) by tests/test_aw_enrich*.sh and tests/crash_test.sh: the
# ok / FAIL counters and the closing "N passed, N failed" line, a private
# temp dir, aw-enrich runs bounded by timeout(1) and their checks, and for
# the store tests the SQLite reference data and the "same bytes as
# SQLite" loop.
#
# The sourcing script sets BIN (the program under test, absolute: see
# el_bin) and may set RUN_EXTRA (an array of options every run adds).
set -u
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIMIT=${AW_ENRICH_TEST_TIMEOUT:-120}
RUN_EXTRA=()
passed=0 failed=0

ok()  { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

# el_bin PATH: PATH made absolute (the tests cd to their temp dir).
el_bin() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }

# el_tmp NAME [KEEP_VAR]: a new temp dir ($T, aw-NAME.XXXXXX), removed at
# exit unless the variable KEEP_VAR (default AW_ENRICH_KEEP) is set; cd there.
el_tmp() {
    local keep=${2:-AW_ENRICH_KEEP}
    T=$(mktemp -d "${TMPDIR:-/tmp}/aw-$1.XXXXXX")
    [ -n "${!keep:-}" ] || trap 'rm -rf "$T"' EXIT
    cd "$T" || exit 1
}

# el_need_env SCRIPT VAR...: each VAR set, or a failed setup and the end.
el_need_env() {
    local script=$1 v
    shift
    for v in "$@"; do
        [ -n "${!v:-}" ] || { bad setup "$v is not set: run through tests/$script run"; finish; }
    done
}

# run NAME ARGS... < input: aw-enrich's stdout in NAME.out, stderr in
# NAME.err, exit code in $rc.
run() {
    local name=$1; shift
    timeout "$LIMIT" "$BIN" --no-progress "${RUN_EXTRA[@]}" "$@" > "$name.out" 2> "$name.err"
    rc=$?
}

# expect NAME CODE WORDS [SECRET]: exit code CODE, stderr containing
# WORDS (and not SECRET).
expect() {
    local name=$1 code=$2 words=$3 secret=${4:-}
    if [ "$rc" -ne "$code" ]; then bad "$name" "exit $rc, wanted $code; stderr: $(head -c 400 "$name.err")"
    elif ! grep -qF -- "$words" "$name.err"; then bad "$name" "stderr lacks '$words': $(head -c 400 "$name.err")"
    elif [ -n "$secret" ] && grep -qF -- "$secret" "$name.err"; then bad "$name" "the password is in the message"
    else ok "$name"; fi
}

# ------------------------------------------------ the store tests' data

# el_sqlite_db [views]: db.sqlite from tests/enrich_data.sql (with views
# e_customers, e_addresses: the tables as the stores get them).
el_sqlite_db() {
    sqlite3 db.sqlite < "$HERE/enrich_data.sql" &&
    if [ "${1:-}" = views ]; then
        sqlite3 db.sqlite "CREATE VIEW e_customers AS SELECT id, name, city, balance FROM customers;
                   CREATE VIEW e_addresses AS SELECT rowid AS n, customer_id, street, zip FROM addresses;"
    fi || { bad setup "cannot build the SQLite database"; finish; }
}

# The store tests' two lookups, on e_customers and e_addresses (the
# views of el_sqlite_db, the tables loaded from el_inserts).
E_CUST_SQL='SELECT name, city, balance FROM e_customers WHERE id = ?'
E_ADDR_SQL='SELECT street, zip FROM e_addresses WHERE customer_id = ? ORDER BY n'

# el_inserts: INSERT statements for e_customers and e_addresses holding
# db.sqlite's customers and addresses, each text through the caller's
# h() (a literal of the store's that keeps every byte).
el_inserts() {
    sqlite3 -batch -noheader db.sqlite "SELECT 'INSERT INTO e_customers VALUES(' || id || ', ' ||
        ($(h name)) || ', ' || ($(h city)) || ', ' || coalesce(CAST(balance AS TEXT), 'NULL') || ');'
        FROM customers"
    sqlite3 -batch -noheader db.sqlite "SELECT 'INSERT INTO e_addresses VALUES(' || rowid || ', ' ||
        customer_id || ', ' || ($(h street)) || ', ' || ($(h zip)) || ');' FROM addresses"
}

# el_orders: orders.csv and orders.jsonl, written by the sqlite3 CLI.
el_orders() {
    sqlite3 -batch -csv -header db.sqlite "SELECT id, customer_id, note FROM orders ORDER BY id" > orders.csv
    sqlite3 -batch -noheader db.sqlite \
        "SELECT json_object('id', id, 'customer_id', customer_id, 'note', note) FROM orders ORDER BY id" > orders.jsonl
}

# el_same_as_sqlite Q SQLITE_SQL STORE_SQL DSN...: for each input format
# and join, a run on SQLite, then one per DSN with the store's SQL; each
# must give the same bytes. Case Q_FMT_JOIN.STRATEGY[.thread].
el_same_as_sqlite() {
    local q=$1 sql=$2 store_sql=$3 fmt join base dsn n
    shift 3
    for fmt in csv jsonl; do
        for join in inner left; do
            base=${q}_${fmt}_$join
            run "$base.sqlite" --dsn "sqlite:db.sqlite?threads=2" --sql "$sql" --key customer_id \
                --join "$join" < "orders.$fmt"
            [ "$rc" -eq 0 ] && [ -s "$base.sqlite.out" ] ||
                { bad "$base" "the SQLite run failed (exit $rc): $(head -c 300 "$base.sqlite.err")"; continue; }
            for dsn in "$@"; do
                n=$base.${dsn##*strategy=}; n=${n%%&*}; [[ "$dsn" == *io=thread* ]] && n=$n.thread
                run "$n" --dsn "$dsn" --sql "$store_sql" --key customer_id --join "$join" < "orders.$fmt"
                if [ "$rc" -ne 0 ]; then bad "$n" "exit $rc: $(head -c 300 "$n.err")"
                elif cmp -s "$base.sqlite.out" "$n.out"; then ok "$n = sqlite"
                else bad "$n" "differs from the SQLite run:"; diff "$base.sqlite.out" "$n.out" | head -10; fi
            done
        done
    done
}

# el_unordered DSN SQL: unordered, the same records as the SQLite run of
# addr_jsonl_left, in some order.
el_unordered() {
    run addr_unordered --dsn "$1" --sql "$2" --key customer_id --join left --mode unordered < orders.jsonl
    if [ "$rc" -eq 0 ] && cmp -s <(sort addr_jsonl_left.sqlite.out) <(sort addr_unordered.out); then
        ok "addr_unordered is a permutation of the SQLite run"
    else bad addr_unordered "exit $rc, or not a permutation of the SQLite run"; fi
}

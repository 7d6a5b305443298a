#!/usr/bin/env bash
# tests/crash_test.sh -- exactly once under kill -9 (make test-crash).
# Runs examples/enrich on N orders (default 200 000), kills it at K random
# moments (default 20) -- in turn with SIGKILL, SIGINT, SIGTERM and SIGHUP
# (the last three: enrich commits and dies of the signal) -- restarting it
# each time, then lets it
# finish, and checks with the sqlite3 CLI that the output holds every order
# exactly once, with its customer's name and city, in input order (ordered
# mode), every watermark exactly once, nothing left in flight, and no
# sanitizer report from any run (when enrich is built with SAN=...).
# After every kill it also checks the committed output so far: a gap-free
# prefix of the input.
#
# The kill moments are spread over the run: one uninterrupted calibration
# run measures its time T, then each kill comes 1 ms .. T/20 after a start,
# so the 20 runs together cover about half the input and the last run
# finishes it. Bounded: every run is under timeout(1); the script fails if
# it takes more than LIMIT seconds (default 170). The killed runs are the
# enrich process itself (a killed timeout(1) would leave it running).
#
# Usage: tests/crash_test.sh path/to/enrich [--records N] [--kills K]
#                            [--unordered] [--seed S]
# Needs sqlite3. Last line: "N passed, N failed".
BIN=${1:?usage: tests/crash_test.sh path/to/enrich [--records N] [--kills K] [--unordered] [--seed S]}
shift
. "$(dirname "$0")/enrich_lib.sh"        # ok, bad, finish, el_*
BIN=$(el_bin "$BIN")
records=200000 kills=20 mode=ordered seed=$(( ($$ + $(date +%s)) % 32768 ))
LIMIT=${AW_CRASH_LIMIT:-170}
while [ $# -gt 0 ]; do
    case "$1" in
        --records) records=$2; shift 2 ;;
        --kills) kills=$2; shift 2 ;;
        --unordered) mode=unordered; shift ;;
        --seed) seed=$2; shift 2 ;;
        *) echo "crash_test.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
RANDOM=$seed
el_tmp crash AW_CRASH_KEEP
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

echo "crash test: $records orders, $kills kills, $mode mode, seed $seed (--seed $seed repeats it)"
flags=(--input orders.csv --customers customers.db --every 1000 --capacity 256 --quiet)
[ "$mode" = unordered ] && flags+=(--unordered)
WM=1000                                      # enrich's default --watermark-every

# ------------------------------------------------------------ the data
# customers 1..10000; order i wants customer (i*7919) % 10500 + 1 (about 5%
# of orders have none: their name and city stay NULL) and i*37 % 100000 cents.
sqlite3 customers.db <<'SQL' || { bad "build customers.db"; finish; }
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10000)
INSERT INTO customers SELECT i, 'customer-' || i,
  CASE i % 5 WHEN 0 THEN 'Lisbon' WHEN 1 THEN 'Oslo' WHEN 2 THEN 'Turin' WHEN 3 THEN 'Ghent' ELSE 'Brno' END FROM c;
SQL
awk -v n="$records" 'BEGIN { print "order_id,customer_id,amount";
    for (i = 1; i <= n; i++) { a = (i * 37) % 100000;
        printf "%d,%d,%d.%02d\n", i, (i * 7919) % 10500 + 1, int(a / 100), a % 100 } }' > orders.csv

# ------------------------------------------------- calibration (no kill)
t0=$(now_ms)
timeout "$LIMIT" "$BIN" "${flags[@]}" --output ref.db 2> ref.err
rc=$?
span=$(( $(now_ms) - t0 ))
if [ $rc -ne 0 ]; then bad "uninterrupted run" "exit $rc: $(head -c 400 ref.err)"; finish; fi
ok "uninterrupted run: $records orders in $span ms"

# ------------------------------------------------------------ the kills
max_delay=$(( span / 20 > 2 ? span / 20 : 2 ))
killed=0 early=0 prefix_bad=0 last_rows=0 progress=""
sigs=(KILL INT TERM HUP) codes=(137 130 143 129)
for k in $(seq 1 "$kills"); do
    sig=${sigs[k % 4]} want=${codes[k % 4]}
    if [ $SECONDS -gt "$LIMIT" ]; then bad "time limit" "over $LIMIT s after $k kills"; finish; fi
    delay=$(( 1 + (RANDOM * 32768 + RANDOM) % max_delay ))
    # No timeout(1): kill enrich itself. A background job starts with
    # SIGINT ignored (bash, no job control): env puts it back to the
    # default, or an INT that comes before enrich sets its handler is lost
    # and the run finishes (seen on a loaded machine at 6 ms).
    env --default-signal=INT "$BIN" "${flags[@]}" --output out.db 2>> runs.err &
    pid=$!
    sleep "$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 1000 }')"
    kill -s "$sig" "$pid" 2> /dev/null
    { wait "$pid"; } 2> /dev/null
    rc=$?
    if [ "$rc" -eq "$want" ]; then killed=$((killed + 1))
    elif [ "$rc" -eq 0 ]; then early=$((early + 1))
    else bad "run $k" "SIG$sig: exit $rc, wanted $want: $(tail -c 400 runs.err)"; finish; fi
    # What is committed must be a gap-free prefix: order ids 1..rows (in
    # order: seq = order id), or in unordered mode rows distinct ids.
    if [ "$mode" = ordered ]; then
        q="SELECT count(*), count(*) - sum(order_id = seq) FROM enriched"
    else
        q="SELECT count(*), count(*) - count(DISTINCT order_id) FROM enriched"
    fi
    read -r rows wrong < <(sqlite3 -separator ' ' out.db "$q" 2> /dev/null || echo "0 0")
    [ "${wrong:-0}" -ne 0 ] && prefix_bad=$((prefix_bad + 1))
    progress="$progress $sig@${delay}ms:$rows"
    last_rows=$rows
done
echo "kills (signal@delay:committed rows):$progress"
if [ "$killed" -eq "$kills" ]; then ok "$killed kills landed on a running process"
elif [ $((killed + early)) -eq "$kills" ] && [ "$killed" -gt 0 ]; then
    ok "$killed kills landed mid-run, $early runs had already finished"
else bad "kills" "$killed killed, $early finished early"; fi
if [ "$prefix_bad" -eq 0 ]; then ok "after every kill the committed output is a clean prefix"
else bad "committed prefix" "$prefix_bad kills left duplicates or gaps"; fi

# ------------------------------------------------------- the last run
t0=$(now_ms)
timeout "$LIMIT" "$BIN" "${flags[@]}" --output out.db 2> last.err
rc=$?
if [ $rc -eq 0 ]; then ok "final run finished from row $last_rows in $(( $(now_ms) - t0 )) ms"
else bad "final run" "exit $rc: $(head -c 400 last.err)"; finish; fi

# ------------------------------------------------------------ the checks
check() {          # check NAME SQL EXPECTED
    local got
    got=$(sqlite3 -separator ' ' out.db "ATTACH 'customers.db' AS c; $2" 2>&1)
    if [ "$got" = "$3" ]; then ok "$1"; else bad "$1" "got '$got', wanted '$3'"; fi
}
check "every order exactly once" \
    "SELECT count(*), count(DISTINCT order_id), min(order_id), max(order_id) FROM enriched" \
    "$records $records 1 $records"
check "right enrichment" \
    "SELECT count(*) FROM enriched e LEFT JOIN c.customers k ON k.id = e.customer_id
     WHERE e.customer_id != (e.order_id * 7919) % 10500 + 1 OR e.amount_cents != (e.order_id * 37) % 100000
        OR e.name IS NOT k.name OR e.city IS NOT k.city" "0"
check "orders without a customer kept, with NULLs" \
    "SELECT count(*) = sum(customer_id > 10000), count(*) > 0 FROM enriched WHERE name IS NULL" "1 1"
if [ "$mode" = ordered ]; then
    check "input order" \
        "SELECT count(*) FROM (SELECT order_id, lag(order_id) OVER (ORDER BY seq) AS p FROM enriched)
         WHERE p IS NOT NULL AND order_id != p + 1" "0"
    check "every watermark exactly once, in order" \
        "SELECT count(*), count(DISTINCT ts), sum(ts != seq * $WM) FROM watermarks" \
        "$((records / WM)) $((records / WM)) 0"
fi
check "nothing left in flight (empty checkpoint: 52 + 16 bytes)" \
    "SELECT length(state) FROM checkpoint" "68"
cols="SELECT order_id, customer_id, amount_cents, name, city FROM enriched ORDER BY order_id"
if cmp -s <(sqlite3 ref.db "$cols") <(sqlite3 out.db "$cols"); then ok "same rows as the uninterrupted run"
else bad "same rows as the uninterrupted run"; fi
if grep -qE "(Address|Thread|Leak|UndefinedBehavior)Sanitizer|runtime error:" ref.err runs.err last.err; then
    bad "sanitizer reports" "$(grep -hE -m3 "Sanitizer|runtime error:" ref.err runs.err last.err)"
else ok "no sanitizer reports in any run"; fi
echo "crash test summary: $records orders, $mode, $killed kills mid-run ($early after the end), $((kills + 1)) restarts, $SECONDS s"
finish

#!/usr/bin/env bash
# tests/test_aw_enrich.sh -- aw-enrich against a real SQLite file built here,
# checked against what the sqlite3 CLI gives for the same join.
# Usage: tests/test_aw_enrich.sh path/to/aw-enrich     (make test-enrich)
# Needs sqlite3 (scripts/deps.sh). Every run of aw-enrich is bounded by
# timeout(1); nothing sleeps to wait for a result. Last line: "N passed, N failed".
BIN=${1:?usage: tests/test_aw_enrich.sh path/to/aw-enrich}
. "$(dirname "$0")/enrich_lib.sh"        # ok, bad, run, expect, el_*
BIN=$(el_bin "$BIN")
el_tmp enrich-test

# same NAME EXPECTED ACTUAL: byte-for-byte.
same() {
    if cmp -s "$2" "$3"; then ok "$1"
    else bad "$1" "output differs from sqlite3 (diff $2 $3):"; diff "$2" "$3" | head -20; fi
}

# ------------------------------------------------------------ the data
# customers 1..100 (some with awkward text), addresses: none for id % 3 = 0,
# one for id % 3 = 1, three for id % 3 = 2; orders point at customers
# 1..129, so some have no customer at all.
sqlite3 db.sqlite < "$HERE/enrich_data.sql" ||
    { echo "FAIL cannot build the test database"; echo "0 passed, 1 failed"; exit 1; }

# q(x): x as one RFC 4180 CSV field, quoted only when it must be -- the
# rule aw-enrich writes by.
q() {
    printf "(CASE WHEN %s IS NULL THEN '' WHEN instr(%s, ',') OR instr(%s, '\"') OR instr(%s, char(10)) OR instr(%s, char(13)) THEN '\"' || replace(%s, '\"', '\"\"') || '\"' ELSE CAST(%s AS TEXT) END)" \
        "$1" "$1" "$1" "$1" "$1" "$1" "$1"
}
# sql_lines SQL > file: one row, one line, as the sqlite3 CLI prints it.
sql_lines() { sqlite3 -batch -noheader -list db.sqlite "$1"; }

# Inputs, written by the sqlite3 CLI: CSV (quotes every text, CRLF) and JSON lines.
sqlite3 -batch -csv -header db.sqlite "SELECT id, customer_id, note FROM orders ORDER BY id" > orders.csv
sql_lines "SELECT json_object('id', id, 'customer_id', customer_id, 'note', note) FROM orders ORDER BY id" > orders.jsonl

ADDR_SQL='SELECT street, zip FROM addresses WHERE customer_id = ? ORDER BY rowid'
CUST_SQL='SELECT name, city, balance FROM customers WHERE id = ?'

# Expected outputs, from the sqlite3 CLI: the same joins.
expect_csv() {  # JOIN-KIND TABLE COLS... > file
    local join=$1 table=$2; shift 2
    local cols="" c on
    for c in "$@"; do cols="$cols || ',' || $(q "x.$c")"; done
    if [ "$table" = addresses ]; then on="x.customer_id = o.customer_id"; else on="x.id = o.customer_id"; fi
    printf 'id,customer_id,note'; printf ',%s' "$@"; printf '\n'
    sql_lines "SELECT $(q o.id) || ',' || $(q o.customer_id) || ',' || $(q o.note) $cols
               FROM orders o $join JOIN $table x ON $on ORDER BY o.id, x.rowid"
}
expect_jsonl() {  # JOIN-KIND TABLE COLS... > file
    local join=$1 table=$2; shift 2
    local sets="" c on
    for c in "$@"; do sets="$sets, '\$.$c', x.$c"; done
    if [ "$table" = addresses ]; then on="x.customer_id = o.customer_id"; else on="x.id = o.customer_id"; fi
    sql_lines "SELECT json_set(json_object('id', o.id, 'customer_id', o.customer_id, 'note', o.note) $sets)
               FROM orders o $join JOIN $table x ON $on ORDER BY o.id, x.rowid"
}
expect_csv INNER addresses street zip > want_addr_inner.csv
expect_csv LEFT addresses street zip > want_addr_left.csv
expect_csv INNER customers name city balance > want_cust_inner.csv
expect_csv LEFT customers name city balance > want_cust_left.csv
expect_jsonl INNER addresses street zip > want_addr_inner.jsonl
expect_jsonl LEFT addresses street zip > want_addr_left.jsonl
expect_jsonl LEFT customers name city balance > want_cust_left.jsonl

# Sorted comparison for unordered mode (records may span lines in CSV, so
# compare the multiset of lines; a CSV header must still come first).
sorted_same() {
    local hdr=ok
    case "$2" in *.csv) [ "$(head -n 1 "$2")" = "$(head -n 1 "$3")" ] || hdr=bad;; esac
    if [ $hdr = ok ] && cmp -s <(sort "$2") <(sort "$3"); then ok "$1"
    else bad "$1" "unordered output is not a permutation of sqlite3's"; fi
}

# -------------------------------------------------- equal to sqlite3
DSN="sqlite:db.sqlite?threads=4"
for join in inner left; do
    for mode in ordered unordered; do
        n=csv_addr_${join}_$mode
        run "$n" --dsn "$DSN" --sql "$ADDR_SQL" --key customer_id --join "$join" --mode "$mode" < orders.csv
        if [ "$rc" -ne 0 ]; then bad "$n" "exit $rc: $(head -c 300 "$n.err")"
        elif [ "$mode" = ordered ]; then same "$n" "want_addr_$join.csv" "$n.out"
        else sorted_same "$n" "want_addr_$join.csv" "$n.out"; fi

        n=jsonl_addr_${join}_$mode
        run "$n" --dsn "$DSN" --sql "$ADDR_SQL" --key customer_id --join "$join" --mode "$mode" < orders.jsonl
        if [ "$rc" -ne 0 ]; then bad "$n" "exit $rc: $(head -c 300 "$n.err")"
        elif [ "$mode" = ordered ]; then same "$n" "want_addr_$join.jsonl" "$n.out"
        else sorted_same "$n" "want_addr_$join.jsonl" "$n.out"; fi
    done
done
run csv_cust_inner --dsn "$DSN" --sql "$CUST_SQL" --key customer_id < orders.csv
same csv_cust_inner want_cust_inner.csv csv_cust_inner.out
# --cache: the same bytes, fewer queries, and the hit ratio in the summary
# (orders repeat customers: 100 customers, more orders).
run csv_cust_cache --dsn "$DSN" --sql "$CUST_SQL" --key customer_id --cache 50 --cache-ttl-ms 60000 < orders.csv
same csv_cust_cache want_cust_inner.csv csv_cust_cache.out
if grep -qE 'cache hit ratio [0-9.]+% \([0-9]+ hits, [0-9]+ queries\)' csv_cust_cache.err; then ok csv_cust_cache_summary
else bad csv_cust_cache_summary "$(tail -n 1 csv_cust_cache.err)"; fi
run cache_ttl_alone --dsn "$DSN" --sql "$CUST_SQL" --key customer_id --cache-ttl-ms 10 < orders.csv
expect cache_ttl_alone 2 "--cache-ttl-ms needs --cache"
run cache_bad --dsn "$DSN" --sql "$CUST_SQL" --key customer_id --cache x < orders.csv
expect cache_bad 2 "--cache must be a whole number"
run csv_cust_left_by_index --dsn "sqlite:db.sqlite?threads=1" --sql "$CUST_SQL" --key 2 --join left --format csv < orders.csv
same csv_cust_left_by_index want_cust_left.csv csv_cust_left_by_index.out
run jsonl_cust_left --dsn "$DSN" --sql "$CUST_SQL" --key customer_id --join left --capacity 7 < orders.jsonl
same jsonl_cust_left want_cust_left.jsonl jsonl_cust_left.out
run csv_capacity_1 --dsn "$DSN" --sql "$ADDR_SQL" --key customer_id --capacity 1 < orders.csv
same csv_capacity_1 want_addr_inner.csv csv_capacity_1.out

# The summary counts every record.
n=summary_counts
if grep -qE '^aw-enrich: 3000 records in, [0-9]+ out, 0 failed' csv_addr_left_ordered.err &&
   grep -qF " $(($(sql_lines "SELECT count(*) FROM orders o LEFT JOIN addresses x ON x.customer_id = o.customer_id"))) out," csv_addr_left_ordered.err
then ok $n; else bad $n "$(cat csv_addr_left_ordered.err)"; fi

# Our own CSV output read back in gives the same again (quoting both ways).
cut_sql='SELECT zip FROM addresses WHERE customer_id = ? ORDER BY rowid LIMIT 1'
run roundtrip_a --dsn "$DSN" --sql "$cut_sql" --key customer_id --join left < orders.csv
run roundtrip_b --dsn "$DSN" --sql "SELECT 1 AS one" --key zip < roundtrip_a.out
n=roundtrip
if [ "$rc" -eq 2 ] && grep -qF "placeholder" roundtrip_b.err; then
    # no ? in that SQL: refused. Now the real round trip, checked by
    # reading our output back with the sqlite3 CLI's CSV reader:
    run roundtrip_b --dsn "$DSN" --sql "SELECT ? AS again" --key note < roundtrip_a.out
    got=$(sqlite3 -batch -noheader -list db.sqlite ".import --csv roundtrip_b.out rt" \
          "SELECT count(*), sum(rt.note IS NOT coalesce(o.note, '') OR rt.again IS NOT rt.note)
           FROM rt JOIN orders o ON o.id = rt.id" 2>&1)
    if [ "$rc" -eq 0 ] && [ "$(sed -n '1p' roundtrip_b.out)" = "id,customer_id,note,zip,again" ] &&
       [ "$got" = "3000|0" ]; then ok $n
    else bad $n "exit $rc, sqlite3 read back '$got': $(head -c 300 roundtrip_b.err)"; fi
else bad $n "a query without ? was not refused: exit $rc"; fi

# ---------------------------------------------------- quoting, by hand
printf 'k,v\n1,"a,b"\n2,"say ""hi"""\n3,"x\ny"\n5,Zoë\n4,\n6,""\n' > quoting.csv
run quoting --dsn "$DSN" --sql 'SELECT name AS "na,me", city AS "ci""ty" FROM customers WHERE id = ?' --key k < quoting.csv
printf '%s\n' 'k,v,"na,me","ci""ty"' '1,"a,b","comma, inside",city 1' '2,"say ""hi""","say ""hi""",city 2' \
    '3,"x' 'y","two' 'lines",city 3' '5,Zoë,Zoë 東京 🎉,' '4,,"crlf'$'\r''' 'inside",city 4' '6,,,city 6' > want_quoting.csv
same quoting want_quoting.csv quoting.out

printf '\xef\xbb\xbfk\r\n1\r\n\r\n2\r\n' > bom.csv
run bom_crlf_blank --dsn "$DSN" --sql 'SELECT id FROM customers WHERE id = ?' --key k < bom.csv
printf 'k,id\n1,1\n2,2\n' > want_bom.csv
same bom_crlf_blank want_bom.csv bom_crlf_blank.out

: > empty.csv
run empty_input --dsn "$DSN" --sql "$CUST_SQL" --key k < empty.csv
if [ "$rc" -eq 0 ] && [ ! -s empty_input.out ]; then ok empty_input; else bad empty_input "exit $rc"; fi

# ------------------------------------------- errors: code and sentence
run missing_key --dsn "$DSN" --sql "$CUST_SQL" --key cust < orders.csv
expect missing_key 2 "--key 'cust': no such column in the CSV header"
run index_out_of_range --dsn "$DSN" --sql "$CUST_SQL" --key 4 < orders.csv
expect index_out_of_range 2 "no such column"
run bad_scheme --dsn "oracle://x/y" --sql "$CUST_SQL" --key customer_id < orders.csv
expect bad_scheme 2 "--dsn 'oracle://x/y'"
run missing_db --dsn "sqlite:no-such-file.db" --sql "$CUST_SQL" --key customer_id < orders.csv
expect missing_db 2 "no-such-file.db"
run bad_sql --dsn "$DSN" --sql "SELEKT name FROM customers WHERE id = ?" --key customer_id < orders.csv
expect bad_sql 2 "syntax error"
run no_table --dsn "$DSN" --sql "SELECT name FROM clients WHERE id = ?" --key customer_id < orders.csv
expect no_table 2 "clients"
run key_count --dsn "$DSN" --sql "SELECT name FROM customers WHERE id = ? AND city = ?" --key customer_id < orders.csv
expect key_count 2 "2 placeholders (?) but 1 --key"
run no_dsn --sql "$CUST_SQL" --key k < orders.csv
expect no_dsn 2 "--dsn is required"
run bad_mode --dsn "$DSN" --sql "$CUST_SQL" --key k --mode sideways < orders.csv
expect bad_mode 2 "--mode must be ordered or unordered"
run bad_capacity --dsn "$DSN" --sql "$CUST_SQL" --key k --capacity 0 < orders.csv
expect bad_capacity 2 "--capacity must be"
run unknown_flag --dsn "$DSN" --sql "$CUST_SQL" --key k --frobnicate < orders.csv
expect unknown_flag 2 "unknown option '--frobnicate'"
run help --help < /dev/null
if [ "$rc" -eq 0 ] && grep -qF -- "--on-error fail|skip|keep" help.out; then ok help; else bad help "exit $rc"; fi

# Malformed lines: reported with their line number; fail stops with 3
# after writing what came before; skip leaves them out with 1.
printf 'k,v\n1,"multi\nline"\n2,x"y\n3,ok\n4,a,b\n5,"fine"\n' > malformed.csv
run malformed_fail --dsn "$DSN" --sql 'SELECT id FROM customers WHERE id = ?' --key k < malformed.csv
expect malformed_fail 3 "line 4: malformed CSV"
n=malformed_fail_output
if [ "$(cat malformed_fail.out)" = "$(printf 'k,v,id\n1,"multi\nline",1')" ]; then ok $n; else bad $n "$(cat malformed_fail.out)"; fi
run malformed_skip --dsn "$DSN" --sql 'SELECT id FROM customers WHERE id = ?' --key k --on-error skip < malformed.csv
expect malformed_skip 1 "line 6: 3 fields, but the header has 2"
n=malformed_skip_output
if grep -qF "line 4: malformed CSV" malformed_skip.err && grep -qF "2 failed (2 malformed)" malformed_skip.err &&
   [ "$(cat malformed_skip.out)" = "$(printf 'k,v,id\n1,"multi\nline",1\n3,ok,3\n5,fine,5')" ]; then ok $n
else bad $n "$(cat malformed_skip.out malformed_skip.err)"; fi
printf '"k"x,v\n1,2\n' > badheader.csv
run malformed_header --dsn "$DSN" --sql 'SELECT id FROM customers WHERE id = ?' --key k --on-error skip < badheader.csv
expect malformed_header 3 "line 1: malformed CSV"
printf 'k\n1\n"open\n2\n' > unclosed.csv
run unclosed_quote --dsn "$DSN" --sql 'SELECT id FROM customers WHERE id = ?' --key k --on-error skip < unclosed.csv
expect unclosed_quote 1 "line 3: malformed CSV: a quoted field opened here is not closed"
printf '{"k":1}\n{"k":2,}\n[3]\n{"j":4}\n{"k":[5]}\n{"k":6}\n' > malformed.jsonl
run malformed_jsonl --dsn "$DSN" --sql 'SELECT id FROM customers WHERE id = ?' --key k --on-error skip < malformed.jsonl
expect malformed_jsonl 1 "line 2: invalid JSON"
n=malformed_jsonl_lines
if grep -qF 'line 3: not a JSON object' malformed_jsonl.err && grep -qF 'line 4: no key "k"' malformed_jsonl.err &&
   grep -qF 'line 5: key "k" holds an array' malformed_jsonl.err &&
   [ "$(cat malformed_jsonl.out)" = "$(printf '{"k":1,"id":1}\n{"k":6,"id":6}')" ]; then ok $n
else bad $n "$(cat malformed_jsonl.out malformed_jsonl.err)"; fi

# A lookup that fails at run time (integer overflow for customer 21).
BOOM_SQL='SELECT name, CASE WHEN id = 21 THEN abs(-9223372036854775807 - 1) ELSE 0 END AS chk FROM customers WHERE id = ?'
printf 'k\n20\n21\n22\n' > boom.csv
run lookup_fail --dsn "$DSN" --sql "$BOOM_SQL" --key k --retries 0 < boom.csv
expect lookup_fail 3 "line 3: lookup failed"
run lookup_skip --dsn "$DSN" --sql "$BOOM_SQL" --key k --retries 1 --retry-delay-ms 1 --on-error skip < boom.csv
expect lookup_skip 1 "integer overflow"
n=lookup_skip_output
if [ "$(cat lookup_skip.out)" = "$(printf 'k,name,chk\n20,name 20,0\n22,name 22,0')" ] &&
   grep -qF "1 failed, 1 retried" lookup_skip.err; then ok $n; else bad $n "$(cat lookup_skip.out lookup_skip.err)"; fi
run lookup_keep --dsn "$DSN" --sql "$BOOM_SQL" --key k --retries 0 --on-error keep --mode unordered < boom.csv
n=lookup_keep
if [ "$rc" -eq 1 ] && [ "$(sort lookup_keep.out)" = "$(printf '20,name 20,0\n21,,\n22,name 22,0\nk,name,chk')" ]; then ok $n
else bad $n "exit $rc: $(cat lookup_keep.out lookup_keep.err)"; fi

# Time-outs (issue 17): a lookup that takes far longer than --timeout-ms
# fails with AW_ETIMEDOUT whether it was running (SQLite interrupts it) or
# queued behind it on the one worker: all three, at their deadline, not
# seconds later, and the summary's counts agree with what was written.
# Before: all three written ~10 s later, "3 timed out", exit 0.
SLOW_SQL='WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < CAST(? AS INTEGER)) SELECT count(*) AS n FROM c'
printf 'k\n40000000\n40000001\n40000002\n' > slow.csv
t0=$(date +%s%N)
run timeout --dsn "sqlite:db.sqlite?threads=1" --sql "$SLOW_SQL" --key k --timeout-ms 50 --retries 0 \
    --mode unordered --on-error skip < slow.csv
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
n=timeout
if [ "$rc" -eq 1 ] && grep -qF "3 records in, 0 out, 3 failed, 0 retried, 3 timed out" timeout.err &&
   [ "$(grep -c 'lookup failed (AW_ETIMEDOUT)' timeout.err)" -eq 3 ] &&
   [ "$(cat timeout.out)" = "k,n" ] && [ "$ms" -lt 5000 ]; then ok $n
else bad $n "exit $rc after $ms ms: $(cat timeout.out timeout.err)"; fi

# ------------------------------------------------- signals (issue 17)
# sig_run NAME SIG INPUT ARGS... (stderr: bash's job notices, discarded by
# the callers): aw-enrich reads a FIFO that stays
# open; once its first output line (SIG_AFTER_LINES lines) is out, it gets
# SIG (then SIG_TWICE, if set); output and stderr
# are kept in NAME.out / NAME.err, exit code in $rc, time in $ms.
sig_run() {
    local name=$1 sig=$2 input=$3; shift 3
    rm -f sig_in.fifo sig_out.fifo
    mkfifo sig_in.fifo sig_out.fifo
    timeout "$LIMIT" "$BIN" --no-progress "$@" < sig_in.fifo > sig_out.fifo 2> "$name.err" &
    local pid=$!
    exec 7> sig_in.fifo
    cat "$input" >&7 &
    local feeder=$!
    exec 8< sig_out.fifo
    local first="" line i
    for ((i = 0; i < ${SIG_AFTER_LINES:-1}; i++)); do   # the first lines are out
        IFS= read -r -t 20 line <&8 && first="$first$line"$'\n'
    done
    t0=$(date +%s%N)
    kill -s "$sig" "$pid"
    # Two of the same signal may merge into one while pending: another.
    [ -n "${SIG_TWICE:-}" ] && kill -s "$SIG_TWICE" "$pid"
    { printf '%s' "$first"; cat <&8; } > "$name.out"
    exec 8<&-
    { wait "$pid"; } 2> /dev/null; rc=$?
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    kill "$feeder" 2> /dev/null; wait "$feeder" 2> /dev/null
    exec 7>&-
}
# Whole records only, and as many as the summary says went out.
complete_records() {  # NAME FIELDS
    local name=$1 fields=$2 out
    out=$(sed -n 's/^aw-enrich: [0-9]* records in, \([0-9]*\) out,.*/\1/p' "$name.err")
    [ -n "$out" ] && [ "$(tail -c 1 "$name.out" | od -An -c | tr -d ' ')" = '\n' ] &&
        [ "$(awk -F, -v f="$fields" 'NF != f' "$name.out" | wc -l)" -eq 0 ] &&
        [ $(( $(wc -l < "$name.out") - 1 )) -eq "$out" ]
}
sql_lines "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
           SELECT 'order_id,customer_id' UNION ALL SELECT * FROM (SELECT i || ',' || (1 + (i * 7919) % 100) FROM n)" > big.csv
for sig in INT TERM HUP; do
    case $sig in INT) want=130;; TERM) want=143;; HUP) want=129;; esac
    n=signal_$sig
    sig_run $n $sig big.csv --dsn "$DSN" --sql 'SELECT id, id * 2 AS twice FROM customers WHERE id = ?' --key customer_id 2> /dev/null
    if [ "$rc" -eq "$want" ] && grep -qF "stopped by SIG$sig" $n.err && complete_records $n 4; then ok $n
    else bad $n "exit $rc (want $want), $(wc -l < $n.out) lines, last bytes '$(tail -c 20 $n.out)': $(tail -c 300 $n.err)"; fi
done

# A record in flight when the signal comes finishes or times out (here:
# times out, 300 ms, its statement interrupted) before the summary.
printf 'k\n1\n40000000\n' > one_slow.csv
n=signal_drains_in_flight
sig_run $n TERM one_slow.csv --dsn "sqlite:db.sqlite?threads=2" --sql "$SLOW_SQL" --key k --timeout-ms 300 \
    --retries 0 --on-error skip 2> /dev/null
if [ "$rc" -eq 143 ] && grep -qF "2 records in, 1 out, 1 failed, 0 retried, 1 timed out, stopped by SIGTERM" $n.err &&
   [ "$(cat $n.out)" = "$(printf 'k,n\n1,1')" ] && [ "$ms" -lt 5000 ]; then ok $n
else bad $n "exit $rc after $ms ms: $(cat $n.out $n.err)"; fi

# A second signal exits at once (with its status), although the slow
# record has no time-out to end it.
n=signal_twice_exits_at_once
SIG_AFTER_LINES=2 SIG_TWICE=TERM sig_run $n INT one_slow.csv --dsn "sqlite:db.sqlite?threads=2" --sql "$SLOW_SQL" --key k --timeout-ms 0 2> /dev/null
# (timeout(1) may pass the two on in either order: 130 or 143.)
if { [ "$rc" -eq 143 ] || [ "$rc" -eq 130 ]; } && grep -qF "second signal: stopping at once" $n.err &&
   [ "$(cat $n.out)" = "$(printf 'k,n\n1,1')" ] && [ "$ms" -lt 3000 ]; then ok $n
else bad $n "exit $rc after $ms ms: $(cat $n.out $n.err)"; fi

# ------------------------------------- what the summary counts (issue 17)
printf 'k\n1\n2\n3\n' > three.csv
run dev_full --dsn "$DSN" --sql 'SELECT name FROM customers WHERE id = ?' --key k < three.csv > /dev/full
timeout "$LIMIT" "$BIN" --no-progress --dsn "$DSN" --sql 'SELECT name FROM customers WHERE id = ?' --key k \
    < three.csv > /dev/full 2> dev_full.err; rc=$?
expect dev_full 3 "3 records in, 0 out, 0 failed, 0 retried, 0 timed out, 3 not written (output failed)"

timeout "$LIMIT" "$BIN" --no-progress --dsn "$DSN" --sql 'SELECT name FROM customers WHERE id = ?' --key k \
    <&- > closed_stdin.out 2> closed_stdin.err; rc=$?
expect closed_stdin 3 "cannot read the input"
timeout "$LIMIT" "$BIN" --no-progress --dsn "$DSN" --sql 'SELECT name FROM customers WHERE id = ?' --key k \
    < three.csv >&- 2> closed_stdout.err; rc=$?
expect closed_stdout 3 "cannot write the output: standard output is closed"

# Latency: 2 of 3 records take long; p99 is not below them (it was the
# fast one's: one record in four was measured).
printf 'k\n1\n6000000\n6000001\n' > lat.csv
run latency_small_run --dsn "sqlite:db.sqlite?threads=2" --sql "$SLOW_SQL" --key k --timeout-ms 0 < lat.csv
n=latency_small_run
p99=$(sed -n 's/.* s wall, .* p99 \([0-9.]*\) ms.*/\1/p' $n.err)
wall=$(sed -n 's/.*, \([0-9.]*\) s wall,.*/\1/p' $n.err)
if [ "$rc" -eq 0 ] && [ -n "$p99" ] && awk -v p="$p99" -v w="$wall" 'BEGIN { exit !(p >= 0.5 * w * 1000) }'; then ok $n
else bad $n "p99 $p99 ms, wall $wall s: $(cat $n.err)"; fi

# Memory follows use: 3 records at --capacity 10000000 (was ~1.2 GB).
limit_kb=51200
nm "$BIN" 2> /dev/null | grep -q __asan_init && limit_kb=204800   # ASan's shadow memory
/usr/bin/time -f '%M' -o rss.txt timeout "$LIMIT" "$BIN" --no-progress --dsn "$DSN" \
    --sql 'SELECT name FROM customers WHERE id = ?' --key k --capacity 10000000 < three.csv > rss.out 2> rss.err
n=capacity_rss
if grep -qF "3 records in, 3 out" rss.err && [ "$(tail -n 1 rss.txt)" -lt "$limit_kb" ]; then ok $n
else bad $n "max RSS $(tail -n 1 rss.txt) kB (limit $limit_kb): $(cat rss.err)"; fi

# ------------------------------------------ messages (issue 17, item 9)
run secret_redacted --dsn 'mysql://app:S3cretPW@127.0.0.1:1/shop?password=An0ther' --sql "$CUST_SQL" --key k < three.csv
n=secret_redacted
if [ "$rc" -eq 2 ] && ! grep -qE 'S3cretPW|An0ther' $n.err && grep -qF "app:***@127.0.0.1:1/shop?password=***" $n.err; then ok $n
else bad $n "exit $rc: $(cat $n.err)"; fi
run multi_statement --dsn "$DSN" --sql "$CUST_SQL; SELECT 1" --key k < three.csv
expect multi_statement 2 "--sql: SQL holds more than one statement"
run directory_dsn --dsn "sqlite:$T" --sql "$CUST_SQL" --key k < three.csv
expect directory_dsn 2 "is a directory, not a database file"
run repeated_param --dsn "sqlite:db.sqlite?threads=4&threads=5" --sql "$CUST_SQL" --key k < three.csv
expect repeated_param 2 "parameter 'threads' is given twice"
run duplicate_result_names --dsn "$DSN" --sql 'SELECT name, city AS name FROM customers WHERE id = ?' --key k < three.csv
expect duplicate_result_names 2 "--sql returns two columns named 'name'"
printf '{"k":1,"k":2}\n{"k":3}\n' > dupkey.jsonl
run duplicate_json_key --dsn "$DSN" --sql 'SELECT id FROM customers WHERE id = ?' --key k --on-error skip < dupkey.jsonl
n=duplicate_json_key
if [ "$rc" -eq 1 ] && grep -qF "line 1: invalid JSON at column 10: duplicate object key" $n.err &&
   [ "$(cat $n.out)" = '{"k":3,"id":3}' ]; then ok $n; else bad $n "exit $rc: $(cat $n.out $n.err)"; fi
printf 'k\n1\n' > one.csv
run infinity --dsn "$DSN" --sql 'SELECT 1e999 AS a, -1e999 AS b, ? AS c' --key k < one.csv
n=infinity
if [ "$rc" -eq 0 ] && [ "$(sed -n 2p $n.out)" = "1,$(sqlite3 db.sqlite 'SELECT 1e999')," ] ||
   [ "$(sed -n 2p $n.out)" = "1,Inf,-Inf,1" ]; then ok $n; else bad $n "$(cat $n.out)"; fi

# --------------------------------------------------------- streaming
# With the input still open, the first record comes out: aw-enrich does
# not wait for the end of input (nor for a full buffer) to write.
n=streaming
mkfifo in.fifo out.fifo
timeout "$LIMIT" "$BIN" --no-progress --dsn "$DSN" --sql 'SELECT name FROM customers WHERE id = ?' --key k \
    < in.fifo > out.fifo 2> streaming.err &
pid=$!
exec 7> in.fifo 8< out.fifo
printf 'k\n14\n' >&7
line1="" line2=""
read -r -t 20 line1 <&8; read -r -t 20 line2 <&8
printf '15\n' >&7
exec 7>&-
line3=""; read -r -t 20 line3 <&8
exec 8<&-
wait "$pid"; rc=$?
if [ "$rc" -eq 0 ] && [ "$line1" = "k,name" ] && [ "$line2" = "14,name 14" ] && [ "$line3" = "15,name 15" ]; then ok $n
else bad $n "exit $rc, got '$line1' '$line2' '$line3'"; fi

# ------------------------------------------ throughput (not a pass/fail)
if [ -n "${AW_ENRICH_BENCH:-}" ]; then
    sql_lines "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $AW_ENRICH_BENCH)
               SELECT 'order_id,customer_id' UNION ALL SELECT * FROM (SELECT i || ',' || (1 + (i * 7919) % 100) FROM n)" > bench.csv
    run bench --dsn "$DSN" --sql "$CUST_SQL" --key customer_id < bench.csv
    tail -n 1 bench.err
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

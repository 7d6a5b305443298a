#!/usr/bin/env bash
# scripts/demo_scale.sh -- make demo-scale (docs/scale-out.md): aw-enrich
# scaled out over a Redis Streams consumer group. For 1, 2 and 4 consumer
# processes over the same stream (SQLite lookups with DELAY_US of simulated
# latency, --capacity CAP and CAP threads each): records/s, the ratio to
# one consumer, and the CPU they and Redis used; then the rate of the
# sink's script alone (XACK + XADD, EVALSHA pipelined by redis-cli --pipe):
# where Redis itself becomes the limit. Each run is checked: every input
# id once in the output, nothing pending.
#
# Usage: tests/redis.sh run -n 1 scripts/demo_scale.sh path/to/aw-enrich
#            [--quick] [--records N] [--capacity "64 8"] [--dir DIR]
# Writes DIR/results.csv, DIR/scale.png (gnuplot) and prints the table.
set -u
export LC_ALL=C
BIN=${1:?usage: scripts/demo_scale.sh path/to/aw-enrich [--quick] [--records N] [--capacity LIST] [--dir DIR]}
shift
RECORDS=200000 CAPS="64 8" DIR=build/demo-scale DELAY_US=1000 CONSUMERS="1 2 4"
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) RECORDS=30000; CAPS=64; shift ;;
        --records) RECORDS=$2; shift 2 ;;
        --capacity) CAPS=$2; shift 2 ;;
        --dir) DIR=$2; shift 2 ;;
        *) echo "demo_scale.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
for v in AW_REDIS_PORT AW_REDIS_SOCKET AW_REDIS_USER AW_REDIS_PASSWORD; do
    [ -n "${!v:-}" ] || { echo "demo_scale.sh: $v is not set: run through tests/redis.sh run" >&2; exit 2; }
done
mkdir -p "$DIR" && DIR=$(cd "$DIR" && pwd)
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
r() { redis-cli -s "$AW_REDIS_SOCKET" "$@"; }
SRV="redis-stream://$AW_REDIS_USER@127.0.0.1:$AW_REDIS_PORT"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done' EXIT
TICK=$(getconf CLK_TCK)
NCPU=$(nproc)
fail=0

sqlite3 "$DIR/customers.db" "DROP TABLE IF EXISTS customers;
    CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT);
    WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10000)
    INSERT INTO customers SELECT i, 'name-' || i, 'city-' || (i % 12) FROM c" || exit 1

# load KEY N: entries order_id i, customer_id i%10000+1, ids i-1.
load() {
    r del "$1" > /dev/null
    awk -v s="$1" -v n="$2" 'BEGIN { for (i = 1; i <= n; i++) { c = i % 10000 + 1; id = i "-1"
        printf "*7\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$8\r\norder_id\r\n$%d\r\n%d\r\n$11\r\ncustomer_id\r\n$%d\r\n%d\r\n",
               length(s), s, length(id), id, length(i), i, length(c), c } }' > "$DIR/load.resp"
    r --pipe < "$DIR/load.resp" | grep -q "errors: 0," || { echo "load failed" >&2; exit 1; }
}
redis_cpu() { r info cpu | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.3f", s }'; }
proc_cpu() { awk -v t="$TICK" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null || echo 0; }
now() { date +%s.%N; }

echo "consumers,capacity,latency_us,records,seconds,records_per_s,ratio,ideal_per_s,cpu_busy_pct" > "$DIR/results.csv"
printf "\n%-9s %-8s %-8s %12s %7s %12s %9s\n" consumers capacity records records/s ratio "ideal/s" "CPU busy"
for cap in $CAPS; do
    base=""
    for n in $CONSUMERS; do
        # Redis Cluster would need both keys in one slot: the hash tag.
        load "{orders}" "$RECORDS"
        r del "{orders}:enriched" > /dev/null
        r xgroup create "{orders}" enrich 0 > /dev/null
        PIDS=()
        for i in $(seq "$n"); do
            "$BIN" --no-progress --dsn "sqlite:$DIR/customers.db?threads=$cap" \
                --sql "SELECT name, city FROM customers WHERE id = ? AND delay_us($DELAY_US)" \
                --key customer_id --capacity "$cap" --timeout-ms 0 \
                --source "$SRV/%7Borders%7D?group=enrich&consumer=c$i" \
                --sink "$SRV/%7Borders%7D:enriched" 2> "$DIR/c$i.err" &
            PIDS+=($!)
        done
        # Timed from 5% of the output to all of it: not the start-up.
        from=$((RECORDS / 20)) t0="" deadline=$((SECONDS + 600))
        while :; do
            got=$(r xlen "{orders}:enriched")
            if [ -z "$t0" ] && [ "$got" -ge "$from" ]; then
                t0=$(now); rc0=$(redis_cpu); pc0=0
                for p in "${PIDS[@]}"; do pc0=$(echo "$pc0 + $(proc_cpu "$p")" | bc); done
            fi
            [ "$got" -ge "$RECORDS" ] && break
            [ $SECONDS -lt $deadline ] || { echo "demo_scale.sh: not done after 600 s" >&2; exit 1; }
            sleep 0.02
        done
        t1=$(now); rc1=$(redis_cpu); pc1=0
        for p in "${PIDS[@]}"; do pc1=$(echo "$pc1 + $(proc_cpu "$p")" | bc); done
        kill -TERM "${PIDS[@]}"; wait "${PIDS[@]}" 2>/dev/null
        secs=$(echo "$t1 - $t0" | bc -l)
        rate=$(echo "($RECORDS - $from) / $secs" | bc -l)
        [ -n "$base" ] || base=$rate
        ratio=$(echo "$rate / $base" | bc -l)
        ideal=$(echo "$n * $cap * 1000000 / $DELAY_US" | bc)
        busy=$(echo "100 * (($pc1 - $pc0) + ($rc1 - $rc0)) / ($secs * $NCPU)" | bc -l)
        pend=$(r xpending "{orders}" enrich | head -1)
        uniq=$(r eval "local s, n = {}, 0 for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
                  local id = e[2][#e[2]] if not s[id] then s[id] = 1 n = n + 1 end end return n" 1 "{orders}:enriched")
        [ "$pend" = 0 ] && [ "$uniq" = "$RECORDS" ] && [ "$(r xlen "{orders}:enriched")" = "$RECORDS" ] ||
            { echo "CHECK FAILED: $n consumers: pending $pend, distinct src_id $uniq of $RECORDS" >&2; fail=1; }
        printf "%-9s %-8s %-8s %12.0f %6.2fx %12s %8.0f%%\n" "$n" "$cap" "$RECORDS" "$rate" "$ratio" "$ideal" "$busy"
        printf "%s,%s,%s,%s,%.3f,%.0f,%.3f,%s,%.0f\n" "$n" "$cap" "$DELAY_US" "$RECORDS" "$secs" "$rate" "$ratio" \
            "$ideal" "$busy" >> "$DIR/results.csv"
    done
done

# The script alone: RECORDS entries pending in a group, then one EVALSHA
# each (XACK + one XADD of five fields, as aw-enrich sends), pipelined.
load "{bench}" "$RECORDS"
r del "{bench}:out" > /dev/null
r xgroup create "{bench}" g 0 > /dev/null
r xreadgroup group g b count "$RECORDS" streams "{bench}" ">" > /dev/null
sha=$(r script load "$("$BIN" --stream-script)")
awk -v n="$RECORDS" -v sha="$sha" 'function a(s) { return "$" length(s) "\r\n" s "\r\n" }
    BEGIN { for (i = 1; i <= n; i++) { id = i "-1"; c = i % 10000 + 1
        printf "*18\r\n%s%s%s%s%s%s%s", a("EVALSHA"), a(sha), a("2"), a("{bench}"), a("{bench}:out"), a("g"), a(id)
        printf "%s%s%s%s%s%s%s%s%s%s%s", a("10"), a("order_id"), a(i), a("customer_id"), a(c), a("name"), a("name-" c),
               a("city"), a("city-" c % 12), a("src_id"), a(id) } }' > "$DIR/bench.resp"
t0=$(now)
r --pipe < "$DIR/bench.resp" > "$DIR/bench.log"
t1=$(now)
written=$(r xlen "{bench}:out")
srate=$(echo "$RECORDS / ($t1 - $t0)" | bc -l)
printf "\nRedis: the sink's script (XACK + XADD), pipelined by redis-cli --pipe: %.0f records/s (%s written)\n" \
    "$srate" "$written"
echo "script,,,$RECORDS,$(echo "$t1 - $t0" | bc -l),$(printf %.0f "$srate"),,," >> "$DIR/results.csv"
rm -f "$DIR/load.resp" "$DIR/bench.resp"
[ "$written" = "$RECORDS" ] || { echo "CHECK FAILED: the script wrote $written of $RECORDS" >&2; fail=1; }

if command -v gnuplot > /dev/null; then
    gnuplot <<EOF
set terminal pngcairo size 800,500 noenhanced
set output "$DIR/scale.png"
set datafile separator ","
set title "aw-enrich over a Redis consumer group: ${DELAY_US} us lookups, ${NCPU} CPUs"
set xlabel "consumer processes"
set ylabel "records/s"
set key top left
set xtics (1, 2, 4)
set logscale y
set yrange [1000:*]
plot for [c in "$CAPS"] "$DIR/results.csv" using (\$2 == c+0 ? \$1 : 1/0):6 with linespoints lw 2 title "measured, capacity ".c, \
     for [c in "$CAPS"] "$DIR/results.csv" using (\$2 == c+0 ? \$1 : 1/0):8 with lines dt 2 title "latency bound, capacity ".c, \
     $(printf %.0f "$srate") with lines lw 1 title "Redis: the script alone"
EOF
    echo "plot: $DIR/scale.png"
fi
echo "table: $DIR/results.csv"
exit $fail

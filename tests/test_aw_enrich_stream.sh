#!/usr/bin/env bash
# tests/test_aw_enrich_stream.sh -- aw-enrich scaled out over a Redis
# Streams consumer group (issue 16, docs/scale-out.md), on the throwaway
# Redis of tests/redis.sh:
#   errors     a missing group=, a wrong password, an unreachable server,
#              --source without --sink: exit 2 with a sentence, no password
#   kill       N entries (default 200 000), 3 consumers enriching against
#              SQLite with 1 ms of simulated latency (delay_us); consumer c1
#              killed with SIGKILL twice mid-run and restarted; at the end
#              the output holds every input id exactly once with the right
#              enrichment, and the group's pending list is empty
#   stop       slow, not dead: a consumer SIGSTOPped until the other claimed
#              its pending entries, then SIGCONT: still exactly once, and its
#              summary counts the duplicates the script suppressed
#   reconnect  the server kills the consumer's connections (CLIENT KILL)
#              twice mid-run: it reconnects, nothing lost, nothing doubled
#   storm      CLIENT KILL again and again (up to 200 times): the consumer lives
#              (EPIPE, not SIGPIPE) and the output is still exactly once
# Nothing sleeps to wait for a result: every wait polls XLEN / XPENDING /
# the process against a deadline, and every aw-enrich runs under
# timeout(1). The check is one Lua script on the server (read-only).
#
# Usage: tests/redis.sh run -n 1 tests/test_aw_enrich_stream.sh path/to/aw-enrich [--records N]
# (make test-enrich-stream). Last line: "N passed, N failed".
BIN=${1:?usage: tests/test_aw_enrich_stream.sh path/to/aw-enrich [--records N]}
shift
. "$(dirname "$0")/enrich_lib.sh"        # ok, bad, finish, el_*
BIN=$(el_bin "$BIN")
RECORDS=200000
[ "${1:-}" = "--records" ] && RECORDS=$2
LIMIT=${AW_STREAM_TEST_LIMIT:-240}      # seconds, for each wait and each run
el_need_env redis.sh AW_REDIS_HOST AW_REDIS_PORT AW_REDIS_SOCKET AW_REDIS_USER AW_REDIS_PASSWORD
T=$(mktemp -d "${TMPDIR:-/tmp}/aw-enrich-stream.XXXXXX")
PIDS=()
cleanup() {
    local p c
    for p in "${PIDS[@]}"; do   # aw-enrich first: it would outlive a killed timeout(1)
        c=$(pgrep -P "$p" | head -1)
        [ -n "$c" ] && kill -CONT "$c" 2>/dev/null && kill -KILL "$c" 2>/dev/null
        kill -KILL "$p" 2>/dev/null
    done
    [ -n "${AW_ENRICH_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1
r() { redis-cli -s "$AW_REDIS_SOCKET" "$@"; }
SRV="redis-stream://$AW_REDIS_USER@$AW_REDIS_HOST:$AW_REDIS_PORT"   # password: AW_REDIS_PASSWORD
SQL="SELECT name, city FROM customers WHERE id = ? AND delay_us(1000)"

# wait_for DESC CMD...: polls CMD (every 50 ms) until it succeeds; false
# after LIMIT seconds.
wait_for() {
    local desc=$1 deadline=$((SECONDS + LIMIT))
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || { bad "$desc" "not after ${LIMIT}s"; return 1; }
        sleep 0.05
    done
}
xlen_at_least() { [ "$(r xlen "$1")" -ge "$2" ]; }
pending_of() {   # pending_of STREAM GROUP CONSUMER: entries it holds
    r xpending "$1" "$2" - + 1000000 "$3" | awk 'NF { n++ } END { print n / 4 }'
}
holds_none() { [ "$(pending_of "$1" "$2" "$3")" = 0 ]; }
holds_some() { [ "$(pending_of "$1" "$2" "$3")" != 0 ]; }

# consumer NAME STREAM GROUP OUT [extra aw-enrich options]: starts one in
# the background; its pid in CPID (and PIDS), stderr in NAME.err (appended).
consumer() {
    local name=$1 stream=$2 group=$3 out=$4
    shift 4
    timeout -s KILL "$LIMIT" "$BIN" --no-progress --dsn "sqlite:c.db?threads=64" --sql "$SQL" \
        --key customer_id --join left --capacity 64 --timeout-ms 0 \
        --source "$SRV/$stream?group=$group&consumer=$name" --sink "$SRV/$out" "$@" 2>> "$name.err" &
    CPID=$!
    PIDS+=("$CPID")
}
# The exec'd aw-enrich is timeout's child: signals go to it, not timeout.
child_of() { pgrep -P "$1" | head -1; }
signal() { local c; c=$(child_of "$2"); [ -n "$c" ] && kill "-$1" "$c"; }

# stop_all PIDS...: SIGTERM, then each must exit 143 after its summary.
stop_all() {
    local p c rc all=0
    for p in "$@"; do signal TERM "$p" || all=1; done
    for p in "$@"; do wait "$p"; rc=$?; [ "$rc" -eq 143 ] || { echo "  pid $p exited $rc"; all=1; }; done
    return $all
}

# load STREAM N: entries order_id i, customer_id (i*7919)%10500+1 (about
# 5% have no customer: left join, no result fields).
load() {
    awk -v s="$1" -v n="$2" 'BEGIN { for (i = 1; i <= n; i++) { c = (i * 7919) % 10500 + 1
        printf "*7\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$8\r\norder_id\r\n$%d\r\n%d\r\n$11\r\ncustomer_id\r\n$%d\r\n%d\r\n",
               length(s), s, length(i), i, length(c), c } }' > "$1.resp"
    r --pipe < "$1.resp" > "$1.log" 2>&1 && grep -q "errors: 0," "$1.log"
}

# check NAME IN OUT GROUP N: every input id once in OUT (src_id), with its
# order's fields and its customer's name and city; nothing pending.
CHECK='
local function entries(key, fn)
  local last = "-"
  while true do
    local b = redis.call("XRANGE", key, last, "+", "COUNT", 10000)
    if #b == 0 then return end
    for _, e in ipairs(b) do
      local f = {}
      for j = 1, #e[2], 2 do f[e[2][j]] = e[2][j + 1] end
      fn(e[1], f)
    end
    last = "(" .. b[#b][1]
  end
end
local seen, outs, dup, wrong, missing, ins = {}, 0, 0, 0, 0, 0
entries(KEYS[2], function(id, f)
  outs = outs + 1
  if seen[f.src_id] then dup = dup + 1 else seen[f.src_id] = f end
end)
entries(KEYS[1], function(id, f)
  ins = ins + 1
  local o = seen[id]
  if not o then missing = missing + 1 return end
  local c = tonumber(f.customer_id)
  local name, city = nil, nil
  if c <= 10000 then
    name = "name-" .. c
    if c % 7 ~= 0 then city = "city-" .. (c % 12) end
  end
  if o.order_id ~= f.order_id or o.customer_id ~= f.customer_id or o.name ~= name or o.city ~= city then
    wrong = wrong + 1
  end
end)
local p = redis.call("XPENDING", KEYS[1], ARGV[1])
return string.format("%d in, %d out, %d missing, %d duplicated, %d wrong, %d pending",
                     ins, outs, missing, dup, wrong, p[1])'
check() {
    local name=$1 in=$2 out=$3 group=$4 n=$5 got want
    got=$(r eval "$CHECK" 2 "$in" "$out" "$group")
    want="$n in, $n out, 0 missing, 0 duplicated, 0 wrong, 0 pending"
    echo "  $name: $got"
    [ "$got" = "$want" ] && ok "$name: exactly once" || bad "$name: exactly once" "$got"
}
no_san_report() {
    if grep -l "Sanitizer\|runtime error" "$@" > /dev/null 2>&1; then
        bad "$1: sanitizer report" "$(grep -h -m3 "Sanitizer\|runtime error" "$@")"
    else ok "no sanitizer report ($*)"; fi
}

# ------------------------------------------------------------ the data
sqlite3 c.db "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT);
    WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10000)
    INSERT INTO customers SELECT i, 'name-' || i, CASE WHEN i % 7 = 0 THEN NULL ELSE 'city-' || (i % 12) END FROM c" ||
    { bad setup "cannot build the SQLite database"; finish; }

# -------------------------------------------------------------- errors
expect() {   # expect NAME CODE WORDS: the last run's exit status and stderr
    local name=$1 code=$2 words=$3
    if [ "$rc" -ne "$code" ]; then bad "$name" "exit $rc, wanted $code; stderr: $(head -c 400 "$name.err")"
    elif ! grep -qF -- "$words" "$name.err"; then bad "$name" "stderr lacks '$words': $(head -c 400 "$name.err")"
    elif grep -qF -- "$AW_REDIS_PASSWORD" "$name.err"; then bad "$name" "the password is in the message"
    elif [ "$(wc -l < "$name.err")" -ne 1 ]; then bad "$name" "more than one line: $(cat "$name.err")"
    else ok "$name: exit $code, '$words'"; fi
}
err_run() {  # err_run NAME SOURCE [options]
    local name=$1 src=$2
    shift 2
    timeout 60 "$BIN" --no-progress --dsn "sqlite:c.db" --sql "$SQL" --key customer_id \
        --source "$src" --sink "${src%%/e_in*}/e_out" "$@" > "$name.out" 2> "$name.err" < /dev/null
    rc=$?
}
err_run no_group "$SRV/e_in?consumer=c1"
expect no_group 2 "group= is required"
err_run no_consumer "$SRV/e_in?group=g"
expect no_consumer 2 "consumer= is required"
AW_REDIS_PASSWORD=wrong-pw-123 err_run wrong_password "$SRV/e_in?group=g&consumer=c1"
expect wrong_password 2 "wrong user or password"
grep -q "wrong-pw-123" wrong_password.err && bad wrong_password_hidden "the password is in the message" ||
    ok wrong_password_hidden
port=1; while ss -Htln "sport = :$port" | grep -q .; do port=$((port + 1)); done
err_run unreachable "redis-stream://127.0.0.1:$port/e_in?group=g&consumer=c1"
expect unreachable 2 "cannot reach a server at 127.0.0.1:$port"
timeout 60 "$BIN" --dsn "sqlite:c.db" --sql "$SQL" --key customer_id --source "$SRV/e_in?group=g&consumer=c1" \
    > no_sink.out 2> no_sink.err < /dev/null; rc=$?
expect no_sink 2 "--source and --sink go together"
r set e_str x > /dev/null
err_run sink_type "$SRV/e_in?group=g&consumer=c1" --sink "$SRV/e_str"
expect sink_type 2 "is not a stream but a string"

# ------------------------------------------------ kill -9 twice, 3 consumers
load orders "$RECORDS" || { bad "load $RECORDS entries" "$(tail -2 orders.log)"; finish; }
ok "loaded $RECORDS entries"
t0=$SECONDS
consumer c1 orders enrich orders_enriched --claim-idle-ms 2000; p1=$CPID
consumer c2 orders enrich orders_enriched --claim-idle-ms 2000; p2=$CPID
consumer c3 orders enrich orders_enriched --claim-idle-ms 2000; p3=$CPID
for k in 1 2; do
    wait_for "kill $k: output reaches $((k * RECORDS / 3))" xlen_at_least orders_enriched $((k * RECORDS / 3)) || finish
    wait_for "kill $k: c1 holds entries" holds_some orders enrich c1 || finish
    held=$(pending_of orders enrich c1)
    signal KILL "$p1"; wait "$p1" 2>/dev/null
    echo "  kill $k: c1 killed with SIGKILL holding $held pending entries, at $(r xlen orders_enriched) output entries"
    consumer c1 orders enrich orders_enriched --claim-idle-ms 2000; p1=$CPID
done
wait_for "kill: all $RECORDS written" xlen_at_least orders_enriched "$RECORDS" || finish
stop_all "$p1" "$p2" "$p3" && ok "kill: the consumers stop on SIGTERM (143)" || bad "kill: SIGTERM" "$(tail -n 3 c?.err)"
echo "  kill test: $((SECONDS - t0)) s; summaries:"; sed 's/^/    /' c1.err c2.err c3.err | grep "records in"
check kill orders orders_enriched enrich "$RECORDS"
no_san_report c1.err c2.err c3.err

# ------------------------------------------------------- slow, not dead
# s1 is stopped while it holds entries; s2 claims them once they are idle
# for 300 ms; s1 resumes and finishes them too: the script drops its
# doubles. Entries whose script was on the wire when s1 stopped are
# acknowledged by it all the same, so s2 may find nothing to claim: then
# the round is run again (up to 3 times) on a fresh stream.
N2=$(( RECORDS / 10 < 20000 ? RECORDS / 10 : 20000 ))
held_or_done() { holds_some "$S" g2 s1 || xlen_at_least "$O" "$N2"; }
for round in 1 2 3; do
    S=slow$round O=slow_out$round
    rm -f s1.err s2.err
    load "$S" "$N2" || { bad "load $N2 entries"; finish; }
    consumer s1 "$S" g2 "$O" --claim-idle-ms 300; q1=$CPID
    consumer s2 "$S" g2 "$O" --claim-idle-ms 300; q2=$CPID
    wait_for "stop: output starts" xlen_at_least "$O" $((N2 / 10)) || finish
    wait_for "stop: s1 holds entries" held_or_done || finish
    if ! signal STOP "$q1" || xlen_at_least "$O" "$N2"; then   # all written before s1 could be stopped
        signal CONT "$q1"; stop_all "$q1" "$q2" > /dev/null
        echo "  stop (round $round): all written before s1 was stopped holding entries"
        continue
    fi
    held=$(pending_of "$S" g2 s1)
    wait_for "stop: s2 claims what s1 held" holds_none "$S" g2 s1 || finish
    echo "  stop (round $round): s1 stopped holding $held entries; none left to it now"
    signal CONT "$q1"
    wait_for "stop: all $N2 written" xlen_at_least "$O" "$N2" || finish
    stop_all "$q1" "$q2" && ok "stop: the consumers stop on SIGTERM (143)" || bad "stop: SIGTERM" "$(tail -n 3 s?.err)"
    sed 's/^/    /' s1.err s2.err | grep "records in"
    check stop "$S" "$O" g2 "$N2"
    no_san_report s1.err s2.err
    grep -q "claimed" s2.err || { echo "  stop (round $round): s2 claimed nothing (s1's writes landed first)"; continue; }
    grep -q "duplicates suppressed" s1.err && ok "stop: s1's late results were suppressed by the script" ||
        bad "stop: s2 claimed, but s1 suppressed nothing" "$(cat s1.err)"
    break
done
grep -q "claimed" s2.err || bad "stop: s2 never claimed s1's entries in 3 rounds"

# ----------------------------------------------------- connections killed
load recon "$N2" || { bad "load $N2 entries"; finish; }
consumer k1 recon g3 recon_out; q=$CPID
for k in 1 2; do
    wait_for "reconnect $k: output reaches $((k * N2 / 3))" xlen_at_least recon_out $((k * N2 / 3)) || finish
    echo "  reconnect $k: CLIENT KILL USER $AW_REDIS_USER: $(r client kill user "$AW_REDIS_USER") connections"
done
wait_for "reconnect: all $N2 written" xlen_at_least recon_out "$N2" || finish
stop_all "$q" && ok "reconnect: the consumer stops on SIGTERM (143)" || bad "reconnect: SIGTERM" "$(tail -n 3 k1.err)"
sed 's/^/    /' k1.err | grep "records in"
grep -q "reconnected" k1.err && ok "reconnect: reconnected" || bad "reconnect: no reconnect" "$(cat k1.err)"
check reconnect recon recon_out g3 "$N2"
no_san_report k1.err

# ------------------------- a storm of kills: EPIPE, not death by SIGPIPE
# The consumer's connections killed one round after another (200 times,
# or until all is written): a write into a connection the server closed
# used to end aw-enrich with SIGPIPE.
NS=60000
load storm "$NS" || { bad "load $NS entries"; finish; }
consumer k2 storm g4 storm_out; q=$CPID
wait_for "storm: output starts" xlen_at_least storm_out 1 || finish
c=$(child_of "$q") kills=0
# SIGPIPE ignored (bit 13 of SigIgn): the mechanism, whatever the storm hits.
ign=$(awk '/^SigIgn:/ { print $2 }' "/proc/$c/status" 2>/dev/null)
[ -n "$ign" ] && (( 0x$ign & 0x1000 )) && ok "storm: SIGPIPE is ignored" ||
    bad "storm: SIGPIPE is not ignored" "SigIgn: ${ign:-?}"
while [ $kills -lt 200 ] && kill -0 "$c" 2>/dev/null && ! xlen_at_least storm_out "$NS"; do
    r client kill user "$AW_REDIS_USER" > /dev/null && kills=$((kills + 1))
done
if kill -0 "$c" 2>/dev/null; then ok "storm: alive after $kills kills"
else wait "$q"; bad "storm: aw-enrich died after $kills kills (exit $?)" "$(tail -n 2 k2.err)"; finish; fi
wait_for "storm: all $NS written" xlen_at_least storm_out "$NS" || finish
stop_all "$q" && ok "storm: the consumer stops on SIGTERM (143)" || bad "storm: SIGTERM" "$(tail -n 3 k2.err)"
sed 's/^/    /' k2.err | grep "records in"
check storm storm storm_out g4 "$NS"
no_san_report k2.err
finish

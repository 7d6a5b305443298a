#!/usr/bin/env bash
# tests/fresh_build.sh -- the README's commands on a fresh clone, in the
# orders a new user types them, with no `make clean` anywhere:
#   1. make demo with the optional client libraries hidden (a pkg-config
#      shim says libmariadb, libpq and hiredis are missing, as on a machine
#      where `make demo` installed only what the demo needs);
#   2. make test with them found again -- the link error of issue 11;
#   3. make demo after make test;
#   4. make test SAN=address, then plain make test, in one tree;
#   5. a CFLAGS change rebuilds every object, and hiding a client again
#      drops its adapter from the archive (and finding it puts it back).
# The clone is of the committed HEAD of this repository. Each make's output
# goes to a log, printed when that step fails. Ends with
# "N passed, N failed". Usage: tests/fresh_build.sh [--quick] (--quick runs
# only the mysql and core suites in step 4).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
quick=0
[ "${1:-}" = --quick ] && quick=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# The shim: every query about a hidden module fails, the rest go through.
mkdir -p "$tmp/shim"
real=$(command -v pkg-config)
cat > "$tmp/shim/pkg-config" <<EOF
#!/bin/sh
for a; do case "\$a" in libmariadb|libpq|hiredis) exit 1;; esac; done
exec $real "\$@"
EOF
chmod +x "$tmp/shim/pkg-config"

check() {   # check NAME COMMAND...: runs it in the clone, logs, counts
    local name=$1 log="$tmp/log.$((pass + fail))"
    shift
    if (cd "$tmp/aw" && "$@") >"$log" 2>&1; then
        echo "ok   - $name"
        pass=$((pass + 1))
    else
        echo "FAIL - $name (last lines of its output:)"
        tail -n 30 "$log" | sed 's/^/     | /'
        fail=$((fail + 1))
    fi
}
has_mysql() { nm "$tmp/aw/build/libasyncwait.a" 2>/dev/null | grep -c ' T aw_mysql_open$' >/dev/null; }
hidden() { PATH="$tmp/shim:$PATH" "$@"; }

git clone -q "$src" "$tmp/aw" || { echo "FAIL - cannot clone $src"; echo "0 passed, 1 failed"; exit 1; }

check "make demo with the client libraries hidden" hidden make demo DEMO_ARGS=--quick
check "  ... built a library without the MySQL adapter" bash -c "! nm build/libasyncwait.a | grep -c ' T aw_mysql_open$' >/dev/null"
check "then make test (no make clean)" make test
check "  ... and the library now holds the MySQL adapter" has_mysql
check "make demo after make test" make demo DEMO_ARGS=--quick
tests=""
[ $quick = 1 ] && tests="TESTS=core_order,core_keyed,core_api,core_calls,mysql"
check "make test SAN=address" make test SAN=address $tests
check "then plain make test" make test $tests
check "CFLAGS=-O1 rebuilds every library object" \
    bash -c 'make all CFLAGS="-O1 -g" >/dev/null && for o in build/obj/lib/*.o; do [ "$o" -nt build/config.stamp ] || { echo "$o not rebuilt"; exit 1; }; done'
check "hiding libmariadb again drops the adapter" bash -c "PATH='$tmp/shim:$PATH' make all >/dev/null && ! nm build/libasyncwait.a | grep -c ' T aw_mysql_open$' >/dev/null && build/examples/minimal >/dev/null"
check "finding it again puts the adapter back" bash -c "make all >/dev/null && nm build/libasyncwait.a | grep -c ' T aw_mysql_open$' >/dev/null"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]

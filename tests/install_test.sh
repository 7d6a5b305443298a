#!/usr/bin/env bash
# tests/install_test.sh -- make install / uninstall as a user or packager
# does them, against the tree's plain build (run by make test-install):
#   - install into a temp PREFIX; the installed asyncwait.pc names that
#     prefix, and its Libs.private names the MySQL client exactly when the
#     archive holds the MySQL adapter;
#   - build examples/minimal.c and examples/lookup.c (an adapter program)
#     with nothing but `pkg-config --cflags --libs --static asyncwait`, and
#     run them (lookup against a SQLite file made here);
#   - a second PREFIX regenerates the .pc without recompiling anything;
#   - DESTDIR stays out of the .pc (DESTDIR=D PREFIX=/usr -> prefix=/usr);
#   - uninstall leaves each prefix without a file or folder of ours.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok   - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; [ -f "$tmp/out" ] && tail -n 20 "$tmp/out" | sed 's/^/     | /'; fail=$((fail + 1)); }
try() { local name=$1; shift; if "$@" >"$tmp/out" 2>&1; then ok "$name"; else bad "$name"; fi; }

p1=$tmp/one/usr
try "make install PREFIX=$p1" make install PREFIX="$p1"
pcdir=$p1/lib/pkgconfig
pc() { PKG_CONFIG_PATH=$pcdir pkg-config "$@" asyncwait; }
try "the .pc names the prefix" grep -qx "prefix=$p1" "$pcdir/asyncwait.pc"
if nm "$p1/lib/libasyncwait.a" | grep -c ' T aw_mysql_open$' >/dev/null; then
    try "Libs.private names the MySQL client the archive needs" bash -c "grep '^Libs.private:' '$pcdir/asyncwait.pc' | grep -q mariadb"
else
    try "Libs.private names no MySQL client the archive lacks" bash -c "! grep '^Libs.private:' '$pcdir/asyncwait.pc' | grep -q mariadb"
fi
if nm "$p1/lib/libasyncwait.a" | grep -c ' T aw_postgres_open$' >/dev/null; then
    try "Libs.private names libpq, which the archive needs" bash -c "grep '^Libs.private:' '$pcdir/asyncwait.pc' | grep -qw -- -lpq"
    try "the PostgreSQL adapter's header is installed" test -f "$p1/include/asyncwait/postgres/postgres.h"
else
    try "Libs.private names no libpq the archive lacks" bash -c "! grep '^Libs.private:' '$pcdir/asyncwait.pc' | grep -qw -- -lpq"
fi
flags=$(pc --cflags --libs --static)
try "examples/minimal.c builds with pkg-config alone" cc -std=c11 examples/minimal.c $flags -o "$tmp/minimal"
try "  ... and runs" bash -c "'$tmp/minimal' | grep -qx '5 -> 25'"
try "examples/lookup.c builds with pkg-config alone" cc -std=c11 examples/lookup.c $flags -o "$tmp/lookup"
sqlite3 "$tmp/c.db" "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT);
                    INSERT INTO customers VALUES (1, 'Ann', 'Oslo'), (2, 'Bob', NULL);"
try "  ... and looks up through the SQLite adapter" bash -c \
    "[ \"\$('$tmp/lookup' 'sqlite:$tmp/c.db?threads=2' 'SELECT name, city FROM customers WHERE id = ?' 1 2 3)\" = \"\$(printf '1\tAnn\tOslo\n2\tBob\t\\\\N')\" ]"

p2=$tmp/two/opt
make install PREFIX="$p2" >"$tmp/out" 2>&1
if grep -q ' -c ' "$tmp/out"; then bad "a new PREFIX recompiled objects"; else ok "a new PREFIX recompiles nothing"; fi
try "  ... and its .pc names the new prefix" grep -qx "prefix=$p2" "$p2/lib/pkgconfig/asyncwait.pc"

try "make install DESTDIR=D PREFIX=/usr" make install DESTDIR="$tmp/pkg" PREFIX=/usr
try "  ... writes prefix=/usr, not DESTDIR" grep -qx "prefix=/usr" "$tmp/pkg/usr/lib/pkgconfig/asyncwait.pc"

try "make uninstall PREFIX=$p1" make uninstall PREFIX="$p1"
try "  ... leaves the prefix empty" bash -c "[ -z \"\$(find '$p1' -mindepth 1)\" ]"
try "make uninstall PREFIX=$p2" make uninstall PREFIX="$p2"
try "make uninstall DESTDIR=D PREFIX=/usr" make uninstall DESTDIR="$tmp/pkg" PREFIX=/usr
try "  ... leaves DESTDIR empty" bash -c "[ -z \"\$(find '$tmp/pkg/usr' -mindepth 1)\" ]"
mkdir -p "$p1/include/asyncwait" && echo keep > "$p1/include/asyncwait/theirs.h"
make install PREFIX="$p1" >/dev/null 2>&1; make uninstall PREFIX="$p1" >/dev/null 2>&1
try "uninstall keeps a file it did not install" test -f "$p1/include/asyncwait/theirs.h"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]

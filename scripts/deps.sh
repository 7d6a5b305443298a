#!/usr/bin/env bash
# Installs the Debian packages asyncwait needs, only those missing.
# Usage: scripts/deps.sh [group...]   groups: build (default), demo, mysql, postgres, redis, fuzz
set -euo pipefail
pkgs=(build-essential pkg-config libcunit1-dev libsqlite3-dev sqlite3 libcsv-dev libjansson-dev)
for g in "$@"; do
    case "$g" in
        build) ;;
        demo) pkgs+=(gnuplot-nox) ;;
        mysql) pkgs+=(mariadb-server libmariadb-dev sysbench) ;;
        postgres) pkgs+=(postgresql libpq-dev) ;;
        redis) pkgs+=(redis-server libhiredis-dev) ;;
        fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
        *) echo "deps.sh: unknown group '$g' (build, demo, mysql, postgres, redis, fuzz)" >&2; exit 2 ;;
    esac
done
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps.sh: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

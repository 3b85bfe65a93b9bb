#!/usr/bin/env bash
# The whole test suite: installs what it needs on a fresh Debian machine, then runs every test file.
#   bash scripts/test.sh            all tests
#   bash scripts/test.sh unit       only tests that need no external program (test/unit)
#   bash scripts/test.sh FILE...    the named test files
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure.sh
ensure_node_modules
ensure_debian_packages pebble nginx haproxy openssl unzip bind9 knot pdns-server pdns-backend-sqlite3 sqlite3 chromium acl systemd python3-minimal
ensure_local_ca
ensure_dashboard_bundle

if [ "$#" -eq 0 ]; then
  # Static checks first: a type error or lint error fails the suite like a failing test.
  echo "kv-acme: typecheck (tsc --noEmit) and lint (eslint)" >&2
  npx --no-install tsc -p tsconfig.json --noEmit
  npx --no-install tsc -p dashboard/tsconfig.json
  npx --no-install eslint --max-warnings 0 .
  npx --no-install prettier --check . >/dev/null || { npx --no-install prettier --list-different . >&2; echo "kv-acme: files above are not formatted: run npm run format" >&2; exit 1; }
  mapfile -t files < <(find test -name '*.test.ts' | sort)
elif [ "$1" = "unit" ]; then
  mapfile -t files < <(find test/unit -name '*.test.ts' | sort)
else
  files=("$@")
fi
# Two test files at a time: the machine has two cores and integration tests run real servers.
exec node --import tsx --test --test-concurrency=2 --test-timeout=300000 "${files[@]}"

#!/usr/bin/env bash
# `npm run stack`: the local stack in the foreground (installs Pebble first when missing and root).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure.sh
ensure_node_modules
ensure_debian_packages pebble
ensure_local_ca
exec node --import tsx src/local/stack-cli.ts "$@"

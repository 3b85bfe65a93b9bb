#!/usr/bin/env bash
# Quick start, command 1: install what is needed, then run kv-acme's main job end to end on the local stack.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure.sh
ensure_node_modules
ensure_debian_packages pebble
ensure_local_ca
exec node --import tsx src/local/demo.ts "$@"

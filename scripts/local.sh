#!/usr/bin/env bash
# Runs a local-stack entry point after installing what it needs (npm packages, Pebble from Debian when root):
#   bash scripts/local.sh demo     Quick start command 1 (src/local/demo.ts)
#   bash scripts/local.sh stack    the local stack in the foreground (src/local/stack-cli.ts)
#   bash scripts/local.sh start    the local stack + the local Functions host (src/local/start.ts)
#   bash scripts/local.sh acmebot  switching from Acmebot on a private stack (src/local/acmebot-demo.ts)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure.sh
entry="${1:?usage: scripts/local.sh demo|stack|start|acmebot [options]}"
shift
case "$entry" in
  demo) file=src/local/demo.ts ;;
  stack) file=src/local/stack-cli.ts ;;
  start) file=src/local/start.ts ;;
  acmebot) file=src/local/acmebot-demo.ts ;;
  *) echo "scripts/local.sh: unknown entry '$entry' (demo, stack, start or acmebot)" >&2; exit 2 ;;
esac
ensure_node_modules
ensure_debian_packages pebble
ensure_local_ca
if [ "$entry" = start ]; then ensure_dashboard_bundle; fi
exec node --import tsx "$file" "$@"

#!/usr/bin/env bash
# Mutation testing (StrykerJS) module by module; see stryker.config.mjs and docs/testing.md.
#   bash scripts/mutation.sh              every module
#   bash scripts/mutation.sh api names    the named modules
# Scores land in reports/mutation/<module>.json; reruns are incremental. Not part of npm test (CPU-heavy).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure.sh
ensure_node_modules
ensure_debian_packages pebble acl haproxy
ensure_local_ca
mapfile -t all < <(node --input-type=module -e 'process.env.KVACME_MUTATION_MODULE = "api"; const { MODULES } = await import("./stryker.config.mjs"); console.log(Object.keys(MODULES).join("\n"))')
modules=("$@")
[ "${#modules[@]}" -eq 0 ] && modules=("${all[@]}")
for m in "${modules[@]}"; do
  echo "kv-acme: mutation testing of module $m" >&2
  KVACME_MUTATION_MODULE="$m" npx --no-install stryker run stryker.config.mjs
done

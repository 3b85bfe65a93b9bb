#!/usr/bin/env bash
# Runs one benchmark after installing what it needs: bash scripts/bench.sh issue-latency|renewal-fanout|cold-start|agent-poll|dashboard-render|chaos|scale|fleet-scale [options]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure.sh
name="${1:?usage: scripts/bench.sh issue-latency|renewal-fanout|cold-start|agent-poll|dashboard-render|chaos|scale|fleet-scale [options]}"
shift
[ -f "bench/$name.ts" ] || { echo "scripts/bench.sh: no benchmark bench/$name.ts" >&2; exit 2; }
ensure_node_modules
case "$name" in
  issue-latency)
    # --dns rfc2136 adds BIND 9 and certbot's RFC 2136 plugin, --dns powerdns PowerDNS with its SQLite backend.
    packages=(pebble certbot lego curl jq)
    case " $* " in
      *" --dns rfc2136 "* | *" --dns=rfc2136 "*) packages+=(bind9 python3-certbot-dns-rfc2136) ;;
      *" --dns powerdns "* | *" --dns=powerdns "*) packages+=(pdns-server pdns-backend-sqlite3 sqlite3) ;;
    esac
    ensure_debian_packages "${packages[@]}"
    ;;
  renewal-fanout | chaos | scale | fleet-scale) ensure_debian_packages pebble ;;
  agent-poll) ensure_debian_packages nginx ;;
  dashboard-render) ensure_debian_packages chromium && ensure_dashboard_bundle ;;
esac
ensure_local_ca
exec node --import tsx "bench/$name.ts" "$@"

# Shared install steps for scripts/*.sh (sourced, not run).

# npm ci when node_modules is missing or older than the lock file.
ensure_node_modules() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "kv-acme: installing npm dependencies (npm ci)" >&2
    npm ci --no-audit --no-fund >&2
  fi
}

# apt-get install the named Debian packages whose binaries are missing (root only; a clear message otherwise).
ensure_debian_packages() {
  local missing=() pkg bin
  for pkg in "$@"; do
    case "$pkg" in
      nginx) bin=/usr/sbin/nginx ;;
      haproxy) bin=/usr/sbin/haproxy ;;
      bind9) bin=/usr/sbin/named ;;
      knot) bin=/usr/sbin/knotd ;;
      acl) bin=/usr/bin/setfacl ;;
      systemd) bin=/usr/bin/systemd-notify ;;
      python3-minimal) bin=/usr/bin/python3 ;;
      pdns-server) bin=/usr/sbin/pdns_server ;;
      pdns-backend-sqlite3) bin=/usr/lib/x86_64-linux-gnu/pdns/libgsqlite3backend.so; [ -e "$bin" ] || bin=$(ls /usr/lib/*/pdns/libgsqlite3backend.so 2>/dev/null | head -1 || true) ;;
      python3-certbot-dns-rfc2136) bin=/usr/lib/python3/dist-packages/certbot_dns_rfc2136/__init__.py ;;
      *) bin=$(command -v "$pkg" || true) ;;
    esac
    [ -n "$bin" ] && { [ -x "$bin" ] || [ -f "$bin" ]; } || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "kv-acme: missing Debian packages: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  echo "kv-acme: installing Debian packages: ${missing[*]}" >&2
  # The packages' own services (nginx on :80, haproxy) are not wanted: the tests run their own instances on loopback
  # ports. A temporary policy-rc.d keeps the install from starting them (and from failing where it can't).
  local policy=/usr/sbin/policy-rc.d made_policy=0 status=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && made_policy=1; fi
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
    apt-get update >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 || status=$?
  fi
  [ "$made_policy" -eq 1 ] && rm -f "$policy"
  return "$status"
}

# The local CA every HTTPS endpoint of the stack uses; node processes trust it through NODE_EXTRA_CA_CERTS.
ensure_local_ca() {
  export KVACME_HOME="${KVACME_HOME:-$PWD/.local}"
  node --import tsx src/local/ca-cli.ts >/dev/null
  export NODE_EXTRA_CA_CERTS="$KVACME_HOME/ca/ca.pem"
}

# Builds the dashboard bundle (dist/dashboard-bundle) when it is missing or older than its sources (a fresh clone works).
ensure_dashboard_bundle() {
  local manifest=dist/dashboard-bundle/manifest.json
  if [ ! -f "$manifest" ] || [ -n "$(find dashboard src -newer "$manifest" \( -name '*.ts' -o -name '*.tsx' -o -name '*.css' \) -print -quit)" ]; then
    echo "kv-acme: building the dashboard (dist/dashboard-bundle)" >&2
    node --import tsx dashboard/build.ts >&2
  fi
}

#!/usr/bin/env bash
# DNS-01 hook for certbot (--manual-auth-hook / --manual-cleanup-hook) and lego (--dns exec, EXEC_PATH) that writes
# the _acme-challenge TXT values through the local stack's Azure DNS (ARM) stand-in, the way a user's hook would
# against real Azure DNS: a token from the managed-identity endpoint, then the TXT record set read and written with
# ETag preconditions so that values are added and removed one at a time (certbot calls the hook once per value and
# apex + wildcard share one record set). No TLS verification is turned off: curl trusts the stack's CA file.
#
#   arm-txt.sh add|present <fqdn> <value>       add one value (lego's exec provider calls "present")
#   arm-txt.sh remove|cleanup <fqdn> <value>    remove one value; the record set is deleted when it becomes empty
#   arm-txt.sh certbot-auth | certbot-cleanup   the same, from certbot's CERTBOT_DOMAIN / CERTBOT_VALIDATION
#
# Endpoints come from a stack.json (keys armEndpoint, subscriptionId, resourceGroup, zones, identityEndpoint,
# identityHeader, caFile): $KVACME_STACK_JSON, else $KVACME_HOME/stack.json, else .local/stack.json (npm run stack).
# IDENTITY_ENDPOINT / IDENTITY_HEADER in the environment take precedence over the file's.
set -euo pipefail

die() { echo "arm-txt: $*" >&2; exit 1; }

action="${1:-}"
case "$action" in
  certbot-auth) action=add; fqdn="_acme-challenge.${CERTBOT_DOMAIN:?CERTBOT_DOMAIN not set}"; value="${CERTBOT_VALIDATION:?CERTBOT_VALIDATION not set}" ;;
  certbot-cleanup) action=remove; fqdn="_acme-challenge.${CERTBOT_DOMAIN:?CERTBOT_DOMAIN not set}"; value="${CERTBOT_VALIDATION:?CERTBOT_VALIDATION not set}" ;;
  add|present) action=add; fqdn="${2:-}"; value="${3:-}" ;;
  remove|cleanup) action=remove; fqdn="${2:-}"; value="${3:-}" ;;
  *) die "usage: arm-txt.sh add|present|remove|cleanup <fqdn> <value> | certbot-auth | certbot-cleanup" ;;
esac
[ -n "$fqdn" ] && [ -n "$value" ] || die "missing <fqdn> or <value>"

stack_json="${KVACME_STACK_JSON:-${KVACME_HOME:-$(dirname "$0")/../../.local}/stack.json}"
[ -r "$stack_json" ] || die "no stack description at $stack_json (start one with npm run stack, or set KVACME_STACK_JSON)"
# One jq call for every field: tab-separated, zones space-separated.
IFS=$'\t' read -r arm sub rg zones id_endpoint id_header ca_file < <(
  jq -r '[.armEndpoint, .subscriptionId, .resourceGroup, (.zones | join(" ")), .identityEndpoint, .identityHeader, .caFile] | @tsv' "$stack_json"
)
id_endpoint="${IDENTITY_ENDPOINT:-$id_endpoint}"
id_header="${IDENTITY_HEADER:-$id_header}"

# Zone = longest suffix match; relative record set name = the rest.
name="${fqdn%.}"
name="${name,,}"
zone=""
for z in $zones; do
  z="${z,,}"
  if [ "$name" = "$z" ] || [[ "$name" == *".$z" ]]; then
    [ "${#z}" -gt "${#zone}" ] && zone="$z"
  fi
done
[ -n "$zone" ] || die "no zone among [$zones] contains $name"
if [ "$name" = "$zone" ]; then rel="@"; else rel="${name%.$zone}"; fi

curl_() { curl --silent --show-error --cacert "$ca_file" --max-time 20 "$@"; }

# Few processes per call (this hook's cost is part of certbot's and lego's measured times): the JSON work is one jq
# per attempt, the token is taken out of the answer with a bash regex.
token_json=$(curl_ --fail -H "X-IDENTITY-HEADER: $id_header" \
  "$id_endpoint?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com")
[[ "$token_json" =~ \"access_token\"[[:space:]]*:[[:space:]]*\"([^\"]+)\" ]] || die "no token from $id_endpoint"
token="${BASH_REMATCH[1]}"

url="${arm%/}/subscriptions/$sub/resourceGroups/$rg/providers/Microsoft.Network/dnsZones/$zone/TXT/$rel?api-version=2018-05-01"

# Runs curl, sets $status and $body.
request() {
  local out
  out=$(curl_ -w $'\n%{http_code}' -H "Authorization: Bearer $token" "$@" "$url")
  status="${out##*$'\n'}"
  body="${out%$'\n'*}"
}

# From the record set read ($1: its JSON, or null when absent) decide the write: prints two lines, the etag and the
# payload, which is "" (nothing to do: value already present / already gone), DELETE (set now empty) or the PUT body.
# Values are compared as whole strings; other values in the set are kept as they are (other orders' values).
plan() {
  jq -r --arg action "$action" --arg x "$value" '
    (.etag // "") as $etag
    | [(.properties.TXTRecords // [])[] | .value | join("")] as $v
    | (.properties.TTL // 60) as $ttl
    | (if $action == "add" then (if any($v[]; . == $x) then null else $v + [$x] end)
       else (if any($v[]; . == $x) then $v - [$x] else null end) end) as $new
    | $etag,
      (if $new == null then "" elif $new == [] then "DELETE"
       else ({properties: {TTL: $ttl, TXTRecords: [$new[] | {value: [.]}]}} | tojson) end)' <<<"$1"
}

for attempt in 1 2 3 4 5 6 7 8 9 10; do
  request
  case "$status" in
    200) current="$body" ;;
    404) [ "$action" = remove ] && exit 0; current=null ;;
    *) die "GET $url answered $status: $body" ;;
  esac
  { read -r etag; read -r payload; } < <(plan "$current")
  [ -n "$payload" ] || exit 0
  # The precondition makes the read-modify-write safe against a concurrent writer of the same set.
  if [ -n "$etag" ]; then precondition="If-Match: $etag"; else precondition="If-None-Match: *"; fi
  if [ "$payload" = DELETE ]; then
    request -X DELETE -H "$precondition"
  else
    request -X PUT -H "$precondition" -H "Content-Type: application/json" --data "$payload"
  fi
  case "$status" in
    200|201|204) exit 0 ;;
    412) sleep "0.0$attempt" ;; # someone else wrote the set in between: read again
    *) die "write to $url answered $status: $body" ;;
  esac
done
die "gave up on $url after 10 precondition failures"

/** The rfc2136 provider (TSIG hmac-sha256) against BIND 9 (Debian bind9), started once for this file. */
import { authoritativeProviderSuite } from "./authoritative-suite";

authoritativeProviderSuite({
  name: "rfc2136",
  badCredentials: { KeySecret: Buffer.alloc(32, 1).toString("base64") },
  missingZone: { settings: { Zones: "example.net,missing-bind.example" }, zone: "missing-bind.example" },
});

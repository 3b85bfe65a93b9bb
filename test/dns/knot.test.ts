/** The rfc2136 provider (TSIG hmac-sha256) against Knot DNS (Debian knot), started once for this file. */
import { authoritativeProviderSuite } from "./authoritative-suite";

authoritativeProviderSuite({
  name: "knot",
  badCredentials: { KeySecret: Buffer.alloc(32, 2).toString("base64") },
  missingZone: { settings: { Zones: "example.info,missing-knot.example" }, zone: "missing-knot.example" },
});

/** The powerdns provider (HTTP API, API key) against PowerDNS Authoritative 4.7 (Debian pdns-server), started once for this file. */
import { authoritativeProviderSuite } from "./authoritative-suite";

authoritativeProviderSuite({ name: "powerdns", badCredentials: { ApiKey: "not-the-api-key" } });

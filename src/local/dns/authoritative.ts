/**
 * Real authoritative DNS servers for the local stack and the tests, each from its Debian package, on a loopback
 * port with a generated configuration and state in a directory of their own:
 *   BIND 9 (`bind9`, named) and Knot DNS (`knot`, knotd): RFC 2136 dynamic updates signed with a TSIG key, the key
 *     allowed to change TXT records only;
 *   PowerDNS Authoritative (`pdns-server` + `pdns-backend-sqlite3`): the HTTP API with an API key, zones in SQLite.
 * `stop()` keeps the state and `start()` serves it again on the same ports (the "server stopped mid-order" tests).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { createDaemon, newTsigKey, requireBinary, zoneFile, type Daemon, type LocalTsigKey } from "./daemon";
import { freePort } from "../net";

export type AuthoritativeKind = "bind" | "knot" | "powerdns";
export const AUTHORITATIVE_KINDS: readonly AuthoritativeKind[] = ["bind", "knot", "powerdns"];

export interface AuthoritativeOptions {
  /** State directory (created). */
  dir: string;
  zones: string[];
  /** Extra zone-file lines per zone (relative or absolute owner names), e.g. CNAMEs for delegation tests. */
  records?: Record<string, string[]>;
  /** BIND / Knot: the TSIG key the server accepts (default: a fresh hmac-sha256 key named kv-acme). */
  tsig?: LocalTsigKey;
  /** DNS port (default: a free one). */
  port?: number;
}

export interface AuthoritativeServer {
  kind: AuthoritativeKind;
  label: string;
  host: string;
  /** DNS port, UDP and TCP. */
  port: number;
  zones: string[];
  /** BIND / Knot. */
  tsig?: LocalTsigKey;
  /** PowerDNS: the API base URL (http://127.0.0.1:<port>) and key; server id "localhost". */
  api?: { url: string; apiKey: string };
  daemon: Daemon;
  close(): Promise<void>;
}

const LABELS: Record<AuthoritativeKind, string> = { bind: "BIND 9", knot: "Knot DNS", powerdns: "PowerDNS" };

function zoneText(zone: string, extra: string[] = []): string {
  return zoneFile(zone) + extra.map((l) => `${l}\n`).join("");
}

/** Starts a fresh server (its directory emptied first); `daemon.stop()` / `daemon.start()` keep its state. */
export async function startAuthoritative(kind: AuthoritativeKind, options: AuthoritativeOptions): Promise<AuthoritativeServer> {
  await fs.rm(options.dir, { recursive: true, force: true });
  await fs.mkdir(options.dir, { recursive: true, mode: 0o700 });
  const port = options.port ?? (await freePort());
  const zones = options.zones.map((z) => z.toLowerCase().replace(/\.$/, ""));
  const probeZone = zones[0];
  if (!probeZone) throw new Error("an authoritative server needs at least one zone");
  const base = { kind, label: LABELS[kind], host: "127.0.0.1", port, zones };
  let server: AuthoritativeServer;
  if (kind === "bind") {
    const tsig = options.tsig ?? newTsigKey();
    await writeBindConfig(options.dir, port, zones, tsig, options.records);
    const daemon = createDaemon({
      label: LABELS.bind,
      debianPackage: "bind9",
      binary: "/usr/sbin/named",
      args: ["-g", "-c", path.join(options.dir, "named.conf")],
      port,
      probeZone,
    });
    server = { ...base, tsig, daemon, close: () => daemon.stop() };
  } else if (kind === "knot") {
    const tsig = options.tsig ?? newTsigKey();
    await writeKnotConfig(options.dir, port, zones, tsig, options.records);
    const daemon = createDaemon({
      label: LABELS.knot,
      debianPackage: "knot",
      binary: "/usr/sbin/knotd",
      args: ["-c", path.join(options.dir, "knot.conf")],
      port,
      probeZone,
    });
    server = { ...base, tsig, daemon, close: () => daemon.stop() };
  } else {
    const apiPort = await freePort();
    const apiKey = randomBytes(24).toString("base64url");
    await writePowerDnsConfig(options.dir, port, apiPort, apiKey, zones, options.records);
    const daemon = createDaemon({
      label: LABELS.powerdns,
      debianPackage: "pdns-server pdns-backend-sqlite3",
      binary: "/usr/sbin/pdns_server",
      args: [`--config-dir=${options.dir}`],
      port,
      probeZone,
    });
    server = { ...base, api: { url: `http://127.0.0.1:${apiPort}`, apiKey }, daemon, close: () => daemon.stop() };
  }
  await server.daemon.start();
  return server;
}

async function writeBindConfig(dir: string, port: number, zones: string[], key: LocalTsigKey, records: AuthoritativeOptions["records"]) {
  const zoneClauses: string[] = [];
  for (const zone of zones) {
    const file = path.join(dir, `${zone}.db`);
    await fs.writeFile(file, zoneText(zone, records?.[zone]));
    // zonesub TXT: the key may change TXT records anywhere in the zone and nothing else (no SOA/NS/A).
    zoneClauses.push(`zone "${zone}" { type primary; file "${file}"; update-policy { grant ${key.name} zonesub TXT; }; };`);
  }
  const conf = [
    "options {",
    `  directory "${dir}";`,
    `  listen-on port ${port} { 127.0.0.1; };`,
    "  listen-on-v6 { none; };",
    "  pid-file none;",
    "  session-keyfile none;",
    "  recursion no;",
    "  dnssec-validation no;",
    "  notify no;",
    "  allow-transfer { none; };",
    "};",
    "controls { };",
    `key "${key.name}" { algorithm ${key.algorithm}; secret "${key.secret}"; };`,
    ...zoneClauses,
    "",
  ].join("\n");
  await fs.writeFile(path.join(dir, "named.conf"), conf, { mode: 0o600 });
}

async function writeKnotConfig(dir: string, port: number, zones: string[], key: LocalTsigKey, records: AuthoritativeOptions["records"]) {
  for (const zone of zones) await fs.writeFile(path.join(dir, `${zone}.zone`), zoneText(zone, records?.[zone]));
  await fs.mkdir(path.join(dir, "db"), { recursive: true }); // the journal: without it every update fails (SERVFAIL)
  const conf = [
    "server:",
    `    rundir: "${dir}"`,
    `    listen: 127.0.0.1@${port}`,
    "log:",
    "  - target: stderr",
    "    any: info",
    "database:",
    `    storage: "${path.join(dir, "db")}"`,
    "control:",
    `    listen: "${path.join(dir, "knot.sock")}"`,
    "key:",
    `  - id: ${key.name}`,
    `    algorithm: ${key.algorithm}`,
    `    secret: ${key.secret}`,
    "acl:",
    "  - id: kv-acme-update",
    `    key: ${key.name}`,
    "    action: update",
    "    update-type: [TXT]",
    "template:",
    "  - id: default",
    `    storage: "${dir}"`,
    '    file: "%s.zone"',
    "    semantic-checks: off",
    "zone:",
    ...zones.map((z) => `  - domain: ${z}\n    acl: kv-acme-update`),
    "",
  ].join("\n");
  await fs.writeFile(path.join(dir, "knot.conf"), conf, { mode: 0o600 });
}

const PDNS_SCHEMA = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql";

async function writePowerDnsConfig(
  dir: string,
  port: number,
  apiPort: number,
  apiKey: string,
  zones: string[],
  records: AuthoritativeOptions["records"],
) {
  requireBinary(PDNS_SCHEMA, "pdns-backend-sqlite3", "The PowerDNS SQLite backend");
  requireBinary("/usr/bin/sqlite3", "sqlite3", "sqlite3");
  requireBinary("/usr/bin/pdnsutil", "pdns-server", "pdnsutil");
  const db = path.join(dir, "pdns.sqlite3");
  await fs.rm(db, { force: true });
  execFileSync("/usr/bin/sqlite3", [db], { input: await fs.readFile(PDNS_SCHEMA, "utf8") });
  const conf = [
    "launch=gsqlite3",
    `gsqlite3-database=${db}`,
    "local-address=127.0.0.1",
    `local-port=${port}`,
    "api=yes",
    `api-key=${apiKey}`,
    "webserver=yes",
    "webserver-address=127.0.0.1",
    `webserver-port=${apiPort}`,
    "webserver-allow-from=127.0.0.1",
    "daemon=no",
    "guardian=no",
    "disable-syslog=yes",
    `socket-dir=${dir}`,
    "loglevel=4",
    "",
  ].join("\n");
  await fs.writeFile(path.join(dir, "pdns.conf"), conf, { mode: 0o600 });
  for (const zone of zones) {
    const file = path.join(dir, `${zone}.zone`);
    await fs.writeFile(file, zoneText(zone, records?.[zone]).replace("$TTL 300\n", `$ORIGIN ${zone}.\n$TTL 300\n`));
    execFileSync("/usr/bin/pdnsutil", [`--config-dir=${dir}`, "load-zone", zone, file], { stdio: "pipe" });
  }
}

/**
 * `kv-acme migrate --from-acmebot` as a user runs it (bin/kv-acme.js in a child process) against a private local
 * stack whose vault holds certificates tagged as Acmebot v4 and v5 tag them, one neither tool manages and one
 * Acmebot certificate tagged kv-acme-ignore: the dry run writes nothing; --apply tags exactly the two Acmebot ones
 * (their own tags kept), twice without a change the second time; kv-acme then renews an adopted one.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { CertificateClient } from "@azure/keyvault-certificates";
import { ACMEBOT_UNIT_SECRET } from "../../src/keyvault/acmebot-unit";
import { readManagedTags } from "../../src/keyvault/tags";
import { runCliProcess } from "../support/cli";
import { startTestStack, type TestStack } from "../support/stack";
import { clients } from "../integration/helpers";
import { acmebotAppSettings, acmebotCertificates, seedAcmebotCertificates } from "../../src/local/acmebot-seed";

let stack: TestStack;
let home: string;
let certs: CertificateClient;
const zone = () => stack.info.zones[0] as string;

/** Every certificate's current version, tags and update time, to see what a run wrote. */
async function snapshot(): Promise<Record<string, { version?: string; tags: Record<string, string>; updatedOn?: string }>> {
  const out: Record<string, { version?: string; tags: Record<string, string>; updatedOn?: string }> = {};
  for await (const p of certs.listPropertiesOfCertificates()) {
    const c = await certs.getCertificate(p.name ?? "");
    out[c.name] = { version: c.properties.version, tags: c.properties.tags ?? {}, updatedOn: c.properties.updatedOn?.toISOString() };
  }
  return out;
}

async function settingsFile(extra: { name: string; value: string }[] = []): Promise<string> {
  const file = path.join(home, `appsettings-${extra.length}.json`);
  await writeFile(file, JSON.stringify(acmebotAppSettings(stack.info, extra), null, 2));
  return file;
}

function cli(args: string[]) {
  return runCliProcess(args, { ...process.env, ...stack.env, KVACME_HOME: home });
}

before(async () => {
  stack = await startTestStack();
  home = await mkdtemp(path.join(os.tmpdir(), "kv-acme-migrate-"));
  certs = clients(stack).certificates;
  await seedAcmebotCertificates(certs, acmebotCertificates(stack.info));
});
after(async () => {
  await stack?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe("kv-acme migrate --from-acmebot", () => {
  it("dry run: reports the mapping, the adoptions, what does not carry over, the RenewBeforeExpiry unit; writes nothing", async () => {
    const before = await snapshot();
    const r = await cli(["migrate", "--from-acmebot", "--settings", await settingsFile()]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /Acmebot__VaultBaseUrl -> KvAcme__VaultUrl/);
    assert.match(r.stdout, /Acmebot__Webhook__Endpoint -> webhooks\[\]/);
    assert.match(r.stdout, /Acmebot__RequireAppRoles: kv-acme's API always checks app roles/);
    assert.match(r.stdout, /30 read as percent: 2 certificate\(s\) carry Acmebot v5's JSON tag/);
    assert.match(r.stdout, /add: KvAcme__AcmebotRenewBeforeExpiryUnit=percent/);
    const adopted = /Certificates adopted[^\n]*\n((?: {2}.*\n)+)/.exec(r.stdout)?.[1] ?? "";
    assert.match(adopted, /default\/acmebot-v4: tagged by Acmebot v4/);
    assert.match(adopted, /default\/acmebot-v5: tagged by Acmebot v5/);
    assert.doesNotMatch(adopted, /foreign|ignored/);
    assert.match(r.stdout, /default\/foreign: neither kv-acme's nor Acmebot's/);
    assert.match(r.stdout, /default\/acmebot-ignored: tagged kv-acme-ignore=true/);
    assert.match(r.stdout, /Dry run: nothing was written/);
    assert.doesNotMatch(r.stdout, /ops@example\.com|hooks\.slack\.com\/services/, "values are never printed");
    assert.deepEqual(await snapshot(), before);
  });

  it("an Acmebot provider kv-acme lacks: named, exit 78, the vault still read", async () => {
    const r = await cli([
      "--json",
      "migrate",
      "--from-acmebot",
      "--settings",
      await settingsFile([{ name: "Acmebot__GoDaddy__ApiKey", value: "k" }]),
    ]);
    assert.equal(r.code, 78, r.stderr);
    const report = JSON.parse(r.stdout);
    const row = report.settings.find((s: { name: string }) => s.name === "Acmebot__GoDaddy__ApiKey");
    assert.equal(row.status, "not-carried");
    assert.match(row.note, /kv-acme has no GoDaddy provider/);
    assert.equal(report.certificates.filter((c: { fate: string }) => c.fate === "adopt").length, 2);
  });

  it("--apply tags exactly the Acmebot certificates, keeping their tags; a second run changes nothing", async () => {
    const before = await snapshot();
    const { secrets } = clients(stack);
    await assert.rejects(secrets.getSecret(ACMEBOT_UNIT_SECRET), (e: unknown) => (e as { statusCode?: number }).statusCode === 404);
    const file = await settingsFile();
    const r = await cli(["--json", "migrate", "--from-acmebot", "--apply", "--settings", file]);
    assert.equal(r.code, 0, r.stderr);
    const applied = JSON.parse(r.stdout).applied as { name: string; outcome: string }[];
    assert.deepEqual(applied.map((a) => [a.name, a.outcome]).sort(), [
      ["acmebot-v4", "tagged"],
      ["acmebot-v5", "tagged"],
    ]);
    const after = await snapshot();
    for (const name of ["foreign", "acmebot-ignored"]) assert.deepEqual(after[name], before[name], `${name} untouched`);
    for (const name of ["acmebot-v4", "acmebot-v5"]) {
      assert.equal(after[name]?.version, before[name]?.version, "tags only, no new version");
      for (const [k, v] of Object.entries(before[name]?.tags ?? {})) assert.equal(after[name]?.tags[k], v, `${name} keeps ${k}`);
      const info = readManagedTags(after[name]?.tags);
      assert.equal(info.source, "kv-acme");
    }
    const v5 = readManagedTags(after["acmebot-v5"]?.tags);
    assert.deepEqual(v5.dnsNames, [`v5.${zone()}`, `*.v5.${zone()}`]);
    assert.equal(v5.ariCertId, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
    assert.equal(v5.acmebotVersion, 5, "the kept Acmebot tag still tells the version");
    assert.equal(v5.acmeDirectoryUrl, stack.info.acmeDirectoryUrl);
    assert.ok(readManagedTags(after["acmebot-v4"]?.tags).ariCertId, "v4: the ARI id computed from the leaf");

    const again = await cli(["--json", "migrate", "--from-acmebot", "--apply", "--settings", file]);
    assert.equal(again.code, 0, again.stderr);
    const second = JSON.parse(again.stdout);
    assert.deepEqual(second.applied, []);
    // The adoption recorded the unit the v5 tag told (kv-acme's renewals replace the tags); the second run reads it.
    assert.equal((await secrets.getSecret(ACMEBOT_UNIT_SECRET)).value, "percent");
    assert.match(second.renewBeforeExpiry.reason, /^recorded at .*kv-acme reads the recorded unit/);
    assert.deepEqual(
      second.certificates
        .filter((c: { fate: string }) => c.fate === "managed")
        .map((c: { name: string }) => c.name)
        .sort(),
      ["acmebot-v4", "acmebot-v5"],
    );
    assert.deepEqual(await snapshot(), after, "the second run wrote nothing");
  });

  it("kv-acme renews an adopted certificate (a new version from the local CA, its names kept)", async () => {
    const r = await cli(["--json", "renew", "acmebot-v4"]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const c = await certs.getCertificate("acmebot-v4");
    const info = readManagedTags(c.properties.tags);
    assert.equal(info.source, "kv-acme");
    assert.deepEqual(info.dnsNames, [`v4.${zone()}`]);
    assert.notEqual(c.policy?.issuerName, "Self");
  });
});

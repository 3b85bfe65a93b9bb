/**
 * The tests every self-hosted DNS provider passes against its real server (BIND 9, Knot DNS, PowerDNS from Debian,
 * started once per file on loopback by a private local stack that forwards the server's zone), with Pebble
 * validating the real DNS answers:
 *   - apex + wildcard sharing one record set, and two concurrent orders writing that same set; no TXT value left;
 *   - bad credentials: a permanent error naming the provider and the zone, nothing written;
 *   - a name in a zone the provider does not have: 400 at validation, nothing written;
 *   - the provider's server stopped mid-order: cleanup fails retryably, and succeeds once the server is back.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Resolver } from "node:dns/promises";
import { after, before, describe, it } from "node:test";
import { loadSettings } from "../../src/config/settings";
import type { DnsProvider } from "../../src/dns/provider";
import { createDnsRouter } from "../../src/dns/registry";
import { DnsRouter } from "../../src/dns/router";
import { issueCertificate } from "../../src/issuance";
import { getPending } from "../../src/keyvault/certificates";
import type { StackDnsService } from "../../src/local/dns/providers";
import { UpstreamError, ValidationError } from "../../src/shared/errors";
import { clients, stackDeps } from "../integration/helpers";
import { startTestStack, type TestStack } from "../support/stack";

export interface AuthoritativeCase {
  /** The stack's --dns name (src/local/dns/providers.ts). */
  name: string;
  /** Settings overrides (key suffix after KvAcme__Dns__<instance>__) that make every call fail authentication. */
  badCredentials: Record<string, string>;
  /** Extra settings for the instance in the "zone it does not have" test (e.g. a configured zone the server lacks). */
  missingZone?: { settings: Record<string, string>; zone: string };
}

const label = () => `t${randomBytes(3).toString("hex")}`;
const value = () => randomBytes(32).toString("base64url").slice(0, 43);

/** The TXT values at `fqdn`, asked of the provider's own server (not through the stack's forwarder). */
async function txtAt(service: StackDnsService, fqdn: string): Promise<string[]> {
  const r = new Resolver({ timeout: 1000, tries: 2 });
  r.setServers([`${service.server?.host}:${service.server?.port}`]);
  try {
    return (await r.resolveTxt(fqdn)).map((chunks) => chunks.join(""));
  } catch (err) {
    if (["ENOTFOUND", "ENODATA"].includes((err as { code?: string }).code ?? "")) return [];
    throw err;
  }
}

/** The provider instance of the service, built from its settings with some replaced. */
function providerOf(service: StackDnsService, overrides: Record<string, string> = {}): DnsProvider {
  const env: Record<string, string> = { KvAcme__VaultUrl: "https://v.vault.azure.net", ...service.env };
  for (const [k, v] of Object.entries(overrides)) env[`KvAcme__Dns__${service.instance}__${k}`] = v;
  const router = createDnsRouter(loadSettings(env).dns, { credential: { getToken: async () => null } });
  const p = router.providers.get(service.instance);
  assert.ok(p, service.instance);
  return p;
}

export function authoritativeProviderSuite(c: AuthoritativeCase): void {
  describe(`${c.name} DNS provider against its real server`, { concurrency: false }, () => {
    let stack: TestStack;
    let service: StackDnsService;
    before(async () => {
      stack = await startTestStack({ dns: [c.name] });
      service = stack.dns[c.name] as StackDnsService;
      assert.ok(service, `the stack runs ${c.name}`);
    });
    after(async () => {
      await stack?.close();
    });
    const zone = () => service.zones[0] as string;
    const deps = (provider?: DnsProvider) => {
      const d = stackDeps(stack);
      return provider ? { ...d, dns: new DnsRouter([provider]) } : d;
    };

    it("issues apex + wildcard (one record set) and two concurrent orders on one set through it, leaving no TXT value", async () => {
      const base = `${label()}.${zone()}`;
      const apex = await issueCertificate({ dnsNames: [base, `*.${base}`], certificateName: `${c.name}-apex` }, deps());
      assert.deepEqual(apex.dnsNames, [base, `*.${base}`]);
      const { certificates } = clients(stack);
      const cert = await certificates.getCertificate(`${c.name}-apex`);
      assert.equal(cert.properties.tags?.["kv-acme-dns-provider"], service.instance, "the tag names the instance that wrote the values");
      const shared = `${label()}.${zone()}`;
      const [one, two] = await Promise.all([
        issueCertificate({ dnsNames: [shared], certificateName: `${c.name}-one` }, deps()),
        issueCertificate({ dnsNames: [`*.${shared}`], certificateName: `${c.name}-two` }, deps()),
      ]);
      assert.deepEqual([one.dnsNames, two.dnsNames], [[shared], [`*.${shared}`]]);
      assert.deepEqual(await txtAt(service, `_acme-challenge.${base}`), []);
      assert.deepEqual(await txtAt(service, `_acme-challenge.${shared}`), []);
    });

    it("adds and removes single values without touching another value at the same name", async () => {
      const provider = providerOf(service);
      const [target] = (await provider.listZones()).filter((z) => z.name === zone());
      assert.ok(target);
      const record = `_acme-challenge.${label()}`;
      const [a, b] = [value(), value()];
      await Promise.all([provider.addTxtValues(target, record, [a], 60), provider.addTxtValues(target, record, [b], 60)]);
      assert.deepEqual((await txtAt(service, `${record}.${zone()}`)).sort(), [a, b].sort());
      await provider.removeTxtValues(target, record, [a]);
      assert.deepEqual(await txtAt(service, `${record}.${zone()}`), [b]);
      await provider.removeTxtValues(target, record, [b, a]);
      assert.deepEqual(await txtAt(service, `${record}.${zone()}`), []);
    });

    it("bad credentials fail permanently, naming the provider and the zone, and write nothing", async () => {
      const bad = providerOf(service, c.badCredentials);
      const name = `${label()}.${zone()}`;
      const certificateName = `${c.name}-badcred`;
      const err = await issueCertificate({ dnsNames: [name], certificateName }, deps(bad)).then(
        () => assert.fail("issued with bad credentials"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof UpstreamError, String(err));
      assert.equal(err.retryable, false);
      assert.ok(err.message.includes(`"${service.instance}"`), err.message);
      const [target] = (await providerOf(service).listZones()).filter((z) => z.name === zone());
      assert.ok(target);
      const write = await bad.addTxtValues(target, `_acme-challenge.${label()}`, [value()], 60).then(
        () => assert.fail("wrote with bad credentials"),
        (e: unknown) => e,
      );
      assert.ok(write instanceof UpstreamError && !write.retryable, String(write));
      assert.ok(write.message.includes(`"${service.instance}"`) && write.message.includes(zone()), write.message);
      assert.deepEqual(await txtAt(service, `_acme-challenge.${name}`), []);
      assert.equal(await getPending(clients(stack).certificates, certificateName), undefined);
    });

    it("a name in a zone the provider does not have is a 400 at validation, nothing written", async () => {
      const outside = `${label()}.not-a-${c.name}-zone.example`;
      const err = await issueCertificate({ dnsNames: [outside] }, deps()).then(
        () => assert.fail("issued outside the provider's zones"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ValidationError && err.status === 400, String(err));
      if (c.missingZone) {
        const provider = providerOf(service, c.missingZone.settings);
        assert.ok(!(await provider.listZones()).some((z) => z.name === c.missingZone?.zone), "the zone the server lacks is not listed");
        const missing = await issueCertificate({ dnsNames: [`${label()}.${c.missingZone.zone}`] }, deps(provider)).then(
          () => assert.fail("issued in a zone the server does not serve"),
          (e: unknown) => e,
        );
        assert.ok(missing instanceof ValidationError && missing.status === 400, String(missing));
      }
    });

    it("cleans up after its server was stopped mid-order and came back", async () => {
      const provider = providerOf(service);
      const [target] = (await provider.listZones()).filter((z) => z.name === zone());
      assert.ok(target);
      const record = `_acme-challenge.${label()}`;
      const values = [value(), value()];
      await provider.addTxtValues(target, record, values, 60);
      assert.equal((await txtAt(service, `${record}.${zone()}`)).length, 2);
      const daemon = service.server?.daemon;
      assert.ok(daemon);
      await daemon.stop();
      const down = await provider.removeTxtValues(target, record, values).then(
        () => assert.fail("removed while the server was down"),
        (e: unknown) => e,
      );
      assert.ok(down instanceof UpstreamError && down.retryable, String(down));
      await daemon.start();
      await provider.removeTxtValues(target, record, values);
      assert.deepEqual(await txtAt(service, `${record}.${zone()}`), []);
    });
  });
}

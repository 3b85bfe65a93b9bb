/**
 * Faults mid-issuance leave nothing behind: when the CA fails after the vault's pending operation exists, the pending
 * operation is cancelled and deleted and every TXT value is removed; the next attempt then succeeds.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestStack, type TestStack } from "../support/stack";
import { issueCertificate, type IssuanceDeps } from "../../src/issuance";
import { getPending } from "../../src/keyvault/certificates";
import { DnsRouter } from "../../src/dns/router";
import { clients, stackDeps, txtRecords } from "./helpers";

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

describe("failure mid-order", () => {
  it("finalize rejected by the CA: pending operation cleaned, TXT cleaned, next attempt succeeds", async () => {
    const deps = stackDeps(stack);
    // Fault injection at the Key Vault boundary: the CSR handed to the CA is for a different key/name, so Pebble
    // refuses the finalize (badCSR) after the pending operation was created.
    const faulty: IssuanceDeps = {
      ...deps,
      progress: () => undefined,
    };
    const realCreate = deps.certificates.beginCreateCertificate.bind(deps.certificates);
    let created = 0;
    const certificates = Object.create(deps.certificates) as typeof deps.certificates;
    certificates.beginCreateCertificate = (async (
      name: string,
      policy: Parameters<typeof realCreate>[1],
      options?: Parameters<typeof realCreate>[2],
    ) => {
      created++;
      return realCreate(
        name,
        { ...policy, subjectAlternativeNames: { dnsNames: ["other.example.org"] }, subject: "CN=other.example.org" },
        options,
      );
    }) as typeof deps.certificates.beginCreateCertificate;
    faulty.certificates = certificates;

    await assert.rejects(
      issueCertificate({ dnsNames: ["fail.example.com", "*.fail.example.com"], keyOptions: { keyType: "EC-P256" } }, faulty),
      /finaliz/i,
    );
    assert.equal(created, 1);
    const { certificates: kv } = clients(stack);
    assert.equal(await getPending(kv, "fail-example-com"), undefined, "pending operation deleted");
    assert.deepEqual(await txtRecords(stack), {}, "TXT values removed");

    const ok = await issueCertificate({ dnsNames: ["fail.example.com", "*.fail.example.com"], keyOptions: { keyType: "EC-P256" } }, deps);
    assert.equal(ok.pendingAction, "created");
  });

  it("propagation never sees the TXT value (a provider writing a wrong one): fails at propagation, TXT cleaned, no pending operation", async () => {
    const deps = stackDeps(stack, { propagationTimeoutSeconds: 2 });
    // A DNS provider that writes a wrong value: propagation never sees ours, so the step times out.
    const dns = deps.dns.provider({ provider: "azure", name: "example.com" });
    const broken: IssuanceDeps = {
      ...deps,
      dns: new DnsRouter([
        {
          name: dns.name,
          type: dns.type,
          listZones: () => dns.listZones(),
          addTxtValues: (zone, record, values, ttl) =>
            dns.addTxtValues(
              zone,
              record,
              values.map((v) => `${v}x`),
              ttl,
            ),
          removeTxtValues: (zone, record, values) =>
            dns.removeTxtValues(
              zone,
              record,
              values.map((v) => `${v}x`),
            ),
        },
      ]),
    };
    await assert.rejects(issueCertificate({ dnsNames: ["badtxt.example.com"], keyOptions: { keyType: "EC-P256" } }, broken), /not visible/);
    assert.deepEqual(await txtRecords(stack), {});
    assert.equal(await getPending(clients(stack).certificates, "badtxt-example-com"), undefined);
  });

  it("validation fails at the CA (the value replaced after propagation): TXT cleaned, no pending operation, authorizations invalid, none pending", async () => {
    const deps = stackDeps(stack);
    const dns = deps.dns.provider({ provider: "azure", name: "example.com" });
    // The right values are written and propagate; just before the challenges are answered they are swapped for wrong
    // ones, so the CA itself looks them up and refuses. Cleanup removes whatever the record set holds of either.
    const written: { zone: Parameters<typeof dns.addTxtValues>[0]; record: string; values: string[]; ttl: number }[] = [];
    const swapped: IssuanceDeps = {
      ...deps,
      dns: new DnsRouter([
        {
          name: dns.name,
          type: dns.type,
          listZones: () => dns.listZones(),
          addTxtValues: (zone, record, values, ttl) => {
            written.push({ zone, record, values: [...values], ttl });
            return dns.addTxtValues(zone, record, values, ttl);
          },
          removeTxtValues: (zone, record, values) => dns.removeTxtValues(zone, record, [...values, ...values.map((v) => `${v}x`)]),
        },
      ]),
    };
    const authorizationUrls: string[] = [];
    let answered = 0;
    swapped.acme = async () => {
      const session = await deps.acme();
      const client = Object.create(session.client) as typeof session.client;
      client.createOrder = async (...args: Parameters<typeof client.createOrder>) => {
        const order = await session.client.createOrder(...args);
        authorizationUrls.push(...order.authorizations);
        return order;
      };
      client.completeChallenge = async (...args: Parameters<typeof client.completeChallenge>) => {
        if (answered++ === 0) {
          for (const w of written) {
            await dns.removeTxtValues(w.zone, w.record, w.values);
            await dns.addTxtValues(
              w.zone,
              w.record,
              w.values.map((v) => `${v}x`),
              w.ttl,
            );
          }
        }
        return session.client.completeChallenge(...args);
      };
      return { ...session, client };
    };
    await assert.rejects(
      issueCertificate({ dnsNames: ["wrongtxt.example.com"], keyOptions: { keyType: "EC-P256" } }, swapped),
      /validation failed/,
    );
    assert.ok(answered >= 1, "the challenge was answered, so the CA validated");
    assert.deepEqual(await txtRecords(stack), {}, "TXT values removed");
    assert.equal(await getPending(clients(stack).certificates, "wrongtxt-example-com"), undefined, "no pending operation");
    assert.equal(authorizationUrls.length, 1);
    const session = await deps.acme();
    const authorizations = await session.client.getAuthorizations({ authorizations: authorizationUrls } as unknown as Parameters<
      typeof session.client.getAuthorizations
    >[0]);
    assert.deepEqual(
      authorizations.map((a) => a.status),
      ["invalid"],
      "the CA refused the authorization; none is left pending",
    );
  });
});

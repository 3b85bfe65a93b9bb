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

  it("validation fails at the CA (wrong TXT value): TXT cleaned, no pending operation, authorizations not left pending", async () => {
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
});

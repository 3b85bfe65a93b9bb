/**
 * Ownership guards through the real routes on the local Functions host: a certificate kv-acme does not manage (another
 * team's, issuer Self, no kv-acme tags) is refused with 409 CertificateNotManaged naming its tags unless the request
 * adopts it; a certificate tagged kv-acme-ignore=true is never touched, adopt or not. Refused requests change nothing
 * (the certificate's versions, policy and tags are compared before and after).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CertificateClient } from "@azure/keyvault-certificates";
import { OVERLAP_CHECK_REUSE_MS } from "../../src/keyvault/overlap";
import { ORCHESTRATIONS, certificateInstanceId } from "../../src/orchestrations/ids";
import { clients } from "../integration/helpers";
import { startTestApp, type TestApp } from "../support/app";
import { assertProblem, call, certificateState, pollOperation, snapshot } from "./support";

let app: TestApp;

before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app?.close();
});

/** Creates a certificate with issuer Self (as another team would) and waits until it is issued. */
async function foreignCertificate(name: string, dnsName: string, tags: Record<string, string>): Promise<void> {
  const { certificates } = clients(app.stack);
  const poller = await certificates.beginCreateCertificate(
    name,
    { issuerName: "Self", subject: `CN=${dnsName}`, subjectAlternativeNames: { dnsNames: [dnsName] }, validityInMonths: 12 },
    { tags },
  );
  await poller.pollUntilDone();
}

/** Everything a request could change on a certificate (./support certificateState). */
const certState = (name: string): Promise<string> => certificateState(app.stack, name);

describe("certificates kv-acme does not manage", () => {
  before(async () => {
    await foreignCertificate("team-payments", "pay.example.com", { owner: "payments", costCenter: "cc-42" });
  });

  it("POST /certificates over an unmanaged certificate: 409 CertificateNotManaged naming the owner tags; nothing changes", async () => {
    const before = await certState("team-payments");
    const all = await snapshot(app.stack);
    const r = await call(app.api, "POST", "/certificates", { body: { dnsNames: ["pay.example.com"], certificateName: "team-payments" } });
    assertProblem(r, 409);
    assert.equal(r.body.code, "CertificateNotManaged");
    assert.match(r.body.detail, /owner=payments/);
    assert.match(r.body.detail, /adopt/);
    assert.deepEqual(r.body.ownerTags, { owner: "payments", costCenter: "cc-42" });
    assert.equal(await certState("team-payments"), before);
    assert.equal(await snapshot(app.stack), all);
  });

  it("POST /certificates/{name}/pending over an unmanaged certificate: 409 unless adopt is true", async () => {
    const before = await certState("team-payments");
    const r = await call(app.api, "POST", "/certificates/team-payments/pending", { body: { dnsNames: ["pay.example.com"] } });
    assertProblem(r, 409);
    assert.equal(r.body.code, "CertificateNotManaged");
    assert.match(r.body.detail, /owner=payments/);
    assert.equal(await certState("team-payments"), before);

    const adopted = await call(app.api, "POST", "/certificates/team-payments/pending", {
      body: { dnsNames: ["pay.example.com"], adopt: true },
    });
    assert.equal(adopted.status, 201, adopted.text);
    assert.notEqual(await certState("team-payments"), before);
    assert.equal((await call(app.api, "DELETE", "/certificates/team-payments/pending")).status, 200);
  });

  it("POST /certificates/{name}/renew over an unmanaged certificate answers the same 409 (consistent with issue)", async () => {
    const before = await certState("team-payments");
    const r = await call(app.api, "POST", "/certificates/team-payments/renew");
    assertProblem(r, 409);
    assert.equal(r.body.code, "CertificateNotManaged");
    assert.equal(await certState("team-payments"), before);
  });

  it("adopt must be a boolean", async () => {
    const r = await call(app.api, "POST", "/certificates", {
      body: { dnsNames: ["pay.example.com"], certificateName: "team-payments", adopt: "yes" },
    });
    assertProblem(r, 400, ["adopt"]);
  });
});

describe("certificates tagged kv-acme-ignore=true", () => {
  before(async () => {
    await foreignCertificate("frozen", "frozen.example.com", { "kv-acme-managed": "true", "kv-acme-ignore": "true", owner: "ops" });
  });

  it("every mutating route refuses them with 409 CertificateIgnored, even with adopt; nothing changes", async () => {
    const before = await certState("frozen");
    const all = await snapshot(app.stack);
    for (const [method, path, body] of [
      ["POST", "/certificates", { dnsNames: ["frozen.example.com"], certificateName: "frozen", adopt: true }],
      ["POST", "/certificates/frozen/pending", { dnsNames: ["frozen.example.com"], adopt: true }],
      ["POST", "/certificates/frozen/renew", undefined],
      ["POST", "/certificates/frozen/revoke", {}],
      ["POST", "/certificates/frozen/pending/cancel", undefined],
      ["DELETE", "/certificates/frozen/pending", undefined],
    ] as const) {
      const r = await call(app.api, method, path, { body });
      assertProblem(r, 409);
      assert.equal(r.body.code, "CertificateIgnored", `${method} ${path}: ${r.text}`);
      assert.match(r.body.detail, /kv-acme-ignore/);
    }
    assert.equal(await certState("frozen"), before);
    assert.equal(await snapshot(app.stack), all);
  });

  it("the renewal scan's inventory (managed only) leaves them out although they carry kv-acme-managed=true", async () => {
    const managed = await call(app.api, "GET", "/certificates?managed=true");
    assert.equal(managed.status, 200, managed.text);
    assert.ok(!managed.body.certificates.some((c: { name: string }) => c.name === "frozen"), managed.text);
    const all = await call(app.api, "GET", "/certificates");
    assert.ok(all.body.certificates.some((c: { name: string }) => c.name === "frozen"));
  });
});

describe("overlapping names (Service Fabric: certificates in one vault should not share SANs)", () => {
  before(async () => {
    await foreignCertificate("shared-a", "shared.example.com", {
      "kv-acme-managed": "true",
      "kv-acme-dns-names": "shared.example.com,a.example.com",
    });
  });

  it("issuing a name another certificate in the vault covers: 409 CertificateNamesOverlap naming it; nothing written", async () => {
    const all = await snapshot(app.stack);
    const r = await call(app.api, "POST", "/certificates", {
      body: { dnsNames: ["b.example.com", "shared.example.com"], certificateName: "shared-b" },
    });
    assertProblem(r, 409);
    assert.equal(r.body.code, "CertificateNamesOverlap");
    assert.match(r.body.detail, /shared-a/);
    assert.match(r.body.detail, /shared\.example\.com/);
    assert.match(r.body.detail, /allowNameOverlap/);
    assert.deepEqual(r.body.overlaps, [{ certificateName: "shared-a", dnsNames: ["shared.example.com"] }]);
    assert.equal(await snapshot(app.stack), all);
    assertProblem(await call(app.api, "POST", "/certificates", { body: { dnsNames: ["b.example.com"], allowNameOverlap: 1 } }), 400, [
      "allowNameOverlap",
    ]);
  });

  it("allowNameOverlap: true issues anyway, and the inventory shows the overlap on both certificates", async () => {
    const r = await call(app.api, "POST", "/certificates", {
      body: { dnsNames: ["b.example.com", "shared.example.com"], certificateName: "shared-b", allowNameOverlap: true },
    });
    assert.equal(r.status, 202, r.text);
    const { final } = await pollOperation(app.api.replace(/\/api$/, ""), r.headers.get("location") ?? "");
    assert.equal(final.body.status, "Completed", final.text);
    const list = await call(app.api, "GET", "/certificates");
    const byName = new Map((list.body.certificates as { name: string; overlapsWith?: string[] }[]).map((c) => [c.name, c]));
    assert.deepEqual(byName.get("shared-b")?.overlapsWith, ["shared-a"]);
    assert.deepEqual(byName.get("shared-a")?.overlapsWith, ["shared-b"]);
    assert.equal(byName.get("team-payments")?.overlapsWith, undefined);
    // Renewing keeps the names it has: the overlap decided at issuance does not block it, and the vault is not listed.
    const listings = countListings();
    try {
      const renew = await call(app.api, "POST", "/certificates/shared-b/renew");
      assert.equal(renew.status, 202, renew.text);
      const renewed = await pollOperation(app.api.replace(/\/api$/, ""), renew.headers.get("location") ?? "");
      assert.equal(renewed.final.body.status, "Completed", renewed.final.text);
      assert.equal(listings.count, 0, "a renewal runs no overlap guard");
    } finally {
      listings.restore();
    }
  });

  it("an issuance over HTTP lists the vault once: the orchestration reuses the guard's answer of the request it was started for", async () => {
    const listings = countListings();
    try {
      const r = await call(app.api, "POST", "/certificates", { body: { dnsNames: ["once.example.com"], certificateName: "list-once" } });
      assert.equal(r.status, 202, r.text);
      const { final } = await pollOperation(app.api.replace(/\/api$/, ""), r.headers.get("location") ?? "");
      assert.equal(final.body.status, "Completed", final.text);
      assert.equal(listings.count, 1, "one Key Vault listing for the handler's validation and the orchestration's (was 2)");
    } finally {
      listings.restore();
    }
  });

  it("editing names over HTTP takes the issue route's path: the vault is listed once for the handler and the orchestration", async () => {
    const issued = await call(app.api, "POST", "/certificates", {
      body: { dnsNames: ["edit-once.example.com"], certificateName: "edit-once" },
    });
    assert.equal(issued.status, 202, issued.text);
    assert.equal((await pollOperation(app.api.replace(/\/api$/, ""), issued.headers.get("location") ?? "")).final.body.status, "Completed");
    const listings = countListings();
    try {
      const r = await call(app.api, "PUT", "/certificates/edit-once/names", {
        body: { dnsNames: ["edit-once.example.com", "www.edit-once.example.com"] },
      });
      assert.equal(r.status, 202, r.text);
      const { final } = await pollOperation(app.api.replace(/\/api$/, ""), r.headers.get("location") ?? "");
      assert.equal(final.body.status, "Completed", final.text);
      assert.equal(listings.count, 1, "one Key Vault listing for the names route's validation and the orchestration's (was 2)");
    } finally {
      listings.restore();
    }
  });

  it("a client's traceparent names the operation, never the validation run whose CAA answers it shares", async () => {
    const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const inputs: { operationId?: string; validationRun?: string }[] = [];
    for (const name of ["trace-one", "trace-two"]) {
      const r = await call(app.api, "POST", "/certificates", {
        body: { dnsNames: [`${name}.example.com`], certificateName: name },
        headers: { traceparent: `00-${trace}-00f067aa0ba902b7-01` },
      });
      assert.equal(r.status, 202, r.text);
      const status = await app.host.waitForInstance(certificateInstanceId(name), 120_000);
      assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status.output));
      inputs.push(status.input as { operationId?: string; validationRun?: string });
    }
    assert.deepEqual(
      inputs.map((i) => i.operationId),
      [trace, trace],
    );
    const runs = inputs.map((i) => i.validationRun);
    assert.match(runs[0] ?? "", /^[0-9a-f]{32}$/);
    assert.notEqual(runs[0], runs[1], "two requests with one traceparent are two validation runs");
    assert.ok(!runs.includes(trace), "the client's trace id is not the run");
  });

  it("the orchestration still lists the vault and refuses when the request's check is older than the reuse window", async () => {
    const stale = new Date(Date.now() - OVERLAP_CHECK_REUSE_MS - 60_000).toISOString();
    const id = await app.host.durable.startNew(
      ORCHESTRATIONS.issue,
      { dnsNames: ["shared.example.com"], certificateName: "stale-check", overlapCheckedAt: stale },
      certificateInstanceId("stale-check"),
    );
    const status = await app.host.waitForInstance(id, 120_000);
    assert.equal(status.runtimeStatus, "Failed", JSON.stringify(status.output));
    assert.match(JSON.stringify(status.output), /already on other certificates/);
  });
});

/** Counts the Key Vault certificate listings (list API calls, any client) until restored. */
function countListings(): { count: number; restore(): void } {
  const proto = CertificateClient.prototype;
  const original = Object.getOwnPropertyDescriptor(proto, "listPropertiesOfCertificates") as PropertyDescriptor;
  const out = {
    count: 0,
    restore: () => Object.defineProperty(proto, "listPropertiesOfCertificates", original),
  };
  Object.defineProperty(proto, "listPropertiesOfCertificates", {
    ...original,
    value: function (this: CertificateClient, ...args: Parameters<CertificateClient["listPropertiesOfCertificates"]>) {
      out.count++;
      return (original.value as CertificateClient["listPropertiesOfCertificates"]).apply(this, args);
    },
  });
  return out;
}

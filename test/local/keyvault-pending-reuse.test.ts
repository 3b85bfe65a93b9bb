/**
 * ensurePending never reuses a pending operation whose cancellation was requested, even while Key Vault still reports
 * it in progress with the same names and key (another client asked to cancel it a moment ago): it is deleted and a new
 * operation, with a new CSR, is created. And one that is in progress, not cancelled, with the same names and key is
 * reused. Against the Key Vault stand-in through the real SDK client; the hook only changes what one read reports.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import type { CertificateClient } from "@azure/keyvault-certificates";
import { ensurePending, getPending } from "../../src/keyvault/certificates";
import { parseKeyOptions } from "../../src/keyvault/policy";
import { startVault, type Vault } from "./support-keyvault";

let vault: Vault;
before(async () => {
  vault = await startVault();
});
after(async () => vault?.close());

const NAMES = ["reuse.example.com", "*.reuse.example.com"];
const KEY = parseKeyOptions({ keyType: "EC-P256" });

/** The vault's client, except that reads of the pending operation report cancellation requested (still inProgress). */
function cancellationRequestedView(real: CertificateClient): CertificateClient {
  const hooked = Object.create(real) as CertificateClient;
  hooked.getCertificateOperation = async (...args: Parameters<CertificateClient["getCertificateOperation"]>) => {
    const poller = await real.getCertificateOperation(...args);
    const state = poller.getOperationState();
    const op = state.certificateOperation;
    if (op?.status === "inProgress") Object.assign(op, { cancellationRequested: true });
    return poller;
  };
  return hooked;
}

it("an in-progress operation with the same names and key is reused", async () => {
  const first = await ensurePending(vault.certificates, "reuse-kept", NAMES, KEY);
  assert.equal(first.action, "created");
  const again = await ensurePending(vault.certificates, "reuse-kept", NAMES, KEY);
  assert.equal(again.action, "reused");
  assert.equal(again.pending.requestId, first.pending.requestId);
  assert.equal(again.pending.csr, first.pending.csr);
});

it("an operation whose cancellation was requested is replaced, not reused, though names and key match", async () => {
  const first = await ensurePending(vault.certificates, "reuse-cancelling", NAMES, KEY);
  assert.equal(first.action, "created");
  const seen = await getPending(cancellationRequestedView(vault.certificates), "reuse-cancelling");
  assert.equal(seen?.status, "inProgress");
  assert.equal(seen?.cancellationRequested, true, "the hook reports the cancellation request");

  const next = await ensurePending(cancellationRequestedView(vault.certificates), "reuse-cancelling", NAMES, KEY);
  assert.equal(next.action, "replaced", next.reason);
  assert.notEqual(next.pending.requestId, first.pending.requestId, "a new operation");
  assert.notEqual(next.pending.csr, first.pending.csr, "a new CSR (a new key)");
  const stored = await getPending(vault.certificates, "reuse-cancelling");
  assert.equal(stored?.requestId, next.pending.requestId, "the vault holds the new operation");
  assert.equal(stored?.cancellationRequested, false);
});

/**
 * A pending operation that Key Vault ends under an issuance, against the stand-in: `failed` with an error object (a
 * CA-integrated issuer refused it) and `overwritten` (failed, then replaced by another client's create). The issuance
 * fails at merge naming what happened, cleans its TXT values, deletes only its own failed operation (never the other
 * client's), and the next attempt succeeds; the API shows the failed operation's error.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { issueCertificate, type IssuanceDeps } from "../../src/issuance";
import { getPending } from "../../src/keyvault/certificates";
import { ConflictError, UpstreamError } from "../../src/shared/errors";
import { startTestStack, type TestStack } from "../support/stack";
import { clients, stackDeps, txtRecords } from "./helpers";

const REFUSED = { code: "CertificateRequestRejected", message: "The issuer rejected the request: domain validation failed" };

describe("a pending operation ended by Key Vault under an issuance", () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => stack?.close());

  /** Deps whose merge first lets `meanwhile` happen to the pending operation, as if during finalize. */
  function depsWith(meanwhile: (name: string) => Promise<void>): IssuanceDeps {
    const deps = stackDeps(stack);
    const certificates = Object.create(deps.certificates) as typeof deps.certificates;
    const merge = deps.certificates.mergeCertificate.bind(deps.certificates);
    certificates.mergeCertificate = (async (name: string, x5c: Uint8Array[], options?: Parameters<typeof merge>[2]) => {
      await meanwhile(name);
      return merge(name, x5c, options);
    }) as typeof deps.certificates.mergeCertificate;
    const forVault = deps.forVault;
    const faulty: IssuanceDeps = { ...deps, certificates, forVault: (v) => (v === undefined || v === deps.vault ? faulty : forVault(v)) };
    return faulty;
  }

  it("failed: the issuance fails at merge quoting Key Vault's error, deletes its failed operation and the next attempt succeeds", async () => {
    const vault = stack.keyVaults[Object.keys(stack.keyVaults)[0] as string];
    assert.ok(vault);
    const deps = depsWith(async (name) => assert.equal(await vault.failPending(name, REFUSED), true));
    const err = await issueCertificate({ dnsNames: ["ended.example.com"], certificateName: "ended" }, deps).then(
      () => assert.fail("merged into a failed operation"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof UpstreamError && !err.retryable, String(err));
    assert.match(
      err.message,
      /^Key Vault: the pending operation of ended ended failed \(CertificateRequestRejected: The issuer rejected the request: domain validation failed\)/,
    );
    assert.equal(await getPending(clients(stack).certificates, "ended"), undefined, "its own failed operation was deleted");
    assert.deepEqual(await txtRecords(stack), {}, "no TXT values left");
    const ok = await issueCertificate({ dnsNames: ["ended.example.com"], certificateName: "ended" }, stackDeps(stack));
    assert.equal(ok.pendingAction, "created");
  });

  it("the stand-in reports a failed operation with its error object, as the service does (read from the body, code included)", async () => {
    const vault = stack.keyVaults[Object.keys(stack.keyVaults)[0] as string]!;
    const { certificates } = clients(stack);
    await certificates.beginCreateCertificate("shown", { issuerName: "Unknown", subject: "CN=shown.example.com" });
    assert.equal(await vault.failPending("shown", REFUSED), true);
    const op = await getPending(certificates, "shown");
    assert.equal(op?.status, "failed");
    assert.deepEqual(op?.error, REFUSED);
    assert.equal(await vault.failPending("shown", REFUSED), false, "only an operation in progress can fail");
  });

  it("overwritten: the issuance fails at merge saying so, and leaves the other client's operation alone", async () => {
    const vault = stack.keyVaults[Object.keys(stack.keyVaults)[0] as string]!;
    const { certificates } = clients(stack);
    let otherRequest: string | undefined;
    const deps = depsWith(async (name) => {
      // Another client: the operation fails, then a new create overwrites it (a new request id, a new key).
      await vault.failPending(name, REFUSED);
      await certificates.beginCreateCertificate(name, { issuerName: "Unknown", subject: `CN=${name}.example.com` });
      otherRequest = (await getPending(certificates, name))?.requestId;
    });
    const err = await issueCertificate({ dnsNames: ["over.example.com"], certificateName: "over" }, deps).then(
      () => assert.fail("merged into an overwritten operation"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConflictError, String(err));
    assert.equal(err.code, "PendingOperationOverwritten");
    assert.match(err.message, /^Key Vault: the pending operation of over was overwritten by another request/);
    const left = await getPending(certificates, "over");
    assert.equal(left?.requestId, otherRequest, "the other client's operation is still there");
    assert.equal(left?.status, "inProgress");
    assert.deepEqual(await txtRecords(stack), {}, "no TXT values left");
  });
});

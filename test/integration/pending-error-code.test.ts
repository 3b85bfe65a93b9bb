/**
 * A pending operation Key Vault ended `failed`, read through the Azure SDK: the SDK's poller throws a plain Error with
 * the error's message only, and kv-acme reads the rest from the response body (src/keyvault/pending-failed.ts): the
 * error code, request id and status details reach `pending show` (the CLI and GET /api/certificates/{name}/pending
 * both answer showPending) and a failed issuance's reported error (the webhook's `error.code`). Against the stand-in,
 * whose body has the service's REST shape (CertificateOperation: status, status_details, error {code, message},
 * request_id), checked here with a raw GET.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { issueCertificate, type IssuanceDeps } from "../../src/issuance";
import { showPending } from "../../src/issuance/pending";
import { reportedError, toStepError } from "../../src/issuance/step-error";
import { getPending } from "../../src/keyvault/certificates";
import { startTestStack, type TestStack } from "../support/stack";
import { clients, stackDeps } from "./helpers";

const REFUSED = { code: "CertificateRequestRejected", message: "The issuer rejected the request: domain validation failed" };

describe("a failed pending operation keeps its error code through the SDK", () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => stack?.close());
  const vault = () => stack.keyVaults[Object.keys(stack.keyVaults)[0] as string]!;

  it("the stand-in's body has the service's shape, and getPending / pending show carry its code, request id and details", async () => {
    const { certificates } = clients(stack);
    await certificates.beginCreateCertificate("coded", { issuerName: "Unknown", subject: "CN=coded.example.com" });
    const before = await getPending(certificates, "coded");
    assert.ok(before?.requestId, "an operation in progress has a request id");
    assert.equal(await vault().failPending("coded", REFUSED), true);

    const token = await stack.credential.getToken("https://vault.azure.net/.default");
    const raw = await fetch(`${stack.info.keyVaultUrl}/certificates/coded/pending?api-version=7.6`, {
      headers: { authorization: `Bearer ${token?.token}` },
    });
    assert.equal(raw.status, 200);
    const body = (await raw.json()) as Record<string, unknown>;
    assert.equal(body.status, "failed");
    assert.deepEqual(body.error, REFUSED);
    assert.equal(body.request_id, before.requestId);
    assert.equal(body.status_details, REFUSED.message);

    const op = await getPending(certificates, "coded");
    assert.deepEqual(op?.error, REFUSED, "the code is kept, not only the message");
    assert.equal(op?.requestId, before.requestId, "and the request id");
    assert.equal(op?.statusDetails, REFUSED.message);
    const shown = await showPending("coded", stackDeps(stack));
    assert.equal(shown.status, "failed");
    assert.deepEqual(shown.error, REFUSED);
  });

  it("an issuance whose merge meets it reports Key Vault's code as the error's code (the webhook's error.code)", async () => {
    const deps = stackDeps(stack);
    const certificates = Object.create(deps.certificates) as typeof deps.certificates;
    const merge = deps.certificates.mergeCertificate.bind(deps.certificates);
    certificates.mergeCertificate = (async (name: string, x5c: Uint8Array[], options?: Parameters<typeof merge>[2]) => {
      assert.equal(await vault().failPending(name, REFUSED), true); // as if during finalize
      return merge(name, x5c, options);
    }) as typeof deps.certificates.mergeCertificate;
    const faulty: IssuanceDeps = { ...deps, certificates, forVault: () => faulty };
    const err = await issueCertificate({ dnsNames: ["coded2.example.com"], certificateName: "coded2" }, faulty).then(
      () => assert.fail("merged into a failed operation"),
      (e: unknown) => e,
    );
    assert.match(String(err), /ended failed \(CertificateRequestRejected: The issuer rejected the request/);
    const reported = reportedError(toStepError(err));
    assert.equal(reported.source, "keyvault");
    assert.equal(reported.code, REFUSED.code, JSON.stringify(reported));
  });
});

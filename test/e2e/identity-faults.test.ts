/**
 * Managed identity failures through the stack's token endpoint with the fault injector: a reset token request fails
 * the activity as a retryable Identity error and the durable driver tries it again (the issuance completes); when the
 * endpoint stays down the give-up names the managed identity and the resource, not Key Vault or ARM, for the product's
 * credential (@azure/identity's ManagedIdentityCredential, which retries 3 times itself) and the local one alike.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import { createIssuanceDeps, issueCertificate } from "../../src/issuance";
import { getPending } from "../../src/keyvault/certificates";
import { stackCredential } from "../../src/local/stack";
import { ORCHESTRATIONS, certificateInstanceId } from "../../src/orchestrations/ids";
import { identityFailures } from "../../src/shared/credential";
import { UpstreamError } from "../../src/shared/errors";
import { clients, stackDeps, txtRecords } from "../integration/helpers";
import { startTestApp, type TestApp } from "../support/app";

const TASK_FAILED = 6;

describe("managed identity failures are retried, and a give-up names the identity", () => {
  let app: TestApp;
  const rule = (kind: string) => {
    const r = app.stack.faults?.plan.rules.find(
      (x) => x.target === "identity" && (x.fault.kind === kind || String((x.fault as { status?: number }).status) === kind),
    );
    assert.ok(r, `an identity ${kind} rule`);
    return r;
  };

  before(async () => {
    app = await startTestApp({ stack: { faults: "identity=reset:0%*2,identity=503:0%" } });
  });
  after(async () => app?.close());

  it(
    "two reset token requests: the activity fails as an Identity error, is retried after a timer, and the issuance completes",
    { timeout: 120_000 },
    async () => {
      // A fresh credential (no cached tokens) for the app's runtime, so the activities ask the token endpoint.
      app.runtime.deps = createIssuanceDeps(app.runtime.settings, stackCredential(app.stack.info));
      rule("reset").probability = 1;
      const id = certificateInstanceId("id-retried");
      // Straight to the orchestration (the durable client's route): the HTTP API's own validation would ask first.
      const res = await fetch(`${app.host.url}/runtime/webhooks/durabletask/orchestrators/${ORCHESTRATIONS.issue}/${id}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-functions-key": app.host.systemKey },
        body: JSON.stringify({ dnsNames: ["id-retried.example.com"], certificateName: "id-retried" }),
      });
      assert.equal(res.status, 202, await res.text());
      const status = await app.host.waitForInstance(id, 90_000);
      assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status.output));
      assert.equal(app.stack.faults?.counts["identity:reset"], 2);
      const failed = (app.host.durable.getRecord(id)?.history ?? []).filter((e) => e.EventType === TASK_FAILED) as { Reason?: string }[];
      assert.ok(failed.length >= 1, "at least one activity failed on the reset");
      for (const f of failed)
        assert.match(
          f.Reason ?? "",
          /failed: Managed identity: getting a token for https:\/\/(vault\.azure\.net|management\.azure\.com) failed: /,
        );
    },
  );

  it(
    "the endpoint down: the CLI's issuance fails naming the managed identity and the resource, and writes nothing",
    { timeout: 60_000 },
    async () => {
      rule("503").probability = 1;
      // stackDeps with a credential of its own: the stack's caches its tokens.
      const deps = stackDeps({ ...app.stack, credential: stackCredential(app.stack.info) });
      const err = await issueCertificate({ dnsNames: ["id-down.example.com"], certificateName: "id-down" }, deps).then(
        () => assert.fail("issued without a token"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof UpstreamError, String(err));
      assert.equal(err.details?.service, "Identity");
      assert.equal(err.retryable, true, "a 503 from the token endpoint may pass later");
      assert.match(
        err.message,
        /^Managed identity: getting a token for https:\/\/(vault\.azure\.net|management\.azure\.com) failed: token endpoint answered 503/,
      );
      rule("503").probability = 0;
      assert.equal(await getPending(clients(app.stack).certificates, "id-down"), undefined, "no pending operation");
      assert.deepEqual(await txtRecords(app.stack), {}, "no TXT values");
    },
  );

  it(
    "@azure/identity's ManagedIdentityCredential (the product's) after its own retries: a retryable Identity error",
    { timeout: 60_000 },
    async () => {
      process.env.IDENTITY_ENDPOINT = app.stack.info.identityEndpoint;
      process.env.IDENTITY_HEADER = app.stack.info.identityHeader;
      rule("503").probability = 1;
      const before = app.stack.faults?.counts["identity:503"] ?? 0;
      const err = await identityFailures(new ManagedIdentityCredential())
        .getToken("https://vault.azure.net/.default")
        .then(
          () => assert.fail("a token while the endpoint answers 503"),
          (e: unknown) => e,
        );
      rule("503").probability = 0;
      assert.ok(err instanceof UpstreamError, String(err));
      assert.equal(err.retryable, true);
      assert.match(
        err.message,
        /^Managed identity: getting a token for https:\/\/vault\.azure\.net failed: ManagedIdentityCredential: .*503/,
      );
      assert.ok((app.stack.faults?.counts["identity:503"] ?? 0) - before >= 2, "the credential retried by itself first");
      const token = await identityFailures(new ManagedIdentityCredential()).getToken("https://vault.azure.net/.default");
      assert.ok(token?.token, "a token once the endpoint answers again");
    },
  );
});

// Exact-outcome tests for the pending-operation lifecycle of src/keyvault/certificates.ts (vaultError .. ensurePending,
// the keyvault-pending mutation module), against the Key Vault stand-in through the real SDK client: the whole
// PendingOperation at each state, the requests each function makes, and the exact error (class, code, message,
// status, retryable) at each edge. Faults come from the stand-in's injector (one rule at a time, fired at the request
// the test names); a hook on the client only where the stand-in cannot produce a state (an operation without a
// status, CSR or request id, an error thrown by the SDK itself).
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import type { CertificateClient } from "@azure/keyvault-certificates";
import {
  cancelPending,
  createPending,
  deletePending,
  discardPending,
  ensurePending,
  getPending,
  vaultError,
  type PendingOperation,
} from "../../src/keyvault/certificates";
import { buildCertificatePolicy, parseKeyOptions } from "../../src/keyvault/policy";
import { UpstreamError, ValidationError } from "../../src/shared/errors";
import { FaultInjector, parseFaultSpec } from "../../src/local/faults";
import { STATUS_SELF, STATUS_UNKNOWN } from "../../src/local/keyvault/model";
import { kvFetch, startVault, type Vault } from "./support-keyvault";

const KEY = parseKeyOptions({ keyType: "EC-P256" });
const NAMES = ["exact.example.com", "www.exact.example.com"];
const POLICY = buildCertificatePolicy(NAMES, KEY);

// The injector's dice: each value is one roll for a rule of the request's operation (1 = that request passes, 0 =
// the rule fires); when the list is empty every roll fires. Rules are set per test by `inject`.
const rolls: number[] = [];
const injector = new FaultInjector(parseFaultSpec(""), () => rolls.shift() ?? 0);
/** Makes the next request of `spec`'s operation fail (after `pass` such requests went through); one rule at a time. */
function inject(spec: string, pass = 0): void {
  injector.plan.rules.splice(0, injector.plan.rules.length, ...parseFaultSpec(spec).rules);
  rolls.splice(0, rolls.length, ...Array<number>(pass).fill(1));
}

let vault: Vault;
/** A second vault whose Self-issued operations stay in progress for an hour (cancellation noted, still inProgress). */
let slow: Vault;
before(async () => {
  vault = await startVault({ faults: injector, limits: false });
  slow = await startVault({ selfIssuerDelayMs: 3_600_000, limits: false });
});
after(async () => {
  await vault?.close();
  await slow?.close();
});
beforeEach(() => inject(""));

/**
 * The requests the vault answered since `from` (method, path, status), without the 401 challenges. The SDK's
 * getCertificateOperation reads the certificate (`GET /certificates/NAME/`) before its pending operation, and again
 * after it when the operation is not in progress.
 */
function requestsSince(v: Vault, from: number): string[] {
  return v.traffic
    .slice(from)
    .filter((r) => r.status !== 401)
    .map((r) => `${r.method} ${new URL(r.url).pathname} ${r.status}`);
}

/** One getCertificateOperation of an operation in progress: the certificate, then its pending operation. */
const read = (name: string, pending = 200) => [`GET /certificates/${name}/ 200`, `GET /certificates/${name}/pending ${pending}`];
/** One getCertificateOperation of an operation not in progress: the SDK reads the certificate again after it. */
const readEnded = (name: string) => [...read(name), `GET /certificates/${name}/ 200`];
/** One getCertificateOperation of a certificate that does not exist: its 404 ends it. */
const missing = (name: string) => [`GET /certificates/${name}/ 404`];
/** One beginCreateCertificate that succeeds: the create, then its poller's read of the operation. */
const created = (name: string) => [`POST /certificates/${name}/create 202`, `GET /certificates/${name}/pending 200`];
const patch = (name: string, status = 200) => `PATCH /certificates/${name}/pending ${status}`;
const del = (name: string) => `DELETE /certificates/${name}/pending 200`;

/** What the stand-in's REST API says the pending operation is (a raw GET). */
async function rawPending(v: Vault, name: string) {
  const r = await kvFetch(v, "GET", `/certificates/${name}/pending`);
  return { status: r.status, body: r.json as Record<string, unknown> };
}

/** The PendingOperation the raw body describes, as toPending should make it. */
function expected(name: string, body: Record<string, unknown>, extra: Partial<PendingOperation> = {}): PendingOperation {
  const op: PendingOperation = {
    certificateName: name,
    status: String(body.status),
    csr: String(body.csr),
    cancellationRequested: body.cancellation_requested === true,
    requestId: String(body.request_id),
  };
  if (typeof body.status_details === "string") op.statusDetails = body.status_details;
  if (typeof body.target === "string") op.target = body.target;
  return { ...op, ...extra };
}

/** An error's facts that callers act on. */
function facts(err: unknown) {
  assert.ok(err instanceof Error, `an Error, got ${String(err)}`);
  const e = err as Error & { code?: string; status?: number; retryable?: boolean; retryAfterMs?: number; details?: unknown };
  return {
    class: e.constructor.name,
    code: e.code,
    message: e.message,
    status: e.status,
    retryable: e.retryable,
    retryAfterMs: e.retryAfterMs,
    details: e.details,
  };
}
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => assert.fail(`expected a rejection, got ${JSON.stringify(v)}`),
    (e: unknown) => e,
  );
}

/** An Unknown-issuer operation in progress, as a person or kv-acme's create makes it. */
async function createUnknown(v: Vault, name: string, names = NAMES): Promise<{ status: number; body: Record<string, unknown> }> {
  await v.certificates.beginCreateCertificate(name, buildCertificatePolicy(names, KEY));
  const raw = await rawPending(v, name);
  assert.equal(raw.status, 200);
  assert.equal(raw.body.status, "inProgress");
  return raw;
}

/** The client, except that the SDK's view of the operation is `edit`ed (as if Key Vault had answered so). */
function viewing(real: CertificateClient, edit: (op: Record<string, unknown>) => Record<string, unknown> | undefined): CertificateClient {
  const hooked = Object.create(real) as CertificateClient;
  hooked.getCertificateOperation = async (...args: Parameters<CertificateClient["getCertificateOperation"]>) => {
    const poller = await real.getCertificateOperation(...args);
    const state = poller.getOperationState();
    const op = edit({ ...(state.certificateOperation as unknown as Record<string, unknown>) });
    return Object.assign(Object.create(poller) as typeof poller, {
      getOperationState: () => ({ ...state, certificateOperation: op }),
    });
  };
  return hooked;
}
/** The client, except that reading the pending operation throws `err` (an error of the SDK or the network). */
function throwing(real: CertificateClient, err: unknown): CertificateClient {
  const hooked = Object.create(real) as CertificateClient;
  hooked.getCertificateOperation = async () => {
    throw err;
  };
  return hooked;
}

describe("vaultError: the UpstreamError for a Key Vault failure", () => {
  const cases: { name: string; err: unknown; status: number; retryable: boolean; message?: string; retryAfterMs?: number }[] = [
    { name: "no status (a network error): 502, retryable", err: new Error("socket hang up"), status: 502, retryable: true },
    { name: "400: not retryable", err: { statusCode: 400, message: "x" }, status: 400, retryable: false, message: "[object Object]" },
    { name: "428: not retryable", err: Object.assign(new Error("precondition"), { statusCode: 428 }), status: 428, retryable: false },
    { name: "429: retryable", err: Object.assign(new Error("throttled"), { statusCode: 429 }), status: 429, retryable: true },
    { name: "499: not retryable", err: Object.assign(new Error("closed"), { statusCode: 499 }), status: 499, retryable: false },
    { name: "500: retryable", err: Object.assign(new Error("internal"), { statusCode: 500 }), status: 500, retryable: true },
    {
      name: "a `status` field counts like statusCode",
      err: Object.assign(new Error("gone"), { status: 404 }),
      status: 404,
      retryable: false,
    },
    { name: "a string thrown: its text", err: "plain words", status: 502, retryable: true, message: "plain words" },
    {
      name: "a Retry-After is kept and written into the message",
      err: Object.assign(new Error("throttled"), { statusCode: 429, retryAfterMs: 7000 }),
      status: 429,
      retryable: true,
      retryAfterMs: 7000,
      message: "throttled (Retry-After: 7 s)",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const e = vaultError("reading x", c.err);
      assert.ok(e instanceof UpstreamError);
      const text = c.message ?? (c.err as Error).message;
      assert.deepEqual(facts(e), {
        class: "UpstreamError",
        code: "KeyVaultError",
        message: `Key Vault: reading x failed: ${text}`,
        status: c.status,
        retryable: c.retryable,
        retryAfterMs: c.retryAfterMs,
        details: { service: "KeyVault" },
      });
      assert.equal(e.cause, c.err, "the original error is the cause");
    });
  }

  it("a managed identity's token failure is returned as it is, also when it is the cause of the SDK's error", () => {
    const identity = new UpstreamError("Identity", "Managed identity: getting a token for https://vault.azure.net failed: no", {
      status: 401,
    });
    assert.equal(vaultError("reading x", identity), identity);
    assert.equal(vaultError("reading x", Object.assign(new Error("wrapped", { cause: identity }), { statusCode: 500 })), identity);
  });
});

describe("getPending: the operation as Key Vault reports it", () => {
  it("an Unknown-issuer operation in progress: status, standard base64 CSR, request id, details; one GET", async () => {
    const raw = await createUnknown(vault, "get-progress");
    const from = vault.traffic.length;
    const op = await getPending(vault.certificates, "get-progress");
    assert.deepEqual(op, {
      certificateName: "get-progress",
      status: "inProgress",
      csr: String(raw.body.csr),
      cancellationRequested: false,
      requestId: String(raw.body.request_id),
      statusDetails: STATUS_UNKNOWN,
    });
    assert.match(op!.csr, /^[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(requestsSince(vault, from), read("get-progress"));
  });

  it("a completed (Self-issued) operation: its target, no status details", async () => {
    await vault.certificates.beginCreateCertificate("get-completed", { issuerName: "Self", subject: "CN=completed.example.com" });
    const raw = await rawPending(vault, "get-completed");
    assert.equal(raw.body.status, "completed");
    const op = await getPending(vault.certificates, "get-completed");
    assert.deepEqual(op, expected("get-completed", raw.body));
    assert.equal(op?.target, `${vault.server.url}/certificates/get-completed`);
    assert.equal("statusDetails" in op!, false);
  });

  it("none (404): undefined", async () => {
    assert.equal(await getPending(vault.certificates, "get-never"), undefined);
  });

  it("a failed operation: code, message, request id and details from the body the SDK read", async () => {
    const raw = await createUnknown(vault, "get-failed");
    const error = { code: "CertificateRequestRejected", message: "The issuer rejected the request" };
    assert.equal(await vault.server.failPending("get-failed", error), true);
    assert.deepEqual(await getPending(vault.certificates, "get-failed"), {
      certificateName: "get-failed",
      status: "failed",
      csr: "",
      cancellationRequested: false,
      error,
      requestId: String(raw.body.request_id),
      statusDetails: error.message,
    });
  });

  const reading = (name: string, text: string) => `Key Vault: reading the pending operation of ${name} failed: ${text}`;
  it("503 from Key Vault: a retryable UpstreamError naming the read", async () => {
    await createUnknown(vault, "get-503");
    inject("keyvault-pending=503:100%*1");
    assert.deepEqual(facts(await rejection(getPending(vault.certificates, "get-503"))), {
      class: "UpstreamError",
      code: "KeyVaultError",
      message: reading("get-503", "Service Unavailable (local fault injection)."),
      status: 503,
      retryable: true,
      retryAfterMs: undefined,
      details: { service: "KeyVault" },
    });
  });

  it("403 from Key Vault: not retryable", async () => {
    await createUnknown(vault, "get-403");
    inject("keyvault-pending=403:100%*1");
    const e = facts(await rejection(getPending(vault.certificates, "get-403")));
    assert.deepEqual([e.message, e.status, e.retryable], [reading("get-403", "Forbidden (local fault injection)."), 403, false]);
  });

  const thrown: { name: string; err: Error; status: number }[] = [
    { name: "an Error subclass (TypeError)", err: new TypeError("bad thing"), status: 502 },
    {
      name: "a plain Error with a code (a network error)",
      err: Object.assign(new Error("bad thing"), { code: "ECONNRESET" }),
      status: 502,
    },
    { name: "a plain Error with a status", err: Object.assign(new Error("bad thing"), { statusCode: 500 }), status: 500 },
  ];
  for (const t of thrown) {
    it(`${t.name} from the SDK is a Key Vault failure, not a failed operation`, async () => {
      const e = facts(await rejection(getPending(throwing(vault.certificates, t.err), "get-thrown")));
      assert.deepEqual([e.class, e.message, e.status, e.retryable], ["UpstreamError", reading("get-thrown", "bad thing"), t.status, true]);
    });
  }
  it("a plain Error from the SDK without a read body: a failed operation with its message", async () => {
    assert.deepEqual(await getPending(throwing(vault.certificates, new Error("ended failed")), "get-plain"), {
      certificateName: "get-plain",
      status: "failed",
      csr: "",
      cancellationRequested: false,
      error: { message: "ended failed" },
    });
  });

  const views: { name: string; edit: (op: Record<string, unknown>) => Record<string, unknown> | undefined; want: unknown }[] = [
    {
      name: "no status, CSR, cancellation flag, request id or details: unknown, empty CSR, false, nothing else",
      edit: () => ({}),
      want: { certificateName: "get-view", status: "unknown", csr: "", cancellationRequested: false },
    },
    {
      name: "cancellation requested true is kept",
      edit: () => ({ status: "inProgress", cancellationRequested: true }),
      want: { certificateName: "get-view", status: "inProgress", csr: "", cancellationRequested: true },
    },
    {
      name: "an empty error object is left out",
      edit: () => ({ status: "failed", error: {} }),
      want: { certificateName: "get-view", status: "failed", csr: "", cancellationRequested: false },
    },
    {
      name: "an error with a code only",
      edit: () => ({ status: "failed", error: { code: "Refused" } }),
      want: {
        certificateName: "get-view",
        status: "failed",
        csr: "",
        cancellationRequested: false,
        error: { code: "Refused", message: undefined },
      },
    },
    {
      name: "an error with a message only",
      edit: () => ({ status: "failed", error: { message: "refused" } }),
      want: {
        certificateName: "get-view",
        status: "failed",
        csr: "",
        cancellationRequested: false,
        error: { code: undefined, message: "refused" },
      },
    },
    {
      name: "every field: CSR bytes as base64, request id, details, error, target",
      edit: () => ({
        status: "completed",
        csr: new Uint8Array([0xfb, 0xff, 0x01]),
        cancellationRequested: false,
        requestId: "r1",
        statusDetails: "d",
        error: { code: "c", message: "m", innerError: { code: "i" } },
        target: "t",
      }),
      want: {
        certificateName: "get-view",
        status: "completed",
        csr: "+/8B",
        cancellationRequested: false,
        requestId: "r1",
        statusDetails: "d",
        error: { code: "c", message: "m" },
        target: "t",
      },
    },
    { name: "no operation in the poller's state: undefined", edit: () => undefined, want: undefined },
  ];
  for (const v of views) {
    it(`the SDK reports ${v.name}`, async () => {
      await createUnknown(vault, "get-view").catch(() => undefined);
      assert.deepEqual(await getPending(viewing(vault.certificates, v.edit), "get-view"), v.want);
    });
  }
});

describe("createPending: a new version with the policy, its operation read once", () => {
  it("creates with the tags on the new version and returns the operation the vault holds; POST then GET", async () => {
    const from = vault.traffic.length;
    const op = await createPending(vault.certificates, "create-ok", POLICY, { tags: { "kv-acme-managed": "true" } });
    const raw = await rawPending(vault, "create-ok");
    assert.deepEqual(op, expected("create-ok", raw.body));
    assert.equal(op.status, "inProgress");
    assert.deepEqual(requestsSince(vault, from).slice(0, 4), [...created("create-ok"), ...read("create-ok")]);
    const versions = [];
    for await (const v of vault.certificates.listPropertiesOfCertificateVersions("create-ok")) versions.push(v);
    assert.deepEqual(
      versions.map((v) => v.tags),
      [{ "kv-acme-managed": "true" }],
    );
  });

  it("in progress already (409): ConflictError naming the certificate", async () => {
    await createUnknown(vault, "create-409");
    assert.deepEqual(facts(await rejection(createPending(vault.certificates, "create-409", POLICY))), {
      class: "ConflictError",
      code: "Conflict",
      message: "Certificate create-409 already has a pending operation in progress",
      status: 409,
      retryable: undefined,
      retryAfterMs: undefined,
      details: { certificateName: "create-409" },
    });
  });

  it("400: ValidationError on the policy with Key Vault's message", async () => {
    inject("keyvault-create=400:100%*1");
    const e = await rejection(createPending(vault.certificates, "create-400", POLICY));
    assert.ok(e instanceof ValidationError);
    assert.deepEqual(e.problems, [
      { field: "policy", message: "Key Vault rejected the certificate policy: Bad Request (local fault injection)." },
    ]);
  });

  for (const [status, text, retryable] of [
    [503, "Service Unavailable", true],
    [403, "Forbidden", false],
    [404, "Not Found", false],
  ] as const) {
    it(`${status} on create: UpstreamError "creating NAME failed", retryable ${retryable}`, async () => {
      inject(`keyvault-create=${status}:100%*1`);
      const e = facts(await rejection(createPending(vault.certificates, "create-fault", POLICY)));
      assert.deepEqual(
        [e.class, e.message, e.status, e.retryable],
        ["UpstreamError", `Key Vault: creating create-fault failed: ${text} (local fault injection).`, status, retryable],
      );
    });
  }

  it("503 on the read after the create: the read's UpstreamError as it is (not wrapped as the create's)", async () => {
    inject("keyvault-pending=503:100%*1", 1); // the create's own poller reads the operation once first
    const e = facts(await rejection(createPending(vault.certificates, "create-read-503", POLICY)));
    assert.deepEqual(
      [e.class, e.message, e.status, e.retryable],
      [
        "UpstreamError",
        "Key Vault: reading the pending operation of create-read-503 failed: Service Unavailable (local fault injection).",
        503,
        true,
      ],
    );
  });

  for (const [what, name, edit] of [
    ["an operation without a CSR", "create-no-csr", (op: Record<string, unknown>) => ({ ...op, csr: undefined })],
    ["no operation", "create-no-op", () => undefined],
  ] as const) {
    it(`${what} after the create: UpstreamError asking whether the issuer is Unknown`, async () => {
      const e = facts(await rejection(createPending(viewing(vault.certificates, edit), name, POLICY)));
      assert.deepEqual(
        [e.class, e.code, e.message, e.status, e.retryable],
        ["UpstreamError", "KeyVaultError", `Key Vault created ${name} but returned no CSR; is the policy issuer "Unknown"?`, 502, false],
      );
    });
  }
});

describe("cancelPending: cancellation of an operation in progress, once", () => {
  it("in progress: one PATCH, the operation after it (cancellation requested, still inProgress in that answer)", async () => {
    const raw = await createUnknown(vault, "cancel-progress");
    const from = vault.traffic.length;
    const op = await cancelPending(vault.certificates, "cancel-progress");
    assert.deepEqual(op, expected("cancel-progress", raw.body, { cancellationRequested: true }));
    assert.deepEqual(requestsSince(vault, from), [...read("cancel-progress"), patch("cancel-progress")]);
    assert.equal((await rawPending(vault, "cancel-progress")).body.status, "cancelled");
  });

  it("cancelled already: no PATCH, the cancelled operation", async () => {
    await createUnknown(vault, "cancel-cancelled");
    await kvFetch(vault, "PATCH", "/certificates/cancel-cancelled/pending", { cancellation_requested: true });
    const raw = await rawPending(vault, "cancel-cancelled");
    const from = vault.traffic.length;
    assert.deepEqual(await cancelPending(vault.certificates, "cancel-cancelled"), expected("cancel-cancelled", raw.body));
    assert.equal(raw.body.status, "cancelled");
    assert.deepEqual(requestsSince(vault, from), readEnded("cancel-cancelled"));
  });

  it("in progress with cancellation requested (Self issuer): no second PATCH", async () => {
    await slow.certificates.beginCreateCertificate("cancel-noted", { issuerName: "Self", subject: "CN=noted.example.com" });
    assert.equal((await kvFetch(slow, "PATCH", "/certificates/cancel-noted/pending", { cancellation_requested: true })).status, 200);
    const raw = await rawPending(slow, "cancel-noted");
    assert.deepEqual([raw.body.status, raw.body.cancellation_requested], ["inProgress", true]);
    const from = slow.traffic.length;
    assert.deepEqual(
      await cancelPending(slow.certificates, "cancel-noted"),
      expected("cancel-noted", raw.body, { statusDetails: STATUS_SELF }),
    );
    assert.deepEqual(requestsSince(slow, from), read("cancel-noted"));
  });

  it("none: undefined, after the read's 404 and a second read", async () => {
    const from = vault.traffic.length;
    assert.equal(await cancelPending(vault.certificates, "cancel-never"), undefined);
    assert.deepEqual(requestsSince(vault, from), [...missing("cancel-never"), ...missing("cancel-never")]);
  });

  it("404 on the first read of an operation in progress: read again, the operation in progress, no PATCH", async () => {
    const raw = await createUnknown(vault, "cancel-404");
    inject("keyvault-pending=404:100%*1");
    const from = vault.traffic.length;
    assert.deepEqual(await cancelPending(vault.certificates, "cancel-404"), expected("cancel-404", raw.body));
    assert.deepEqual(requestsSince(vault, from), [...read("cancel-404", 404), ...read("cancel-404")]);
  });

  for (const status of [400, 403, 404] as const) {
    it(`${status} on the PATCH: the operation read again (still in progress)`, async () => {
      const name = `cancel-patch-${status}`;
      const raw = await createUnknown(vault, name);
      inject(`keyvault-pending=${status}:100%*1`, 1);
      const from = vault.traffic.length;
      assert.deepEqual(await cancelPending(vault.certificates, name), expected(name, raw.body));
      assert.deepEqual(requestsSince(vault, from), [...read(name), patch(name, status), ...read(name)]);
    });
  }

  it("cancelled by someone else between the read and the PATCH (Key Vault's 403): the cancelled operation", async () => {
    const raw = await createUnknown(vault, "cancel-race");
    const hooked = Object.create(vault.certificates) as CertificateClient;
    hooked.getCertificateOperation = async (...args: Parameters<CertificateClient["getCertificateOperation"]>) => {
      const poller = await vault.certificates.getCertificateOperation(...args);
      await kvFetch(vault, "PATCH", "/certificates/cancel-race/pending", { cancellation_requested: true });
      return poller;
    };
    const op = await cancelPending(hooked, "cancel-race");
    assert.deepEqual(
      op,
      expected("cancel-race", { ...raw.body, status: "cancelled", cancellation_requested: true, status_details: undefined }),
    );
  });

  for (const [status, retryable] of [
    [503, true],
    [409, false],
  ] as const) {
    it(`${status} on the PATCH: UpstreamError "cancelling the pending operation of NAME failed"`, async () => {
      const name = `cancel-patch-${status}`;
      await createUnknown(vault, name);
      inject(`keyvault-pending=${status}:100%*1`, 1);
      const e = facts(await rejection(cancelPending(vault.certificates, name)));
      const text = status === 503 ? "Service Unavailable" : "Error";
      assert.deepEqual(
        [e.class, e.message, e.status, e.retryable],
        [
          "UpstreamError",
          `Key Vault: cancelling the pending operation of ${name} failed: ${text} (local fault injection).`,
          status,
          retryable,
        ],
      );
    });
  }
});

describe("deletePending", () => {
  it("an operation: true, one DELETE, none left", async () => {
    await createUnknown(vault, "delete-one");
    const from = vault.traffic.length;
    assert.equal(await deletePending(vault.certificates, "delete-one"), true);
    assert.deepEqual(requestsSince(vault, from), [del("delete-one")]);
    assert.equal((await rawPending(vault, "delete-one")).status, 404);
  });
  it("none (404): false", async () => {
    assert.equal(await deletePending(vault.certificates, "delete-never"), false);
  });
  it("503: UpstreamError naming the delete", async () => {
    await createUnknown(vault, "delete-503");
    inject("keyvault-pending=503:100%*1");
    const e = facts(await rejection(deletePending(vault.certificates, "delete-503")));
    assert.deepEqual(
      [e.class, e.message, e.status, e.retryable],
      [
        "UpstreamError",
        "Key Vault: deleting the pending operation of delete-503 failed: Service Unavailable (local fault injection).",
        503,
        true,
      ],
    );
  });
});

describe("discardPending: cancel and delete, only what may be discarded", () => {
  const path = (name: string) => `/certificates/${name}/pending`;

  it("none: not discarded, one read", async () => {
    const from = vault.traffic.length;
    assert.deepEqual(await discardPending(vault.certificates, "discard-never"), { discarded: false });
    assert.deepEqual(requestsSince(vault, from), missing("discard-never"));
  });

  it("in progress, no request id given: cancelled then deleted", async () => {
    await createUnknown(vault, "discard-any");
    const from = vault.traffic.length;
    assert.deepEqual(await discardPending(vault.certificates, "discard-any"), { discarded: true });
    assert.deepEqual(requestsSince(vault, from), [
      ...read("discard-any"),
      ...read("discard-any"),
      patch("discard-any"),
      del("discard-any"),
    ]);
    assert.equal((await rawPending(vault, "discard-any")).status, 404);
  });

  it("in progress with the request id given: discarded", async () => {
    const raw = await createUnknown(vault, "discard-same");
    assert.deepEqual(await discardPending(vault.certificates, "discard-same", String(raw.body.request_id)), { discarded: true });
    assert.equal((await rawPending(vault, "discard-same")).status, 404);
  });

  it("in progress with another request id: left alone, one read", async () => {
    await createUnknown(vault, "discard-other");
    const from = vault.traffic.length;
    assert.deepEqual(await discardPending(vault.certificates, "discard-other", "another-attempt"), { discarded: false });
    assert.deepEqual(requestsSince(vault, from), read("discard-other"));
    assert.equal((await rawPending(vault, "discard-other")).body.status, "inProgress");
  });

  it("an operation without a request id, a request id given: discarded (nothing says it is another attempt's)", async () => {
    await createUnknown(vault, "discard-no-id");
    const hooked = viewing(vault.certificates, (op) => ({ ...op, requestId: undefined }));
    assert.deepEqual(await discardPending(hooked, "discard-no-id", "mine"), { discarded: true });
    assert.equal((await rawPending(vault, "discard-no-id")).status, 404);
  });

  it("cancelled: deleted without a PATCH", async () => {
    await createUnknown(vault, "discard-cancelled");
    await kvFetch(vault, "PATCH", path("discard-cancelled"), { cancellation_requested: true });
    const from = vault.traffic.length;
    assert.deepEqual(await discardPending(vault.certificates, "discard-cancelled"), { discarded: true });
    assert.deepEqual(requestsSince(vault, from), [...readEnded("discard-cancelled"), del("discard-cancelled")]);
  });

  it("failed: deleted without a PATCH", async () => {
    await createUnknown(vault, "discard-failed");
    await vault.server.failPending("discard-failed", { code: "Refused", message: "refused" });
    const from = vault.traffic.length;
    assert.deepEqual(await discardPending(vault.certificates, "discard-failed"), { discarded: true });
    assert.deepEqual(requestsSince(vault, from), [...readEnded("discard-failed"), del("discard-failed")]);
  });

  it("completed (the record of an issued version): left alone, one read", async () => {
    await vault.certificates.beginCreateCertificate("discard-completed", { issuerName: "Self", subject: "CN=done.example.com" });
    const from = vault.traffic.length;
    assert.deepEqual(await discardPending(vault.certificates, "discard-completed"), { discarded: false });
    assert.deepEqual(requestsSince(vault, from), readEnded("discard-completed"));
    assert.equal((await rawPending(vault, "discard-completed")).body.status, "completed");
  });

  it("in progress with cancellation requested (Self issuer): deleted, no second PATCH", async () => {
    await slow.certificates.beginCreateCertificate("discard-noted", { issuerName: "Self", subject: "CN=noted.example.com" });
    await kvFetch(slow, "PATCH", path("discard-noted"), { cancellation_requested: true });
    const from = slow.traffic.length;
    assert.deepEqual(await discardPending(slow.certificates, "discard-noted"), { discarded: true });
    assert.deepEqual(requestsSince(slow, from), [...read("discard-noted"), ...read("discard-noted"), del("discard-noted")]);
  });
});

describe("ensurePending: created, reused or replaced, with the reason", () => {
  const path = (name: string) => `/certificates/${name}/pending`;
  const TAGS = { "kv-acme-managed": "true" };

  async function tagsOfVersions(name: string) {
    const out = [];
    for await (const v of vault.certificates.listPropertiesOfCertificateVersions(name)) out.push(v.tags);
    return out;
  }

  it("none: created with the tags; a read (404), the create, a read", async () => {
    const from = vault.traffic.length;
    const r = await ensurePending(vault.certificates, "ensure-new", NAMES, KEY, { tags: TAGS });
    const raw = await rawPending(vault, "ensure-new");
    assert.deepEqual(r, { pending: expected("ensure-new", raw.body), action: "created", reason: "no usable pending operation" });
    assert.deepEqual(requestsSince(vault, from), [...missing("ensure-new"), ...created("ensure-new"), ...read("ensure-new")]);
    assert.deepEqual(await tagsOfVersions("ensure-new"), [TAGS]);
  });

  it("in progress for the same names and key: reused, one read, the reason names the count and key", async () => {
    const raw = await createUnknown(vault, "ensure-same");
    const from = vault.traffic.length;
    assert.deepEqual(await ensurePending(vault.certificates, "ensure-same", [...NAMES].reverse(), KEY), {
      pending: expected("ensure-same", raw.body),
      action: "reused",
      reason: "the pending CSR has the same 2 names and key EC-P256",
    });
    assert.deepEqual(requestsSince(vault, from), read("ensure-same"));
  });

  it("in progress for other names: replaced with the tags (cancel, delete, create), the reason names the difference", async () => {
    const old = await createUnknown(vault, "ensure-stale", ["exact.example.com"]);
    const from = vault.traffic.length;
    const r = await ensurePending(vault.certificates, "ensure-stale", NAMES, KEY, { tags: TAGS });
    const raw = await rawPending(vault, "ensure-stale");
    assert.notEqual(raw.body.request_id, old.body.request_id);
    assert.deepEqual(r, {
      pending: expected("ensure-stale", raw.body),
      action: "replaced",
      reason: "the pending CSR lacks www.exact.example.com",
    });
    const n = "ensure-stale";
    assert.deepEqual(requestsSince(vault, from), [...read(n), ...read(n), ...read(n), patch(n), del(n), ...created(n), ...read(n)]);
    assert.deepEqual((await tagsOfVersions("ensure-stale"))[1], TAGS);
  });

  it("in progress for other names, the create refused once (409: someone else created one): looks again and reuses theirs", async () => {
    await createUnknown(vault, "ensure-race", ["exact.example.com"]);
    // The other client's operation appears when our create is refused: the stand-in's fault, then its create.
    const hooked = Object.create(vault.certificates) as CertificateClient;
    let creates = 0;
    hooked.beginCreateCertificate = (async (...args: Parameters<CertificateClient["beginCreateCertificate"]>) => {
      if (++creates === 1) {
        await vault.certificates.beginCreateCertificate(args[0], buildCertificatePolicy(NAMES, KEY));
        return vault.certificates.beginCreateCertificate(...args); // 409: theirs is in progress
      }
      return vault.certificates.beginCreateCertificate(...args);
    }) as CertificateClient["beginCreateCertificate"];
    const r = await ensurePending(hooked, "ensure-race", NAMES, KEY);
    const raw = await rawPending(vault, "ensure-race");
    assert.deepEqual(r, {
      pending: expected("ensure-race", raw.body),
      action: "reused",
      reason: "the pending CSR has the same 2 names and key EC-P256",
    });
    assert.equal(creates, 1);
  });

  it("in progress with cancellation requested (Self issuer, same names): replaced, reason no usable pending operation", async () => {
    await slow.certificates.beginCreateCertificate("ensure-noted-self", { issuerName: "Self", subject: "CN=exact.example.com" });
    await kvFetch(slow, "PATCH", path("ensure-noted-self"), { cancellation_requested: true });
    const old = await rawPending(slow, "ensure-noted-self");
    const r = await ensurePending(slow.certificates, "ensure-noted-self", NAMES, KEY);
    const raw = await rawPending(slow, "ensure-noted-self");
    assert.notEqual(raw.body.request_id, old.body.request_id);
    assert.deepEqual(r, { pending: expected("ensure-noted-self", raw.body), action: "replaced", reason: "no usable pending operation" });
  });

  it("in progress without a CSR in the answer: replaced (discarded and created afresh)", async () => {
    const old = await createUnknown(vault, "ensure-nocsr");
    let reads = 0;
    const hooked = viewing(vault.certificates, (op) => (++reads === 1 ? { ...op, csr: undefined } : op));
    const r = await ensurePending(hooked, "ensure-nocsr", NAMES, KEY);
    const raw = await rawPending(vault, "ensure-nocsr");
    assert.notEqual(raw.body.request_id, old.body.request_id);
    assert.deepEqual(r, { pending: expected("ensure-nocsr", raw.body), action: "replaced", reason: "no usable pending operation" });
  });

  for (const [state, make] of [
    ["cancelled", (name: string) => kvFetch(vault, "PATCH", path(name), { cancellation_requested: true })],
    ["failed", (name: string) => vault.server.failPending(name, { code: "Refused", message: "refused" })],
  ] as const) {
    it(`${state}: created afresh (action created), no PATCH or DELETE`, async () => {
      const name = `ensure-${state}`;
      await createUnknown(vault, name);
      await make(name);
      const from = vault.traffic.length;
      const r = await ensurePending(vault.certificates, name, NAMES, KEY);
      const raw = await rawPending(vault, name);
      assert.deepEqual(r, { pending: expected(name, raw.body), action: "created", reason: "no usable pending operation" });
      assert.deepEqual(requestsSince(vault, from), [...readEnded(name), ...created(name), ...read(name)]);
    });
  }

  it("the create refused (409) once with nothing in progress: looks again, then created", async () => {
    inject("keyvault-create=409:100%*1");
    const from = vault.traffic.length;
    const r = await ensurePending(vault.certificates, "ensure-409-once", NAMES, KEY);
    const raw = await rawPending(vault, "ensure-409-once");
    assert.deepEqual(r, { pending: expected("ensure-409-once", raw.body), action: "created", reason: "no usable pending operation" });
    const n = "ensure-409-once";
    assert.deepEqual(requestsSince(vault, from), [
      ...missing(n),
      `POST /certificates/${n}/create 409`,
      ...missing(n),
      ...created(n),
      ...read(n),
    ]);
  });

  it("in progress for other names, the replacement's create refused (409) once: looks again, then created", async () => {
    await createUnknown(vault, "ensure-stale-409", ["exact.example.com"]);
    inject("keyvault-create=409:100%*1");
    const r = await ensurePending(vault.certificates, "ensure-stale-409", NAMES, KEY);
    const raw = await rawPending(vault, "ensure-stale-409");
    assert.deepEqual(r, { pending: expected("ensure-stale-409", raw.body), action: "created", reason: "no usable pending operation" });
  });

  it("the create refused (409) every time: three tries, then ConflictError", async () => {
    inject("keyvault-create=409:100%");
    const from = vault.traffic.length;
    assert.deepEqual(facts(await rejection(ensurePending(vault.certificates, "ensure-409", NAMES, KEY))), {
      class: "ConflictError",
      code: "Conflict",
      message: "Certificate ensure-409: another client keeps creating pending operations; try again later",
      status: 409,
      retryable: undefined,
      retryAfterMs: undefined,
      details: { certificateName: "ensure-409" },
    });
    const tries = [...missing("ensure-409"), "POST /certificates/ensure-409/create 409"];
    assert.deepEqual(requestsSince(vault, from), [...tries, ...tries, ...tries]);
  });

  it("in progress for other names, every replacement's create refused (409): three tries, then ConflictError", async () => {
    await createUnknown(vault, "ensure-stale-409s", ["exact.example.com"]);
    inject("keyvault-create=409:100%");
    const e = facts(await rejection(ensurePending(vault.certificates, "ensure-stale-409s", NAMES, KEY)));
    assert.deepEqual(
      [e.class, e.message],
      ["ConflictError", "Certificate ensure-stale-409s: another client keeps creating pending operations; try again later"],
    );
  });

  it("a create that fails otherwise (503): that UpstreamError, no second try", async () => {
    inject("keyvault-create=503:100%");
    const from = vault.traffic.length;
    const e = facts(await rejection(ensurePending(vault.certificates, "ensure-503", NAMES, KEY)));
    assert.deepEqual(
      [e.class, e.message, e.status],
      ["UpstreamError", "Key Vault: creating ensure-503 failed: Service Unavailable (local fault injection).", 503],
    );
    assert.deepEqual(requestsSince(vault, from), [...missing("ensure-503"), "POST /certificates/ensure-503/create 503"]);
  });

  it("in progress for other names, the replacement's create failing once otherwise (503): that UpstreamError, no second try", async () => {
    const n = "ensure-stale-503";
    await createUnknown(vault, n, ["exact.example.com"]);
    inject("keyvault-create=503:100%*1"); // a second try would succeed: only a 409 is tried again
    const from = vault.traffic.length;
    const e = facts(await rejection(ensurePending(vault.certificates, n, NAMES, KEY)));
    assert.deepEqual(
      [e.class, e.message],
      ["UpstreamError", `Key Vault: creating ${n} failed: Service Unavailable (local fault injection).`],
    );
    assert.deepEqual(requestsSince(vault, from), [
      ...read(n),
      ...read(n),
      ...read(n),
      patch(n),
      del(n),
      `POST /certificates/${n}/create 503`,
    ]);
  });
});

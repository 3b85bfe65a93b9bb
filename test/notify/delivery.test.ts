import { test } from "node:test";
import { generateKeyPairSync } from "node:crypto";
import assert from "node:assert/strict";
import * as n from "../../src/notify";
import { startReceiver } from "./receiver";
import { sampleEvents } from "./samples";
import { dataValidator, errorsOf, validateAdaptiveCard } from "./schemas";
import { generateSigningSecret, libraryVerdict } from "./standard-webhooks";

const [issued, renewed, failed] = sampleEvents();
/** Real waits, shortened so the suite stays fast; the requested delays are recorded. */
function recordingSleep(delays: number[]) {
  return (ms: number) => {
    delays.push(ms);
    return new Promise<void>((resolve) => setTimeout(resolve, Math.min(ms, 20)));
  };
}

test("generic: signed CloudEvent (secret from the vault), schema-valid, verified by the standardwebhooks library", async () => {
  const r = await startReceiver();
  const secret = generateSigningSecret();
  try {
    const res = await n.deliverWebhook({ url: r.url, format: "generic", events: ["*"], secretName: "webhook-secret" }, renewed, {
      resolveSecret: async (name) => (name === "webhook-secret" ? secret : "wrong"),
    });
    assert.equal(res.ok, true, res.error);
    assert.equal(res.attempts, 1);
    assert.equal(res.status, 200);
    assert.equal(r.received.length, 1);
    const req = r.received[0];
    assert.equal(req.headers["content-type"], "application/cloudevents+json; charset=utf-8");
    assert.equal(req.headers["webhook-id"], renewed.id);
    assert.equal(libraryVerdict(secret, req.headers, req.rawBody), "ok");
    assert.equal(libraryVerdict(secret, req.headers, req.rawBody.toString().replace("d4e5f6", "d4e5f7")), "No matching signature found");
    const ce = JSON.parse(req.rawBody.toString()) as n.CloudEvent;
    assert.equal(ce.specversion, "1.0");
    assert.equal(ce.type, "com.github.kv-acme.certificate.renewed");
    const v = dataValidator(ce.dataschema);
    assert.ok(v(ce.data), errorsOf(v));
    assert.equal(res.target, new URL(r.url).origin, "result names the origin only");
    assert.ok(!JSON.stringify(res).includes("s3cr3t-token"));
  } finally {
    await r.close();
  }
});

test("every format's signed deliveries verify with the standardwebhooks library, under both secrets of a rotation and next to a legacy signature", async () => {
  const [primary, secondary] = [generateSigningSecret(), generateSigningSecret()];
  for (const format of ["generic", "slack", "teams"] as const) {
    const r = await startReceiver();
    try {
      const plain = await n.deliverWebhook({ url: r.url, format, events: ["*"], secret: primary }, failed);
      const rotating = await n.deliverWebhook({ url: r.url, format, events: ["*"], secret: primary, secondarySecret: secondary }, failed);
      const moving = await n.deliverWebhook({ url: r.url, format, events: ["*"], secret: primary, legacySecret: "old" }, failed);
      assert.deepEqual([plain.ok, rotating.ok, moving.ok], [true, true, true], format);
      const [a, b, c] = r.received;
      assert.equal(libraryVerdict(primary, a.headers, a.rawBody), "ok", format);
      assert.equal(libraryVerdict(secondary, a.headers, a.rawBody), "No matching signature found", format);
      assert.equal(libraryVerdict(primary, b.headers, b.rawBody), "ok", format);
      assert.equal(libraryVerdict(secondary, b.headers, b.rawBody), "ok", format);
      assert.equal(libraryVerdict(primary, c.headers, c.rawBody), "ok", format);
      assert.match(String(c.headers["webhook-signature"]), /^v1,\S+ v1=[0-9a-f]{64}$/, format);
    } finally {
      await r.close();
    }
  }
});

test("a malformed signing secret from the vault is refused before sending, not retried, and not repeated", async () => {
  const r = await startReceiver();
  try {
    const res = await n.deliverWebhook({ url: r.url, format: "generic", events: ["*"], secretName: "old-secret" }, issued, {
      resolveSecret: async () => "plain-old-secret",
    });
    assert.equal(res.ok, false);
    assert.equal(res.attempts, 0);
    assert.match(res.error ?? "", /whsec_/);
    assert.ok(!(res.error ?? "").includes("plain-old-secret"));
    assert.equal(r.received.length, 0);
  } finally {
    await r.close();
  }
});

test("teams and slack receivers get a valid Adaptive Card message and Block Kit message, unsigned without a secret", async () => {
  const teams = await startReceiver();
  const slack = await startReceiver();
  try {
    const results = await n.notifyAll(
      [
        { url: teams.url, format: "teams", events: ["certificate.*"] },
        { url: slack.url, format: "slack", events: ["certificate.renewal_failed"] },
      ],
      failed,
    );
    assert.deepEqual(
      results.map((x) => [x.format, x.ok, x.attempts]),
      [
        ["teams", true, 1],
        ["slack", true, 1],
      ],
    );
    const t = teams.received[0];
    assert.equal(t.headers["webhook-signature"], undefined);
    const msg = JSON.parse(t.rawBody.toString()) as n.TeamsMessage;
    assert.equal(msg.type, "message");
    const check = validateAdaptiveCard(msg.attachments[0].content);
    assert.ok(check.ok, check.errors);
    const s = JSON.parse(slack.received[0].rawBody.toString()) as n.SlackMessage;
    assert.deepEqual(
      s.blocks.map((b) => b.type),
      ["header", "section", "context"],
    );
    assert.match(s.text, /Renewal failed: api-example-com/);
  } finally {
    await teams.close();
    await slack.close();
  }
});

test("a receiver that fails twice (503, then 429 Retry-After: 1) then succeeds: exactly 3 attempts, Retry-After honoured", async () => {
  const r = await startReceiver([{ status: 503 }, { status: 429, headers: { "retry-after": "1" } }]);
  const delays: number[] = [];
  try {
    const res = await n.deliverWebhook({ url: r.url, format: "generic", events: ["*"], secret: generateSigningSecret() }, issued, {
      sleep: recordingSleep(delays),
    });
    assert.equal(res.ok, true);
    assert.equal(res.attempts, 3);
    assert.equal(r.received.length, 3);
    assert.equal(delays.length, 2);
    assert.ok(delays[0] >= 500 && delays[0] <= 1000, `backoff with jitter, got ${delays[0]}`);
    assert.equal(delays[1], 1000, "Retry-After: 1");
    assert.deepEqual(
      new Set(r.received.map((x) => x.headers["webhook-id"])),
      new Set([issued.id]),
      "same idempotency key on every attempt",
    );
  } finally {
    await r.close();
  }
});

test("a receiver that never answers: delivery gives up after the per-attempt timeout", async () => {
  const r = await startReceiver([], { status: 200, hang: true });
  const delays: number[] = [];
  const started = Date.now();
  try {
    const res = await n.deliverWebhook({ url: r.url, format: "slack", events: ["*"] }, issued, {
      timeoutMs: 300,
      maxAttempts: 2,
      sleep: recordingSleep(delays),
    });
    const elapsed = Date.now() - started;
    assert.equal(res.ok, false);
    assert.equal(res.attempts, 2);
    assert.match(res.error ?? "", /timed out after 300 ms/);
    assert.equal(r.received.length, 2);
    // Both attempts waited for their timeout (no upper bound: a loaded machine only makes it longer; a missing
    // timeout would hang on the receiver until the test's own timeout).
    assert.ok(elapsed >= 550, `two 300 ms timeouts, took ${elapsed} ms`);
  } finally {
    await r.close();
  }
});

test("a 400 is not retried; an unreachable target is a network error, retried, without the URL in the report", async () => {
  const r = await startReceiver([{ status: 400, body: "invalid_payload" }]);
  try {
    const res = await n.deliverWebhook({ url: r.url, format: "slack", events: ["*"] }, issued, { sleep: recordingSleep([]) });
    assert.equal(res.ok, false);
    assert.equal(res.attempts, 1);
    assert.equal(res.status, 400);
    assert.match(res.error ?? "", /HTTP 400: invalid_payload/);
    assert.equal(r.received.length, 1);
  } finally {
    await r.close();
  }
  const delays: number[] = [];
  const res = await n.deliverWebhook({ url: r.url, format: "teams", events: ["*"] }, issued, {
    maxAttempts: 3,
    sleep: recordingSleep(delays),
  });
  assert.equal(res.ok, false);
  assert.equal(res.attempts, 3);
  assert.equal(delays.length, 2);
  assert.match(res.error ?? "", /ECONNREFUSED/);
  assert.ok(!(res.error ?? "").includes("s3cr3t-token"), res.error);
});

test("deliverOnce returns what retryDecision needs", async () => {
  const r = await startReceiver([{ status: 503, headers: { "retry-after": "2" } }]);
  try {
    const first = await n.deliverOnce({ url: r.url, format: "generic", events: ["*"] }, issued);
    assert.equal(first.ok, false);
    assert.equal(first.status, 503);
    assert.equal(first.retryAfter, "2");
    assert.deepEqual(n.retryDecision(1, first, 5, new Date()), { retry: true, delayMs: 2000 });
    const second = await n.deliverOnce({ url: r.url, format: "generic", events: ["*"] }, issued);
    assert.equal(second.ok, true);
  } finally {
    await r.close();
  }
});

test("event filters are respected and key material never leaves the process", async () => {
  const a = await startReceiver();
  const b = await startReceiver();
  try {
    const targets: n.WebhookTargetSettings[] = [
      { url: a.url, format: "generic", events: ["renewal.summary"] },
      { url: b.url, format: "slack", events: ["certificate.*"] },
    ];
    const results = await n.notifyAll(targets, renewed);
    assert.equal(results.length, 1);
    assert.equal(a.received.length, 0);
    assert.equal(b.received.length, 1);
    // A real key, generated here: the guard must refuse it in any field.
    const pem = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs1", format: "pem" }) as string;
    const leaky = { ...renewed, data: { ...renewed.data, reason: pem } } as n.NotifyEvent;
    const refused = await n.notifyAll([{ url: a.url, format: "generic", events: ["*"] }, ...targets], leaky);
    assert.equal(refused.length, 2);
    for (const x of refused) {
      assert.equal(x.ok, false);
      assert.equal(x.attempts, 0);
      assert.match(x.error ?? "", /refused.*private key/);
    }
    assert.equal(a.received.length, 0);
    assert.equal(b.received.length, 1);
    const noResolver = await n.deliverWebhook({ url: a.url, format: "generic", events: ["*"], secretName: "x" }, renewed);
    assert.equal(noResolver.ok, false);
    assert.match(noResolver.error ?? "", /no secret resolver/);
    assert.equal(a.received.length, 0);
  } finally {
    await a.close();
    await b.close();
  }
});

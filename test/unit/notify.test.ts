import { test } from "node:test";
import { createHmac, generateKeyPairSync, randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import assert from "node:assert/strict";
import * as n from "../../src/notify";
import { sampleEvents } from "../notify/samples";
import { dataValidator, errorsOf, validateAdaptiveCard } from "../notify/schemas";
import { generateSigningSecret, libraryVerdict } from "../notify/standard-webhooks";

const thumb = "3B6F1C0A9D2E4F5A6B7C8D9E0F1A2B3C4D5E6F70";
const renewed = (version: string, time: Date) =>
  n.certificateRenewed(
    {
      certificateName: "www",
      dnsNames: ["www.example.com"],
      version,
      thumbprint: thumb,
      notBefore: "2025-01-01T00:00:00Z",
      notAfter: "2025-04-01T00:00:00Z",
      caHost: "ca",
    },
    { time },
  );

test("event ids are stable idempotency keys: same type+certificate+version, same id, whatever the time", () => {
  const a = renewed("v1", new Date("2025-01-01T00:00:00Z"));
  const b = renewed("v1", new Date("2025-01-02T00:00:00Z"));
  const c = renewed("v2", new Date("2025-01-01T00:00:00Z"));
  assert.equal(a.id, b.id);
  assert.notEqual(a.id, c.id);
  assert.match(a.id, /^evt_[0-9a-f]{32}$/);
  const issued = n.certificateIssued({ ...a.data }, {});
  assert.notEqual(issued.id, a.id, "type is part of the key");
  assert.equal(a.subject, "www");
  assert.equal(a.source, "urn:kv-acme");
  assert.equal(n.eventSource(["agent", "vm 1:a"]), "urn:kv-acme:agent:vm%201%3Aa", "an absolute URI whatever the host name");
  assert.equal(a.data.schemaVersion, "1");
});

test("renewal.summary counts are derived from the lists", () => {
  const s = sampleEvents().find((e) => e.type === "renewal.summary") as n.NotifyEvent<"renewal.summary">;
  assert.deepEqual(s.data.counts, { renewed: 1, failed: 1, skipped: 1 });
  assert.equal(s.subject, "renewal-run/run-20250301");
});

test("matchesFilter", () => {
  const table: Array<[string, string[], boolean]> = [
    ["certificate.renewed", ["*"], true],
    ["renewal.summary", ["*"], true],
    ["certificate.renewed", ["certificate.*"], true],
    ["renewal.summary", ["certificate.*"], false],
    ["certificate.renewal_failed", ["certificate.renew*"], true],
    ["certificate.renewed", ["certificate.renewed"], true],
    ["certificate.renewed", ["certificate.renewal_failed"], false],
    ["certificate.renewed", [], false],
    ["certificate.installed", ["renewal.summary", "certificate.install*"], true],
    ["certificate.renewedX", ["certificate.renewed"], false],
  ];
  for (const [type, filters, want] of table) assert.equal(n.matchesFilter(type, filters), want, `${type} vs ${JSON.stringify(filters)}`);
});

test("key-material guard", () => {
  // Real keys, generated here.
  const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  const ecPem = `x ${generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "sec1", format: "pem" }) as string} y`;
  const pfx = randomBytes(300).toString("base64"); // a PFX-sized base64 blob, random bytes generated here
  const table: Array<[string, unknown, string | null]> = [
    ["clean event", sampleEvents()[1], null],
    ["PEM private key", { data: { note: pem } }, "$.data.note"],
    ["EC PEM in array", { list: ["a", ecPem] }, "$.list[1]"],
    ["PFX-like blob", { data: { blob: pfx } }, "$.data.blob"],
    ["field named privateKey", { data: { privateKey: "abc" } }, "$.data.privateKey"],
    ["field named password", { password: "hunter2" }, "$.password"],
    ["field named pfx", { x: { pfx: "AAAA" } }, "$.x.pfx"],
    ["field named secret", { secret: "s" }, "$.secret"],
    ["empty secret field is harmless", { secret: "" }, null],
    ["thumbprint is fine", { thumbprint: thumb }, null],
    ["keyVault is fine", { keyVault: "kv-certs" }, null],
  ];
  for (const [name, value, path] of table) assert.equal(n.findKeyMaterial(value)?.path ?? null, path, name);
  assert.throws(() => n.assertNoKeyMaterial({ key: "k" }), n.KeyMaterialError);
  const leaky = { ...sampleEvents()[0], data: { ...sampleEvents()[0].data, privateKey: pem } } as unknown as n.NotifyEvent;
  for (const f of ["generic", "slack", "teams"] as const) assert.throws(() => n.renderPayload(f, leaky), n.KeyMaterialError, f);
});

test("retryDecision", () => {
  const now = new Date("2025-03-01T00:00:00Z");
  const half = () => 0.5; // jitter factor 0.75
  const table: Array<[string, number, n.AttemptOutcome, number, { retry: boolean; delayMs: number }]> = [
    ["503 first attempt", 1, { status: 503 }, 5, { retry: true, delayMs: 750 }],
    ["500 third attempt", 3, { status: 500 }, 5, { retry: true, delayMs: 3000 }],
    ["network error", 2, { networkError: true }, 5, { retry: true, delayMs: 1500 }],
    ["timeout", 1, { timedOut: true }, 5, { retry: true, delayMs: 750 }],
    ["429 Retry-After seconds", 1, { status: 429, retryAfter: "7" }, 5, { retry: true, delayMs: 7000 }],
    ["503 Retry-After HTTP-date", 1, { status: 503, retryAfter: "Sat, 01 Mar 2025 00:00:30 GMT" }, 5, { retry: true, delayMs: 30000 }],
    ["Retry-After date in the past", 1, { status: 503, retryAfter: "Fri, 28 Feb 2025 00:00:00 GMT" }, 5, { retry: true, delayMs: 0 }],
    ["Retry-After capped at 5 minutes", 1, { status: 429, retryAfter: "3600" }, 5, { retry: true, delayMs: 300000 }],
    ["invalid Retry-After falls back to backoff", 1, { status: 429, retryAfter: "soon" }, 5, { retry: true, delayMs: 750 }],
    ["backoff capped at 5 minutes", 20, { status: 502 }, 30, { retry: true, delayMs: 225000 }],
    ["last attempt", 5, { status: 503 }, 5, { retry: false, delayMs: 0 }],
    ["400 never retried", 1, { status: 400 }, 5, { retry: false, delayMs: 0 }],
    ["404 never retried", 1, { status: 404, retryAfter: "1" }, 5, { retry: false, delayMs: 0 }],
    ["410 never retried", 1, { status: 410 }, 5, { retry: false, delayMs: 0 }],
    ["success", 1, { status: 200 }, 5, { retry: false, delayMs: 0 }],
    ["refused before sending", 1, {}, 5, { retry: false, delayMs: 0 }],
  ];
  for (const [name, attempt, outcome, max, want] of table) assert.deepEqual(n.retryDecision(attempt, outcome, max, now, half), want, name);
  // jitter stays within [50 %, 100 %] of the exponential delay
  assert.equal(n.retryDecision(2, { status: 503 }, 5, now, () => 0).delayMs, 1000);
  assert.equal(n.retryDecision(2, { status: 503 }, 5, now, () => 0.999999).delayMs, 2000);
});

test("signature: Standard Webhooks v1 over id.timestamp.body, verified by the standardwebhooks library; tampering, a wrong secret, another id and staleness fail", () => {
  const secret = generateSigningSecret();
  const body = JSON.stringify(n.renderGeneric(sampleEvents()[0]));
  const now = new Date();
  const h = n.signatureHeaders({ secrets: [secret] }, "evt_1", body, now);
  assert.match(h["webhook-signature"], /^v1,[A-Za-z0-9+/]{43}=$/);
  assert.equal(h["webhook-timestamp"], String(Math.floor(now.getTime() / 1000)));
  assert.equal(h["webhook-id"], "evt_1");
  assert.equal(h["webhook-signature"], new Webhook(secret).sign("evt_1", now, body), "same bytes as the library's own signer");
  assert.equal(libraryVerdict(secret, h, body), "ok");
  assert.equal(libraryVerdict(secret, h, body.replace("www", "wwx")), "No matching signature found");
  assert.equal(libraryVerdict(generateSigningSecret(), h, body), "No matching signature found");
  assert.equal(libraryVerdict(secret, { ...h, "webhook-id": "evt_2" }, body), "No matching signature found", "the id is signed");
  const old = n.signatureHeaders({ secrets: [secret] }, "evt_1", body, new Date(now.getTime() - 301_000));
  assert.equal(libraryVerdict(secret, old, body), "Message timestamp too old");
});

test("signature rotation: primary and secondary secrets give two space-separated signatures, each verifies alone", () => {
  const [primary, secondary] = [generateSigningSecret(), generateSigningSecret()];
  const body = JSON.stringify(n.renderGeneric(sampleEvents()[1]));
  const h = n.signatureHeaders({ secrets: [primary, secondary] }, "evt_r", body, new Date());
  assert.match(h["webhook-signature"], /^v1,\S+ v1,\S+$/);
  assert.equal(libraryVerdict(primary, h, body), "ok");
  assert.equal(libraryVerdict(secondary, h, body), "ok");
  assert.equal(libraryVerdict(generateSigningSecret(), h, body), "No matching signature found");
});

test("signature transition: a legacy secret adds v1=<hex> over timestamp.body to the same header; both kinds of receiver verify", () => {
  const secret = generateSigningSecret();
  const body = JSON.stringify(n.renderGeneric(sampleEvents()[2]));
  const h = n.signatureHeaders({ secrets: [secret], legacySecret: "old-shared-secret" }, "evt_t", body, new Date());
  const parts = h["webhook-signature"].split(" ");
  assert.equal(parts.length, 2);
  assert.equal(libraryVerdict(secret, h, body), "ok", "the library skips the v1= entry");
  const oldForm = `v1=${createHmac("sha256", "old-shared-secret").update(`${h["webhook-timestamp"]}.${body}`).digest("hex")}`;
  assert.equal(parts[1], oldForm, "what a receiver of the first scheme computes");
});

test("signing secrets must be whsec_ + padded base64 of 24-64 bytes; the reason never repeats the secret", () => {
  const b64 = (n: number) => Buffer.alloc(n, 7).toString("base64");
  const table: Array<[string, string, RegExp | null]> = [
    ["generated", generateSigningSecret(), null],
    ["24 bytes", `whsec_${b64(24)}`, null],
    ["64 bytes", `whsec_${b64(64)}`, null],
    ["no prefix", "s3cr3t-value", /must start with "whsec_".*LegacySecret/],
    ["prefix with a dash", `whsec-${b64(32)}`, /must start with "whsec_"/],
    ["23 bytes", `whsec_${b64(23)}`, /24-64 bytes \(got 23\)/],
    ["65 bytes", `whsec_${b64(65)}`, /got 65/],
    ["base64url", `whsec_${b64(33).replace(/\+/g, "-").replace(/\//g, "_")}-_`, /standard base64/],
    ["empty", "whsec_", /standard base64/],
  ];
  for (const [name, secret, want] of table) {
    const problem = n.signingSecretProblem(secret);
    if (want === null) assert.equal(problem, null, name);
    else {
      assert.match(problem ?? "", want, name);
      if (secret.length > "whsec_".length) assert.ok(!(problem ?? "").includes(secret), `${name}: secret not repeated`);
    }
  }
  assert.throws(() => n.signatureHeaders({ secrets: ["plain"] }, "evt", "{}", new Date()), /must start with "whsec_"/);
});

test("generic: every event renders as a CloudEvent whose data validates against schema/v1.json", () => {
  const events = sampleEvents();
  assert.equal(new Set(events.map((e) => e.type)).size, n.EVENT_TYPES.length, "samples cover every event type");
  for (const e of events) {
    const ce = n.renderGeneric(e);
    assert.equal(ce.specversion, "1.0");
    assert.equal(ce.type, `${n.CLOUDEVENT_TYPE_PREFIX}${e.type}`);
    assert.equal(ce.datacontenttype, "application/json");
    assert.equal(ce.dataschema, `urn:kv-acme:webhook-data:v1#/$defs/${e.type}`);
    assert.equal(ce.id, e.id);
    const v = dataValidator(ce.dataschema);
    assert.ok(v(ce.data), `${e.type}: ${errorsOf(v)}`);
    assert.ok(dataValidator("urn:kv-acme:webhook-data:v1")(ce.data), `${e.type} against the root schema`);
  }
  // the schema really constrains: a missing field, a wrong version, an unknown field fail
  const renewedCe = n.renderGeneric(events[1]);
  const v = dataValidator(renewedCe.dataschema);
  const { thumbprint: _t, ...noThumb } = renewedCe.data as unknown as Record<string, unknown>;
  assert.equal(v(noThumb), false);
  assert.equal(v({ ...renewedCe.data, schemaVersion: "2" }), false);
  assert.equal(v({ ...renewedCe.data, extra: 1 }), false);
});

test("teams: every event renders as an Adaptive Card 1.4 message valid against the schema subset", () => {
  for (const e of sampleEvents()) {
    const m = n.renderTeams(e);
    assert.equal(m.type, "message");
    assert.equal(m.attachments.length, 1);
    assert.equal(m.attachments[0].contentType, "application/vnd.microsoft.card.adaptive");
    assert.equal(m.attachments[0].contentUrl, null);
    const card = m.attachments[0].content;
    assert.equal(card.version, "1.4");
    assert.deepEqual(card.msteams, { width: "Full" });
    const r = validateAdaptiveCard(card);
    assert.ok(r.ok, `${e.type}: ${r.errors}`);
  }
  const bad = { ...n.renderTeams(sampleEvents()[0]).attachments[0].content, body: [{ type: "FactSet", facts: [{ title: "x" }] }] };
  assert.equal(validateAdaptiveCard(bad).ok, false, "the schema subset rejects a fact without a value");
  assert.equal(
    validateAdaptiveCard({ ...bad, body: [{ type: "TextBlock", text: "x", style: "heading" }] }).ok,
    false,
    "style is 1.5, not 1.4",
  );
});

test("teams: a 200 KB upstream error (multi-byte text, 20 long names) still gives a valid card under Teams' 28 KB limit", () => {
  const failed = sampleEvents().find((e) => e.type === "certificate.renewal_failed") as n.NotifyEvent<"certificate.renewal_failed">;
  const huge = "détail ✓ ".repeat(20_000); // ~200 KB of UTF-8, as a CA's problem detail could be
  const names = Array.from({ length: 20 }, (_, i) => `${"a".repeat(60)}.${i}.${"b".repeat(60)}.example.com`);
  const event = { ...failed, data: { ...failed.data, dnsNames: names, error: { ...failed.data.error, message: huge } } };
  const m = n.renderTeams(event);
  const bytes = Buffer.byteLength(JSON.stringify(m));
  assert.ok(bytes <= n.TEAMS_LIMITS.messageBytes, `${bytes} bytes`);
  assert.ok(bytes > n.TEAMS_LIMITS.messageBytes / 4, `cut no more than needed: ${bytes} bytes`);
  const card = m.attachments[0].content;
  const check = validateAdaptiveCard(card);
  assert.ok(check.ok, check.errors);
  const facts = (card.body.find((b) => b.type === "FactSet") as { facts: Array<{ title: string; value: string }> }).facts;
  const error = facts.find((f) => f.title === "Error");
  assert.ok(error && error.value.startsWith("acme urn:ietf:params:acme:error:") && error.value.endsWith("…"), error?.value.slice(0, 80));
  assert.deepEqual(n.renderTeams(failed), n.renderTeams(failed), "deterministic");
  assert.ok(!JSON.stringify(n.renderTeams(failed)).includes("…"), "a normal event is not cut");
});

test("slack: Block Kit header, section with fields, context; mrkdwn escaped; within Slack's limits", () => {
  for (const e of sampleEvents()) {
    const m = n.renderSlack(e);
    assert.ok(m.text.length > 0);
    assert.deepEqual(
      m.blocks.map((b) => b.type),
      ["header", "section", "context"],
    );
    const [header, section, context] = m.blocks as [
      Extract<n.SlackBlock, { type: "header" }>,
      Extract<n.SlackBlock, { type: "section" }>,
      Extract<n.SlackBlock, { type: "context" }>,
    ];
    assert.equal(header.text.type, "plain_text");
    assert.ok(header.text.text.length <= n.SLACK_LIMITS.headerText);
    assert.equal(section.text.type, "mrkdwn");
    assert.ok(section.fields && section.fields.length >= 1 && section.fields.length <= n.SLACK_LIMITS.fields);
    for (const f of section.fields) assert.ok(f.type === "mrkdwn" && f.text.length <= n.SLACK_LIMITS.fieldText);
    assert.ok(context.elements.length >= 1 && context.elements.length <= n.SLACK_LIMITS.contextElements);
  }
  const failed = n.renderSlack(sampleEvents()[2]);
  const fields = (failed.blocks[1] as Extract<n.SlackBlock, { type: "section" }>).fields ?? [];
  const err = fields.find((f) => f.text.startsWith("*Error*"));
  assert.ok(err && err.text.includes('&lt;"x"&gt; &amp; more'), "< > & escaped");
});

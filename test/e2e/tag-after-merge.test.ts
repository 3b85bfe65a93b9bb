/**
 * Tagging the merged version fails after Key Vault acknowledged the merge, through the real function app on the local
 * host (the Key Vault stand-in refuses the certificate update by fault injection, `keyvault-update`): the version is
 * issued and current, so a permanent refusal ends the issuance Completed with a warning (output, certificate.issued
 * webhook), never Failed; a transient one is retried (the retried merge finds the merged version: one version).
 * A pinned certificate keeps its pins through such a failure: the next renewal is held to the pins of the last tagged
 * version, and the renewal run repairs the untagged version's tags (pins included) from it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TAG_ISSUER, TAG_ISSUER_PINS, TAG_MANAGED } from "../../src/keyvault/tags";
import { RENEW_ALL_INSTANCE_ID } from "../../src/orchestrations/ids";
import { CLOUDEVENT_TYPE_PREFIX } from "../../src/notify/formats/generic";
import { call, pollOperation } from "../api/support";
import { clients } from "../integration/helpers";
import { startReceiver, type Receiver } from "../notify/receiver";
import { startTestApp, type TestApp } from "../support/app";

describe("tagging fails after a successful merge", () => {
  let app: TestApp;
  let hooks: Receiver;
  const updateRule = (status: number) => {
    const r = app.stack.faults?.plan.rules.find(
      (x) => x.target === "keyvault-update" && x.fault.kind === "status" && x.fault.status === status,
    );
    assert.ok(r, `a keyvault-update ${status} rule`);
    return r;
  };
  const versions = async (name: string) => {
    const out = [];
    for await (const v of clients(app.stack).certificates.listPropertiesOfCertificateVersions(name)) out.push(v);
    return out;
  };
  const renew = async (name: string) => {
    const started = await call(app.api, "POST", `/certificates/${name}/renew`, { body: {} });
    assert.equal(started.status, 202, started.text);
    return (await pollOperation(app.host.url, started.headers.get("location")!)).final;
  };
  const current = async (name: string) => (await clients(app.stack).certificates.getCertificate(name)).properties;
  const issue = async (name: string) => {
    const started = await call(app.api, "POST", "/certificates", { body: { dnsNames: [`${name}.example.com`], certificateName: name } });
    assert.equal(started.status, 202, started.text);
    return (await pollOperation(app.host.url, started.headers.get("location")!)).final;
  };

  before(async () => {
    hooks = await startReceiver([], { status: 204 }, "/events");
    // Key Vault refusing the update of the merged version's tags (403, a missing permission), or failing it (503).
    app = await startTestApp({
      stack: { faults: "keyvault-update=403:0%*4,keyvault-update=503/1:0%*1" },
      env: { KvAcme__Webhooks__0__Url: hooks.url, KvAcme__Webhooks__0__Format: "generic", KvAcme__Webhooks__0__Events: "*" },
    });
  });
  after(async () => {
    await app?.close();
    await hooks?.close();
  });

  it(
    "a permanent refusal: Completed with a warning naming it, one version, current, the webhook says so",
    { timeout: 120_000 },
    async () => {
      updateRule(403).probability = 1;
      const final = await issue("untagged");
      assert.equal(app.stack.faults?.counts["keyvault-update:403"], 1, "the tag update was refused");
      updateRule(403).probability = 0;
      assert.equal(final.body.status, "Completed", final.text);
      const output = final.body.output as { version: string; warnings?: string[] };
      assert.equal(output.warnings?.length, 1, final.text);
      assert.match(
        output.warnings?.[0] ?? "",
        new RegExp(
          `^Certificate issued as version ${output.version}, but tagging it failed: Key Vault: tagging untagged/${output.version} failed: .*Forbidden`,
        ),
      );

      const all = await versions("untagged");
      assert.equal(all.length, 1, "one version");
      const current = await clients(app.stack).certificates.getCertificate("untagged");
      assert.equal(current.properties.version, output.version, "the merged version is current");
      assert.equal(current.properties.enabled, true);
      assert.equal(current.properties.tags?.[TAG_MANAGED], "true", "the tags set at create stay");
      assert.equal(current.properties.tags?.[TAG_ISSUER], undefined, "the merge's tags are missing");

      const issued = hooks.received
        .map((r) => JSON.parse(r.rawBody.toString("utf8")) as { type: string; data: { certificateName?: string; warnings?: string[] } })
        .filter((e) => e.type === `${CLOUDEVENT_TYPE_PREFIX}certificate.issued` && e.data.certificateName === "untagged");
      assert.equal(issued.length, 1, "one certificate.issued");
      assert.deepEqual(issued[0]?.data.warnings, output.warnings);
    },
  );

  it(
    "a transient failure: the merge step is retried, finds its merged version and tags it; one version, no warning",
    { timeout: 120_000 },
    async () => {
      updateRule(503).probability = 1;
      const final = await issue("retagged");
      assert.equal(app.stack.faults?.counts["keyvault-update:503"], 1, "the tag update failed once");
      assert.equal(final.body.status, "Completed", final.text);
      assert.equal((final.body.output as { warnings?: string[] }).warnings, undefined, final.text);
      assert.equal((await versions("retagged")).length, 1, "the retried merge made no second version");
      const current = await clients(app.stack).certificates.getCertificate("retagged");
      assert.ok(current.properties.tags?.[TAG_ISSUER], "the retry wrote the merge's tags");
    },
  );

  it(
    "a pinned certificate after a permanent tagging failure: the next renewal is held to its pins and carries them; the renewal run repairs an untagged version's tags",
    { timeout: 240_000 },
    async () => {
      assert.equal((await issue("pinned")).body.status, "Completed");
      const shown = await call(app.api, "GET", "/certificates/pinned/issuer-pins");
      const thumbprint = (shown.body as { issuer?: { thumbprint?: string } }).issuer?.thumbprint ?? "";
      assert.match(thumbprint, /^[0-9A-F]{40}$/, shown.text);
      const pinned = await call(app.api, "PUT", "/certificates/pinned/issuer-pins", { body: { issuerPins: [thumbprint] } });
      assert.equal(pinned.status, 200, pinned.text);

      // A renewal whose tag update is refused: its version lacks the pins tag.
      const refusedBefore = app.stack.faults?.counts["keyvault-update:403"] ?? 0;
      updateRule(403).probability = 1;
      const untaggedRenewal = await renew("pinned");
      updateRule(403).probability = 0;
      assert.equal(untaggedRenewal.body.status, "Completed", untaggedRenewal.text);
      assert.equal(app.stack.faults?.counts["keyvault-update:403"], refusedBefore + 1);
      const v2 = await current("pinned");
      assert.equal(v2.tags?.[TAG_ISSUER_PINS], undefined, "the refused update left the version without its pins");
      const held = await call(app.api, "GET", "/certificates/pinned/issuer-pins");
      assert.equal(held.status, 200, held.text);
      assert.deepEqual(
        (held.body as { version: string; issuerPins: string[] }).issuerPins,
        [thumbprint],
        "the answer is the pins the guard holds the next renewal to (the last tagged version's)",
      );

      // The next renewal is held to the pins of the last tagged version and carries them on.
      const next = await renew("pinned");
      assert.equal(next.body.status, "Completed", next.text);
      const v3 = await current("pinned");
      assert.notEqual(v3.version, v2.version);
      assert.equal(v3.tags?.[TAG_ISSUER_PINS], thumbprint, "the pins carried on");

      // Refused again, then a renewal run (nothing due): its scan finds the untagged version and repairs its tags.
      updateRule(403).probability = 1;
      const again = await renew("pinned");
      updateRule(403).probability = 0;
      assert.equal(again.body.status, "Completed", again.text);
      const v4 = await current("pinned");
      assert.equal(v4.tags?.[TAG_ISSUER_PINS], undefined);
      assert.equal(v4.tags?.[TAG_ISSUER], undefined);
      await app.host.fireTimer("renewalTimer");
      const run = await app.host.waitForInstance(RENEW_ALL_INSTANCE_ID, 120_000);
      assert.equal(run.runtimeStatus, "Completed", JSON.stringify(run.output));
      const repaired = await current("pinned");
      assert.equal(repaired.version, v4.version, "no new version: the same one, tagged");
      assert.equal(repaired.tags?.[TAG_ISSUER_PINS], thumbprint, "the pins are back on the newest version");
      assert.ok(repaired.tags?.[TAG_ISSUER], "the issuer recorded from the version's own leaf");
      for (const key of Object.keys(v3.tags ?? {}).filter((k) => k.startsWith("kv-acme-") && k !== "kv-acme-lifetime-shortened"))
        assert.ok(repaired.tags?.[key] !== undefined, `${key} repaired`);
      const view = await call(app.api, "GET", "/certificates/pinned/issuer-pins");
      assert.deepEqual((view.body as { issuerPins: string[] }).issuerPins, [thumbprint], view.text);
      // The first case's certificate (no earlier version to copy from) gets its issuer recorded.
      assert.ok((await current("untagged")).tags?.[TAG_ISSUER], "the untagged first issuance repaired too");

      // Pins cleared on a version whose merge could not tag it: the version is repaired without them, so the guard
      // and the next repair see none (not the last tagged version's).
      updateRule(403).probability = 1;
      const last = await renew("pinned");
      updateRule(403).probability = 0;
      assert.equal(last.body.status, "Completed", last.text);
      assert.equal((await current("pinned")).tags?.[TAG_ISSUER], undefined);
      const cleared = await call(app.api, "PUT", "/certificates/pinned/issuer-pins", { body: { issuerPins: [] } });
      assert.equal(cleared.status, 200, cleared.text);
      assert.deepEqual((cleared.body as { issuerPins: string[] }).issuerPins, [], cleared.text);
      const shownNow = await call(app.api, "GET", "/certificates/pinned/issuer-pins");
      assert.deepEqual((shownNow.body as { issuerPins: string[] }).issuerPins, [], shownNow.text);
      const v5 = await current("pinned");
      assert.equal(v5.tags?.[TAG_ISSUER_PINS], undefined);
      assert.ok(v5.tags?.[TAG_ISSUER], "the clearing repaired the version's tags");
    },
  );
});

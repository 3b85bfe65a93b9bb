/** The local host answers App Service Authentication's /.auth/me only when given an identity (authMe), uncached. */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { startLocalHost, type LocalHost } from "../../src/local/host";

const fixture = path.join(__dirname, "host-fixtures", "app.ts");
const env = { TickSchedule: "0 0 * * * *" };

describe("local host /.auth/me", () => {
  let dir: string;
  let withMe: LocalHost;
  let without: LocalHost;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "kvacme-authme-"));
    const common = { modules: [fixture], port: 0, env, timers: false, log: () => {} };
    withMe = await startLocalHost({
      ...common,
      stateDir: path.join(dir, "a"),
      authMe: () => [{ provider_name: "local", user_id: "me", user_claims: [] }],
    });
    without = await startLocalHost({ ...common, stateDir: path.join(dir, "b") });
  });
  after(async () => {
    await withMe?.close();
    await without?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers /.auth/me with the given identity, uncached", async () => {
    const r = await fetch(`${withMe.url}/.auth/me`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("cache-control"), "no-store");
    assert.deepEqual(await r.json(), [{ provider_name: "local", user_id: "me", user_claims: [] }]);
  });

  it("answers 404 without one, as App Service does with authentication off", async () => {
    assert.equal((await fetch(`${without.url}/.auth/me`)).status, 404);
  });
});

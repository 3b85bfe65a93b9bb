/**
 * Test helpers shared by the exact-outcome tests: the error a promise rejects with (of an expected type), and a hook
 * on an ACME session's raw signed requests (POST-as-GET), to replay answers the local CA cannot give.
 */
import assert from "node:assert/strict";
import { internals, type AcmeSession } from "../../src/acme/client";
import { UpstreamError } from "../../src/shared/errors";

/** The error `promise` rejects with, asserted to be a `type` (UpstreamError unless told); fails when it resolves. */
export async function rejection<E extends Error = UpstreamError>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E = UpstreamError as unknown as new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof type, `a ${type.name}, got ${String(err)}`);
    return err;
  }
  assert.fail("expected a rejection");
}

type ApiRequest = ReturnType<typeof internals>["api"]["apiRequest"];

/** Replaces the session's raw signed-request function with `hook(original, ...)` for the rest of the session. */
export function hookAcmeRequests(
  session: AcmeSession,
  hook: (original: ApiRequest, ...args: Parameters<ApiRequest>) => ReturnType<ApiRequest>,
): void {
  const api = internals(session.client).api;
  const original = api.apiRequest.bind(api);
  api.apiRequest = (...args) => hook(original, ...args);
}

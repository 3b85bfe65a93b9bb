/**
 * Modules loaded on first use, so the Functions worker's cold start loads only what the first call needs (the Azure
 * SDKs behind a handler or an activity; measured by bench/cold-start.ts). Pass the caller's own `require`, so `id`
 * resolves from the caller's file:
 *
 *   const issuance = lazyModule<typeof import("../issuance")>(require, "../issuance");
 *   issuance().validateRequest(...)
 *
 * Node caches the module; the first call pays for loading it. Not for code the agent bundle includes (the bundler
 * follows only literal `require` calls).
 */
export function lazyModule<M>(load: NodeJS.Require, id: string): () => M {
  let loaded: M | undefined;
  return () => (loaded ??= load(id) as M);
}

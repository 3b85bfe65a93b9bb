/**
 * Modules loaded on first use, so the Functions worker's cold start loads only what the first call needs (the Azure
 * SDKs behind a handler or an activity; measured by bench/cold-start.ts). The module is named by a literal
 * `require` inside the loader, so the app bundle (scripts/build-app.ts) and the agent bundle include it and still
 * run it only on first use:
 *
 *   const issuance = lazyModule<typeof import("../issuance")>(() => require("../issuance"));
 *   issuance().validateRequest(...)
 *
 * Node (or the bundle) caches the module; the first call pays for loading it. eslint allows `require` only here
 * (eslint.config.mjs).
 */
export function lazyModule<M>(load: () => M): () => M {
  let loaded: M | undefined;
  return () => (loaded ??= load());
}

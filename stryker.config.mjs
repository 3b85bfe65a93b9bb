// StrykerJS mutation testing over the safety and decision code, one module at a time (docs/testing.md).
//   npm run test:mutation                 every module in MODULES, one after the other
//   npm run test:mutation -- api names    only those modules
// Each module mutates its files and runs only its own fast test files (node's test runner through the TAP runner,
// TypeScript through tsx), checks mutants with the TypeScript checker first, and keeps an incremental file
// (reports/mutation/<module>.incremental.json, not committed) so a rerun only tests what changed.
// KVACME_MUTATION_MODULE picks the module (scripts/mutation.sh sets it); KVACME_MUTATION_CONCURRENCY the workers.

import { writeFileSync } from "node:fs";
import process from "node:process";

/** @type {Record<string, { mutate: string[]; tests: string[] }>} */
export const MODULES = {
  api: {
    mutate: ["src/api/auth.ts", "src/api/problem.ts"],
    tests: [
      "test/unit/api-auth.test.ts",
      "test/unit/api-problem.test.ts",
      "test/unit/api-auth-exact.test.ts",
      "test/unit/api-problem-exact.test.ts",
      "test/unit/api-http.test.ts",
    ],
  },
  "api-http": { mutate: ["src/api/http.ts"], tests: ["test/unit/api-http.test.ts", "test/unit/api-http-exact.test.ts"] },
  names: {
    mutate: ["src/acme/names.ts"],
    tests: ["test/unit/names.test.ts", "test/unit/names-exact.test.ts", "test/unit/names-lazy-idn.test.ts"],
  },
  ari: { mutate: ["src/acme/ari.ts"], tests: ["test/unit/ari.test.ts", "test/unit/known-answers.test.ts", "test/unit/ari-exact.test.ts"] },
  signing: {
    mutate: ["src/notify/signing.ts", "src/notify/retry.ts"],
    tests: [
      "test/unit/notify.test.ts",
      "test/unit/known-answers.test.ts",
      "test/unit/webhook-formats.test.ts",
      "test/unit/notify-parsing.test.ts",
    ],
  },
  renewal: {
    // The pure decision tests only: scan's tests (ari-decide, rate-limit) start servers and would run for every mutant.
    mutate: ["src/renewal/decide.ts", "src/renewal/expiring.ts"],
    tests: ["test/unit/renewal.test.ts", "test/unit/expiring.test.ts", "test/unit/renewal-decisions-exact.test.ts"],
  },
  "renewal-scan": {
    mutate: ["src/renewal/scan.ts"],
    tests: [
      "test/unit/renewal.test.ts",
      "test/unit/expiring.test.ts",
      "test/unit/ari-decide.test.ts",
      "test/unit/rate-limit.test.ts",
      "test/unit/renewal-scan-exact.test.ts",
    ],
  },
  "renewal-plan": {
    mutate: ["src/renewal/plan.ts", "src/renewal/plan-window.ts", "src/renewal/ca-limits.ts", "src/renewal/plan-input.ts"],
    tests: [
      "test/unit/renewal-plan.test.ts",
      "test/unit/renewal-plan-input.test.ts",
      "test/unit/renewal-plan-next-run.test.ts",
      "test/unit/renewal-plan-exact.test.ts",
    ],
  },
  propagation: { mutate: ["src/dns/propagation.ts"], tests: ["test/unit/propagation.test.ts", "test/unit/propagation-exact.test.ts"] },
  "keyvault-policy": {
    mutate: ["src/keyvault/policy.ts", "src/keyvault/tags.ts"],
    tests: ["test/unit/policy.test.ts", "test/unit/tags.test.ts", "test/unit/keyvault-policy-exact.test.ts"],
  },
  "agent-stores": {
    mutate: ["src/agent/stores/linux.ts", "src/agent/material.ts"],
    tests: ["test/agent/material-store.test.ts", "test/agent/store-atomicity.test.ts", "test/agent/agent-stores-exact.test.ts"],
  },
  // Modules whose tests run the local stack (Key Vault, ARM, Pebble): minutes per mutant on 2 cores.
  "dns-azure": {
    mutate: ["src/dns/azure.ts"],
    // The unit tests check the provider's settings and descriptor (docs/settings.md, docs/dns-providers.md, the
    // leading tool's names) against what the file declares.
    tests: [
      "test/dns/azure-concurrency.test.ts",
      "test/dns/azure-exact.test.ts",
      "test/unit/dns-platform.test.ts",
      "test/unit/settings-load.test.ts",
      "test/unit/settings-acmebot.test.ts",
    ],
  },
  "acme-order": {
    mutate: ["src/acme/order.ts"],
    // Each step against Pebble (through the ACME proxy, which records newOrder payloads), hooked where Pebble cannot
    // answer as needed; order-reuse carries on orders a killed run never recorded.
    tests: ["test/integration/order-exact.test.ts", "test/integration/order-reuse.test.ts"],
  },
  "keyvault-pending": {
    // The pending-operation half of the file (vaultError .. ensurePending); the merge/version half is `issuance`'s.
    mutate: ["src/keyvault/certificates.ts:56-222"],
    tests: [
      "test/local/keyvault-pending-reuse.test.ts",
      "test/local/keyvault-lifecycle.test.ts",
      "test/local/keyvault-pending-exact.test.ts",
    ],
  },
  "issuance-steps": {
    // Each step called directly against the local stack, every progress event and result checked exactly.
    mutate: ["src/issuance/steps.ts"],
    tests: ["test/integration/issuance-steps-exact.test.ts"],
  },
  "issuance-flow": {
    // The flow driven op by op by a scripted driver (pure: no I/O, no timers).
    mutate: ["src/issuance/flow.ts"],
    tests: ["test/unit/issuance-flow-exact.test.ts"],
  },
};

const name = process.env.KVACME_MUTATION_MODULE ?? "";
const selected = MODULES[name];
if (!selected) throw new Error(`KVACME_MUTATION_MODULE must be one of ${Object.keys(MODULES).join(", ")} (got "${name}")`);

// The type checker compiles only the module's files, its test files and what they import (not the whole project,
// whose incremental re-check per mutant took seconds): a mutant that breaks the module or its tests is still refused.
const TSCONFIG = ".stryker-tsconfig.json";
writeFileSync(
  TSCONFIG,
  JSON.stringify({
    extends: "./tsconfig.json",
    include: [],
    files: [...selected.mutate.map((m) => m.replace(/:\d+-\d+$/, "")), ...selected.tests],
  }) + "\n",
);

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "tap",
  // tsx's CommonJS hook only (the project is CommonJS): half the CPU of `--import tsx` (which starts ESM loader hooks
  // in a worker) per test process, and a mutant is mostly test-process start-up.
  tap: { testFiles: selected.tests, nodeArgs: ["-r", "{{hookFile}}", "-r", "tsx/cjs"], forceBail: true },
  checkers: ["typescript"],
  tsconfigFile: TSCONFIG,
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: "perTest",
  mutate: selected.mutate,
  concurrency: Number(process.env.KVACME_MUTATION_CONCURRENCY ?? 2),
  timeoutMS: 30_000,
  incremental: true,
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  reporters: ["clear-text", "progress", "json"],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  clearTextReporter: { allowColor: false, logTests: false },
  ignorePatterns: ["dist", ".local", "artifacts", "bench/results", "reports", ".stryker-tmp"],
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};

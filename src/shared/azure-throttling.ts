/**
 * Throttling answers of Azure services (Key Vault, ARM: 429, or 503, with Retry-After) surfaced at once instead of
 * slept through. The Azure SDKs' default retry policy honours Retry-After by sleeping inside the request, then sends it
 * again (up to 3 times): inside a durable activity that is a busy wait the service asked us not to hammer through.
 * With this policy in the pipeline the request fails with a ThrottledError carrying the Retry-After, the activity
 * fails with it in its message, and the durable driver waits that long in a durable timer before the next attempt
 * (src/orchestrations/calls.ts; the CLI's in-process driver sleeps it, src/issuance/direct.ts).
 */
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { retryAfterHeaderMs } from "./retry-after";

/** A throttled Azure request: `statusCode` as RestError has it (429 or 503), `retryAfterMs` from Retry-After. */
export class ThrottledError extends Error {
  constructor(
    readonly statusCode: number,
    readonly retryAfterMs: number,
    readonly code: string | undefined,
  ) {
    super(`throttled: HTTP ${statusCode}${code ? ` ${code}` : ""}`);
    this.name = "ThrottledError";
  }
}

/** The per-retry pipeline policy (it sits inside the SDK's retry loop, whose throttling strategy never sees the answer). */
export function surfaceThrottlingPolicy(): PipelinePolicy {
  return {
    name: "kvAcmeSurfaceThrottling",
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status !== 429 && response.status !== 503) return response;
      // Azure's own headers first (ARM: x-ms-retry-after-ms), then the standard one.
      const msHeader = response.headers.get("x-ms-retry-after-ms") ?? response.headers.get("retry-after-ms");
      const wait =
        msHeader && /^\d+$/.test(msHeader) ? Number(msHeader) : retryAfterHeaderMs(response.headers.get("retry-after"), Date.now());
      if (wait === undefined) return response;
      let code: string | undefined;
      try {
        code = (JSON.parse(response.bodyAsText ?? "{}") as { error?: { code?: string } }).error?.code;
      } catch {
        code = undefined;
      }
      throw new ThrottledError(response.status, wait, code);
    },
  };
}

/** Client options that put surfaceThrottlingPolicy into an Azure SDK client's pipeline. */
export function throttlingClientOptions(): { additionalPolicies: { policy: PipelinePolicy; position: "perRetry" }[] } {
  return { additionalPolicies: [{ policy: surfaceThrottlingPolicy(), position: "perRetry" }] };
}

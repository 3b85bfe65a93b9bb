import type { WebhookFormat } from "./formats/registry";

export type { WebhookFormat } from "./formats/registry";

/** Settings of one webhook target (the config module loads them; declared here, once, so notify needs no config). */
export interface WebhookTargetSettings {
  /** Where to POST. Slack and Teams URLs carry a token: never log or report the full URL. */
  url: string;
  /** Payload shape: CloudEvents JSON (`generic`), Slack Block Kit (`slack`) or an Adaptive Card message (`teams`). */
  format: WebhookFormat;
  /** Event types to send; `["*"]` = all, `"certificate.*"` = a prefix. */
  events: string[];
  /** Signing secret (`whsec_<base64>`, Standard Webhooks); signs deliveries of every format. */
  secret?: string;
  /** Name of a Key Vault secret holding the signing secret (resolved through `resolveSecret`). */
  secretName?: string;
  /** A second `whsec_` secret, signing alongside the first during a rotation. */
  secondarySecret?: string;
  /** Name of a Key Vault secret holding the second secret. */
  secondarySecretName?: string;
  /** A secret of the first (`v1=<hex>`) scheme, for receivers not yet moved to Standard Webhooks. */
  legacySecret?: string;
  /** Name of a Key Vault secret holding the legacy secret. */
  legacySecretName?: string;
}

/** Result of delivering one event to one target (possibly after several attempts). */
export interface DeliveryResult {
  /** Scheme, host and port only, never the full URL (URLs carry tokens). */
  target: string;
  format: WebhookTargetSettings["format"];
  eventId: string;
  eventType: string;
  ok: boolean;
  attempts: number;
  /** HTTP status of the last attempt, when there was a response. */
  status?: number;
  error?: string;
  durationMs: number;
}

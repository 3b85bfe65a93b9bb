/**
 * The unit `Acmebot__RenewBeforeExpiry` was read in (days in Acmebot v4, percent in v5), recorded once as a secret kv-acme
 * owns in the secrets vault. Without KvAcme__AcmebotRenewBeforeExpiryUnit the unit is told by the Acmebot tags on the
 * certificates (src/config/acmebot.ts decideAcmebotUnit), and kv-acme's own renewal replaces those tags with its own:
 * the decision made while they were there is recorded (at adoption: `kv-acme migrate --from-acmebot --apply`, or the
 * first renewal run that reads it) and is the source from then on. The setting still wins over the record.
 */
import type { SecretClient } from "@azure/keyvault-secrets";
import type { RenewBeforeExpiryUnit } from "../config/acmebot";
import { statusOf } from "../shared/errors";
import { vaultError } from "./certificates";
import { MAX_TAG_VALUE_LENGTH } from "./tags";

/** The secret's name (in the secrets vault, beside the ACME account keys). */
export const ACMEBOT_UNIT_SECRET = "kv-acme-acmebot-renew-before-expiry-unit";
const TAG_REASON = "kv-acme-reason";
const TAG_DECIDED_AT = "kv-acme-decided-at";

/** A recorded decision: the unit, why it was decided, and when. */
export interface RecordedAcmebotUnit {
  unit: RenewBeforeExpiryUnit;
  reason: string;
  decidedAt: string;
}

/** The recorded unit, or undefined when none was recorded (or the secret holds no unit kv-acme knows). */
export async function readAcmebotUnit(secrets: SecretClient): Promise<RecordedAcmebotUnit | undefined> {
  try {
    const secret = await secrets.getSecret(ACMEBOT_UNIT_SECRET);
    const unit = secret.value;
    if (unit !== "days" && unit !== "percent") return undefined;
    const tags = secret.properties.tags ?? {};
    return { unit, reason: tags[TAG_REASON] ?? "", decidedAt: tags[TAG_DECIDED_AT] ?? "" };
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw vaultError(`reading ${ACMEBOT_UNIT_SECRET}`, err);
  }
}

/** Records a decision (a new secret version; the same decision again is harmless). */
export async function recordAcmebotUnit(
  secrets: SecretClient,
  decided: { unit: RenewBeforeExpiryUnit; reason: string },
  now: Date,
): Promise<RecordedAcmebotUnit> {
  const recorded = { unit: decided.unit, reason: decided.reason.slice(0, MAX_TAG_VALUE_LENGTH), decidedAt: now.toISOString() };
  try {
    await secrets.setSecret(ACMEBOT_UNIT_SECRET, recorded.unit, {
      contentType: "text/plain",
      tags: { [TAG_REASON]: recorded.reason, [TAG_DECIDED_AT]: recorded.decidedAt },
    });
  } catch (err) {
    throw vaultError(`recording ${ACMEBOT_UNIT_SECRET}`, err);
  }
  return recorded;
}

/**
 * The unit `Acmebot__RenewBeforeExpiry` was read in (days in Acmebot v4, percent in v5), recorded once as a secret kv-acme
 * owns in the secrets vault. Without KvAcme__AcmebotRenewBeforeExpiryUnit the unit is told by the Acmebot tags on the
 * certificates (src/config/acmebot.ts decideAcmebotUnit), and kv-acme's own renewal replaces those tags with its own:
 * the decision made while they were there is recorded (at adoption: `kv-acme migrate --from-acmebot --apply`, the
 * first renewal run that reads it, or the renewal of an Acmebot-tagged certificate, which replaces its tags) and is the
 * source from then on. The setting still wins over the record.
 */
import type { SecretClient } from "@azure/keyvault-secrets";
import { decideAcmebotUnit, type RenewBeforeExpiryUnit } from "../config/acmebot";
import type { Settings } from "../config/types";
import { statusOf } from "../shared/errors";
import { vaultError } from "./certificates";
import { MAX_TAG_VALUE_LENGTH, readManagedTags } from "./tags";

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

/**
 * Before a renewal replaces the tags of a certificate Acmebot tagged: records the unit its tags tell, while no setting
 * decides it and nothing is recorded yet (one secret read per such renewal until then; nothing for other certificates).
 */
export async function recordAcmebotUnitBeforeRenewal(
  deps: { settings: Pick<Settings, "acmebotRenewBeforeExpiry">; secrets: SecretClient },
  tags: Record<string, string> | undefined,
  now: Date,
): Promise<void> {
  const pending = deps.settings.acmebotRenewBeforeExpiry;
  const version = readManagedTags(tags).acmebotVersion;
  if (pending === undefined || version === undefined) return;
  if (await readAcmebotUnit(deps.secrets)) return;
  const decided = decideAcmebotUnit(pending.value, { v4: version === 4 ? 1 : 0, v5: version === 5 ? 1 : 0 });
  await recordAcmebotUnit(deps.secrets, decided, now);
}

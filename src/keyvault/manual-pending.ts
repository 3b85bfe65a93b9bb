/**
 * Pending operations created by hand (POST /certificates/{name}/pending, CLI `pending create`): a person downloaded
 * the CSR for another CA and will merge its chain. Its version carries the kv-acme-manual-pending tag (./tags), and
 * while its operation is in progress and younger than ManualPendingHoldHours nothing of kv-acme takes it over: the
 * renewal decision holds a due certificate (ManualPendingOperation, ../renewal/decide.ts) and issue / renew answer
 * 409 (../issuance/steps.ts). Older, it is stale: a renewal replaces (or, for the same names and key, reuses) it.
 */
import type { CertificateClient } from "@azure/keyvault-certificates";
import { ConflictError } from "../shared/errors";
import { getPending } from "./certificates";
import { readManagedTags } from "./tags";

/** A pending operation created by hand that is still in progress. */
export interface ManualPending {
  /** When it was created (ISO; the kv-acme-manual-pending tag). */
  createdAt: string;
}

/**
 * The manual pending operation of a certificate whose latest version is unissued and carries `latestTags`: its
 * creation time while it is in progress and not being cancelled, else undefined. One operation read, and only when
 * the version carries the tag.
 */
export async function inProgressManualPending(
  client: CertificateClient,
  certificateName: string,
  latestTags: Record<string, string>,
): Promise<ManualPending | undefined> {
  const createdAt = readManagedTags(latestTags).manualPending;
  if (!createdAt) return undefined;
  const op = await getPending(client, certificateName);
  return op?.status === "inProgress" && !op.cancellationRequested ? { createdAt } : undefined;
}

/** Until when kv-acme leaves it alone: its creation + holdHours (ManualPendingHoldHours); stale from then on. */
export function manualPendingHoldEnd(manual: ManualPending, holdHours: number): Date {
  return new Date(Date.parse(manual.createdAt) + holdHours * 3_600_000);
}

/**
 * Refuses (409 ManualPendingOperation, nothing written) to issue into a certificate whose latest version is an
 * unissued one carrying `latestTags` with a manual pending operation in progress that is not stale yet.
 */
export async function assertNoManualPending(
  client: CertificateClient,
  certificateName: string,
  latestTags: Record<string, string>,
  holdHours: number,
  now: Date,
): Promise<void> {
  const manual = await inProgressManualPending(client, certificateName, latestTags);
  if (!manual) return;
  const holdUntil = manualPendingHoldEnd(manual, holdHours);
  if (now.getTime() >= holdUntil.getTime()) return;
  throw new ConflictError(
    `Certificate ${certificateName} has a pending operation created by hand at ${manual.createdAt} (a CSR for another CA): ` +
      `kv-acme leaves it alone until ${holdUntil.toISOString()}; merge its chain (pending merge) or delete it (pending delete) first`,
    { certificateName, manualPendingCreatedAt: manual.createdAt, holdUntil: holdUntil.toISOString() },
    "ManualPendingOperation",
  );
}

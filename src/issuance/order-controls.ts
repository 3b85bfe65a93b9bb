/**
 * The certificate controls an issue request may carry besides names and key — preferred chain, ACME profile, custom
 * tags — and the checks against the CA before an order is placed (profile offered, CAA pre-flight). All of it runs in
 * validateRequest, so a refusal is a 400 before anything is written. A field left out keeps the certificate's own
 * value (its tags, read by the ownership check); an empty string clears a preferred chain or profile, `{}` the tags.
 */
import type { AcmeSession } from "../acme/client";
import type { DownloadedChain } from "../acme/order";
import {
  assertProfileOffered,
  checkPreferredChain,
  checkProfileName,
  effectiveOrderOptions,
  requestField,
  type CertificateOrderOptions,
} from "../acme/order-options";
import { assertCaaAllows } from "../dns/caa";
import type { DnsZone } from "../dns/provider";
import { customTagBudget, customTagsOf, validateCustomTags } from "../keyvault/custom-tags";
import { readManagedTags } from "../keyvault/tags";
import type { IssuanceDeps } from "./deps";

/** The controls as a request sends them. */
export interface OrderControlsRequest {
  /** Issuer common name of the preferred chain ("" clears the certificate's own). */
  preferredChain?: string;
  /** ACME profile ("" clears the certificate's own). */
  profile?: string;
  /** The certificate's own tags (replaces them; `{}` removes them). */
  tags?: Record<string, string>;
}

/** The controls after validation: the certificate's own values (what its tags record), never the app's. */
export interface OrderControls {
  preferredChain?: string;
  profile?: string;
  /** The custom tags every version of this issuance is written with. */
  tags: Record<string, string>;
}

function ownValue(field: "preferredChain" | "profile", requested: string | undefined, existing: string | undefined): string | undefined {
  if (requested === undefined) return existing;
  if (requested.trim() === "") return undefined;
  return requestField(field, requested, field === "preferredChain" ? checkPreferredChain : checkProfileName);
}

/**
 * Validates the request's controls; fields left out are the certificate's (`existingTags`: its latest version's tags,
 * undefined for a new certificate). Throws one ValidationError for the tags (every problem) or a bad field.
 */
export function parseOrderControls(
  request: OrderControlsRequest,
  existingTags: Record<string, string> | undefined,
  hasDnsAlias: boolean,
): OrderControls {
  const existing = readManagedTags(existingTags);
  const preferredChain = ownValue("preferredChain", request.preferredChain, existing.preferredChain);
  const profile = ownValue("profile", request.profile, existing.profile);
  const optional = [hasDnsAlias, preferredChain !== undefined, profile !== undefined].filter(Boolean).length;
  const tags = validateCustomTags(request.tags !== undefined ? request.tags : customTagsOf(existingTags), customTagBudget(optional));
  return { ...(preferredChain !== undefined ? { preferredChain } : {}), ...(profile !== undefined ? { profile } : {}), tags };
}

/** The order options an order of this certificate uses (its own, else the app's settings). */
export function orderOptionsFor(controls: CertificateOrderOptions, deps: IssuanceDeps): CertificateOrderOptions {
  return effectiveOrderOptions(controls, deps.settings.order);
}

/** What a preferred chain chose, for the progress log. */
export function describeChainChoice(choice: NonNullable<DownloadedChain["choice"]>): string {
  const n = choice.offered.length;
  return choice.matched
    ? `chain issued by "${choice.preferredChain}" chosen among ${n} offered`
    : `no chain issued by "${choice.preferredChain}" among ${n} offered (${choice.offered.join(", ")}): the default chain`;
}

/**
 * The checks against the CA, before any write: the profile the order will use is offered by the directory, and (when
 * enabled) CAA lets one of the CA's caaIdentities issue every name.
 */
export async function checkOrderAtCa(
  input: { dnsNames: string[]; controls: OrderControls; zones: readonly DnsZone[]; validationRun?: string },
  session: AcmeSession,
  deps: IssuanceDeps,
): Promise<void> {
  const { profile } = orderOptionsFor(input.controls, deps);
  assertProfileOffered(profile, session.directory.meta?.profiles, session.directoryUrl);
  const identities = session.directory.meta?.caaIdentities ?? [];
  if (deps.settings.order.caaCheck && identities.length > 0)
    await assertCaaAllows(input.dnsNames, identities, input.zones, deps.caaLookup, input.validationRun);
}

/**
 * The issuance steps, each a plain async function with JSON input and output and idempotent, so the durable
 * orchestration can run each as an activity in exactly the order `issueCertificate` runs them:
 *
 *   validateRequest -> placeOrder -> presentChallenges -> awaitPropagation -> validateChallenges ->
 *   preparePendingOperation -> finalizeWithVaultCsr -> downloadCertificateChain -> mergeIssuedChain (./merge-step.ts)
 *   always: cleanupChallenges;  on failure: abandonIssuance (pending operation + pending authorizations)
 */
import { defaultCertificateName, validateCertificateName, validateDnsNames } from "../acme/names";
import {
  answerChallenges,
  placeOrReuseOrder,
  deactivatePendingAuthorizations,
  downloadChain,
  finalizeOrder,
  type DownloadedChain,
  getDns01Tasks,
  waitForValidation,
  type Dns01Task,
  type OrderRef,
} from "../acme/order";
import { resolveChallengeTargets, type ChallengeTarget } from "../dns/delegation";
import { waitForTxtPropagation, type PropagationResult } from "../dns/propagation";
import { CHALLENGE_TTL_SECONDS, type DnsZone } from "../dns/provider";
import { discardPending, ensurePending, type CertificateVersionInfo, type EnsurePendingResult } from "../keyvault/certificates";
import { parseKeyOptions, type KeyOptions, type KeyOptionsInput } from "../keyvault/policy";
import { assertNoManualPending } from "../keyvault/manual-pending";
import { assertMayManage } from "../keyvault/ownership";
import { assertNoNameOverlap, overlapCheckDue } from "../keyvault/overlap";
import { managedTags } from "../keyvault/tags";
import { ValidationError, errorMessage, type FieldProblem } from "../shared/errors";
import { parseIssuerPins } from "../shared/issuer";
import { checkOrderAtCa, describeChainChoice, orderOptionsFor, parseOrderControls } from "./order-controls";
import type { IssuanceDeps } from "./deps";

/** What a caller asks for. */
export interface IssueRequest {
  dnsNames: string[] | string;
  certificateName?: string;
  keyOptions?: KeyOptionsInput;
  /** RFC 9773 id of the certificate being renewed (sent as `replaces` when the CA supports ARI). */
  replacesAriCertId?: string;
  /** Take over an existing certificate kv-acme does not manage (otherwise 409 CertificateNotManaged). */
  adopt?: boolean;
  /** Write every name's TXT value at `_acme-challenge.<dnsAlias>` (the leading C# tool's field; see docs/dns-providers.md). */
  dnsAlias?: string;
  /** Issue even when another certificate of the vault has one of the names (otherwise 409 CertificateNamesOverlap). */
  allowNameOverlap?: boolean;
  /**
   * When the name overlap guard passed for this very request (ISO time): the HTTP API sets it on the orchestration it
   * starts, so the orchestration's validation does not list the vault a second time (../keyvault/overlap.ts overlapCheckDue).
   */
  overlapCheckedAt?: string;
  /**
   * The validation run the request belongs to, an id the server makes (an HTTP request and the orchestration it
   * starts, a renewal run's certificates), never a client's header: the validations of one run share their CAA answers.
   */
  validationRun?: string;
  /** The vault to issue into (settings.vaults; default: the default vault). */
  vault?: string;
  /** Issuer certificate thumbprints a new version must come from (an empty list clears them; absent: keep the certificate's). */
  issuerPins?: string[];
  /** Preferred chain, ACME profile, custom tags (./order-controls.ts; absent: keep the certificate's). */
  preferredChain?: string;
  profile?: string;
  tags?: Record<string, string>;
}

/** A request after validation: normalized names, certificate name, parsed key options, where every TXT value goes. */
export interface ValidatedRequest {
  dnsNames: string[];
  certificateName: string;
  /** The vault of the certificate (the deps' vault at validation). */
  vault: string;
  keyOptions: KeyOptions;
  replacesAriCertId?: string;
  dnsAlias?: string;
  /** Where each name's TXT value goes (zone, record, CNAME delegation or alias), same order as dnsNames. */
  targets: ChallengeTarget[];
  /** Normalized issuer pins, when the request gave some. */
  issuerPins?: string[];
  /** The certificate's own preferred chain and ACME profile (the app's settings apply when absent). */
  preferredChain?: string;
  profile?: string;
  /** The certificate's custom tags, written with kv-acme's on the new version. */
  tags?: Record<string, string>;
}

/** A DNS-01 challenge with where its TXT value goes. */
export interface ChallengeRecord extends Dns01Task {
  zone: DnsZone;
  /** Record set name relative to the zone ("_acme-challenge", "_acme-challenge.www"). */
  recordName: string;
  fqdn: string;
}

export interface OrderPlan {
  order: OrderRef;
  challenges: ChallengeRecord[];
}

/** The merged version (as the vault reports it, without its id) and how the issuance went. */
export interface IssueResult extends Omit<CertificateVersionInfo, "id"> {
  durationMs: number;
  pendingAction: EnsurePendingResult["action"];
  replaces?: string;
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Validates everything before anything is written: DNS names (RFC 8555 §7.1.3 dns identifiers, ≤ 100), certificate
 * name, key options, ownership of an existing certificate of that name (409 unless managed or adopted), names no
 * other certificate of the vault has (409 unless allowNameOverlap), where every TXT value goes (a writable zone,
 * possibly through a CNAME chain or the dnsAlias), and the ACME account configuration (EAB when required). Collects
 * all input problems into one ValidationError.
 */
export async function validateRequest(request: IssueRequest, anyVaultDeps: IssuanceDeps): Promise<ValidatedRequest> {
  const problems: FieldProblem[] = [];
  const collect = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ValidationError) {
        problems.push(...err.problems);
        return undefined;
      }
      throw err;
    }
  };
  // The vault named in the request (the default one when none is): an unknown vault is an input problem like the others.
  const deps = collect(() => anyVaultDeps.forVault(request.vault));
  const dnsNames = collect(() => validateDnsNames(request.dnsNames));
  const keyOptions = collect(() => parseKeyOptions(request.keyOptions ?? {}));
  let certificateName: string | undefined;
  const issuerPins = request.issuerPins === undefined ? undefined : collect(() => parseIssuerPins(request.issuerPins));
  if (request.certificateName !== undefined && request.certificateName !== "")
    certificateName = collect(() => validateCertificateName(request.certificateName as string));
  else if (dnsNames?.[0]) certificateName = collect(() => defaultCertificateName(dnsNames[0] as string));
  if (problems.length > 0 || !deps || !dnsNames || !keyOptions || !certificateName) throw new ValidationError(problems);
  // Another owner's certificate (or one tagged kv-acme-ignore) is refused before anything else is read or written, and
  // so is one whose pending operation a person created by hand and has not finished (../keyvault/manual-pending.ts).
  const { existing } = await assertMayManage(deps.certificates, certificateName, { adopt: request.adopt });
  if (existing && !existing.issued)
    await assertNoManualPending(deps.certificates, certificateName, existing.tags, deps.settings.manualPendingHoldHours, new Date());
  const dnsAlias = request.dnsAlias === undefined || request.dnsAlias === "" ? undefined : request.dnsAlias;
  const controls = parseOrderControls(request, existing?.tags, dnsAlias !== undefined);
  if (request.allowNameOverlap !== true && overlapCheckDue(request.overlapCheckedAt, new Date()))
    await assertNoNameOverlap(deps.certificates, certificateName, dnsNames);

  const allZones = await deps.dns.listZones();
  const targets = await resolveChallengeTargets(dnsNames, allZones, { dnsAlias, lookup: deps.cnameLookup });
  // Account configuration problems (e.g. EAB required but missing) surface here, before any TXT or vault write, and
  // so do an ACME profile the CA does not offer and CAA records that forbid the CA.
  const run = request.validationRun === undefined ? {} : { validationRun: request.validationRun };
  await checkOrderAtCa({ dnsNames, controls, zones: allZones, ...run }, await deps.acme(), deps);
  const result: ValidatedRequest = { dnsNames, certificateName, vault: deps.vault, keyOptions, targets, ...controls };
  if (request.replacesAriCertId) result.replacesAriCertId = request.replacesAriCertId;
  if (dnsAlias !== undefined) result.dnsAlias = dnsAlias.trim().toLowerCase().replace(/\.$/, "");
  if (issuerPins !== undefined) result.issuerPins = issuerPins;
  return result;
}

/** Creates the ACME order and computes every DNS-01 TXT value (RFC 8555 §7.4, §8.4). */
export async function placeOrder(request: ValidatedRequest, deps: IssuanceDeps): Promise<OrderPlan> {
  const session = await deps.acme();
  const { profile } = orderOptionsFor(request, deps);
  // An order the account already has for this request (a retry of this step after the host died before recording it)
  // is carried on rather than left pending at the CA.
  const { order, reused } = await placeOrReuseOrder(session, { dnsNames: request.dnsNames, replaces: request.replacesAriCertId, profile });
  let challenges: ChallengeRecord[];
  try {
    challenges = (await getDns01Tasks(session, order)).map((task): ChallengeRecord => {
      const target = request.targets[request.dnsNames.indexOf(task.identifier)];
      if (!target) throw new Error(`the CA returned a challenge for ${task.identifier}, which the order did not ask for`);
      return { ...task, zone: target.zone, recordName: target.recordName, fqdn: target.fqdn };
    });
  } catch (err) {
    // The caller never learns of this order (a retry places a new one): leave nothing pending at the CA.
    await deactivatePendingAuthorizations(session, order.authorizations).catch(() => undefined);
    throw err;
  }
  deps.progress(
    "order",
    `order ${reused ? "carried on" : "created"} for ${request.dnsNames.length} name(s), ${challenges.filter((c) => c.status === "pending").length} challenge(s) to answer`,
    { orderUrl: order.url, reused },
  );
  return { order, challenges };
}

/** Groups challenge values by record set (apex and wildcard share `_acme-challenge`). */
export function groupByRecordSet(
  challenges: readonly ChallengeRecord[],
): { zone: DnsZone; recordName: string; fqdn: string; values: string[] }[] {
  const groups = new Map<string, { zone: DnsZone; recordName: string; fqdn: string; values: string[] }>();
  for (const c of challenges) {
    const key = `${c.zone.provider}|${c.zone.id.toLowerCase()}|${c.recordName}`;
    const g = groups.get(key) ?? { zone: c.zone, recordName: c.recordName, fqdn: c.fqdn, values: [] };
    if (!g.values.includes(c.txtValue)) g.values.push(c.txtValue);
    groups.set(key, g);
  }
  return [...groups.values()];
}

const DNS_CONCURRENCY = 8;

/**
 * Adds every TXT value (all of them before any validation), each in the provider instance owning its zone, then waits
 * for the providers that report a change live (e.g. Route 53 INSYNC). Idempotent.
 */
export async function presentChallenges(challenges: readonly ChallengeRecord[], deps: IssuanceDeps): Promise<{ recordSets: number }> {
  const groups = groupByRecordSet(challenges.filter((c) => c.status === "pending"));
  const changes = await mapLimit(groups, DNS_CONCURRENCY, (g) =>
    deps.dns.addTxtValues(g.zone, g.recordName, g.values, CHALLENGE_TTL_SECONDS),
  );
  const timeoutMs = deps.settings.propagationTimeoutSeconds * 1000;
  const pairs = groups.map((g, i) => ({ zone: g.zone, change: changes[i] }));
  await mapLimit(pairs, DNS_CONCURRENCY, (p) => deps.dns.waitUntilLive(p.zone, p.change, { timeoutMs }));
  const providers = [...new Set(groups.map((g) => g.zone.provider))];
  deps.progress("dns", `TXT values added to ${groups.length} record set(s) through ${providers.join(", ")}`, { providers });
  return { recordSets: groups.length };
}

/** The provider instances that write a request's TXT values, as the `kv-acme-dns-provider` tag records them. */
export function writingProviders(targets: readonly ChallengeTarget[]): string {
  return [...new Set(targets.map((t) => t.zone.provider))].sort().join(",");
}

/** Waits until every TXT value is visible on every authoritative server (RFC 8555 §8.4). */
export async function awaitPropagation(challenges: readonly ChallengeRecord[], deps: IssuanceDeps): Promise<PropagationResult> {
  const groups = groupByRecordSet(challenges.filter((c) => c.status === "pending"));
  if (groups.length === 0) return { elapsedMs: 0, queries: 0, servers: {} };
  const result = await waitForTxtPropagation(
    groups.map((g) => ({ fqdn: g.fqdn, values: g.values, zoneName: g.zone.name, nameServers: g.zone.nameServers })),
    {
      resolvers: typeof deps.settings.dnsResolver === "string" ? [deps.settings.dnsResolver] : deps.settings.dnsResolver,
      timeoutMs: deps.settings.propagationTimeoutSeconds * 1000,
    },
  );
  deps.progress("dns", `TXT values visible on all authoritative servers after ${result.elapsedMs} ms`);
  return result;
}

/** Answers the challenges and waits until the authorizations are valid and the order is ready (RFC 8555 §7.5.1). */
export async function validateChallenges(plan: OrderPlan, deps: IssuanceDeps): Promise<OrderRef> {
  const session = await deps.acme();
  const timeoutMs = deps.settings.acmeTimeoutSeconds * 1000;
  await answerChallenges(session, plan.challenges);
  const order = await waitForValidation(session, plan.order, plan.challenges, { timeoutMs });
  deps.progress("acme", `all ${plan.challenges.length} authorization(s) valid`);
  return order;
}

/** Ensures a Key Vault pending operation for exactly these names and key (creates, reuses or replaces one). */
export async function preparePendingOperation(request: ValidatedRequest, deps: IssuanceDeps): Promise<EnsurePendingResult> {
  const tags = managedTags({
    acmeDirectoryUrl: deps.settings.acmeDirectoryUrl,
    dnsNames: request.dnsNames,
    dnsProvider: writingProviders(request.targets),
    dnsAlias: request.dnsAlias,
    preferredChain: request.preferredChain,
    profile: request.profile,
    customTags: request.tags,
  });
  const result = await ensurePending(deps.certificates, request.certificateName, request.dnsNames, request.keyOptions, { tags });
  deps.progress("keyvault", `pending operation ${result.action} for ${request.certificateName}: ${result.reason}`);
  return result;
}

/** Finalizes the order with the vault's CSR and waits for issuance (RFC 8555 §7.4). */
export async function finalizeWithVaultCsr(input: { order: OrderRef; csr: string }, deps: IssuanceDeps): Promise<OrderRef> {
  const session = await deps.acme();
  const order = await finalizeOrder(session, input.order, input.csr, { timeoutMs: deps.settings.acmeTimeoutSeconds * 1000 });
  deps.progress("acme", "certificate issued");
  return order;
}

/** Downloads the chain (RFC 8555 §7.4.2), leaf first: the preferred one among the CA's alternates when one is set. */
export async function downloadCertificateChain(
  input: { order: OrderRef; preferredChain?: string },
  deps: IssuanceDeps,
): Promise<DownloadedChain> {
  const { preferredChain } = orderOptionsFor(input, deps);
  const downloaded = await downloadChain(await deps.acme(), input.order, preferredChain);
  if (downloaded.choice) deps.progress("acme", describeChainChoice(downloaded.choice));
  return downloaded;
}

/** Removes exactly our TXT values (every outcome). Idempotent; other orders' values stay. */
export async function cleanupChallenges(challenges: readonly ChallengeRecord[], deps: IssuanceDeps): Promise<{ recordSets: number }> {
  const groups = groupByRecordSet(challenges);
  const failures: string[] = [];
  await mapLimit(groups, DNS_CONCURRENCY, async (g) => {
    try {
      await deps.dns.removeTxtValues(g.zone, g.recordName, g.values);
    } catch (err) {
      failures.push(`${g.fqdn}: ${errorMessage(err)}`);
    }
  });
  if (failures.length > 0) throw new Error(`Could not remove TXT values: ${failures.join("; ")}`);
  return { recordSets: groups.length };
}

/**
 * After a failure: cancel + delete the pending operation this attempt created or reused (matched by request id) so the
 * next attempt is not blocked, and deactivate authorizations still pending at the CA (RFC 8555 §7.5.2). Idempotent.
 */
export async function abandonIssuance(
  input: { certificateName?: string; requestId?: string; authorizationUrls?: string[]; vault?: string },
  deps: IssuanceDeps,
): Promise<{ pendingDiscarded: boolean; authorizationsDeactivated: number }> {
  let pendingDiscarded = false;
  if (input.certificateName) pendingDiscarded = (await discardPending(deps.certificates, input.certificateName, input.requestId)).discarded;
  let authorizationsDeactivated = 0;
  if (input.authorizationUrls && input.authorizationUrls.length > 0) {
    authorizationsDeactivated = (await deactivatePendingAuthorizations(await deps.acme(), input.authorizationUrls)).deactivated;
  }
  return { pendingDiscarded, authorizationsDeactivated };
}

/**
 * GET /renewals[?name=][&vault=]: every managed certificate's renewal schedule, in every vault (or the one named) —
 * when it renews next, the rule that sets that moment (ARI window, days before expiry, fraction of the lifetime), the
 * CA's ARI window, the last failed attempt and the backoff it causes, and the CA's rateLimited Retry-After that holds
 * it — decided by the same code the renewal run uses (src/renewal/scan.ts decideForItem). List API pages only, plus one
 * ARI lookup per certificate that has an ARI id. A vault that cannot be listed is named in `unavailableVaults`.
 */
import { validateCertificateName } from "../acme/names";
import { everyVault, type IssuanceDeps } from "../issuance/deps";
import { candidateOf, decideForItem, recordedAcmebotUnit, renewalPolicyFor, RENEWAL_LISTING } from "../renewal/scan";
import { nextAttemptAt } from "../renewal/decide";
import { mapLimit } from "../issuance/steps";
import { listEveryVault, unlessAllDown } from "../keyvault/inventory";
import { trustView, vaultDeps, type Handler } from "./handlers";
import { json } from "./http";
import type { RenewalView } from "./views";

export type { RenewalView };

/** ARI lookups in flight at once. */
export const RENEWALS_ARI_CONCURRENCY = 8;

/** The schedule GET /renewals answers (and `kv-acme renewals` prints). */
export interface RenewalSchedule {
  generatedAt: string;
  /** The vault whose certificates are addressed by name alone. */
  defaultVault: string;
  renewals: RenewalView[];
  /** Vaults that could not be listed (their certificates are missing from `renewals`). */
  unavailableVaults?: { vault: string; error: string }[];
}

/**
 * The renewal schedule of `vaults` (all of them, or one), optionally of one certificate name, at `now`, soonest first.
 * `deps` are any vault's (the decision needs the ACME session and the renewal settings only).
 */
export async function renewalSchedule(
  deps: IssuanceDeps,
  vaults: IssuanceDeps[],
  options: { name?: string; now?: Date } = {},
): Promise<RenewalSchedule> {
  const listings = unlessAllDown(
    await listEveryVault(
      vaults.map((d) => ({ vault: d.vault, certificates: d.certificates })),
      RENEWAL_LISTING,
    ),
  );
  const now = options.now ?? new Date();
  const selected = listings.flatMap((l) => l.items).filter((i) => options.name === undefined || i.name === options.name);
  const policy = renewalPolicyFor(
    deps.settings,
    listings.flatMap((l) => l.items.map((item) => candidateOf(item))),
    await recordedAcmebotUnit(deps),
  );
  const decided = await mapLimit(selected, RENEWALS_ARI_CONCURRENCY, async (item) => {
    const d = await decideForItem(candidateOf(item, deps.settings.defaultVault), deps, now, Math.random, policy);
    if (!d || !item.notBefore || !item.expiresOn || item.vault === undefined) return undefined;
    const view: RenewalView = {
      name: item.name,
      vault: item.vault,
      dnsNames: item.managed.dnsNames ?? [],
      notBefore: item.notBefore,
      expiresOn: item.expiresOn,
      renewAt: d.decision.renewAt,
      due: d.decision.due,
      reason: d.decision.reason,
      message: d.decision.message,
      rule: d.rule,
      ari: d.ari,
    };
    if (d.ariWindow) view.ariWindow = d.ariWindow;
    if (d.lastFailure) {
      view.lastFailure = d.lastFailure;
      const lastFailure = { at: new Date(d.lastFailure.at), attempts: d.lastFailure.attempts };
      view.backoffUntil = nextAttemptAt(lastFailure, new Date(item.expiresOn)).toISOString();
    }
    if (d.renewNotBefore) view.renewNotBefore = d.renewNotBefore;
    if (d.manualPending) view.manualPending = d.manualPending;
    Object.assign(view, trustView(item.managed));
    return view;
  });
  const list = decided.filter((v): v is RenewalView => v !== undefined).sort((a, b) => a.renewAt.localeCompare(b.renewAt));
  const down = listings.filter((l) => l.error).map((l) => ({ vault: l.vault, error: l.error?.message ?? "" }));
  return {
    generatedAt: now.toISOString(),
    defaultVault: deps.settings.defaultVault,
    renewals: list,
    ...(down.length > 0 ? { unavailableVaults: down } : {}),
  };
}

export const renewals: Handler = async (req, ctx) => {
  const only = req.query.get("name");
  const name = only === null ? undefined : validateCertificateName(only);
  const deps = ctx.runtime.deps;
  const vaults = req.query.get("vault") === null ? everyVault(deps) : [vaultDeps(req, ctx)];
  return json(200, await renewalSchedule(deps, vaults, name === undefined ? {} : { name }));
};

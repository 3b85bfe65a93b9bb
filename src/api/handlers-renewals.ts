/**
 * GET /renewals[?name=]: every managed certificate's renewal schedule — when it renews next, the rule that sets that
 * moment (ARI window, days before expiry, fraction of the lifetime), the CA's ARI window, the failed attempts that
 * back it off and the CA's rateLimited Retry-After that holds it — decided by the same code the renewal run uses (src/renewal/scan.ts decideForItem). List API pages only,
 * plus one ARI lookup per certificate that has an ARI id.
 */
import { validateCertificateName } from "../acme/names";
import { candidateOf, decideForItem } from "../renewal/scan";
import { mapLimit } from "../issuance/steps";
import { listInventory } from "../keyvault/inventory";
import type { Handler } from "./handlers";
import { json } from "./http";
import type { RenewalView } from "./views";

export type { RenewalView };

/** ARI lookups in flight at once. */
export const RENEWALS_ARI_CONCURRENCY = 8;

export const renewals: Handler = async (req, ctx) => {
  const only = req.query.get("name");
  const name = only === null ? undefined : validateCertificateName(only);
  const deps = ctx.runtime.deps;
  const { items } = await listInventory(deps.certificates, { managedOnly: true });
  const now = new Date();
  const selected = items.filter((i) => name === undefined || i.name === name);
  const decided = await mapLimit(selected, RENEWALS_ARI_CONCURRENCY, async (item) => {
    const d = await decideForItem(candidateOf(item), deps, now);
    if (!d || !item.notBefore || !item.expiresOn) return undefined;
    const view: RenewalView = {
      name: item.name,
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
    if (d.lastFailure) view.lastFailure = d.lastFailure;
    if (d.renewNotBefore) view.renewNotBefore = d.renewNotBefore;
    return view;
  });
  const list = decided.filter((v): v is RenewalView => v !== undefined).sort((a, b) => a.renewAt.localeCompare(b.renewAt));
  return json(200, { generatedAt: now.toISOString(), renewals: list });
};

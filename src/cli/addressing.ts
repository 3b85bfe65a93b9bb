/**
 * Which vault a CLI command acts on: a certificate named `{vault}/{name}`, or `{name}` with `--vault V` (the default
 * vault when neither says), the same addressing as the API's `vault` (src/keyvault/address.ts). Also how the
 * listings that cover every vault are printed.
 */
import type { IssuanceDeps } from "../issuance/deps";
import { everyVault } from "../issuance/deps";
import { formatAddress, parseAddress, validateVaultName } from "../keyvault/address";
import { ValidationError } from "../shared/errors";
import type { RenewalSchedule } from "../api/handlers-renewals";

/** The certificate `raw` names and its vault's dependencies; a vault in both the address and --vault must agree. */
export function addressed(raw: string, vaultOption: string | undefined, deps: IssuanceDeps): { name: string; deps: IssuanceDeps } {
  const address = parseAddress(raw);
  const option = vaultOption === undefined ? undefined : validateVaultName(vaultOption, "--vault");
  if (address.vault !== undefined && option !== undefined && address.vault !== option)
    throw new ValidationError([{ field: "--vault", message: `"${raw}" names vault ${address.vault}, --vault names ${option}` }]);
  return { name: address.name, deps: deps.forVault(address.vault ?? option) };
}

/** The vaults a listing covers: the one --vault names, else every vault. */
export function listedVaults(vaultOption: string | undefined, deps: IssuanceDeps): IssuanceDeps[] {
  return vaultOption === undefined ? everyVault(deps) : [deps.forVault(vaultOption)];
}

/** `kv-acme renewals`: one line per certificate, soonest first, then the vaults that could not be listed. */
export function renewalsText(schedule: RenewalSchedule): string {
  const lines = schedule.renewals.map((r) => {
    const address = formatAddress(r.vault, r.name, schedule.defaultVault);
    const backoff = r.backoffUntil ? ` backoff until ${r.backoffUntil} (${r.lastFailure?.attempts ?? 0} failed)` : "";
    const ari = r.ariWindow ? ` ARI ${r.ariWindow.start}..${r.ariWindow.end}` : "";
    return `${address.padEnd(40)} ${r.renewAt.padEnd(24)} ${r.due ? "due" : "   "} ${r.rule.padEnd(7)} ${r.reason}${ari}${backoff}`;
  });
  for (const v of schedule.unavailableVaults ?? []) lines.push(`vault ${v.vault} not listed: ${v.error}`);
  return lines.length === 0 ? "no managed certificates\n" : `${lines.join("\n")}\n`;
}

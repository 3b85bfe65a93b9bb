/**
 * GET /account: the ACME account of every directory the app has used (one per Key Vault secret holding an account
 * key), the configured directory first: its URL, the account URL, contacts, whether it was bound with External Account
 * Binding, its status at the CA and when kv-acme created it. Never the key: the secrets are listed by their properties,
 * and a key is read only to sign the POST-as-GET that asks the CA for the account's status. Nothing is registered.
 */
import { readAccountAtCa } from "../acme/account";
import { listAccountKeys, type StoredAccountInfo } from "../keyvault/account-key";
import { errorMessage } from "../shared/errors";
import type { Handler } from "./handlers";
import { json } from "./http";
import type { AccountView } from "./views";

export type { AccountView };

export const account: Handler = async (_req, ctx) => {
  const { settings, deps } = ctx.runtime;
  const stored = await listAccountKeys(deps.secrets);
  const current = settings.acmeDirectoryUrl;
  const entries: StoredAccountInfo[] = stored.filter((s) => s.directoryUrl !== undefined);
  const ordered = [
    ...entries.filter((e) => e.directoryUrl === current),
    ...entries.filter((e) => e.directoryUrl !== current).sort((a, b) => String(a.directoryUrl).localeCompare(String(b.directoryUrl))),
  ];
  const accounts = await Promise.all(
    ordered.map(async (e): Promise<AccountView> => {
      const directoryUrl = e.directoryUrl as string;
      const isCurrent = directoryUrl === current;
      const view: AccountView = {
        directoryUrl,
        current: isCurrent,
        status: e.accountUrl === undefined ? "not-registered" : "unknown",
        contacts: [],
        // Recorded at registration; an account registered before that was bound when EAB is configured for it now.
        eabBound: e.eabKeyId !== undefined || (isCurrent && settings.eab !== undefined && e.accountUrl !== undefined),
      };
      if (e.accountUrl !== undefined) view.accountUrl = e.accountUrl;
      if (e.eabKeyId !== undefined) view.eabKeyId = e.eabKeyId;
      if (e.createdOn !== undefined) view.createdOn = e.createdOn;
      if (e.accountUrl === undefined) return view;
      try {
        const at = await readAccountAtCa(deps.secrets, directoryUrl);
        if (at?.status) view.status = at.status;
        if (at?.contact) view.contacts = at.contact;
        if (at?.termsOfServiceAgreed !== undefined) view.termsOfServiceAgreed = at.termsOfServiceAgreed;
      } catch (err) {
        view.error = errorMessage(err);
      }
      return view;
    }),
  );
  if (!accounts.some((a) => a.current))
    accounts.unshift({ directoryUrl: current, current: true, status: "not-registered", contacts: [], eabBound: false });
  return json(200, { accounts });
};

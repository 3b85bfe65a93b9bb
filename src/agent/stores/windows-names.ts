/**
 * What a Windows store name and a key-access account may be (pure; the agent's settings and the script generators
 * both check with these). Values reach PowerShell only as data (see ./windows), so these rules are not what keeps a
 * value from running as code: they give a clear error for a value Windows would refuse or misread, before anything
 * is installed.
 */

/** Store names: letters, digits, space, `_ . -`, at most 64 characters, no leading or trailing space (MY, WebHosting, Remote Desktop). */
const STORE_NAME = /^[A-Za-z0-9_.-](?:[A-Za-z0-9 _.-]{0,62}[A-Za-z0-9_.-])?$/;

/** Stores a leaf with its key never goes to: trust anchors. */
const TRUST_STORES = new Set(["root", "authroot"]);

/** Why a Windows certificate store name is refused, or undefined when it is fine. */
export function storeNameProblem(name: string): string | undefined {
  if (!STORE_NAME.test(name))
    return `must be a certificate store name (letters, digits, space, _ . -; at most 64 characters), got ${JSON.stringify(name.slice(0, 80))}`;
  if (TRUST_STORES.has(name.toLowerCase()))
    return `must not be a trust-anchor store (${name}): a leaf certificate with its key never goes there`;
  return undefined;
}

/** Throws when the store name is refused (the script generators' guard). */
export function assertStoreName(name: string): string {
  const problem = storeNameProblem(name);
  if (problem) throw new Error(`certificateStoreName ${problem}`);
  return name;
}

/** Well-known accounts by SID (locale independent); other names are used as NT account names. */
const WELL_KNOWN: Record<string, string> = {
  "network service": "S-1-5-20",
  "nt authority\\network service": "S-1-5-20",
  "local service": "S-1-5-19",
  "nt authority\\local service": "S-1-5-19",
  system: "S-1-5-18",
  "local system": "S-1-5-18",
  "nt authority\\system": "S-1-5-18",
  administrators: "S-1-5-32-544",
  "builtin\\administrators": "S-1-5-32-544",
  iis_iusrs: "S-1-5-32-568",
  "builtin\\iis_iusrs": "S-1-5-32-568",
};

const SID = /^S-1-[0-9]+(?:-[0-9]+){1,15}$/i;
/** `DOMAIN\` (NetBIOS or DNS name, or NT AUTHORITY, IIS APPPOOL, NT SERVICE...), then the user; or `user@dns.domain`. */
const DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9 .-]{0,253}[A-Za-z0-9])?$/;
/** A user, group or virtual account: no character Windows refuses in account names (" / \ [ ] : ; | = , + * ? < > @), `$` only last (gMSA). */
const USER = /^[A-Za-z0-9_.-](?:[A-Za-z0-9 _.-]{0,254}[A-Za-z0-9_.-])?\$?$/;

/** Why an account for private-key access is refused, or undefined when it is fine. */
export function accountProblem(account: string): string | undefined {
  const a = account.trim();
  const shown = JSON.stringify(account.slice(0, 80));
  if (SID.test(a) || WELL_KNOWN[a.toLowerCase()]) return undefined;
  const slash = a.indexOf("\\");
  const at = a.lastIndexOf("@");
  const [domain, user] = slash >= 0 ? [a.slice(0, slash), a.slice(slash + 1)] : at >= 0 ? [a.slice(at + 1), a.slice(0, at)] : ["", a];
  if ((slash >= 0 || at >= 0) && !DOMAIN.test(domain)) return `has an invalid domain part in ${shown}`;
  if (!USER.test(user))
    return `must be a SID, a well-known account, DOMAIN\\name or name@domain (letters, digits, space, _ . -, a final $ for gMSAs), got ${shown}`;
  return undefined;
}

/** An account name -> SID when well known, else the account name (pure). Throws on a refused account. */
export function accountPrincipal(account: string): { sid: string } | { account: string } {
  const problem = accountProblem(account);
  if (problem) throw new Error(`account ${problem}`);
  const a = account.trim();
  if (SID.test(a)) return { sid: a.toUpperCase() };
  const sid = WELL_KNOWN[a.toLowerCase()];
  return sid ? { sid } : { account: a };
}

/**
 * The app roles and the claims that carry them: shared by the API's authorization (auth.ts) and the dashboard, which
 * hides what the signed-in user's roles do not allow. No imports, no Node APIs (the dashboard bundles this file).
 */
export const ROLES = { read: "KvAcme.Read", issue: "KvAcme.Issue", revoke: "KvAcme.Revoke", agent: "KvAcme.Agent" } as const;
export type Role = (typeof ROLES)[keyof typeof ROLES];
/** KvAcme.Agent: the VM agents' identities, which may only report (POST /api/agents/reports); it implies nothing else. */
export const ALL_ROLES: Role[] = [ROLES.read, ROLES.issue, ROLES.revoke, ROLES.agent];

/** Claim types that carry the app roles and the user's name (Entra ID through App Service Authentication, /.auth/me). */
export const ROLE_CLAIM_TYPES = ["roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"] as const;
export const NAME_CLAIM_TYPES = [
  "name",
  "preferred_username",
  "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
  "appid",
] as const;

/** Roles a caller holds: Issue and Revoke imply Read. Unknown role names are ignored. */
export function effectiveRoles(roles: readonly string[]): Role[] {
  const set = new Set(roles.filter((r): r is Role => (ALL_ROLES as string[]).includes(r)));
  if (set.has(ROLES.issue) || set.has(ROLES.revoke)) set.add(ROLES.read);
  return ALL_ROLES.filter((r) => set.has(r));
}

/**
 * /.auth/me on the local host: what App Service Authentication answers for a signed-in user (a list with one identity,
 * its claims carrying the name and the app roles), here for the documented local principal, so the dashboard reads
 * the same roles the API grants (src/api/auth.ts localCaller). Not signed in (any other mode): an empty list.
 */
import { localCaller, type AuthSettings } from "../api/auth";

export interface AuthMeIdentity {
  provider_name: string;
  user_id: string;
  user_claims: { typ: string; val: string }[];
}

export function localAuthMe(settings: AuthSettings): AuthMeIdentity[] {
  if (settings.mode !== "local") return [];
  const caller = localCaller(settings);
  return [
    {
      provider_name: "local",
      user_id: caller.name,
      user_claims: [{ typ: "name", val: caller.name }, ...caller.roles.map((r) => ({ typ: "roles", val: r }))],
    },
  ];
}

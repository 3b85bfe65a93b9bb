/** Who is signed in, what they may do, and which optional APIs this app has. */
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { ROLES, type Role } from "../../src/api/roles";

export interface Session {
  user?: { name: string; roles: string[] };
  features: { fleet: boolean; account: boolean };
}

export const SessionContext = createContext<Session>({ features: { fleet: false, account: false } });

/** True when the signed-in user holds `role` (the API decides again on every call). */
export function useCan(role: Role): boolean {
  return useContext(SessionContext).user?.roles.includes(role) ?? false;
}

export { ROLES };

/**
 * PUT /certificates/{name}/names { dnsNames }: re-issues a managed certificate with new DNS names under the same name
 * (a new version; ../issuance/edit-names.ts keeps its other settings). Everything is validated as for issue before the
 * issue orchestration starts (400 / 404 / 409 with nothing written), on the issue route's path (./handlers.ts
 * startIssue): the same 202, and the orchestration reuses that validation's overlap and CAA answers.
 */
import { editNamesRequest } from "../issuance";
import { nameParam, startIssue, vaultDeps, type Handler } from "./handlers";
import { FieldReader, readJsonObject } from "./http";

/** PUT /certificates/{name}/names[?vault=]: 202 + Location of the issuance, as POST /certificates answers. */
export const putNames: Handler = async (req, ctx) => {
  const name = nameParam(req);
  const r = new FieldReader(readJsonObject(req), ["dnsNames"]);
  const dnsNames = r.require("dnsNames", r.stringList("dnsNames", { allowString: true }));
  r.check();
  const deps = vaultDeps(req, ctx);
  return startIssue(req, ctx, await editNamesRequest(name, dnsNames as string[] | string, deps), deps);
};

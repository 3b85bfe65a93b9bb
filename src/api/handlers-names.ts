/**
 * PUT /certificates/{name}/names { dnsNames }: re-issues a managed certificate with new DNS names under the same name
 * (a new version; ../issuance/edit-names.ts keeps its other settings). Everything is validated as for issue before the
 * issue orchestration starts (400 / 404 / 409 with nothing written); the answer is the issue route's 202.
 */
import { editNamesRequest, validateRequest } from "../issuance";
import { formatAddress } from "../keyvault/address";
import { certificateInstanceId, ORCHESTRATIONS } from "../orchestrations/ids";
import { durable, nameParam, requestOperationId, vaultDeps, type Handler, type IssueInput } from "./handlers";
import { accepted, FieldReader, readJsonObject } from "./http";
import { isAutomationRequest, operationLocation, RETRY_AFTER_SECONDS, startOperation } from "./operations";

/** PUT /certificates/{name}/names[?vault=]: 202 + Location of the issuance, as POST /certificates answers. */
export const putNames: Handler = async (req, ctx) => {
  const name = nameParam(req);
  const r = new FieldReader(readJsonObject(req), ["dnsNames"]);
  const dnsNames = r.require("dnsNames", r.stringList("dnsNames", { allowString: true }));
  r.check();
  const deps = vaultDeps(req, ctx);
  const request = await editNamesRequest(name, dnsNames as string[] | string, deps);
  const validated = await validateRequest(request, deps);
  const address = formatAddress(validated.vault, validated.certificateName, deps.settings.defaultVault);
  const instanceId = certificateInstanceId(address);
  const input: IssueInput = { ...request, dnsNames: validated.dnsNames, reason: "issue", operationId: requestOperationId(req) };
  await startOperation(durable(ctx), ORCHESTRATIONS.issue, instanceId, input, `certificate ${address}`);
  const location = operationLocation(instanceId, isAutomationRequest(req.url));
  return accepted(
    location,
    {
      id: instanceId,
      status: "Pending",
      certificateName: validated.certificateName,
      vault: validated.vault,
      dnsNames: validated.dnsNames,
      operation: location,
    },
    RETRY_AFTER_SECONDS,
  );
};

/**
 * Handlers of the certificate, DNS zone and operation routes. Each takes the request, the app runtime and (for long
 * work) the durable client, validates all input before touching anything, and returns { status, headers, body }.
 * Long work (issue, renew, revoke) runs as durable orchestrations with one instance id per certificate; the
 * response is 202 with the operation's Location.
 */
import { parseRevocationReason } from "../acme/revoke";
import { validateCertificateName } from "../acme/names";
import type { Runtime } from "../app/runtime";
import { renewalRequest, validateRequest, type IssueRequest } from "../issuance";
import { everyVault, type IssuanceDeps } from "../issuance/deps";
import { formatAddress } from "../keyvault/address";
import { describeVersion, getCurrentCertificate, getPending } from "../keyvault/certificates";
import { listEveryVault, unlessAllDown, type InventoryItem } from "../keyvault/inventory";
import type { KeyOptionsInput } from "../keyvault/policy";
import { assertMayManage } from "../keyvault/ownership";
import { inventoryOverlaps } from "../keyvault/overlap";
import { readManagedTags, type ManagedTagInfo } from "../keyvault/tags";
import { certificateInstanceId, ORCHESTRATIONS, revokeInstanceId } from "../orchestrations/ids";
import { NotFoundError, UpstreamError, ValidationError, errorMessage, statusOf } from "../shared/errors";
import { sleep } from "../shared/time";
import { newOperationId, operationIdFromTraceparent } from "../telemetry/correlation";
import type { Caller } from "./auth";
import { controlsView } from "./controls-view";
import type { CertificateSummary, LastOperation } from "./views";

export type { CertificateSummary, LastOperation };
import { accepted, FieldReader, json, readJsonObject, type ApiRequest, type ApiResponse } from "./http";
import {
  failureSummary,
  findStatus,
  isAutomationRequest,
  isRunning,
  OPERATION_ID_PREFIX,
  operationLocation,
  operationResponse,
  operationView,
  RETRY_AFTER_SECONDS,
  startOperation,
  type InstanceStatusLike,
  type OperationsClient,
} from "./operations";

export interface HandlerContext {
  runtime: Runtime;
  caller: Caller;
  /** The durable client; present on routes registered with df.app.client.http. */
  client?: OperationsClient;
}

export type Handler = (req: ApiRequest, ctx: HandlerContext) => Promise<ApiResponse>;

/** The durable client of a route registered with it. */
export function durable(ctx: HandlerContext): OperationsClient {
  if (!ctx.client) throw new Error("this route needs the durable client input");
  return ctx.client;
}

/**
 * The dependencies of the vault a request names (`?vault=`; the default vault when none): 400 for an unknown vault,
 * before any vault call.
 */
export function vaultDeps(req: ApiRequest, ctx: HandlerContext): IssuanceDeps {
  const vault = req.query.get("vault");
  return ctx.runtime.deps.forVault(vault === null ? undefined : vault);
}

/** The address of a certificate of `deps`' vault, as instance ids and renewal runs name it (../keyvault/address.ts). */
function addressIn(deps: IssuanceDeps, name: string): string {
  return formatAddress(deps.vault, name, deps.settings.defaultVault);
}

/** The {name} route parameter, validated (400 before any vault call). */
export function nameParam(req: ApiRequest): string {
  return validateCertificateName(req.params.name ?? "");
}

/** The input of issueCertificate: the request plus why it runs and the correlation id. */
export type IssueInput = IssueRequest & { reason: "issue" | "renew"; operationId: string };

/**
 * The operation id that correlates this request with the orchestration it starts, its activities, telemetry and
 * webhooks: the trace id of the W3C `traceparent` header when valid, else a new one.
 */
export function requestOperationId(req: ApiRequest): string {
  return operationIdFromTraceparent(req.headers.get("traceparent")) ?? newOperationId();
}

const ISSUE_FIELDS = [
  "dnsNames",
  "certificateName",
  "dnsAlias",
  "keyType",
  "reuseKey",
  "exportable",
  "contentType",
  "adopt",
  "allowNameOverlap",
  "clientAuth",
  "vault",
  "issuerPins",
  "preferredChain",
  "profile",
  "tags",
] as const;

/** Reads the optional key fields of a request body (keyType, reuseKey, exportable, contentType). */
export function readKeyOptions(r: FieldReader): KeyOptionsInput {
  const keyOptions: KeyOptionsInput = {};
  const keyType = r.string("keyType");
  const reuseKey = r.boolean("reuseKey");
  const exportable = r.boolean("exportable");
  const contentType = r.string("contentType");
  const clientAuth = r.boolean("clientAuth");
  if (clientAuth !== undefined) keyOptions.clientAuth = clientAuth;
  if (keyType !== undefined) keyOptions.keyType = keyType;
  if (reuseKey !== undefined) keyOptions.reuseKey = reuseKey;
  if (exportable !== undefined) keyOptions.exportable = exportable;
  if (contentType !== undefined) keyOptions.contentType = contentType;
  return keyOptions;
}

/** Reads the issue body: { dnsNames, certificateName?, dnsAlias?, keyType?, reuseKey?, exportable?, contentType?, adopt? }. */
export function readIssueBody(body: Record<string, unknown>): IssueRequest {
  const r = new FieldReader(body, ISSUE_FIELDS);
  const dnsNames = r.require("dnsNames", r.stringList("dnsNames", { allowString: true }));
  const certificateName = r.string("certificateName");
  const dnsAlias = r.string("dnsAlias");
  const keyOptions = readKeyOptions(r);
  const adopt = r.boolean("adopt");
  const allowNameOverlap = r.boolean("allowNameOverlap");
  const vault = r.string("vault");
  const issuerPins = r.stringList("issuerPins");
  const controls = { preferredChain: r.string("preferredChain"), profile: r.string("profile"), tags: r.stringMap("tags") };
  r.check();
  const request: IssueRequest = { dnsNames: dnsNames as string[] | string, keyOptions, ...definedControls(controls) };
  if (allowNameOverlap !== undefined) request.allowNameOverlap = allowNameOverlap;
  if (issuerPins !== undefined) request.issuerPins = issuerPins as string[];
  if (certificateName !== undefined) request.certificateName = certificateName;
  if (adopt !== undefined) request.adopt = adopt;
  if (dnsAlias !== undefined) request.dnsAlias = dnsAlias;
  if (vault !== undefined) request.vault = vault;
  return request;
}

/** The controls a request set (preferredChain, profile, tags), as the orchestration's input carries them. */
export function definedControls(
  c: Pick<IssueRequest, "preferredChain" | "profile" | "tags">,
): Pick<IssueRequest, "preferredChain" | "profile" | "tags"> {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
}

/** POST /certificates: validate everything (names, key, zones, ACME account), then start issueCertificate. */
export const issue: Handler = async (req, ctx) => startIssue(req, ctx, readIssueBody(readJsonObject(req)), ctx.runtime.deps);

/**
 * Validates an issue request and starts issueCertificate with it: the 202 + Location of POST /certificates and of
 * PUT /certificates/{name}/names. The orchestration reuses this validation's answers: the overlap guard's
 * (overlapCheckedAt) and the CAA pre-flight's (validationRun, an id made here for this request: a client's
 * `traceparent` names its telemetry, never whose cached answers it shares).
 */
export async function startIssue(req: ApiRequest, ctx: HandlerContext, request: IssueRequest, deps: IssuanceDeps): Promise<ApiResponse> {
  // The names are checked against the vault's other certificates now; the orchestration reuses that answer.
  const checkedAt = new Date().toISOString();
  const validationRun = newOperationId();
  const validated = await validateRequest({ ...request, validationRun }, deps);
  const address = formatAddress(validated.vault, validated.certificateName, deps.settings.defaultVault);
  const instanceId = certificateInstanceId(address);
  const input: IssueInput = {
    dnsNames: validated.dnsNames,
    certificateName: validated.certificateName,
    vault: validated.vault,
    keyOptions: request.keyOptions ?? {},
    ...(request.adopt ? { adopt: true } : {}),
    ...(validated.dnsAlias !== undefined ? { dnsAlias: validated.dnsAlias } : {}),
    ...(request.allowNameOverlap ? { allowNameOverlap: true } : { overlapCheckedAt: checkedAt }),
    ...(validated.issuerPins !== undefined ? { issuerPins: validated.issuerPins } : {}),
    ...definedControls(request),
    validationRun,
    reason: "issue",
    operationId: requestOperationId(req),
  };
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
}

/** POST /certificates/{name}/renew: same names and key as the current version, `replaces` when the CA has ARI. */
export const renew: Handler = async (req, ctx) => {
  const name = nameParam(req);
  new FieldReader(readJsonObject(req, { optional: true }), []).check(); // no fields: anything sent is refused
  const deps = vaultDeps(req, ctx);
  const request = await renewalRequest(name, deps);
  const instanceId = certificateInstanceId(addressIn(deps, name));
  const input: IssueInput = { ...request, reason: "renew", operationId: requestOperationId(req) };
  await startOperation(durable(ctx), ORCHESTRATIONS.issue, instanceId, input, `certificate ${addressIn(deps, name)}`);
  const location = operationLocation(instanceId, isAutomationRequest(req.url));
  return accepted(
    location,
    { id: instanceId, status: "Pending", certificateName: name, vault: deps.vault, operation: location },
    RETRY_AFTER_SECONDS,
  );
};

/** Input of the revokeCertificate orchestration. */
export interface RevokeInput {
  certificateName: string;
  vault: string;
  reason?: string;
  disable: boolean;
  operationId: string;
}

/**
 * POST /certificates/{name}/revoke { reason?, disable? }: 200 with the result when it finishes within
 * `KvAcme__RevokeWaitSeconds` (settings.revokeWaitSeconds), else 202 with the operation to poll.
 */
export const revoke: Handler = async (req, ctx) => {
  const name = nameParam(req);
  const r = new FieldReader(readJsonObject(req, { optional: true }), ["reason", "disable"]);
  const rawReason = r.string("reason");
  const disable = r.boolean("disable") ?? false;
  r.check();
  const reason = parseRevocationReason(rawReason);
  const deps = vaultDeps(req, ctx);
  await assertMayManage(deps.certificates, name, { ignoreOnly: true });
  // The certificate must exist and have an issued version (404 otherwise), checked before anything starts.
  describeVersion(await getCurrentCertificate(deps.certificates, name));
  const client = durable(ctx);
  const instanceId = revokeInstanceId(addressIn(deps, name));
  const input: RevokeInput = {
    certificateName: name,
    vault: deps.vault,
    disable,
    ...(reason ? { reason } : {}),
    operationId: requestOperationId(req),
  };
  await startOperation(client, ORCHESTRATIONS.revoke, instanceId, input, `revoking ${addressIn(deps, name)}`);
  const deadline = Date.now() + ctx.runtime.settings.revokeWaitSeconds * 1000;
  for (;;) {
    const status = await findStatus(client, instanceId);
    if (status?.runtimeStatus === "Failed") {
      throw new UpstreamError("Revocation", `Revoking ${name} failed: ${failureSummary(status.output)}`, {
        status: 502,
        details: { operation: operationLocation(instanceId, isAutomationRequest(req.url)) },
      });
    }
    if (status && !isRunning(status)) return operationResponse(status);
    if (Date.now() >= deadline) break;
    await sleep(250);
  }
  const location = operationLocation(instanceId, isAutomationRequest(req.url));
  return accepted(
    location,
    { id: instanceId, status: "Running", certificateName: name, vault: deps.vault, operation: location },
    RETRY_AFTER_SECONDS,
  );
};

/** How a listed certificate is managed. */
export function managedBy(info: ManagedTagInfo): "kv-acme" | "acmebot" | "unmanaged" {
  return info.source ?? "unmanaged";
}

function lastOperation(s: InstanceStatusLike | undefined): LastOperation | undefined {
  if (!s) return undefined;
  const out: LastOperation = { id: s.instanceId, status: String(s.runtimeStatus), lastUpdatedTime: operationView(s).lastUpdatedTime };
  const input = s.input as { reason?: unknown } | undefined;
  if (input && typeof input === "object" && typeof input.reason === "string") out.reason = input.reason;
  if (s.runtimeStatus === "Failed") out.error = failureSummary(s.output);
  return out;
}

/** What the tags say about the version's issuer, its pins and a shorter lifetime (absent fields are left out). */
export function trustView(managed: ManagedTagInfo): Pick<CertificateSummary, "issuingCa" | "issuerPins" | "lifetimeShortened"> {
  const v: Pick<CertificateSummary, "issuingCa" | "issuerPins" | "lifetimeShortened"> = {};
  if (managed.issuer) v.issuingCa = managed.issuer;
  if (managed.issuerPins) v.issuerPins = managed.issuerPins;
  if (managed.lifetimeShortened) v.lifetimeShortened = managed.lifetimeShortened;
  return v;
}

function summary(item: InventoryItem, vault: string, last: InstanceStatusLike | undefined): CertificateSummary {
  const s: CertificateSummary = {
    name: item.name,
    vault,
    dnsNames: item.managed.dnsNames ?? [],
    enabled: item.enabled,
    pending: item.pending,
    managedBy: managedBy(item.managed),
  };
  if (item.managed.dnsNamesDigest) s.dnsNamesDigest = item.managed.dnsNamesDigest;
  if (item.notBefore) s.notBefore = item.notBefore;
  if (item.expiresOn) s.expiresOn = item.expiresOn;
  if (item.thumbprint) s.thumbprint = item.thumbprint;
  if (item.managed.acmeHost) s.issuer = item.managed.acmeHost;
  if (item.managed.renewNotBefore) s.renewNotBefore = item.managed.renewNotBefore;
  if (item.latestUnissued) s.latestVersionUnissued = true;
  Object.assign(s, trustView(item.managed), controlsView(item.tags));
  const op = lastOperation(last);
  if (op) s.lastOperation = op;
  return s;
}

/**
 * GET /certificates[?managed=true][&vault=]: the inventory of every vault (or the one named) from the LIST API only (no
 * per-certificate GET) plus the last issuance/renewal of each certificate from the durable instance status (one
 * listing of the task hub). A vault that cannot be listed is named in `unavailableVaults`; 502/503 when none can be.
 */
export const list: Handler = async (req, ctx) => {
  const managedOnly = req.query.get("managed") === "true";
  const vaults = req.query.get("vault") === null ? everyVault(ctx.runtime.deps) : [vaultDeps(req, ctx)];
  const [listings, statuses] = await Promise.all([
    listEveryVault(
      vaults.map((d) => ({ vault: d.vault, certificates: d.certificates })),
      { includePending: true, managedOnly, newestIssued: true },
    ).then(unlessAllDown),
    ctx.client ? (ctx.client.getStatusAll() as Promise<InstanceStatusLike[]>) : Promise.resolve([] as InstanceStatusLike[]),
  ]);
  const byId = new Map(statuses.map((s) => [s.instanceId, s]));
  const defaultVault = ctx.runtime.deps.settings.defaultVault;
  const certificates: CertificateSummary[] = [];
  for (const { vault, items } of listings) {
    // Overlapping names are a per-vault matter: each vault is its own set of certificates.
    const overlaps = inventoryOverlaps(items.map((i) => ({ name: i.name, dnsNames: i.managed.dnsNames ?? [] })));
    for (const i of items) {
      const s = summary(i, vault, byId.get(certificateInstanceId(formatAddress(vault, i.name, defaultVault))));
      const others = overlaps.get(i.name);
      if (others) s.overlapsWith = others;
      certificates.push(s);
    }
  }
  const down = listings.filter((l) => l.error).map((l) => ({ vault: l.vault, error: l.error?.message ?? "" }));
  return json(200, { certificates, defaultVault, ...(down.length > 0 ? { unavailableVaults: down } : {}) });
};

/** GET /certificates/{name}: versions, policy, tags, pending operation and the current or last operation. */
export const get: Handler = async (req, ctx) => {
  const name = nameParam(req);
  const deps = vaultDeps(req, ctx);
  const client = deps.certificates;
  let cert;
  try {
    cert = await client.getCertificate(name);
  } catch (err) {
    if (statusOf(err) === 404)
      throw new NotFoundError(`Certificate ${name} was not found in vault ${deps.vault}`, { certificateName: name, vault: deps.vault });
    throw new UpstreamError("KeyVault", `Key Vault: reading ${name} failed: ${errorMessage(err)}`, {
      status: statusOf(err) ?? 502,
      cause: err,
    });
  }
  const versions: Record<string, unknown>[] = [];
  for await (const v of client.listPropertiesOfCertificateVersions(name)) {
    versions.push({
      version: v.version,
      enabled: v.enabled,
      notBefore: v.notBefore?.toISOString(),
      expiresOn: v.expiresOn?.toISOString(),
      createdOn: v.createdOn?.toISOString(),
      thumbprint: v.x509Thumbprint && v.x509Thumbprint.length ? Buffer.from(v.x509Thumbprint).toString("hex").toUpperCase() : undefined,
    });
  }
  versions.sort((a, b) => String(b.createdOn ?? "").localeCompare(String(a.createdOn ?? "")));
  const tags = cert.properties.tags ?? {};
  const managed = readManagedTags(tags);
  const policy = cert.policy;
  const current = cert.cer && cert.cer.length > 0 ? describeVersion(cert) : undefined;
  const pending = await getPending(client, name);
  const operation = ctx.client ? await findStatus(ctx.client, certificateInstanceId(addressIn(deps, name))) : undefined;
  const body: Record<string, unknown> = {
    name,
    vault: deps.vault,
    managedBy: managedBy(managed),
    issuer: managed.acmeHost,
    enabled: cert.properties.enabled,
    current: current && {
      version: current.version,
      thumbprint: current.thumbprint,
      notBefore: current.notBefore,
      expiresOn: current.notAfter,
      dnsNames: current.dnsNames,
    },
    versions,
    policy: policy && {
      issuerName: policy.issuerName,
      subject: policy.subject,
      dnsNames: policy.subjectAlternativeNames?.dnsNames ?? [],
      keyType: policy.keyType,
      keySize: policy.keySize,
      keyCurveName: policy.keyCurveName,
      reuseKey: policy.reuseKey,
      exportable: policy.exportable,
      contentType: policy.contentType,
    },
    tags,
    renewNotBefore: managed.renewNotBefore,
    ...trustView(managed),
    ...controlsView(tags),
    pendingOperation: pending && {
      status: pending.status,
      cancellationRequested: pending.cancellationRequested,
      requestId: pending.requestId,
      error: pending.error,
      href: `/api/certificates/${name}/pending${deps.vault === deps.settings.defaultVault ? "" : `?vault=${deps.vault}`}`,
    },
    lastOperation: lastOperation(operation),
  };
  return json(200, body);
};

/** GET /dns-zones: the zones the app may write DNS-01 records into. */
export const dnsZones: Handler = async (_req, ctx) => {
  const zones = await ctx.runtime.deps.dns.listZones();
  return json(200, {
    zones: zones
      .map((z) => ({
        name: z.name,
        id: z.id,
        provider: z.provider,
        type: ctx.runtime.deps.dns.provider(z).type,
        nameServers: z.nameServers,
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  });
};

/** GET /operations/{id}: 202 + Retry-After while running, 200 with output (or error) when finished. */
export const operation: Handler = async (req, ctx) => {
  const id = req.params.id ?? "";
  if (!id.startsWith(OPERATION_ID_PREFIX) || !/^[0-9a-z-]{1,200}$/.test(id)) {
    throw new ValidationError([
      { field: "id", message: `"${id}" is not an operation id of this API (they start with ${OPERATION_ID_PREFIX})` },
    ]);
  }
  const status = await findStatus(durable(ctx), id);
  if (!status) throw new NotFoundError(`No operation ${id}`, { operationId: id });
  return operationResponse(status, isAutomationRequest(req.url));
};

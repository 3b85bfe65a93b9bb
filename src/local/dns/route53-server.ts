/**
 * HTTPS stand-in for the Amazon Route 53 API (2013-04-01, REST-XML) calls kv-acme's Route 53 provider makes,
 * following the Smithy model (aws/api-models-aws route-53; the subset is test/fixtures/schemas/route53-smithy.subset.json):
 *   GET  /2013-04-01/hostedzone                    ListHostedZones (marker, maxitems)
 *   GET  /2013-04-01/hostedzone/{Id}/rrset          ListResourceRecordSets (name, type, maxitems), Route 53 order
 *   POST /2013-04-01/hostedzone/{Id}/rrset          ChangeResourceRecordSets: CREATE / DELETE / UPSERT of TXT sets,
 *        all or nothing; a DELETE that does not match the set exactly, or a CREATE of an existing set, fails the batch
 *        with InvalidChangeBatch
 *   GET  /2013-04-01/change/{Id}                    GetChange: PENDING, then INSYNC after `insyncDelayMs`
 * Every request must carry a valid SigV4 signature (service route53, region us-east-1, x-amz-date within 5 minutes)
 * by a known access key; a key may be limited to some hosted zones (AccessDenied elsewhere). Nothing is written on
 * any error.
 */
import type { FaultInjector } from "../faults";
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseAuthorization, signature } from "../../dns/sigv4";
import { buildXml, child, childText, children, parseXml, type XmlElement } from "../../shared/xml";
import { ROUTE53_XMLNS } from "../../dns/route53";
import {
  BodyTooLarge,
  changeTxt,
  ensureZones,
  readBody,
  relativeName,
  sendBody,
  stableId,
  startHttpsStandIn,
  type StandInServer,
} from "./standin";
import type { RecordSetSnapshot, ZoneStore } from "./zone-store";

export const ROUTE53_RESOURCE_GROUP = "route53";
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export interface Route53Key {
  accessKeyId: string;
  secretAccessKey: string;
  /** Hosted zones (names) the key may change ("*" = all). */
  zones: "*" | string[];
}

class Route53Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function errorXml(err: Route53Error): string {
  if (err.code === "InvalidChangeBatch") {
    return buildXml(
      "InvalidChangeBatch",
      { Messages: { Message: [err.message] }, RequestId: randomBytes(16).toString("hex") },
      ROUTE53_XMLNS,
    );
  }
  return buildXml(
    "ErrorResponse",
    {
      Error: { Type: err.status >= 500 ? "Receiver" : "Sender", Code: err.code, Message: err.message },
      RequestId: randomBytes(16).toString("hex"),
    },
    ROUTE53_XMLNS,
  );
}

/** Route 53's list order: names compared label by label from the right, then type. */
function orderKey(fqdn: string): string {
  return fqdn.toLowerCase().replace(/\.$/, "").split(".").reverse().join("\u0001");
}

function renderValues(set: RecordSetSnapshot): string[] | undefined {
  const r = set.records;
  if (set.type === "TXT") return (r.TXTRecords ?? []).map((t) => t.value.map((s) => `"${s.replace(/(["\\])/g, "\\$1")}"`).join(" "));
  if (set.type === "NS") return (r.NSRecords ?? []).map((n) => `${n.nsdname}.`);
  if (set.type === "A") return (r.ARecords ?? []).map((a) => a.ipv4Address);
  if (set.type === "CNAME") return r.CNAMERecord ? [`${r.CNAMERecord.cname}.`] : [];
  if (set.type === "SOA" && r.SOARecord) {
    const s = r.SOARecord;
    return [`${s.host}. ${s.email}. ${s.serialNumber} ${s.refreshTime} ${s.retryTime} ${s.expireTime} ${s.minimumTTL}`];
  }
  return undefined;
}

/** The text of one TXT ResourceRecord value ("a" "b" -> ab); throws InvalidChangeBatch when it is not quoted. */
function txtText(value: string): string {
  const parts = [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)];
  if (parts.length === 0 || value.replace(/"((?:[^"\\]|\\.)*)"/g, "").trim() !== "") {
    throw new Route53Error(
      400,
      "InvalidChangeBatch",
      `Invalid Resource Record: FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with '${value}'`,
    );
  }
  return parts.map((m) => (m[1] as string).replace(/\\(.)/g, "$1")).join("");
}

export async function startRoute53Server(options: {
  /** The stack's fault injector: this stand-in fails as the real API does (target "route53"). */
  faults?: FaultInjector;
  store: ZoneStore;
  tls: { certPem: string; keyPem: string };
  zones: string[];
  keys: Route53Key[];
  insyncDelayMs?: number;
  host?: string;
  port?: number;
}): Promise<StandInServer> {
  const { store } = options;
  await ensureZones(store, ROUTE53_RESOURCE_GROUP, options.zones);
  const zoneId = (name: string) => `Z${stableId("route53-zone", name).slice(0, 13).toUpperCase()}`;
  const zones = () => store.listZones(ROUTE53_RESOURCE_GROUP);
  const changes = new Map<string, number>();
  const insyncDelay = options.insyncDelayMs ?? 200;

  function authenticate(req: IncomingMessage, url: URL, body: string): Route53Key {
    const auth = parseAuthorization(req.headers.authorization);
    if (!auth) throw new Route53Error(403, "MissingAuthenticationToken", "Missing Authentication Token");
    const key = options.keys.find((k) => k.accessKeyId === auth.accessKeyId);
    if (!key) throw new Route53Error(403, "InvalidClientTokenId", "The security token included in the request is invalid.");
    const date = String(req.headers["x-amz-date"] ?? "");
    const when = Date.parse(date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
    if (!Number.isFinite(when) || Math.abs(Date.now() - when) > MAX_CLOCK_SKEW_MS || date.slice(0, 8) !== auth.date) {
      throw new Route53Error(403, "SignatureDoesNotMatch", "Signature expired or the x-amz-date does not match the credential scope.");
    }
    if (
      auth.region !== "us-east-1" ||
      auth.service !== "route53" ||
      !auth.signedHeaders.includes("host") ||
      !auth.signedHeaders.includes("x-amz-date")
    ) {
      throw new Route53Error(
        403,
        "SignatureDoesNotMatch",
        "Credential should be scoped to a valid region and service route53, and sign host and x-amz-date.",
      );
    }
    const headers: Record<string, string> = {};
    for (const name of auth.signedHeaders) headers[name] = String(req.headers[name] ?? "");
    const expected = signature(
      { method: req.method ?? "GET", url, headers, body },
      auth.signedHeaders,
      key.secretAccessKey,
      auth.region,
      auth.service,
    );
    if (!timingSafeEqual(Buffer.from(expected), Buffer.from(auth.signature))) {
      throw new Route53Error(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
      );
    }
    return key;
  }

  function hostedZone(id: string) {
    const zone = zones().find((z) => zoneId(z.name) === id);
    if (!zone) throw new Route53Error(404, "NoSuchHostedZone", `No hosted zone found with ID: ${id}`);
    return zone;
  }

  function listRecordSets(zoneName: string, url: URL): string {
    const startName = url.searchParams.get("name");
    const startType = url.searchParams.get("type");
    const maxItems = Number(url.searchParams.get("maxitems") ?? 300);
    if (startType && !startName) throw new Route53Error(400, "InvalidInput", "The input is not valid: type requires name.");
    if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > 300)
      throw new Route53Error(400, "InvalidInput", "maxitems must be 1 to 300.");
    const sets = store
      .listRecordSets(zoneName)
      .map((set) => ({ set, fqdn: set.name === "@" ? zoneName : `${set.name}.${zoneName}`, values: renderValues(set) }))
      .filter((x): x is typeof x & { values: string[] } => x.values !== undefined)
      .sort((a, b) =>
        orderKey(a.fqdn) === orderKey(b.fqdn) ? a.set.type.localeCompare(b.set.type) : orderKey(a.fqdn) < orderKey(b.fqdn) ? -1 : 1,
      );
    const from = startName
      ? sets.findIndex(
          (x) =>
            orderKey(x.fqdn) > orderKey(startName) || (orderKey(x.fqdn) === orderKey(startName) && (!startType || x.set.type >= startType)),
        )
      : 0;
    const rest = from < 0 ? [] : sets.slice(from);
    const page = rest.slice(0, maxItems);
    const next = rest[maxItems];
    return buildXml(
      "ListResourceRecordSetsResponse",
      {
        ResourceRecordSets: {
          ResourceRecordSet: page.map((x) => ({
            Name: `${x.fqdn}.`,
            Type: x.set.type,
            TTL: x.set.ttl,
            ResourceRecords: { ResourceRecord: x.values.map((v) => ({ Value: v })) },
          })),
        },
        IsTruncated: next !== undefined,
        ...(next ? { NextRecordName: `${next.fqdn}.`, NextRecordType: next.set.type } : {}),
        MaxItems: maxItems,
      },
      ROUTE53_XMLNS,
    );
  }

  async function changeRecordSets(zoneName: string, body: string): Promise<string> {
    let doc: XmlElement;
    try {
      doc = parseXml(body);
    } catch (err) {
      throw new Route53Error(400, "InvalidInput", `Could not parse the request body: ${(err as Error).message}`);
    }
    if (doc.name !== "ChangeResourceRecordSetsRequest")
      throw new Route53Error(400, "InvalidInput", "Expected ChangeResourceRecordSetsRequest.");
    const items = children(child(child(doc, "ChangeBatch"), "Changes"), "Change").map((c) => {
      const set = child(c, "ResourceRecordSet");
      const action = childText(c, "Action") ?? "";
      const name = (childText(set, "Name") ?? "").toLowerCase().replace(/\.$/, "");
      const type = childText(set, "Type") ?? "";
      const ttl = Number(childText(set, "TTL"));
      const values = children(child(set, "ResourceRecords"), "ResourceRecord").map((rr) => childText(rr, "Value") ?? "");
      if (!["CREATE", "DELETE", "UPSERT"].includes(action)) throw new Route53Error(400, "InvalidInput", `Invalid Action ${action}.`);
      if (type !== "TXT") throw new Route53Error(400, "InvalidChangeBatch", `This stand-in changes TXT record sets only, not ${type}.`);
      if (!Number.isInteger(ttl) || ttl < 0 || ttl > 2147483647 || values.length === 0)
        throw new Route53Error(400, "InvalidInput", "TTL and at least one ResourceRecord are required.");
      const rel = relativeName(name, zoneName);
      if (!rel) throw new Route53Error(400, "InvalidChangeBatch", `RRSet with DNS name ${name}. is not permitted in zone ${zoneName}.`);
      return { action, name, rel, ttl, texts: values.map(txtText), values };
    });
    if (items.length === 0) throw new Route53Error(400, "InvalidInput", "ChangeBatch must contain at least one Change.");
    const names = new Set(items.map((i) => i.rel));
    if (names.size > 1) throw new Route53Error(400, "InvalidInput", "This stand-in applies batches that change one record set.");
    const rel = items[0]?.rel as string;
    await changeTxt(store, ROUTE53_RESOURCE_GROUP, zoneName, rel, (current, currentTtl) => {
      let state: { ttl: number; values: string[] } | undefined =
        currentTtl === undefined ? undefined : { ttl: currentTtl, values: current };
      for (const item of items) {
        const same =
          state &&
          state.ttl === item.ttl &&
          state.values.length === item.texts.length &&
          item.texts.every((t) => state?.values.includes(t));
        if (item.action === "DELETE") {
          if (!same)
            throw new Route53Error(
              400,
              "InvalidChangeBatch",
              `Tried to delete resource record set [name='${item.name}.', type='TXT'] but the values provided do not match the current values`,
            );
          state = undefined;
        } else if (item.action === "CREATE") {
          if (state)
            throw new Route53Error(
              400,
              "InvalidChangeBatch",
              `Tried to create resource record set [name='${item.name}.', type='TXT'] but it already exists`,
            );
          state = { ttl: item.ttl, values: [...new Set(item.texts)] };
        } else state = { ttl: item.ttl, values: [...new Set(item.texts)] };
      }
      return { values: state?.values ?? [], ttl: state?.ttl ?? 0 };
    });
    const id = `C${randomBytes(8).toString("hex").slice(0, 13).toUpperCase()}`;
    const submitted = Date.now();
    changes.set(id, submitted);
    return buildXml("ChangeResourceRecordSetsResponse", { ChangeInfo: changeInfo(id, submitted) }, ROUTE53_XMLNS);
  }

  const changeInfo = (id: string, submitted: number) => ({
    Id: `/change/${id}`,
    Status: Date.now() - submitted >= insyncDelay ? "INSYNC" : "PENDING",
    SubmittedAt: new Date(submitted).toISOString(),
    Comment: "kv-acme local Route 53",
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", `https://${req.headers.host ?? "route53"}`);
    const body = await readBody(req);
    const key = authenticate(req, url, body);
    const send = (xml: string) => sendBody(res, 200, "text/xml", xml);
    if (req.method === "GET" && url.pathname === "/2013-04-01/hostedzone") {
      const maxItems = Number(url.searchParams.get("maxitems") ?? 100);
      if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > 100)
        throw new Route53Error(400, "InvalidInput", "maxitems must be 1 to 100.");
      const all = zones();
      const marker = url.searchParams.get("marker");
      const start = marker ? all.findIndex((z) => zoneId(z.name) === marker) : 0;
      if (start < 0) throw new Route53Error(400, "InvalidInput", `Invalid marker ${marker}.`);
      const page = all.slice(start, start + maxItems);
      const next = all[start + maxItems];
      return send(
        buildXml(
          "ListHostedZonesResponse",
          {
            HostedZones: {
              HostedZone: page.map((z) => ({
                Id: `/hostedzone/${zoneId(z.name)}`,
                Name: `${z.name}.`,
                CallerReference: `kv-acme-local-${z.name}`,
                Config: { Comment: "kv-acme local", PrivateZone: false },
                ResourceRecordSetCount: z.numberOfRecordSets,
              })),
            },
            Marker: marker ?? "",
            IsTruncated: next !== undefined,
            ...(next ? { NextMarker: zoneId(next.name) } : {}),
            MaxItems: maxItems,
          },
          ROUTE53_XMLNS,
        ),
      );
    }
    const rrset = /^\/2013-04-01\/hostedzone\/([A-Z0-9]{1,32})\/rrset\/?$/.exec(url.pathname);
    if (rrset) {
      const zone = hostedZone(rrset[1] as string);
      if (key.zones !== "*" && !key.zones.includes(zone.name)) {
        throw new Route53Error(403, "AccessDenied", `User is not authorized to access hosted zone ${rrset[1]} with this key.`);
      }
      if (req.method === "GET") return send(listRecordSets(zone.name, url));
      if (req.method === "POST") return send(await changeRecordSets(zone.name, body));
    }
    const change = /^\/2013-04-01\/change\/([A-Z0-9]{1,32})$/.exec(url.pathname);
    if (change && req.method === "GET") {
      const submitted = changes.get(change[1] as string);
      if (submitted === undefined)
        throw new Route53Error(404, "NoSuchChange", `A change with the specified change ID does not exist: ${change[1]}`);
      return send(buildXml("GetChangeResponse", { ChangeInfo: changeInfo(change[1] as string, submitted) }, ROUTE53_XMLNS));
    }
    throw new Route53Error(404, "UnknownOperationException", `No operation ${req.method} ${url.pathname}.`);
  }

  return startHttpsStandIn({
    tls: options.tls,
    host: options.host,
    port: options.port,
    faults: options.faults,
    faultTarget: "route53",
    faultStyle: "route53",
    handle,
    onError(res, err) {
      const e =
        err instanceof Route53Error
          ? err
          : err instanceof BodyTooLarge
            ? new Route53Error(413, "RequestEntityTooLarge", "The request body is too large.")
            : new Route53Error(500, "InternalFailure", "The request processing has failed because of an unknown error.");
      sendBody(res, e.status, "text/xml", errorXml(e));
    },
  });
}

/**
 * The schema checks the hosted-provider suites rely on catch what they should: for each vendor schema (Cloudflare's
 * OpenAPI, the Route 53 Smithy model, the Cloud DNS discovery document) one well-formed exchange passes and the same
 * exchange with one vendor rule broken is reported.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import cloudflare from "../fixtures/schemas/cloudflare-openapi.subset.json";
import discovery from "../fixtures/schemas/gcloud-dns-discovery.subset.json";
import route53 from "../fixtures/schemas/route53-smithy.subset.json";
import { discoveryValidator } from "../support/discovery";
import { openApiValidator } from "../support/openapi";
import type { Exchange } from "../support/recorder";
import { smithyValidator } from "../support/smithy";

const exchange = (method: string, url: string, status: number, responseBody: unknown, requestBody = ""): Exchange => ({
  method,
  url: new URL(url),
  requestHeaders: {},
  requestBody,
  status,
  responseHeaders: {},
  responseBody: typeof responseBody === "string" ? responseBody : JSON.stringify(responseBody),
});

describe("vendor schema checks", () => {
  it("Cloudflare OpenAPI: a TXT create passes; a TTL of 5 and a missing errors array are reported", () => {
    const validate = openApiValidator(cloudflare as unknown as Parameters<typeof openApiValidator>[0], "/client/v4", {
      serverAssigned: ["id"],
    });
    const record = {
      id: "a".repeat(32),
      type: "TXT",
      name: "_acme-challenge.x.example",
      content: "v",
      ttl: 60,
      proxiable: false,
      created_on: "2026-01-01T00:00:00Z",
      modified_on: "2026-01-01T00:00:00Z",
    };
    const url = `https://h/client/v4/zones/${"b".repeat(32)}/dns_records`;
    const body = JSON.stringify({ type: "TXT", name: "_acme-challenge.x.example", content: "v", ttl: 60 });
    assert.deepEqual(validate(exchange("POST", url, 200, { success: true, errors: [], messages: [], result: record }, body)), []);
    assert.notDeepEqual(
      validate(
        exchange("POST", url, 200, { success: true, errors: [], messages: [], result: record }, body.replace('"ttl":60', '"ttl":5')),
      ),
      [],
    );
    assert.notDeepEqual(validate(exchange("POST", url, 200, { success: true, messages: [], result: record }, body)), []);
  });

  it("Route 53 Smithy model: GetChange INSYNC passes; an unknown status and an unknown element are reported", () => {
    const validate = smithyValidator(route53 as unknown as Parameters<typeof smithyValidator>[0]);
    const xml = (status: string, extra = "") =>
      `<?xml version="1.0"?><GetChangeResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeInfo><Id>/change/C1</Id><Status>${status}</Status><SubmittedAt>2026-01-01T00:00:00Z</SubmittedAt>${extra}</ChangeInfo></GetChangeResponse>`;
    const url = "https://h/2013-04-01/change/C1";
    assert.deepEqual(validate(exchange("GET", url, 200, xml("INSYNC"))), []);
    assert.notDeepEqual(validate(exchange("GET", url, 200, xml("DONE"))), []);
    assert.notDeepEqual(validate(exchange("GET", url, 200, xml("INSYNC", "<Extra>1</Extra>"))), []);
  });

  it("Cloud DNS discovery: a Change passes; a bad status and an undocumented query parameter are reported", () => {
    const validate = discoveryValidator(discovery as unknown as Parameters<typeof discoveryValidator>[0]);
    const url = "https://h/dns/v1/projects/p/managedZones/z/changes/1";
    assert.deepEqual(validate(exchange("GET", url, 200, { kind: "dns#change", id: "1", status: "done" })), []);
    assert.notDeepEqual(validate(exchange("GET", url, 200, { kind: "dns#change", id: "1", status: "live" })), []);
    assert.notDeepEqual(validate(exchange("GET", `${url}?verbose=1`, 200, { kind: "dns#change", id: "1", status: "done" })), []);
  });
});

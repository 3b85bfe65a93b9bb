/** Route 53 provider (REST-XML, SigV4, GetChange INSYNC) against the Route 53 stand-in, held to the Smithy model. */
import { Route53DnsProvider } from "../../src/dns/route53";
import model from "../fixtures/schemas/route53-smithy.subset.json";
import { smithyValidator } from "../support/smithy";
import { hostedProviderSuite } from "./hosted-suite";

hostedProviderSuite({
  name: "route53",
  provider: (info, overrides = {}) => {
    const o = { ...info.options, ...overrides };
    return new Route53DnsProvider({
      accessKeyId: o.accessKeyId as string,
      secretAccessKey: o.secretAccessKey as string,
      endpoint: o.endpoint as string,
    });
  },
  badCredentials: () => ({ secretAccessKey: "not-the-secret-key-for-this-access-key" }),
  validate: smithyValidator(model as unknown as Parameters<typeof smithyValidator>[0]),
});

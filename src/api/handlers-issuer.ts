/**
 * Handlers of a certificate's issuer pins (/certificates/{name}/issuer-pins): read them with the recorded issuer,
 * replace them. Single Key Vault calls, answered synchronously; input is validated first and a refused request writes
 * nothing.
 */
import { getIssuerPins, setIssuerPins } from "../issuance/issuer-pins";
import { nameParam, vaultDeps, type Handler } from "./handlers";
import { FieldReader, json, readJsonObject } from "./http";

/** GET /certificates/{name}/issuer-pins: { certificateName, version, issuerPins, issuer? }. */
export const showIssuerPins: Handler = async (req, ctx) => json(200, await getIssuerPins(nameParam(req), vaultDeps(req, ctx)));

/** PUT /certificates/{name}/issuer-pins with { issuerPins: [thumbprint, ...] } (an empty list clears them). */
export const putIssuerPins: Handler = async (req, ctx) => {
  const name = nameParam(req);
  const r = new FieldReader(readJsonObject(req), ["issuerPins"]);
  const pins = r.require("issuerPins", r.stringList("issuerPins"));
  r.check();
  return json(200, await setIssuerPins(name, pins, vaultDeps(req, ctx)));
};

/**
 * Handlers of the Key Vault pending-operation routes (/certificates/{name}/pending...): show, cancel, delete, merge a
 * chain obtained out of band (PEM or x5c), and create one with a policy returning its CSR. These are single Key Vault
 * calls, answered synchronously. Input is validated first; a refused request writes nothing.
 */
import { validateDnsNames } from "../acme/names";
import {
  cancelPendingOperation,
  createPendingWithPolicy,
  deletePendingOperation,
  mergePendingOperation,
  showPending,
} from "../issuance/pending";
import { getPending } from "../keyvault/certificates";
import { parseKeyOptions } from "../keyvault/policy";
import { NotFoundError, ValidationError, type FieldProblem } from "../shared/errors";
import { derToPem, pemBlocks, pemToDer, x509 } from "../shared/x509";
import { nameParam, readKeyOptions, vaultDeps, type Handler } from "./handlers";
import { FieldReader, json, readJsonObject } from "./http";

/** GET /certificates/{name}/pending: status, CSR (base64 DER and PEM). */
export const showPendingOp: Handler = async (req, ctx) => json(200, await showPending(nameParam(req), vaultDeps(req, ctx)));

/** POST /certificates/{name}/pending/cancel: requests cancellation of an in-progress operation. */
export const cancelPendingOp: Handler = async (req, ctx) => {
  const name = nameParam(req);
  new FieldReader(readJsonObject(req, { optional: true }), []).check();
  return json(200, await cancelPendingOperation(name, vaultDeps(req, ctx)));
};

/** DELETE /certificates/{name}/pending: deletes the operation (unblocks a new create). */
export const deletePendingOp: Handler = async (req, ctx) => json(200, await deletePendingOperation(nameParam(req), vaultDeps(req, ctx)));

function parseCertificate(der: Buffer, field: string, problems: FieldProblem[]): boolean {
  try {
    new x509.X509Certificate(der);
    return true;
  } catch (err) {
    problems.push({ field, message: `not an X.509 certificate: ${(err as Error).message}` });
    return false;
  }
}

/** The chain of a merge body: { chainPem } (PEM, leaf first) or { x5c: [base64 DER, ...] } (RFC 7517 §4.7). */
export function readMergeBody(body: Record<string, unknown>): string {
  const r = new FieldReader(body, ["chainPem", "x5c"]);
  const chainPem = r.string("chainPem");
  const x5c = r.stringList("x5c");
  r.check();
  const problems: FieldProblem[] = [];
  let pems: string[] = [];
  if ((chainPem === undefined) === (x5c === undefined)) {
    throw new ValidationError([
      { field: "chainPem", message: "send exactly one of chainPem (PEM, leaf first) or x5c (list of base64 DER certificates)" },
    ]);
  }
  if (chainPem !== undefined) {
    const blocks = pemBlocks(chainPem);
    if (blocks.length === 0) problems.push({ field: "chainPem", message: "no PEM CERTIFICATE block found" });
    blocks.forEach((b, i) => parseCertificate(pemToDer(b), `chainPem[${i}]`, problems));
    pems = blocks;
  } else {
    const list = x5c as string[];
    if (list.length === 0) problems.push({ field: "x5c", message: "must hold at least the leaf certificate" });
    list.forEach((b64, i) => {
      const field = `x5c[${i}]`;
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64.replace(/\s+/g, ""))) {
        problems.push({ field, message: "must be standard base64 (DER)" });
        return;
      }
      const der = Buffer.from(b64, "base64");
      if (parseCertificate(der, field, problems)) pems.push(derToPem(der));
    });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return pems.join("\n");
}

/** POST /certificates/{name}/pending/merge { chainPem } | { x5c }: merges a chain obtained out of band. */
export const mergePendingOp: Handler = async (req, ctx) => {
  const name = nameParam(req);
  const chain = readMergeBody(readJsonObject(req));
  // 404 rather than a Key Vault error when there is nothing to merge into.
  if (!(await getPending(vaultDeps(req, ctx).certificates, name)))
    throw new NotFoundError(`Certificate ${name} has no pending operation to merge into`, { certificateName: name });
  return json(200, await mergePendingOperation(name, chain, vaultDeps(req, ctx)));
};

/**
 * POST /certificates/{name}/pending { dnsNames, keyType?, reuseKey?, exportable?, contentType?, adopt? }: returns the
 * CSR. An existing certificate kv-acme does not manage is refused (409 CertificateNotManaged) unless `adopt` is true.
 */
export const createPendingOp: Handler = async (req, ctx) => {
  const name = nameParam(req);
  const r = new FieldReader(readJsonObject(req), ["dnsNames", "keyType", "reuseKey", "exportable", "contentType", "clientAuth", "adopt"]);
  const dnsNames = r.require("dnsNames", r.stringList("dnsNames", { allowString: true }));
  const keyOptions = readKeyOptions(r);
  const adopt = r.boolean("adopt");
  r.check();
  // Validate names and key options together so one 400 lists every problem.
  const problems: FieldProblem[] = [];
  for (const check of [() => validateDnsNames(dnsNames as string[] | string), () => parseKeyOptions(keyOptions)]) {
    try {
      check();
    } catch (err) {
      if (err instanceof ValidationError) problems.push(...err.problems);
      else throw err;
    }
  }
  if (problems.length > 0) throw new ValidationError(problems);
  const op = await createPendingWithPolicy(
    { certificateName: name, dnsNames: dnsNames as string[] | string, keyOptions, ...(adopt ? { adopt } : {}) },
    vaultDeps(req, ctx),
  );
  return json(201, op, { location: `/api/certificates/${name}/pending` });
};

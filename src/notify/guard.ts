/**
 * The last line of defence against leaking secrets in a webhook payload: refuses any value that looks like key
 * material (a PEM private key block, a long base64 blob such as a PFX) or any field whose name says it holds a
 * secret. Payloads are built from events that never carry such fields; this guard makes a mistake loud.
 */
import { KvAcmeError } from "../shared/errors";

const SECRET_FIELD =
  /^(key|keyPem|privateKey|private_key|secret|secretValue|clientSecret|client_secret|password|passphrase|pfx|pkcs12|p12)$/i;
const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]+ )?PRIVATE KEY-----/;
/** 200+ contiguous base64 characters: a DER/PFX blob, never anything a person reads. */
const LONG_BASE64 = /[A-Za-z0-9+/_-]{200,}={0,2}/;

/** Payload refused because it contains what looks like key material. */
export class KeyMaterialError extends KvAcmeError {
  constructor(path: string, why: string) {
    super("KeyMaterialRefused", `refused to send a webhook payload: ${path} ${why}`, 500, { path });
  }
}

/** Returns the path and reason of the first field that looks like key material, or null when the value is clean. */
export function findKeyMaterial(value: unknown, path = "$"): { path: string; why: string } | null {
  if (typeof value === "string") {
    if (PEM_PRIVATE_KEY.test(value)) return { path, why: "contains a PEM private key block" };
    if (LONG_BASE64.test(value)) return { path, why: "contains a long base64 blob (PFX or DER-like)" };
    return null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findKeyMaterial(value[i], `${path}[${i}]`);
      if (hit) return hit;
    }
    return null;
  }
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_FIELD.test(k) && v !== undefined && v !== null && v !== "")
        return { path: `${path}.${k}`, why: "is a field named like a secret" };
      const hit = findKeyMaterial(v, `${path}.${k}`);
      if (hit) return hit;
    }
  }
  return null;
}

/** Throws KeyMaterialError when `value` contains anything that looks like key material. */
export function assertNoKeyMaterial(value: unknown): void {
  const hit = findKeyMaterial(value);
  if (hit) throw new KeyMaterialError(hit.path, hit.why);
}

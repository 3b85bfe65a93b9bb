/** A Key Vault stand-in + managed-identity endpoint for agent tests, and a way to put a certificate version in the vault. */
import { generateKeyPairSync } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TokenCredential } from "@azure/core-auth";
import { CertificateClient, type CertificateOperation } from "@azure/keyvault-certificates";
import { ensureLocalCa } from "../../src/local/ca";
import { startIdentityServer, type IdentityServer } from "../../src/local/identity/server";
import { createTokenAuthority } from "../../src/local/identity/tokens";
import { startKeyVaultServer, type KeyVaultServer } from "../../src/local/keyvault/server";
import { x509 } from "../../src/shared/x509";
import { makeChain, makeLeaf, type TestChain } from "./helpers";

export const REPO = path.resolve(__dirname, "../..");

export interface AgentStack {
  kv: KeyVaultServer;
  identity: IdentityServer;
  /** msiEndpoint for the agent: the local identity server's IMDS-style endpoint. */
  imdsEndpoint: string;
  chain: TestChain;
  certificates: CertificateClient;
  /** A Key Vault access token from the stack's authority (for the agent's SDK reader). */
  identityToken(): Promise<{ token: string; expiresOnTimestamp: number }>;
  /** Creates a version (issuer Unknown -> CSR -> merge leaf + intermediate). Returns its version and leaf serial. */
  putVersion(
    name: string,
    names: string[],
    contentType?: "application/x-pem-file" | "application/x-pkcs12",
  ): Promise<{ version: string; serialHex: string }>;
  close(): Promise<void>;
}

export async function startAgentStack(): Promise<AgentStack> {
  const ca = await ensureLocalCa();
  const tls = await ca.issueServerCertificate(["127.0.0.1", "localhost"]);
  const authority = createTokenAuthority(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
  const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), "kvacme-agent-kv-"));
  const kv = await startKeyVaultServer({ authority, tls, stateDir, port: 0 });
  const identity = await startIdentityServer({ authority, identityHeader: "agent-test" });
  const imdsEndpoint = identity.imdsEndpoint;
  const credential: TokenCredential = {
    getToken: async (scopes) => {
      const t = authority.issue(String([scopes].flat()[0]));
      return { token: t.token, expiresOnTimestamp: t.claims.exp * 1000 };
    },
  };
  const certificates = new CertificateClient(kv.url, credential, { disableChallengeResourceVerification: true });
  const chain = await makeChain();
  return {
    kv,
    identity,
    imdsEndpoint,
    chain,
    certificates,
    identityToken: async () => (await credential.getToken("https://vault.azure.net/.default"))!,
    async putVersion(name, names, contentType = "application/x-pem-file") {
      const poller = await certificates.beginCreateCertificate(name, {
        issuerName: "Unknown",
        subject: `CN=${names[0]}`,
        subjectAlternativeNames: { dnsNames: names as unknown as [string, ...string[]] },
        contentType,
      });
      const op = (poller as unknown as { operation: { state: { certificateOperation?: CertificateOperation } } }).operation.state
        .certificateOperation;
      const csr = new x509.Pkcs10CertificateRequest(Buffer.from(op!.csr!));
      const leaf = await makeLeaf(chain, names, { publicKey: csr.publicKey });
      const der = (pem: string) => new Uint8Array(new x509.X509Certificate(pem).rawData);
      const merged = await certificates.mergeCertificate(name, [der(leaf.leafPem), der(chain.intermediate.pem)]);
      return { version: merged.properties.version!, serialHex: leaf.serialHex };
    },
    async close() {
      await kv.close();
      await identity.close();
      await fs.rm(stateDir, { recursive: true, force: true });
    },
  };
}

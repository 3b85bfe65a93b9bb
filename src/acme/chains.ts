/**
 * Alternate certificate chains (RFC 8555 §7.4.2): the certificate URL answers the CA's default chain and names the
 * others in `Link: <url>;rel="alternate"` headers. The preferred chain is chosen by issuer common name the way certbot
 * and acme-client do: a chain qualifies when one of its certificates was issued by that name, and among those the one
 * where the match sits nearest the root wins; no chain qualifying means the default chain.
 */
import { x509 } from "../shared/x509";

/** The alternate-chain URLs of a Link header (RFC 8288; `rel="alternate"`, any case, quoted or not). */
export function alternateLinks(header: string | string[] | undefined): string[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const out: string[] = [];
  for (const value of values) {
    for (const part of value.split(/,(?=\s*<)/)) {
      const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
      if (!m) continue;
      const rels = /(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;]+))/i.exec(m[2] as string);
      const rel = (rels?.[1] ?? rels?.[2] ?? "").toLowerCase().split(/\s+/);
      if (rel.includes("alternate") && m[1]) out.push(m[1]);
    }
  }
  return out;
}

/** The issuer common names of a chain's certificates (PEM blocks, leaf first). */
export function issuerNames(chain: readonly string[]): string[] {
  return chain.map((pem) => new x509.X509Certificate(pem).issuerName.getField("CN")[0] ?? "");
}

/** Which chain to install: its index among `chains` (0 = the default) and whether the preference matched. */
export interface ChainChoice {
  index: number;
  matched: boolean;
  /** The top issuer name of each chain offered (the last certificate's issuer), for messages. */
  offered: string[];
}

/** Picks the chain issued by `preferred` (exact common name, case-insensitive), nearest the root winning. */
export function choosePreferredChain(chains: readonly (readonly string[])[], preferred: string): ChainChoice {
  const want = preferred.trim().toLowerCase();
  const names = chains.map((chain) => issuerNames(chain).map((n) => n.toLowerCase()));
  let best: { index: number; distance: number } | undefined;
  names.forEach((issuers, index) => {
    const at = issuers.lastIndexOf(want);
    if (at < 0) return;
    const distance = issuers.length - at;
    if (!best || distance < best.distance) best = { index, distance };
  });
  const offered = chains.map((chain) => issuerNames(chain).at(-1) ?? "");
  return best ? { index: best.index, matched: true, offered } : { index: 0, matched: false, offered };
}

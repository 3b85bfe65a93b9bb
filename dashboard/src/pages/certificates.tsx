/** Certificates: every certificate in the vault grouped by DNS zone, with search, filters and status badges. */
import { useLayoutEffect, useMemo, useState } from "preact/hooks";
import { certificateHash, get } from "../api";
import { CertificateBadges, Loading, ProblemMessage } from "../components";
import { useLoad } from "../hooks";
import { groupByZone, issuers, matches, NO_FILTER, type CertificateFilter, type CertificateSummary, type DnsZone } from "../model";

/**
 * User-timing entries of one list render, read by bench/dashboard-render.ts (and visible in the browser's performance
 * panel): data in hand -> DOM committed (RENDER_MEASURE), and -> the next frame after it (PAINT_MEASURE).
 */
export const DATA_MARK = "kv-acme:certificates-data";
export const RENDER_MEASURE = "kv-acme:certificates-render";
export const PAINT_MEASURE = "kv-acme:certificates-painted";

async function load(): Promise<{ certificates: CertificateSummary[]; defaultVault?: string; zones: string[]; loadedAt: number }> {
  const [c, z] = await Promise.all([
    get<{ certificates: CertificateSummary[]; defaultVault?: string }>("/api/certificates"),
    get<{ zones: DnsZone[] }>("/api/dns-zones"),
  ]);
  performance.mark(DATA_MARK);
  return { certificates: c.certificates, defaultVault: c.defaultVault, zones: z.zones.map((x) => x.name), loadedAt: Date.now() };
}

const MAX_NAMES_SHOWN = 3;

function Row({ c, now, defaultVault }: { c: CertificateSummary; now: number; defaultVault?: string }) {
  const extra = c.dnsNames.length - MAX_NAMES_SHOWN;
  // Outside the default vault a certificate is shown (and linked) as vault/name.
  const label = c.vault === undefined || c.vault === defaultVault ? c.name : `${c.vault}/${c.name}`;
  return (
    <tr>
      <th scope="row">
        <a href={certificateHash(c.name, c.vault, defaultVault)}>{label}</a>
      </th>
      <td class="names">
        {c.dnsNames.slice(0, MAX_NAMES_SHOWN).join(", ")}
        {extra > 0 ? ` +${extra}` : ""}
      </td>
      <td>{c.managedBy}</td>
      <td>{c.issuer ?? "—"}</td>
      <td>
        <CertificateBadges c={c} now={now} />
      </td>
    </tr>
  );
}

export function CertificatesPage() {
  const data = useLoad(load, "certificates");
  const [filter, setFilter] = useState<CertificateFilter>(NO_FILTER);
  const now = data.data?.loadedAt ?? Date.now();
  const groups = useMemo(() => {
    if (!data.data) return [];
    const shown = data.data.certificates.filter((c) => matches(c, filter, now));
    return groupByZone(shown, data.data.zones);
  }, [data.data, filter, now]);
  useLayoutEffect(() => {
    if (!data.data || performance.getEntriesByName(DATA_MARK).length === 0) return;
    performance.measure(RENDER_MEASURE, DATA_MARK);
    requestAnimationFrame(() => setTimeout(() => performance.measure(PAINT_MEASURE, DATA_MARK)));
  }, [data.data]);
  const set = (patch: Partial<CertificateFilter>) => setFilter((f) => ({ ...f, ...patch }));
  const count = groups.reduce((n, [, list]) => n + list.length, 0);
  return (
    <main id="main" tabIndex={-1}>
      <h1>Certificates</h1>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input
            type="search"
            value={filter.search}
            placeholder="name or DNS name"
            onInput={(e) => set({ search: e.currentTarget.value })}
          />
        </label>
        <label>
          Managed by
          <select value={filter.source} onChange={(e) => set({ source: e.currentTarget.value as CertificateFilter["source"] })}>
            <option value="all">any</option>
            <option value="kv-acme">kv-acme</option>
            <option value="acmebot">Acmebot (adopted)</option>
            <option value="unmanaged">unmanaged</option>
          </select>
        </label>
        <label>
          CA
          <select value={filter.issuer} onChange={(e) => set({ issuer: e.currentTarget.value })}>
            <option value="">any</option>
            {issuers(data.data?.certificates ?? []).map((i) => (
              <option key={i} value={i}>
                {i}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={filter.status} onChange={(e) => set({ status: e.currentTarget.value as CertificateFilter["status"] })}>
            <option value="all">any</option>
            <option value="expiring">expiring (≤ 30 days)</option>
            <option value="failed">last operation failed</option>
            <option value="pending">pending</option>
          </select>
        </label>
        <button type="button" onClick={data.reload}>
          Refresh
        </button>
      </form>
      <ProblemMessage error={data.error} />
      {data.loading && !data.data ? <Loading /> : null}
      {data.data ? (
        <p class="count" role="status">
          {count} of {data.data.certificates.length} certificates
        </p>
      ) : null}
      {groups.map(([zone, list]) => (
        <section key={zone} class="zone-group">
          <h2>
            {zone} <small>({list.length})</small>
          </h2>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">DNS names</th>
                  <th scope="col">Managed by</th>
                  <th scope="col">CA</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {list.map((c) => (
                  <Row key={`${c.vault}/${c.name}`} c={c} now={now} defaultVault={data.data?.defaultVault} />
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ))}
    </main>
  );
}

/**
 * Fleet (shown only when the app has GET /api/fleet): the hosts whose agents report, what each has installed from
 * which vault, whether that is the vault's current version, and each host's stale findings (unseen, outdated,
 * expiring) as the fleet timer judges them (docs/agent.md, "Fleet").
 */
import { Fragment } from "preact";
import { allFleetPages, type FleetPage } from "../../../src/fleet/pages";
import { get } from "../api";
import { Badge, PageFrame } from "../components";
import { useLoad } from "../hooks";

interface FleetCertificate {
  name: string;
  vault?: string;
  vaultUrl?: string;
  installedVersion?: string;
  current?: boolean;
  stale?: boolean;
  staleReasons?: string[];
  notAfter?: string;
  lastError?: string;
}

interface FleetHost {
  hostId: string;
  lastSeen?: string;
  agentVersion?: string;
  stale?: boolean;
  findings?: { reason: string; message: string }[];
  certificates?: FleetCertificate[];
}

/** A certificate as `{vault}/{name}` outside the default vault, like the certificate list. */
function CertificateLine({ c, defaultVault }: { c: FleetCertificate; defaultVault?: string }) {
  return (
    <li data-testid="fleet-certificate">
      <span class="name">{c.vault && c.vault !== defaultVault ? `${c.vault}/${c.name}` : c.name}</span>{" "}
      <code>{c.installedVersion ?? "nothing installed"}</code>{" "}
      {c.current ? <Badge kind="ok">current</Badge> : <Badge kind="warning">not current</Badge>}
      {(c.staleReasons ?? []).map((r) => (
        <Fragment key={r}>
          {" "}
          <Badge kind="urgent">{r}</Badge>
        </Fragment>
      ))}
      {c.lastError ? <div class="error-text">error: {c.lastError}</div> : null}
    </li>
  );
}

export function FleetPage() {
  // GET /api/fleet pages (continuationToken): every page, as one fleet.
  const data = useLoad(() => allFleetPages((p) => get<FleetPage<FleetHost>>(`/api/${p}`)), "fleet");
  return (
    <PageFrame title="Fleet" data={data}>
      {(loaded) => (
        <div class="table-wrap">
          <table>
            <caption data-testid="fleet-summary">
              {loaded.hosts.length} hosts, {loaded.staleHosts} stale
            </caption>
            <thead>
              <tr>
                <th scope="col">Host</th>
                <th scope="col">Last seen</th>
                <th scope="col">Agent</th>
                <th scope="col">Certificates</th>
                <th scope="col">Findings</th>
              </tr>
            </thead>
            <tbody>
              {loaded.hosts.map((h) => (
                <tr key={h.hostId} data-testid="fleet-host" data-stale={h.stale ? "true" : "false"}>
                  <th scope="row">
                    {h.hostId} {h.stale ? <Badge kind="urgent">stale</Badge> : null}
                  </th>
                  <td>{h.lastSeen ?? "—"}</td>
                  <td>{h.agentVersion ?? "—"}</td>
                  <td>
                    {(h.certificates ?? []).length === 0 ? (
                      "—"
                    ) : (
                      <ul class="plain">
                        {(h.certificates ?? []).map((c) => (
                          <CertificateLine c={c} defaultVault={loaded.defaultVault} key={`${c.vaultUrl ?? ""}|${c.name}`} />
                        ))}
                      </ul>
                    )}
                  </td>
                  <td>
                    {(h.findings ?? []).length === 0 ? (
                      "—"
                    ) : (
                      <ul class="plain" data-testid="fleet-findings">
                        {(h.findings ?? []).map((f, i) => (
                          <li key={i}>
                            <strong>{f.reason}</strong>: {f.message}
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </PageFrame>
  );
}

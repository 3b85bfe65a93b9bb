/** Fleet (shown only when the app has GET /api/fleet): the hosts whose agents report, and what each has installed. */
import { get } from "../api";
import { PageFrame } from "../components";
import { useLoad } from "../hooks";

interface FleetHost {
  hostId: string;
  lastSeen?: string;
  agentVersion?: string;
  stale?: boolean;
  certificates?: { name: string; installedVersion?: string; current?: boolean }[];
}

export function FleetPage() {
  const data = useLoad(() => get<{ hosts: FleetHost[] }>("/api/fleet"), "fleet");
  return (
    <PageFrame title="Fleet" data={data}>
      {(loaded) => (
        <div class="table-wrap">
          <table>
            <caption>{loaded.hosts.length} hosts</caption>
            <thead>
              <tr>
                <th scope="col">Host</th>
                <th scope="col">Last seen</th>
                <th scope="col">Agent</th>
                <th scope="col">Certificates</th>
              </tr>
            </thead>
            <tbody>
              {loaded.hosts.map((h) => (
                <tr key={h.hostId}>
                  <th scope="row">{h.hostId}</th>
                  <td>
                    {h.lastSeen ?? "—"}
                    {h.stale ? " (stale)" : ""}
                  </td>
                  <td>{h.agentVersion ?? "—"}</td>
                  <td class="names">
                    {(h.certificates ?? []).map((c) => `${c.name}${c.current === false ? " (outdated)" : ""}`).join(", ") || "—"}
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

/** DNS zones: every zone the app may write DNS-01 records into, with its provider (GET /api/dns-zones). */
import { get } from "../api";
import { PageFrame } from "../components";
import { useLoad } from "../hooks";
import type { DnsZone } from "../model";

export function ZonesPage() {
  const data = useLoad(() => get<{ zones: DnsZone[] }>("/api/dns-zones"), "zones");
  return (
    <PageFrame title="DNS zones" data={data}>
      {(loaded) => (
        <div class="table-wrap">
          <table>
            <caption>{loaded.zones.length} zones</caption>
            <thead>
              <tr>
                <th scope="col">Zone</th>
                <th scope="col">Provider</th>
                <th scope="col">Resource group</th>
                <th scope="col">Name servers</th>
              </tr>
            </thead>
            <tbody>
              {loaded.zones.map((z) => (
                <tr key={z.id ?? z.name}>
                  <th scope="row">{z.name}</th>
                  <td>{z.provider}</td>
                  <td>{z.resourceGroup ?? "—"}</td>
                  <td class="names">{(z.nameServers ?? []).join(", ") || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </PageFrame>
  );
}

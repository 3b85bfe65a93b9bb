/** Renewals: what renews in the next 90 days (GET /api/renewals), as renewals per day and as a table. */
import { useMemo } from "preact/hooks";
import { certificateHash, get } from "../api";
import { PageFrame } from "../components";
import { useLoad } from "../hooks";
import { renewalsPerDay } from "../model";
import type { RenewalView } from "../../../src/api/views";

export type { RenewalView };

export const RULE_LABELS: Record<string, string> = {
  ari: "the CA's renewal window (ARI)",
  days: "days before expiry",
  percent: "fraction of the lifetime",
};

export const HORIZON_DAYS = 90;
const DAY_MS = 86_400_000;

function Chart({ days }: { days: { day: string; count: number }[] }) {
  const max = Math.max(1, ...days.map((d) => d.count));
  const w = 6;
  const h = 80;
  const total = days.reduce((n, d) => n + d.count, 0);
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${days.length * w} ${h + 14}`}
        role="img"
        aria-label={`Renewals per day over the next ${days.length} days: ${total} in all`}
      >
        {days.map((d, i) => {
          const bh = d.count === 0 ? 0 : Math.max(2, (d.count / max) * h);
          return (
            <rect key={d.day} x={i * w + 1} y={h - bh} width={w - 2} height={bh} class="bar">
              <title>
                {d.day}: {d.count}
              </title>
            </rect>
          );
        })}
        <line x1="0" y1={h + 0.5} x2={days.length * w} y2={h + 0.5} class="axis" />
        <text x="0" y={h + 12} class="label">
          {days[0]?.day}
        </text>
        <text x={days.length * w} y={h + 12} class="label" text-anchor="end">
          {days[days.length - 1]?.day}
        </text>
      </svg>
      <figcaption>Renewals per day (highest: {max === 1 && total === 0 ? 0 : max})</figcaption>
    </figure>
  );
}

export function RenewalsPage() {
  const data = useLoad(() => get<{ generatedAt: string; defaultVault?: string; renewals: RenewalView[] }>("/api/renewals"), "renewals");
  const now = data.data ? Date.parse(data.data.generatedAt) : Date.now();
  const upcoming = useMemo(
    () => (data.data?.renewals ?? []).filter((r) => Date.parse(r.renewAt) < now + HORIZON_DAYS * DAY_MS),
    [data.data, now],
  );
  const perDay = useMemo(
    () =>
      renewalsPerDay(
        upcoming.map((r) => r.renewAt),
        now,
        HORIZON_DAYS,
      ),
    [upcoming, now],
  );
  return (
    <PageFrame title={`Renewals in the next ${HORIZON_DAYS} days`} data={data}>
      {(loaded) => (
        <>
          <Chart days={perDay} />
          <div class="table-wrap">
            <table>
              <caption>
                {upcoming.length} of {loaded.renewals.length} managed certificates renew within {HORIZON_DAYS} days
              </caption>
              <thead>
                <tr>
                  <th scope="col">Renews at</th>
                  <th scope="col">Certificate</th>
                  <th scope="col">Rule</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Decision</th>
                </tr>
              </thead>
              <tbody>
                {upcoming.map((r) => (
                  <tr key={`${r.vault}/${r.name}`}>
                    <td>{r.renewAt.slice(0, 16).replace("T", " ")}</td>
                    <th scope="row">
                      <a href={certificateHash(r.name, r.vault, data.data?.defaultVault)}>
                        {r.vault === undefined || r.vault === data.data?.defaultVault ? r.name : `${r.vault}/${r.name}`}
                      </a>
                    </th>
                    <td>{RULE_LABELS[r.rule] ?? r.rule}</td>
                    <td>{r.expiresOn.slice(0, 10)}</td>
                    <td>
                      {r.reason}
                      {r.lastFailure ? ` (${r.lastFailure.attempts} failed)` : ""}
                      {r.renewNotBefore ? ` (CA rate limit until ${r.renewNotBefore.slice(0, 16).replace("T", " ")})` : ""}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </PageFrame>
  );
}

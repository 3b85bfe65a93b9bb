/** Account (shown only when the app has GET /api/account): the ACME account per directory, never its key. */
import { get } from "../api";
import { PageFrame } from "../components";
import { useLoad } from "../hooks";

type Account = Record<string, unknown>;

function value(v: unknown): string {
  if (v === undefined || v === null) return "—";
  if (Array.isArray(v)) return v.map(value).join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function AccountPage() {
  const data = useLoad(() => get<{ accounts?: Account[] } & Account>("/api/account"), "account");
  return (
    <PageFrame title="ACME account" data={data}>
      {(loaded) =>
        (Array.isArray(loaded.accounts) ? loaded.accounts : [loaded]).map((a, i) => (
          <section key={i} aria-label={`Account ${i + 1}`}>
            <dl>
              {Object.entries(a).map(([k, v]) => [
                <dt key={`${k}-t`}>{k}</dt>,
                <dd key={`${k}-d`} class="wrap">
                  {value(v)}
                </dd>,
              ])}
            </dl>
          </section>
        ))
      }
    </PageFrame>
  );
}

/**
 * One certificate: current version, versions timeline, policy, tags, DNS names, the renewal schedule, the pending
 * operation (CSR download, cancel, delete, merge a chain by file or paste) and the actions the user's roles allow
 * (renew, edit the DNS names (a new version, PUT .../names), revoke with a reason after confirmation).
 */
import { useState } from "preact/hooks";
import { REVOCATION_REASONS } from "../../../src/acme/revocation-reasons";
import { ApiError, certificatePath, enc, get, request, type Operation } from "../api";
import { Badge, Confirm, Loading, OperationProgress, ProblemMessage } from "../components";
import { useLoad } from "../hooks";
import { daysToExpiry, isShortLived, urgency } from "../model";
import { ROLES, useCan } from "../session";
import { RULE_LABELS, type RenewalView } from "./renewals";

interface Version {
  version: string;
  enabled?: boolean;
  notBefore?: string;
  expiresOn?: string;
  createdOn?: string;
  thumbprint?: string;
}

interface Detail {
  name: string;
  vault?: string;
  managedBy: string;
  issuer?: string;
  enabled?: boolean;
  current?: { version: string; thumbprint: string; notBefore: string; expiresOn: string; dnsNames: string[] };
  versions: Version[];
  policy?: Record<string, unknown> & { dnsNames?: string[] };
  tags: Record<string, string>;
  preferredChain?: string;
  profile?: string;
  customTags?: Record<string, string>;
  pendingOperation?: { status: string; cancellationRequested?: boolean; requestId?: string; error?: unknown };
  lastOperation?: { id: string; reason?: string; status: string; lastUpdatedTime: string; error?: string };
}

interface PendingView {
  status: string;
  csrPem?: string;
  cancellationRequested?: boolean;
}

async function load(name: string, vault: string | undefined) {
  const [detail, renewals] = await Promise.all([
    get<Detail>(certificatePath(name, vault)),
    get<{ renewals: RenewalView[] }>(`/api/renewals?name=${enc(name)}${vault === undefined ? "" : `&vault=${enc(vault)}`}`).catch(
      (err: unknown) => {
        if (err instanceof ApiError && err.problem.status === 404) return { renewals: [] as RenewalView[] };
        throw err;
      },
    ),
  ]);
  // A completed operation stays readable in Key Vault until the next one; only an open (or failed, cancelled) one is shown.
  const open = detail.pendingOperation && detail.pendingOperation.status !== "completed";
  const pending = open ? await get<PendingView>(certificatePath(name, vault, "/pending")) : undefined;
  return {
    detail,
    renewal: renewals.renewals.find((r) => r.name === name && (detail.vault === undefined || r.vault === detail.vault)),
    pending,
  };
}

const fmt = (iso?: string) => (iso ? new Date(iso).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "—");

function download(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "application/pkcs10" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * The open pending operation. `onDone` gets the note of a finished action and reloads the page: the note is shown by
 * the page, not here, as a merge (or delete) ends the operation and the reload then removes this section.
 */
function Pending({ name, vault, pending, onDone }: { name: string; vault?: string; pending: PendingView; onDone: (note: string) => void }) {
  const canIssue = useCan(ROLES.issue);
  const [chain, setChain] = useState("");
  const [error, setError] = useState<Error | undefined>();
  const act = async (label: string, fn: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await fn();
      onDone(label);
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <section aria-labelledby="pending-h">
      <h2 id="pending-h">Pending operation</h2>
      <p>
        Status <Badge kind="pending">{pending.status}</Badge>
        {pending.cancellationRequested ? <Badge kind="warning">cancellation requested</Badge> : null}
      </p>
      {pending.csrPem ? (
        <button type="button" onClick={() => download(`${name}.csr`, pending.csrPem!)}>
          Download CSR
        </button>
      ) : null}
      {canIssue ? (
        <>
          <button
            type="button"
            onClick={() => act("Cancellation requested.", () => request("POST", certificatePath(name, vault, "/pending/cancel")))}
          >
            Cancel operation
          </button>
          <button
            type="button"
            class="danger"
            onClick={() => act("Pending operation deleted.", () => request("DELETE", certificatePath(name, vault, "/pending")))}
          >
            Delete operation
          </button>
          <form
            class="merge"
            onSubmit={(e) => {
              e.preventDefault();
              void act("Chain merged.", () => request("POST", certificatePath(name, vault, "/pending/merge"), { chainPem: chain }));
            }}
          >
            <h3>Merge the signed chain</h3>
            <label>
              PEM file (leaf first)
              <input
                type="file"
                accept=".pem,.crt,.cer,text/plain"
                onChange={async (e) => {
                  const f = e.currentTarget.files?.[0];
                  if (f) setChain(await f.text());
                }}
              />
            </label>
            <label>
              or paste it
              <textarea rows={6} value={chain} onInput={(e) => setChain(e.currentTarget.value)} placeholder="-----BEGIN CERTIFICATE-----" />
            </label>
            <button type="submit" disabled={!chain.trim()}>
              Merge
            </button>
          </form>
        </>
      ) : null}
      <ProblemMessage error={error} />
    </section>
  );
}

function Schedule({ r }: { r?: RenewalView }) {
  if (!r) return null;
  return (
    <section aria-labelledby="schedule-h">
      <h2 id="schedule-h">Renewal schedule</h2>
      <dl>
        <dt>Next renewal</dt>
        <dd data-testid="renew-at">
          {fmt(r.renewAt)} {r.due ? <Badge kind="warning">due now</Badge> : null}
        </dd>
        <dt>Rule</dt>
        <dd>{RULE_LABELS[r.rule] ?? r.rule}</dd>
        <dt>Decision</dt>
        <dd>
          {r.reason}: {r.message}
        </dd>
        <dt>ARI window</dt>
        <dd>{r.ariWindow ? `${fmt(r.ariWindow.start)} – ${fmt(r.ariWindow.end)}` : `none (${r.ari})`}</dd>
        <dt>Failed attempts</dt>
        <dd>{r.lastFailure ? `${r.lastFailure.attempts}, the last at ${fmt(r.lastFailure.at)}` : "none"}</dd>
        {r.renewNotBefore ? (
          <>
            <dt>CA rate limit</dt>
            <dd>not before {fmt(r.renewNotBefore)}</dd>
          </>
        ) : null}
      </dl>
    </section>
  );
}

function Actions({ d, onChange }: { d: Detail; onChange: () => void }) {
  const canIssue = useCan(ROLES.issue);
  const canRevoke = useCan(ROLES.revoke);
  const [location, setLocation] = useState<string | undefined>();
  const [result, setResult] = useState<Operation | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState("unspecified");
  const [names, setNames] = useState((d.current?.dnsNames ?? []).join(", "));
  if (!d.current || (!canIssue && !canRevoke)) return null;
  const start = async (path: string, body?: unknown, method: "POST" | "PUT" = "POST") => {
    setError(undefined);
    setResult(undefined);
    setLocation(undefined);
    try {
      const r = await request<Operation>(method, path, body);
      if (r.status === 202 && r.location) setLocation(r.location);
      else {
        setResult(r.body);
        onChange();
      }
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <section aria-labelledby="actions-h">
      <h2 id="actions-h">Actions</h2>
      <div class="actions">
        {canIssue && d.managedBy !== "unmanaged" ? (
          <button type="button" onClick={() => start(certificatePath(d.name, d.vault, "/renew"))}>
            Renew now
          </button>
        ) : null}
        {canIssue && d.managedBy !== "unmanaged" ? (
          <form
            class="edit-names"
            onSubmit={(e) => {
              e.preventDefault();
              const dnsNames = names
                .split(/[\s,]+/)
                .map((n) => n.trim())
                .filter((n) => n !== "");
              void start(certificatePath(d.name, d.vault, "/names"), { dnsNames }, "PUT");
            }}
          >
            <label>
              DNS names (comma-separated)
              <input type="text" value={names} onInput={(e) => setNames(e.currentTarget.value)} />
            </label>
            <button type="submit">Re-issue with these names</button>
          </form>
        ) : null}
        {canRevoke ? (
          <>
            <label>
              Revocation reason
              <select value={reason} onChange={(e) => setReason(e.currentTarget.value)}>
                {Object.keys(REVOCATION_REASONS).map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" class="danger" onClick={() => setConfirming(true)}>
              Revoke…
            </button>
          </>
        ) : null}
      </div>
      <Confirm
        open={confirming}
        title={`Revoke ${d.name}?`}
        confirmLabel="Revoke"
        onCancel={() => setConfirming(false)}
        onConfirm={() => {
          setConfirming(false);
          void start(certificatePath(d.name, d.vault, "/revoke"), { reason });
        }}
      >
        <p>
          The CA will revoke the current version ({d.current.thumbprint.slice(0, 12)}…) with reason <strong>{reason}</strong>. This cannot
          be undone.
        </p>
      </Confirm>
      {location ? <OperationProgress key={location} location={location} onDone={onChange} /> : null}
      {result ? (
        <p role="status" data-testid="operation-status" class={result.status === "Failed" ? "status-failed" : "status-done"}>
          {result.id}: {result.status}
        </p>
      ) : null}
      <ProblemMessage error={error} />
    </section>
  );
}

/** `vault`: the certificate's vault when it is not the default one (the page `#/certificates/V/N`). */
export function CertificatePage({ name, vault }: { name: string; vault?: string }) {
  const data = useLoad(() => load(name, vault), `certificate:${vault ?? ""}/${name}`);
  // The last pending-operation action's note ("Chain merged."): kept here, as that action may end the operation.
  const [pendingNote, setPendingNote] = useState("");
  const now = Date.now();
  if (data.error)
    return (
      <main id="main" tabIndex={-1}>
        <h1>{name}</h1>
        <ProblemMessage error={data.error} />
        <a href="#/certificates">All certificates</a>
      </main>
    );
  if (!data.data)
    return (
      <main id="main" tabIndex={-1}>
        <h1>{name}</h1>
        <Loading />
      </main>
    );
  const { detail: d, renewal, pending } = data.data;
  const days = d.current ? daysToExpiry({ expiresOn: d.current.expiresOn }, now) : undefined;
  return (
    <main id="main" tabIndex={-1}>
      <p>
        <a href="#/certificates">← Certificates</a>
      </p>
      <h1>{d.name}</h1>
      <p class="badges">
        <Badge kind="source">{d.managedBy}</Badge>
        {d.issuer ? <Badge kind="source">{d.issuer}</Badge> : null}
        {days !== undefined ? <Badge kind={urgency(days)}>{days < 0 ? "expired" : `${days} days left`}</Badge> : null}
        {d.current && isShortLived(d.current) ? <Badge kind="short">short-lived</Badge> : null}
        {d.lastOperation ? (
          <Badge kind={d.lastOperation.status === "Failed" ? "failed" : "done"} title={d.lastOperation.error}>
            last {d.lastOperation.reason ?? "operation"}: {d.lastOperation.status.toLowerCase()}
          </Badge>
        ) : null}
      </p>
      <div class="grid">
        <section aria-labelledby="names-h">
          <h2 id="names-h">DNS names</h2>
          <ul>
            {(d.current?.dnsNames ?? d.policy?.dnsNames ?? []).map((n) => (
              <li key={n}>
                <code>{n}</code>
              </li>
            ))}
          </ul>
        </section>
        <Schedule r={renewal} />
      </div>
      <Actions d={d} onChange={data.reload} />
      {pending ? (
        <Pending
          name={d.name}
          vault={vault}
          pending={pending}
          onDone={(note) => {
            setPendingNote(note);
            data.reload();
          }}
        />
      ) : null}
      {pendingNote ? (
        <p role="status" data-testid="pending-note">
          {pendingNote}
        </p>
      ) : null}
      <section aria-labelledby="versions-h">
        <h2 id="versions-h">Versions</h2>
        <ol class="timeline" data-testid="versions">
          {d.versions.map((v) => (
            <li key={v.version} class={v.version === d.current?.version ? "current" : undefined}>
              <code>{v.version.slice(0, 12)}</code> created {fmt(v.createdOn)} · valid {fmt(v.notBefore)} → {fmt(v.expiresOn)}
              {v.version === d.current?.version ? <Badge kind="done">current</Badge> : null}
              {v.enabled === false ? <Badge kind="failed">disabled</Badge> : null}
            </li>
          ))}
        </ol>
      </section>
      <div class="grid">
        <section aria-labelledby="policy-h">
          <h2 id="policy-h">Policy</h2>
          <dl>
            {Object.entries(d.policy ?? {})
              .filter(([k, v]) => k !== "dnsNames" && v !== undefined && v !== null)
              .map(([k, v]) => [<dt key={`${k}-t`}>{k}</dt>, <dd key={`${k}-d`}>{String(v)}</dd>])}
          </dl>
        </section>
        <section aria-labelledby="controls-h" data-testid="controls">
          <h2 id="controls-h">Certificate controls</h2>
          <dl>
            <dt>Preferred chain</dt>
            <dd>{d.preferredChain ?? "(the app's, else the CA's default)"}</dd>
            <dt>ACME profile</dt>
            <dd>{d.profile ?? "(the app's, else the CA's default)"}</dd>
            {Object.entries(d.customTags ?? {}).map(([k, v]) => [
              <dt key={`${k}-t`}>
                tag <code>{k}</code>
              </dt>,
              <dd key={`${k}-d`} class="wrap">
                {v}
              </dd>,
            ])}
          </dl>
        </section>
        <section aria-labelledby="tags-h">
          <h2 id="tags-h">Tags</h2>
          <dl>
            {Object.entries(d.tags).map(([k, v]) => [
              <dt key={`${k}-t`}>
                <code>{k}</code>
              </dt>,
              <dd key={`${k}-d`} class="wrap">
                {v}
              </dd>,
            ])}
          </dl>
        </section>
      </div>
    </main>
  );
}

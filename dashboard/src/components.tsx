/** Shared pieces: badges, problem messages, live operation progress, the confirmation dialog. */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ISSUE_STEPS } from "../../src/issuance/issue-steps";
import { ApiError, request, type Operation } from "./api";
import type { Loaded } from "./hooks";
import { daysToExpiry, isShortLived, urgency, type CertificateSummary } from "./model";

export function Badge({ kind, children, title }: { kind: string; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge badge-${kind}`} title={title}>
      {children}
    </span>
  );
}

/** Days to expiry (coloured by urgency), short-lived, pending, an unissued latest version, last operation. */
export function CertificateBadges({ c, now }: { c: CertificateSummary; now: number }) {
  const days = daysToExpiry(c, now);
  const u = urgency(days);
  const op = c.lastOperation;
  return (
    <span class="badges">
      {days === undefined ? null : (
        <Badge kind={u} title={c.expiresOn ? `expires ${c.expiresOn}` : undefined}>
          {days < 0 ? "expired" : `${days} d`}
        </Badge>
      )}
      {isShortLived(c) ? <Badge kind="short">short-lived</Badge> : null}
      {c.pending ? <Badge kind="pending">pending</Badge> : null}
      {c.latestVersionUnissued ? (
        <Badge
          kind="pending"
          title="the latest version in the vault was never issued (an issuance in progress or abandoned); shown: the newest issued one"
        >
          unissued latest
        </Badge>
      ) : null}
      {op ? (
        <Badge kind={op.status === "Failed" ? "failed" : op.status === "Completed" ? "done" : "running"} title={op.error}>
          {op.reason ?? "operation"}: {op.status.toLowerCase()}
        </Badge>
      ) : null}
    </span>
  );
}

export function ProblemMessage({ error }: { error?: Error }) {
  if (!error) return null;
  const p = error instanceof ApiError ? error.problem : undefined;
  return (
    <div class="error" role="alert">
      <strong>{p?.title ?? "Error"}</strong> {error.message}
      {p?.errors?.length ? (
        <ul>
          {p.errors.map((e) => (
            <li key={e.field + e.message}>
              <code>{e.field}</code>: {e.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function Loading() {
  return <p class="loading">Loading…</p>;
}

/** A page: its heading, then the problem while loading failed, "Loading…", or the content for the loaded data. */
export function PageFrame<T>({ title, data, children }: { title: string; data: Loaded<T>; children: (loaded: T) => ComponentChildren }) {
  return (
    <main id="main" tabIndex={-1}>
      <h1>{title}</h1>
      <ProblemMessage error={data.error} />
      {data.loading && !data.data ? <Loading /> : null}
      {data.data ? children(data.data) : null}
    </main>
  );
}

/** Poll interval of a running operation (the API's Retry-After is a hint for scripts; a page follows faster). */
const POLL_MS = 400;

/** The steps an issuance shows: ISSUE_STEPS without the terminal ones (renewal-request only when it was seen). */
function pipeline(seen: readonly string[]): string[] {
  const all = ISSUE_STEPS.filter((s) => s !== "failed" && (s !== "renewal-request" || seen.includes(s)));
  return seen.every((s) => (ISSUE_STEPS as readonly string[]).includes(s)) ? all : [...seen];
}

/**
 * Follows an operation (its Location) until it is done or failed. An issuance or renewal shows the whole pipeline of
 * ISSUE_STEPS, each step done, current or still to come as the custom status moves; other operations (revoke) list
 * the steps they reported. `data-seen` on the list names the steps observed live.
 */
export function OperationProgress({ location, onDone }: { location: string; onDone?: (op: Operation) => void }) {
  const [op, setOp] = useState<Operation | undefined>();
  const [seen, setSeen] = useState<string[]>([]);
  const [error, setError] = useState<Error | undefined>();
  const done = useRef(onDone);
  done.current = onDone;
  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    const poll = async () => {
      try {
        const r = await request<Operation>("GET", location);
        if (!live) return;
        setOp(r.body);
        const step = r.body.customStatus?.step;
        if (step) setSeen((s) => (s.includes(step) ? s : [...s, step]));
        if (r.status === 202) timer = window.setTimeout(poll, POLL_MS);
        else done.current?.(r.body);
      } catch (err) {
        if (live) setError(err as Error);
      }
    };
    void poll();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [location]);
  const finished = op !== undefined && op.status !== "Running" && op.status !== "Pending";
  const failed = op?.status === "Failed";
  const steps = pipeline(seen);
  const current = op?.customStatus?.step === "failed" ? op.customStatus.failedStep : op?.customStatus?.step;
  const at = current === undefined ? -1 : steps.indexOf(current);
  const state = (i: number): string => {
    if (failed && steps[i] === current) return "failed";
    if (i < at || (finished && !failed)) return "done";
    return i === at ? "current" : "todo";
  };
  return (
    <section class="progress" aria-live="polite" aria-label="Operation progress">
      <h2>
        Operation <code>{location.split("/").pop()}</code>:{" "}
        <span data-testid="operation-status" class={failed ? "status-failed" : finished ? "status-done" : "status-running"}>
          {op ? op.status : "starting"}
        </span>
      </h2>
      <ol class="steps" data-seen={seen.join(" ")}>
        {steps.map((s, i) => (
          <li key={s} class={state(i)}>
            {s}
            {state(i) === "current" ? " …" : state(i) === "done" ? " ✓" : state(i) === "failed" ? " ✗" : ""}
          </li>
        ))}
      </ol>
      {failed ? (
        <p class="error" role="alert">
          Failed{op?.customStatus?.failedStep ? ` at ${op.customStatus.failedStep}` : ""}:{" "}
          {op?.error?.message ?? op?.customStatus?.error ?? "see the operation"}
        </p>
      ) : null}
      <ProblemMessage error={error} />
    </section>
  );
}

/** A modal confirmation (native <dialog>: focus trapped, Escape cancels). */
export function Confirm({
  open,
  title,
  children,
  confirmLabel,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={onCancel}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          onConfirm();
        }}
      >
        <h2 id="confirm-title">{title}</h2>
        {children}
        <div class="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" class="danger">
            {confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

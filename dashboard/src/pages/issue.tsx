/**
 * Issue: pick a zone, build the names (apex, wildcard, names under the zone, or any names typed in), choose key options,
 * then either issue with ACME (live progress of the operation until done or failed) or create a pending operation whose
 * CSR goes to another CA. The API validates everything; its problem body's field errors show next to the fields.
 */
import { useState } from "preact/hooks";
import { CONTENT_TYPE_NAMES, KEY_TYPE_NAMES } from "../../../src/keyvault/key-types";
import { ApiError, enc, get, request } from "../api";
import { Loading, OperationProgress, ProblemMessage } from "../components";
import { useLoad } from "../hooks";
import { buildNames, fieldErrors, type DnsZone } from "../model";
import { ROLES, useCan } from "../session";
import { ZonePicker } from "../zone-picker";

function FieldError({ id, messages }: { id: string; messages?: string[] }) {
  if (!messages?.length) return null;
  return (
    <ul id={id} class="field-error">
      {messages.map((m) => (
        <li key={m}>{m}</li>
      ))}
    </ul>
  );
}

export function IssuePage() {
  const canIssue = useCan(ROLES.issue);
  if (!canIssue)
    return (
      <main id="main" tabIndex={-1}>
        <h1>Issue a certificate</h1>
        <p role="status">Issuing needs the app role {ROLES.issue}; your roles do not include it.</p>
      </main>
    );
  return <IssueForm />;
}

function IssueForm() {
  const zones = useLoad(() => get<{ zones: DnsZone[] }>("/api/dns-zones").then((z) => z.zones), "zones");
  const [zone, setZone] = useState("");
  const [apex, setApex] = useState(true);
  const [wildcard, setWildcard] = useState(false);
  const [labels, setLabels] = useState("");
  const [extra, setExtra] = useState("");
  const [certificateName, setCertificateName] = useState("");
  const [keyType, setKeyType] = useState("EC-P256");
  const [contentType, setContentType] = useState<string>(CONTENT_TYPE_NAMES[0]);
  const [exportable, setExportable] = useState(false);
  const [reuseKey, setReuseKey] = useState(false);
  const [mode, setMode] = useState<"acme" | "csr">("acme");
  const [error, setError] = useState<Error | undefined>();
  const [location, setLocation] = useState<string | undefined>();
  const [issued, setIssued] = useState("");
  const [busy, setBusy] = useState(false);

  const split = (s: string) => s.split(/[\s,]+/).filter(Boolean);
  const names = [...new Set([...(zone ? buildNames(zone, { apex, wildcard, labels: split(labels) }) : []), ...split(extra)])];
  const errors = fieldErrors(error instanceof ApiError ? error.problem : undefined);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setLocation(undefined);
    setBusy(true);
    const keyOptions = { keyType, contentType, exportable, reuseKey };
    try {
      if (mode === "acme") {
        const r = await request<{ operation: string; certificateName: string }>("POST", "/api/certificates", {
          dnsNames: names,
          ...(certificateName ? { certificateName } : {}),
          ...keyOptions,
        });
        setIssued(r.body.certificateName);
        setLocation(r.location ?? r.body.operation);
      } else {
        if (!certificateName)
          throw new ApiError({
            status: 400,
            title: "Bad Request",
            detail: "A CSR needs a certificate name.",
            errors: [{ field: "certificateName", message: "is required for a CSR" }],
          });
        await request("POST", `/api/certificates/${enc(certificateName)}/pending`, { dnsNames: names, ...keyOptions });
        window.location.hash = `#/certificates/${enc(certificateName)}`;
      }
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" tabIndex={-1}>
      <h1>Issue a certificate</h1>
      {zones.data ? null : zones.error ? <ProblemMessage error={zones.error} /> : <Loading />}
      {zones.data ? (
        <form class="issue" onSubmit={submit} noValidate>
          <fieldset>
            <legend>Names</legend>
            <ZonePicker zones={zones.data} value={zone} onPick={setZone} />
            <label class="check">
              <input type="checkbox" checked={apex} onChange={(e) => setApex(e.currentTarget.checked)} /> the zone apex
            </label>
            <label class="check">
              <input type="checkbox" checked={wildcard} onChange={(e) => setWildcard(e.currentTarget.checked)} /> wildcard (*.zone)
            </label>
            <label>
              Names under the zone (e.g. <code>www api.eu</code>)
              <input value={labels} onInput={(e) => setLabels(e.currentTarget.value)} />
            </label>
            <label>
              Other full names
              <input
                value={extra}
                onInput={(e) => setExtra(e.currentTarget.value)}
                aria-invalid={errors.dnsNames ? true : undefined}
                aria-describedby={errors.dnsNames ? "names-error" : undefined}
              />
            </label>
            <p>
              Will request: <output data-testid="names">{names.length ? names.join(", ") : "no names yet"}</output>
            </p>
            <FieldError id="names-error" messages={errors.dnsNames} />
          </fieldset>
          <fieldset>
            <legend>Key and certificate</legend>
            <label>
              Certificate name (optional for ACME; derived from the first name)
              <input
                value={certificateName}
                onInput={(e) => setCertificateName(e.currentTarget.value)}
                aria-invalid={errors.certificateName ? true : undefined}
                aria-describedby={errors.certificateName ? "name-error" : undefined}
              />
            </label>
            <FieldError id="name-error" messages={errors.certificateName} />
            <label>
              Key type
              <select value={keyType} onChange={(e) => setKeyType(e.currentTarget.value)}>
                {KEY_TYPE_NAMES.map((k) => (
                  <option key={k}>{k}</option>
                ))}
              </select>
            </label>
            <FieldError id="key-error" messages={errors.keyType} />
            <label>
              Content type
              <select value={contentType} onChange={(e) => setContentType(e.currentTarget.value)}>
                {CONTENT_TYPE_NAMES.map((k) => (
                  <option key={k}>{k}</option>
                ))}
              </select>
            </label>
            <label class="check">
              <input type="checkbox" checked={exportable} onChange={(e) => setExportable(e.currentTarget.checked)} /> exportable private key
            </label>
            <label class="check">
              <input type="checkbox" checked={reuseKey} onChange={(e) => setReuseKey(e.currentTarget.checked)} /> reuse the key on renewal
            </label>
          </fieldset>
          <fieldset>
            <legend>How</legend>
            <label class="check">
              <input type="radio" name="mode" checked={mode === "acme"} onChange={() => setMode("acme")} /> issue now with ACME (DNS-01)
            </label>
            <label class="check">
              <input type="radio" name="mode" checked={mode === "csr"} onChange={() => setMode("csr")} /> create a CSR for another CA
              (pending operation)
            </label>
          </fieldset>
          <button type="submit" class="primary" disabled={busy || names.length === 0}>
            {mode === "acme" ? "Issue" : "Create CSR"}
          </button>
          {error && !Object.keys(errors).length ? <ProblemMessage error={error} /> : null}
          {error && Object.keys(errors).length ? (
            <p class="error" role="alert">
              {error.message}
            </p>
          ) : null}
        </form>
      ) : null}
      {location ? <OperationProgress key={location} location={location} /> : null}
      {location && issued ? (
        <p>
          <a href={`#/certificates/${enc(issued)}`}>Open {issued}</a>
        </p>
      ) : null}
    </main>
  );
}

/** A format-neutral, human-readable view of an event, shared by the Slack and Teams renderers. */
import type { NotifyEvent, ReportedError } from "../events";

export interface EventSummary {
  /** One line, e.g. "Certificate renewed: www-example-com". */
  title: string;
  /** One or two sentences. */
  text: string;
  facts: Array<{ title: string; value: string }>;
  tone: "good" | "warning" | "attention";
}

const MAX_LIST = 20;

/** `s` cut to at most `max` characters (code points), the cut marked with an ellipsis. */
export function truncate(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, Math.max(0, max - 1)).join("")}…`;
}

function list(items: string[]): string {
  if (items.length === 0) return "none";
  const shown = items.slice(0, MAX_LIST).join(", ");
  return items.length > MAX_LIST ? `${shown} (+${items.length - MAX_LIST} more)` : shown;
}

function describeError(e: ReportedError): string {
  const code = e.code ? ` ${e.code}` : "";
  const status = e.status ? ` (HTTP ${e.status})` : "";
  return `${e.source}${code}${status}: ${e.message}`;
}

function issuerLine(i: { subject: string; thumbprint?: string }): string {
  return i.thumbprint ? `${i.subject} (${i.thumbprint})` : i.subject;
}

/** Summarises any event for people. */
export function summarize(event: NotifyEvent): EventSummary {
  const e = event as NotifyEvent;
  switch (e.type) {
    case "certificate.issued":
    case "certificate.renewed": {
      const d = (e as NotifyEvent<"certificate.renewed">).data;
      const verb = e.type === "certificate.issued" ? "issued" : "renewed";
      const facts = [
        { title: "Certificate", value: d.certificateName },
        { title: "Names", value: list(d.dnsNames) },
        { title: "Version", value: d.version },
        { title: "Thumbprint", value: d.thumbprint },
        { title: "Valid until", value: d.notAfter },
        { title: "CA", value: d.caHost },
      ];
      if (d.reason) facts.push({ title: "Reason", value: d.reason });
      return {
        title: `Certificate ${verb}: ${d.certificateName}`,
        text: `${d.certificateName} was ${verb} by ${d.caHost}; valid until ${d.notAfter}.`,
        facts,
        tone: "good",
      };
    }
    case "certificate.renewal_failed": {
      const d = (e as NotifyEvent<"certificate.renewal_failed">).data;
      return {
        title: `Renewal failed: ${d.certificateName}`,
        text: `Renewal of ${d.certificateName} failed at step "${d.failedStep}" (attempt ${d.attempt}).`,
        facts: [
          { title: "Certificate", value: d.certificateName },
          { title: "Names", value: list(d.dnsNames) },
          { title: "Failed step", value: d.failedStep },
          { title: "Error", value: describeError(d.error) },
          { title: "Attempt", value: String(d.attempt) },
          { title: "Operation", value: d.operationId },
        ],
        tone: "attention",
      };
    }
    case "certificate.revoked": {
      const d = (e as NotifyEvent<"certificate.revoked">).data;
      const facts = [
        { title: "Certificate", value: d.certificateName },
        { title: "Version", value: d.version },
        { title: "Thumbprint", value: d.thumbprint },
      ];
      if (d.reasonCode !== undefined) facts.push({ title: "Reason code", value: String(d.reasonCode) });
      return {
        title: `Certificate revoked: ${d.certificateName}`,
        text: `Version ${d.version} of ${d.certificateName} was revoked at the CA.`,
        facts,
        tone: "warning",
      };
    }
    case "certificate.expiring": {
      const d = (e as NotifyEvent<"certificate.expiring">).data;
      const why =
        d.reason === "renewal-attempts-exhausted"
          ? `renewal still failing after ${d.failedAttempts ?? "several"} attempts`
          : "within the warning threshold";
      const facts = [
        { title: "Certificate", value: d.certificateName },
        { title: "Expires", value: d.notAfter },
        { title: "Days remaining", value: String(d.daysRemaining) },
        { title: "Why", value: why },
      ];
      if (d.lastError) facts.push({ title: "Last error", value: describeError(d.lastError) });
      return {
        title: `Certificate expiring in ${d.daysRemaining} days: ${d.certificateName}`,
        text: `${d.certificateName} expires ${d.notAfter} and has not been renewed (${why}).`,
        facts,
        tone: "attention",
      };
    }
    case "certificate.issuer_changed": {
      const d = (e as NotifyEvent<"certificate.issuer_changed">).data;
      return {
        title: `Issuer changed: ${d.certificateName}`,
        text: `Version ${d.version} of ${d.certificateName} was issued by ${issuerLine(d.issuer)}; the previous version ${d.previousVersion} by ${issuerLine(d.previousIssuer)}. Clusters that pin issuers must trust the new one.`,
        facts: [
          { title: "Certificate", value: d.certificateName },
          { title: "Version", value: d.version },
          { title: "Issuer", value: issuerLine(d.issuer) },
          { title: "Previous issuer", value: issuerLine(d.previousIssuer) },
          { title: "Issuer pins", value: list(d.issuerPins) },
        ],
        tone: "warning",
      };
    }
    case "certificate.issuer_rejected": {
      const d = (e as NotifyEvent<"certificate.issuer_rejected">).data;
      const facts = [
        { title: "Certificate", value: d.certificateName },
        { title: "Issuer", value: issuerLine(d.issuer) },
        { title: "Issuer pins", value: list(d.issuerPins) },
      ];
      if (d.currentVersion) facts.push({ title: "Current version (kept)", value: d.currentVersion });
      return {
        title: `New version refused (issuer not pinned): ${d.certificateName}`,
        text: d.message,
        facts,
        tone: "attention",
      };
    }
    case "certificate.lifetime_shortened": {
      const d = (e as NotifyEvent<"certificate.lifetime_shortened">).data;
      return {
        title: `Shorter lifetime: ${d.certificateName}`,
        text: `Version ${d.version} of ${d.certificateName} expires ${d.notAfter}, before the previous version ${d.previousVersion} (${d.previousNotAfter}). Older Service Fabric runtimes pick the latest NotAfter and would keep the previous one.`,
        facts: [
          { title: "Certificate", value: d.certificateName },
          { title: "Version", value: d.version },
          { title: "Valid until", value: d.notAfter },
          { title: "Previous version valid until", value: d.previousNotAfter },
        ],
        tone: "warning",
      };
    }
    case "renewal.summary": {
      const d = (e as NotifyEvent<"renewal.summary">).data;
      return {
        title: `Renewal run: ${d.counts.renewed} renewed, ${d.counts.failed} failed, ${d.counts.skipped} skipped`,
        text: `Renewal run ${d.runId} finished at ${d.finishedAt}.`,
        facts: [
          { title: "Renewed", value: list(d.renewed) },
          {
            title: "Failed",
            value: list(d.failed.map((f) => (f.failedStep ? `${f.certificateName} (${f.failedStep})` : f.certificateName))),
          },
          { title: "Skipped", value: String(d.counts.skipped) },
        ],
        tone: d.counts.failed > 0 ? "attention" : "good",
      };
    }
    case "certificate.installed": {
      const d = (e as NotifyEvent<"certificate.installed">).data;
      return {
        title: `Certificate installed on ${d.host}: ${d.certificateName}`,
        text: `Version ${d.version} of ${d.certificateName} is installed on ${d.host}.`,
        facts: [
          { title: "Host", value: d.host },
          { title: "Certificate", value: d.certificateName },
          { title: "Version", value: d.version },
          { title: "Thumbprint", value: d.thumbprint },
          { title: "Bindings updated", value: list(d.bindingsUpdated) },
        ],
        tone: "good",
      };
    }
    case "certificate.install_failed": {
      const d = (e as NotifyEvent<"certificate.install_failed">).data;
      return {
        title: `Install failed on ${d.host}: ${d.certificateName}`,
        text: `Installing version ${d.version} of ${d.certificateName} on ${d.host} failed at step "${d.failedStep}".`,
        facts: [
          { title: "Host", value: d.host },
          { title: "Certificate", value: d.certificateName },
          { title: "Version", value: d.version },
          { title: "Failed step", value: d.failedStep },
          { title: "Error", value: describeError(d.error) },
          { title: "Bindings updated", value: list(d.bindingsUpdated) },
        ],
        tone: "attention",
      };
    }
    case "certificate.host_stale": {
      const d = (e as NotifyEvent<"certificate.host_stale">).data;
      return {
        title: `Host stale: ${d.host}${d.certificateName ? ` (${d.certificateName})` : ""}`,
        text: d.message,
        facts: [
          { title: "Host", value: d.host },
          { title: "Reason", value: d.reason },
          ...(d.certificateName ? [{ title: "Certificate", value: d.certificateName }] : []),
          ...(d.installedVersion ? [{ title: "Installed version", value: d.installedVersion }] : []),
          { title: "Last seen", value: d.lastSeen },
          { title: "Agent version", value: d.agentVersion },
        ],
        tone: "attention",
      };
    }
    case "webhook.ping": {
      const d = (e as NotifyEvent<"webhook.ping">).data;
      return { title: "kv-acme webhook test", text: d.message, facts: [{ title: "Requested by", value: d.requestedBy }], tone: "good" };
    }
  }
}

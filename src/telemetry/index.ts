/**
 * Application Insights telemetry through applicationinsights v3 (OpenTelemetry + the Azure Monitor exporter).
 * Custom events (orchestration outcomes, webhook deliveries) go through the SDK's TelemetryClient, which emits
 * them as OpenTelemetry log records exported as EventData; the `certificate.days_to_expiry` metric is an
 * OpenTelemetry histogram exported as MetricData. The client uses isolated providers (no global
 * instrumentation), and flush() forces the exporters that otherwise run on an interval.
 */
import { TelemetryClient } from "applicationinsights";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import { ConfigurationError } from "../shared/errors";
import type { DeliveryResult } from "../notify/types";
import { isOperationId } from "./correlation";

export { operationIdFromTraceparent, newOperationId, isOperationId } from "./correlation";

/** Name of the per-certificate metric sent on every renewal scan. */
export const DAYS_TO_EXPIRY_METRIC = "certificate.days_to_expiry";
/** Name of the custom event sent for every webhook delivery. */
export const WEBHOOK_EVENT = "webhookDelivery";

export interface TelemetrySettings {
  /** APPLICATIONINSIGHTS_CONNECTION_STRING; telemetry is disabled without it. */
  connectionString?: string;
  /** Cloud role name shown in Application Insights (settings.telemetryRoleName: the Function App name in Azure). */
  roleName: string;
  /** Do not keep unsent telemetry on disk for a later retry (the exporter's offline storage). Default false. */
  disableOfflineStorage?: boolean;
}

/** The outcome of one orchestration (issue, renew, revoke, ...). */
export interface OutcomeTelemetry {
  /** e.g. `issueCertificate`, `renewCertificate`: the custom event name. */
  name: string;
  success: boolean;
  certificateName: string;
  namesCount: number;
  caHost: string;
  durationMs: number;
  failedStep?: string;
  error?: string;
  /** W3C trace id shared by the HTTP request, the orchestration and its activities. */
  operationId?: string;
  /** Thumbprint of the merged version's issuing intermediate. */
  issuer?: string;
  /** The merged version's issuer differs from the previous version's. */
  issuerChanged?: boolean;
  /** The merged version expires before the previous one. */
  lifetimeShortened?: boolean;
  /** What went wrong although the certificate was issued (e.g. its tags could not be written). */
  warnings?: string[];
}

/** A stale host found by the fleet timer (src/fleet/detect.ts). */
export interface HostStaleTelemetry {
  hostId: string;
  reason: string;
  certificateName?: string;
  installedVersion?: string;
  lastSeen: string;
}

/** The custom event of a stale host. */
export const HOST_STALE_EVENT = "fleet.hostStale";

export interface Telemetry {
  /** False when no connection string was given: every method is then a no-op. */
  readonly enabled: boolean;
  /** Why telemetry is disabled, when it is. */
  readonly disabledReason?: string;
  trackOutcome(outcome: OutcomeTelemetry): void;
  /** Records `certificate.days_to_expiry` for one managed certificate. */
  trackDaysToExpiry(certificateName: string, days: number, properties?: Record<string, string>): void;
  trackWebhook(result: DeliveryResult, operationId?: string): void;
  /** Records a stale host of the fleet (custom event `fleet.hostStale`). */
  trackHostStale(stale: HostStaleTelemetry): void;
  /** Sends everything queued now (the exporters otherwise run every few seconds). */
  flush(): Promise<void>;
  /** Flushes and stops the exporters. */
  shutdown(): Promise<void>;
}

const MAX_PROPERTY = 1000;

function clip(s: string): string {
  return s.length <= MAX_PROPERTY ? s : `${s.slice(0, MAX_PROPERTY - 1)}…`;
}

/** The parts of an OpenTelemetry SDK log record this module touches. */
interface MutableLogRecord {
  readonly attributes: Record<string, unknown>;
  spanContext?: { traceId: string; spanId: string; traceFlags: number };
}

/**
 * Sets the trace context of a log record from its `operationId` attribute, so the exporter writes it as
 * `ai.operation.id` (Application Insights' operation_Id). Runs inside the SDK's logger before export.
 */
class OperationIdLogProcessor {
  onEmit(record: MutableLogRecord): void {
    const id = record.attributes.operationId;
    if (isOperationId(id) && !record.spanContext) record.spanContext = { traceId: id, spanId: "", traceFlags: 1 };
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const disabled = (reason: string): Telemetry => ({
  enabled: false,
  disabledReason: reason,
  trackOutcome: () => undefined,
  trackDaysToExpiry: () => undefined,
  trackWebhook: () => undefined,
  trackHostStale: () => undefined,
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
});

/**
 * Creates the telemetry sink. Without a connection string it returns a disabled, no-op implementation
 * (`enabled: false`), not an error; a connection string without an InstrumentationKey is a ConfigurationError.
 */
export function createTelemetry(settings: TelemetrySettings): Telemetry {
  const connectionString = settings.connectionString?.trim();
  if (!connectionString) return disabled("no Application Insights connection string");
  if (!/(^|;)\s*InstrumentationKey\s*=\s*[^;\s]+/i.test(connectionString)) {
    throw new ConfigurationError("the Application Insights connection string has no InstrumentationKey");
  }
  const client = new TelemetryClient(connectionString, { useGlobalProviders: false });
  const options = client.config.azureMonitorOpenTelemetryOptions ?? {};
  client.config.azureMonitorOpenTelemetryOptions = {
    ...options,
    azureMonitorExporterOptions: {
      ...options.azureMonitorExporterOptions,
      connectionString,
      disableOfflineStorage: settings.disableOfflineStorage ?? false,
    },
    resource: defaultResource().merge(resourceFromAttributes({ "service.name": settings.roleName })),
    logRecordProcessors: [...(options.logRecordProcessors ?? []), new OperationIdLogProcessor()],
  };
  let closed = false;

  const event = (name: string, properties: Record<string, string | undefined>, measurements: Record<string, number>) => {
    if (closed) return;
    const props: Record<string, string> = {};
    for (const [k, v] of Object.entries(properties)) if (v !== undefined) props[k] = clip(v);
    client.trackEvent({ name, properties: props, measurements });
  };

  return {
    enabled: true,
    trackOutcome(o) {
      event(
        o.name,
        {
          success: String(o.success),
          certificateName: o.certificateName,
          namesCount: String(o.namesCount),
          caHost: o.caHost,
          failedStep: o.failedStep,
          error: o.error,
          operationId: o.operationId,
          issuer: o.issuer,
          issuerChanged: o.issuerChanged === undefined ? undefined : String(o.issuerChanged),
          lifetimeShortened: o.lifetimeShortened === undefined ? undefined : String(o.lifetimeShortened),
          warnings: o.warnings && o.warnings.length > 0 ? o.warnings.join("; ") : undefined,
        },
        { durationMs: o.durationMs, namesCount: o.namesCount },
      );
    },
    trackDaysToExpiry(certificateName, days, properties = {}) {
      if (closed) return;
      client.trackMetric({ name: DAYS_TO_EXPIRY_METRIC, value: days, properties: { ...properties, certificateName } });
    },
    trackWebhook(r, operationId) {
      event(
        WEBHOOK_EVENT,
        {
          target: r.target,
          format: r.format,
          eventType: r.eventType,
          eventId: r.eventId,
          success: String(r.ok),
          status: r.status === undefined ? undefined : String(r.status),
          error: r.error,
          operationId,
        },
        { attempts: r.attempts, durationMs: r.durationMs },
      );
    },
    trackHostStale(h) {
      event(
        HOST_STALE_EVENT,
        {
          hostId: h.hostId,
          reason: h.reason,
          certificateName: h.certificateName,
          installedVersion: h.installedVersion,
          lastSeen: h.lastSeen,
        },
        {},
      );
    },
    flush: () => (closed ? Promise.resolve() : client.flush()),
    async shutdown() {
      if (closed) return;
      closed = true;
      await client.flush();
      await client.shutdown();
    },
  };
}

/**
 * Sends the agent's install outcomes (certificate.installed / certificate.install_failed) to the webhooks of its
 * settings (`kvAcme.webhooks`), through the same notify module the Function App uses: same formats, signatures,
 * retries and key-material guard. A webhook failure is logged and never affects the install.
 */
import {
  eventSource,
  certificateInstalled,
  certificateInstallFailed,
  notifyAll,
  sniffWebhookFormat,
  type WebhookTargetSettings,
} from "../notify";
import type { AgentEvent, AgentLogger } from "./poller";
import type { WebhookSettings } from "./settings";

/** Maps the agent's webhook settings to notify targets: `kind` is the format (src/notify/formats/registry.ts; default by host). */
export function agentWebhookTargets(webhooks: readonly WebhookSettings[]): WebhookTargetSettings[] {
  return webhooks.map((w) => ({
    url: w.url,
    format: w.kind ?? sniffWebhookFormat(w.url),
    events: ["certificate.install*"],
    ...(w.secret ? { secret: w.secret } : {}),
    ...(w.secondarySecret ? { secondarySecret: w.secondarySecret } : {}),
    ...(w.legacySecret ? { legacySecret: w.legacySecret } : {}),
  }));
}

/** A `report` callback for runAgent that delivers each event to every target. */
export function webhookReporter(
  webhooks: readonly WebhookSettings[],
  logger: AgentLogger,
  options: { timeoutMs?: number; maxAttempts?: number } = {},
) {
  const targets = agentWebhookTargets(webhooks);
  return async (event: AgentEvent): Promise<void> => {
    if (targets.length === 0) return;
    const source = eventSource(["agent", event.host]);
    const notifyEvent =
      event.type === "certificate.installed"
        ? certificateInstalled(
            {
              host: event.host,
              certificateName: event.certificateName,
              version: event.version,
              thumbprint: event.thumbprint ?? "",
              bindingsUpdated: event.bindingsUpdated,
            },
            { source },
          )
        : certificateInstallFailed(
            {
              host: event.host,
              certificateName: event.certificateName,
              version: event.version,
              ...(event.thumbprint ? { thumbprint: event.thumbprint } : {}),
              failedStep: "install",
              error: { source: "agent", message: event.error ?? "install failed" },
              bindingsUpdated: event.bindingsUpdated,
            },
            { source },
          );
    const results = await notifyAll(targets, notifyEvent, {
      timeoutMs: options.timeoutMs ?? 10_000,
      maxAttempts: options.maxAttempts ?? 3,
    });
    for (const r of results) {
      if (!r.ok) logger.warn("webhook delivery failed", { target: r.target, attempts: r.attempts, error: r.error ?? `HTTP ${r.status}` });
    }
  };
}

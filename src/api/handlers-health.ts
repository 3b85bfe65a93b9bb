/**
 * `GET /api/health[?ping=true]` (role Read): the doctor's checks as the deployed app sees them, with its own
 * identity and settings (docs/api.md). 200 when every check passes, 503 otherwise; the body is the same report
 * `kv-acme doctor --json` prints. `ping=true` also sends a signed `webhook.ping` event to every webhook target.
 */
import { runDoctorWith } from "../doctor";
import { ValidationError } from "../shared/errors";
import type { Handler } from "./handlers";
import { json } from "./http";

export const health: Handler = async (req, ctx) => {
  const ping = new URL(req.url, "http://localhost").searchParams.get("ping");
  if (ping !== null && ping !== "true" && ping !== "false") {
    throw new ValidationError([{ field: "ping", message: 'must be "true" or "false"' }]);
  }
  // The app's own clients: every configured vault, each with its own managed identity where it has one.
  const report = await runDoctorWith(ctx.runtime.settings, ctx.runtime.credential, { ping: ping === "true", deps: ctx.runtime.deps });
  return json(report.ok ? 200 : 503, report);
};

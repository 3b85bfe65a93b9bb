/**
 * The certificate controls on the command line, shared by the local and the --endpoint CLI (issue and names):
 * `--preferred-chain NAME`, `--profile NAME` ("" clears the certificate's own), `--tag KEY=VALUE` (repeatable; the
 * certificate's tags become exactly these) and `--clear-tags`. The request's own validation checks the values.
 */
import { ValidationError } from "../shared/errors";

/** parseArgs options of the controls. */
export const CONTROL_OPTIONS = {
  "preferred-chain": { type: "string" },
  profile: { type: "string" },
  tag: { type: "string", multiple: true },
  "clear-tags": { type: "boolean" },
} as const;

export interface ControlValues {
  "preferred-chain"?: string;
  profile?: string;
  tag?: string[];
  "clear-tags"?: boolean;
}

function usageError(message: string): ValidationError {
  return new ValidationError([{ field: "arguments", message }]);
}

/** The request fields the options set: `{ preferredChain?, profile?, tags? }`. */
export function controlsFrom(values: ControlValues): { preferredChain?: string; profile?: string; tags?: Record<string, string> } {
  if (values["clear-tags"] && values.tag) throw usageError("--tag and --clear-tags exclude each other");
  const out: { preferredChain?: string; profile?: string; tags?: Record<string, string> } = {};
  if (values["preferred-chain"] !== undefined) out.preferredChain = values["preferred-chain"];
  if (values.profile !== undefined) out.profile = values.profile;
  if (values["clear-tags"]) out.tags = {};
  if (values.tag) {
    const tags: Record<string, string> = {};
    for (const t of values.tag) {
      const at = t.indexOf("=");
      if (at <= 0) throw usageError(`--tag ${t}: write KEY=VALUE`);
      tags[t.slice(0, at)] = t.slice(at + 1);
    }
    out.tags = tags;
  }
  return out;
}

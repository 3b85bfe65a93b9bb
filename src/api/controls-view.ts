/** The certificate controls as the API shows them (list, detail): its own preferred chain, ACME profile and custom tags. */
import { customTagsOf } from "../keyvault/custom-tags";
import { readManagedTags } from "../keyvault/tags";
import type { CertificateSummary } from "./views";

/** From a version's tags; absent fields are left out (an empty set of custom tags too). */
export function controlsView(
  tags: Record<string, string> | undefined,
): Pick<CertificateSummary, "preferredChain" | "profile" | "customTags"> {
  const managed = readManagedTags(tags);
  const custom = customTagsOf(tags);
  return {
    ...(managed.preferredChain !== undefined ? { preferredChain: managed.preferredChain } : {}),
    ...(managed.profile !== undefined ? { profile: managed.profile } : {}),
    ...(Object.keys(custom).length > 0 ? { customTags: custom } : {}),
  };
}

/** Writes docs/settings.md and docs/dns-providers.md from the settings descriptors: `npx tsx src/config/write-doc.ts`. */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { renderDnsProvidersDoc } from "../dns/doc";
import { renderSettingsDoc } from "./doc";

for (const [file, text] of [
  ["settings.md", renderSettingsDoc()],
  ["dns-providers.md", renderDnsProvidersDoc()],
] as const) {
  const target = path.resolve(__dirname, "../../docs", file);
  writeFileSync(target, text);
  process.stderr.write(`wrote ${target}\n`);
}

/** Writes docs/settings.md from the settings descriptor table: `npx tsx src/config/write-doc.ts`. */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { renderSettingsDoc } from "./doc";

const target = path.resolve(__dirname, "../../docs/settings.md");
writeFileSync(target, renderSettingsDoc());
process.stderr.write(`wrote ${target}\n`);

/** Where the function app's root (the folder holding host.json) is, from the running code's own location. */
import { existsSync } from "node:fs";
import path from "node:path";

/**
 * The nearest folder at or above `from` that holds host.json: the repository root under tsx, the deployed package's
 * root in Azure (host.json, package.json and dist/ side by side). Throws when there is none.
 */
export function findAppRoot(from: string = __dirname): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "host.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no host.json at or above ${from}: cannot find the function app's root`);
  }
}

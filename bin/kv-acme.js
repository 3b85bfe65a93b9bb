#!/usr/bin/env node
// Entry point of the `kv-acme` CLI. In a source checkout it runs the TypeScript through tsx (so it can never run a
// stale build); in a package built without sources it runs the compiled CLI from dist/.
const path = require("node:path");
const fs = require("node:fs");
const source = path.join(__dirname, "..", "src", "cli", "main.ts");
if (fs.existsSync(source)) {
  try {
    require.resolve("tsx/cjs");
  } catch {
    process.stderr.write(
      "kv-acme: the npm packages are not installed in this checkout: run `npm ci` in " + path.join(__dirname, "..") + " first\n",
    );
    process.exit(78);
  }
  require("tsx/cjs");
  require(source);
} else {
  require(path.join(__dirname, "..", "dist", "src", "cli", "main.js"));
}

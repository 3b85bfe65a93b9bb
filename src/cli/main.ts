/** Entry point of the `kv-acme` CLI (bin/kv-acme.js): the only place that reads process.env and argv. */
import { spawnSync } from "node:child_process";
import { runCli } from "./run";

void runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  stderrIsTTY: process.stderr.isTTY,
  columns: process.stderr.columns,
  reexec: (env) => {
    const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      env: { ...process.env, ...env },
      stdio: "inherit",
    });
    return child.status ?? 1;
  },
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`kv-acme: unexpected error: ${String(err)}\n`);
    process.exitCode = 1;
  },
);

/**
 * How a Windows store step runs: constant PowerShell text plus its input, the input written on powershell.exe's
 * standard input as base64 JSON decoded into `$KvAcme` before the script runs, so no value (secret material, store
 * names, accounts, site names, netsh-parsed settings) is ever part of the script text or a command line.
 */
import { spawn } from "node:child_process";

export interface ExecutorResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * One PowerShell step: constant script text that reads every value from `$KvAcme` (the decoded `input`), so no
 * value (a store name, an account, a site name, a netsh-parsed setting, secret material) is ever part of the code.
 */
export interface PsCommand {
  script: string;
  input: Record<string, unknown>;
}

/** Runs a PowerShell command; its input reaches the script only as data (`$KvAcme`), never as text of the script. */
export interface Executor {
  run(command: PsCommand): Promise<ExecutorResult>;
}

/**
 * What the executor writes on stdin (pure): `$KvAcme` decoded from base64 JSON (the base64 alphabet cannot end a
 * single-quoted literal), then the script as one script block.
 */
export function powershellStdin(command: PsCommand): string {
  const data = Buffer.from(JSON.stringify(command.input), "utf8").toString("base64");
  const decode = `$KvAcme = [System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('${data}')) | ConvertFrom-Json\n`;
  return `${decode}& {\n$ErrorActionPreference = 'Stop'\ntry {\n${command.script}\n} catch { [Console]::Error.WriteLine($_.Exception.Message); exit 1 }\n}\n\nexit 0\n`;
}

/** The real executor: `powershell.exe -NoProfile -NonInteractive -Command -` with everything on stdin. */
export function createPowerShellExecutor(binary = "powershell.exe"): Executor {
  return {
    run(command) {
      return new Promise((resolve, reject) => {
        const child = spawn(binary, ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", "-"], {
          stdio: ["pipe", "pipe", "pipe"],
          windowsHide: true,
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d.toString()));
        child.stderr.on("data", (d) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
        child.stdin.end(powershellStdin(command));
      });
    },
  };
}

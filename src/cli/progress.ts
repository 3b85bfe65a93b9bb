/**
 * The progress line of long CLI work (renew --all-due, doctor): on a terminal, one line on stderr rewritten in place
 * (`[3/40] www-example-com`); nothing when stderr is not a terminal or with --quiet, so logs and `--json` output
 * (stdout) never mix with it.
 */
export interface Progress {
  /** Item `n` of `total` (total unknown: undefined) is `label`. */
  update(n: number, total: number | undefined, label: string): void;
  /** Clears the line. */
  done(): void;
}

export function createProgress(
  io: { stderr: (text: string) => void; stderrIsTTY?: boolean; columns?: number },
  options: { quiet: boolean },
): Progress {
  if (options.quiet || !io.stderrIsTTY) return { update: () => undefined, done: () => undefined };
  const width = Math.max(20, (io.columns ?? 80) - 1);
  let shown = false;
  return {
    update(n, total, label) {
      const text = `[${n}${total === undefined ? "" : `/${total}`}] ${label}`;
      io.stderr(`\r\u001b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
      shown = true;
    },
    done() {
      if (shown) io.stderr("\r\u001b[2K");
      shown = false;
    },
  };
}

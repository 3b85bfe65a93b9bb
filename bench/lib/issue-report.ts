/**
 * The JSON summary of bench/issue-latency.ts: per contender the median and spread of its runs, its peak RSS and
 * failures; the ratios of every peer's median over kv-acme's; the run's targets and whether they were met.
 */
import { round, summarize, type Summary } from "./stats";
import { DNS_TARGETS, type BenchDns } from "./issue-dns";
import type { ToolName } from "./issue-tools";

export interface ToolReport extends Partial<Summary> {
  peakRssMb?: number;
  /** kv-acme only: peak RSS once modules are loaded and clients built, before the first certificate. */
  startupRssMb?: number;
  /** kv-acme only: how the runner ran ("node (tsc output)" or "node --import tsx"). */
  runtime?: string;
  runsMs: number[];
  failures: number;
  /** Runs after which `_acme-challenge.<name>` still had TXT values (should be 0). */
  leftoverTxtRuns: number;
  errors?: string[];
  error?: string;
}

export function emptyReport(): ToolReport {
  return { runsMs: [], failures: 0, leftoverTxtRuns: 0 };
}

/** The report with its summary computed and the figures first. */
export function finishReport(report: ToolReport, peaks: number[], runtime?: string): ToolReport {
  if (report.runsMs.length > 0) Object.assign(report, summarize(report.runsMs));
  else report.error ??= `every run failed: ${report.errors?.[0] ?? "no runs"}`;
  return {
    medianMs: report.medianMs,
    p90Ms: report.p90Ms,
    minMs: report.minMs,
    maxMs: report.maxMs,
    peakRssMb: peaks.length > 0 ? round(Math.max(...peaks)) : undefined,
    ...(report.startupRssMb !== undefined ? { startupRssMb: report.startupRssMb } : {}),
    ...(runtime !== undefined ? { runtime } : {}),
    runsMs: report.runsMs,
    failures: report.failures,
    leftoverTxtRuns: report.leftoverTxtRuns,
    ...(report.errors ? { errors: report.errors } : {}),
    ...(report.error ? { error: report.error } : {}),
  };
}

/** Each peer's median over kv-acme's (how many times faster kv-acme is), two decimals; null without both medians. */
export function ratiosOf(reports: Partial<Record<ToolName, ToolReport>>): {
  certbotOverKvAcme: number | null;
  legoOverKvAcme: number | null;
} {
  const ratio = (other: ToolName): number | null => {
    const ours = reports.kvAcme?.medianMs;
    const theirs = reports[other]?.medianMs;
    return ours && theirs ? Math.round((theirs / ours) * 100) / 100 : null;
  };
  return { certbotOverKvAcme: ratio("certbot"), legoOverKvAcme: ratio("lego") };
}

/** The run's targets (./issue-dns.ts DNS_TARGETS) and, for each, whether it was met (null: not measured). */
export function targetsOf(dns: BenchDns, reports: Partial<Record<ToolName, ToolReport>>, leftoverTotal: number) {
  const t = DNS_TARGETS[dns];
  const kv = reports.kvAcme;
  const ratios = ratiosOf(reports);
  const atLeast = (r: number | null) => (r === null ? null : r >= t.peerOverKvAcmeMin);
  return {
    ...t,
    leftoverTxtMax: 0,
    met: {
      ...(t.kvAcmeMedianMsMax !== undefined
        ? { kvAcmeMedian: kv?.medianMs !== undefined ? kv.medianMs <= t.kvAcmeMedianMsMax : null }
        : {}),
      ...(t.kvAcmePeakRssMbMax !== undefined
        ? { kvAcmePeakRss: kv?.peakRssMb !== undefined ? kv.peakRssMb <= t.kvAcmePeakRssMbMax : null }
        : {}),
      ...(reports.certbot ? { certbotRatio: atLeast(ratios.certbotOverKvAcme) } : {}),
      ...(reports.lego ? { legoRatio: atLeast(ratios.legoOverKvAcme) } : {}),
      noLeftoverTxt: leftoverTotal === 0,
    },
  };
}

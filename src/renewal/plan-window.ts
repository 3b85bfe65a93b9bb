/**
 * A certificate's planning window: the span in which the renewal planner (./plan) places its renewal, and the moment
 * it aims at inside it. Pure.
 *
 * - With a usable ARI window (RFC 9773): the CA's window, cut at the safety point. Renewing inside it keeps the
 *   renewal exempt from Let's Encrypt's limits.
 * - Without: from the moment the renewal rules make it due (./decide), opened at least SPREAD_FRACTION of the lifetime
 *   before the safety point, to the safety point.
 * - The safety point is SAFETY_FRACTION of the lifetime before the moment a third of the lifetime is left, which no
 *   plan passes (Let's Encrypt's backstop: renew with a third of the lifetime left).
 * - The aim is a deterministic per-certificate offset in the window's first 90 % (a hash of the name and the expiry),
 *   so renewals that fall due together spread over their windows, every run computes the same moment for a
 *   certificate, and one held back by a limit for a while still starts inside its window.
 */

/** How far before the safety point a non-ARI window opens at the latest (share of the lifetime). */
export const SPREAD_FRACTION = 0.05;
/** How far before "a third of the lifetime left" the window closes (share of the lifetime). */
export const SAFETY_FRACTION = 0.02;
/**
 * The share of a window kept free at its end: aims fall in the first 90 %, so a renewal a limit (or the executor's
 * pace) holds back for a while still starts before its window closes (aimed seconds before the close, a 6-day
 * certificate held by the pace started after it: 36 of 2 million renewals in the 100,000 x 365-day simulation).
 */
export const AIM_MARGIN_FRACTION = 0.1;

export interface WindowInput {
  name: string;
  notBefore: Date;
  notAfter: Date;
  /** When the renewal rules make it due (decide's renewalTime, after any backoff). */
  dueAt: Date;
  /** The CA's suggested window, when it gave one. */
  ariWindow?: { start: Date; end: Date };
}

export interface PlanWindow {
  open: Date;
  close: Date;
  /** The moment aimed at: open + a per-certificate fraction of the window. */
  aim: Date;
  /** Whether the window is the CA's ARI window. */
  ari: boolean;
  /** The moment a third of the lifetime is left. */
  thirdLeft: Date;
}

/** A deterministic fraction in [0, 1) from a string (FNV-1a, 32 bits). */
export function offsetFraction(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 0x1_0000_0000;
}

/** The planning window of one certificate (see the module comment). */
export function planWindow(c: WindowInput): PlanWindow {
  const nb = c.notBefore.getTime();
  const na = c.notAfter.getTime();
  const lifetime = na - nb;
  const thirdLeft = na - lifetime / 3;
  const safe = thirdLeft - lifetime * SAFETY_FRACTION;
  let open: number;
  let close: number;
  let ari = false;
  const w = c.ariWindow;
  if (w && w.end.getTime() > w.start.getTime() && w.start.getTime() < na) {
    ari = true;
    close = Math.min(w.end.getTime(), safe);
    open = Math.min(w.start.getTime(), close);
  } else {
    close = safe;
    open = Math.min(c.dueAt.getTime(), close - lifetime * SPREAD_FRACTION);
  }
  const aim = open + Math.floor(offsetFraction(`${c.name}@${c.notAfter.getTime()}`) * (close - open) * (1 - AIM_MARGIN_FRACTION));
  return { open: new Date(open), close: new Date(close), aim: new Date(aim), ari, thirdLeft: new Date(thirdLeft) };
}

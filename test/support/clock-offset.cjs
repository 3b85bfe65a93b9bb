// Preloaded into a child process (`node --require`) so it runs on the test's JumpingClock: Date (now() and
// `new Date()`) reads the wall clock plus KVACME_TEST_CLOCK_OFFSET_MS, the jumps the test made on the host's clock.
// Test support only; nothing in src/ reads the variable.
/* global process */
"use strict";
const offset = Number(process.env.KVACME_TEST_CLOCK_OFFSET_MS ?? "0");
if (!Number.isFinite(offset))
  throw new Error(`KVACME_TEST_CLOCK_OFFSET_MS must be a number of ms, got ${process.env.KVACME_TEST_CLOCK_OFFSET_MS}`);
if (offset !== 0) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  class ShiftedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(realNow() + offset);
      else super(...args);
    }
    static now() {
      return realNow() + offset;
    }
  }
  globalThis.Date = ShiftedDate;
}

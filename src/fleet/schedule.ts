/** NCRONTAB of the fleet timer (functions/timer.ts): every 15 minutes; a host is stale after hours, so this is precise enough. */
export const FLEET_SCHEDULE = "0 */15 * * * *";

/** Webhooks: event model, formats (CloudEvents, Slack, Teams), signatures and delivery with retries. */
export * from "./types";
export * from "./events";
export * from "./guard";
export * from "./signing";
export * from "./retry";
export * from "./deliver";
export * from "./formats";

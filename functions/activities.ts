/** Durable activities: one registration per step; implementations in src/app/activities.ts. */
import type { InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { activities } from "../src/app/activities";

for (const [name, impl] of Object.entries(activities)) {
  df.app.activity(name, { handler: (input: unknown, context: InvocationContext) => impl(input as never, context) });
}

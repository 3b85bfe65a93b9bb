/**
 * Durable activities: one registration per step; implementations in src/app/activities.ts. Activities that read
 * orchestration state (src/app/client-activities.ts) also get the durable client input binding.
 */
import type { InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { activities } from "../src/app/activities";
import { clientActivities } from "../src/app/client-activities";

for (const [name, impl] of Object.entries(activities)) {
  df.app.activity(name, { handler: (input: unknown, context: InvocationContext) => impl(input as never, context) });
}
for (const [name, impl] of Object.entries(clientActivities)) {
  df.app.activity(name, {
    extraInputs: [df.input.durableClient()],
    handler: (input: unknown, context: InvocationContext) => impl(input as never, df.getClient(context)),
  });
}

/** A function app with a durable entity, which the local host refuses at registration. */
import * as df from "durable-functions";

df.app.entity("counter", (ctx) => {
  ctx.df.setState(((ctx.df.getState() as number | undefined) ?? 0) + 1);
});

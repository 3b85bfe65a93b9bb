/**
 * The HTTP API registrations: every route of src/api/routes.ts twice —
 *   /api/<route>             authLevel "anonymous", callers authorized by App Service Authentication roles (fail closed)
 *   /api/automation/<route>  authLevel "function": the Functions host checks the function key
 * host.json sets routePrefix "" (the dashboard is served at /), so each route names its api/ prefix itself.
 * Routes that start or read durable operations get the durable client (df.app.client.http). Logic lives in src/api.
 */
import { app, type HttpRequest, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { API_ROUTES, runRoute, toApiRequest, toResponseInit, type ApiRoute } from "../src/api/routes";
import type { OperationsClient } from "../src/api/operations";

function register(route: ApiRoute, automation: boolean): void {
  const name = `${automation ? "automation" : "api"}-${route.name}`;
  const options = {
    route: automation ? `api/automation/${route.route}` : `api/${route.route}`,
    methods: [route.method],
    authLevel: automation ? ("function" as const) : ("anonymous" as const),
  };
  const run = async (request: HttpRequest, context: InvocationContext, client?: OperationsClient) =>
    toResponseInit(
      await runRoute(route, await toApiRequest(request), { viaFunctionKey: automation, client, logError: (m) => context.error(m) }),
    );
  if (route.durable) df.app.client.http(name, { ...options, handler: (request, client, context) => run(request, context, client) });
  else app.http(name, { ...options, handler: (request, context) => run(request, context) });
}

for (const route of API_ROUTES) {
  register(route, false);
  register(route, true);
}

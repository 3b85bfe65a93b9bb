/**
 * The dashboard: GET / (redirect) and /dashboard/* (the prebuilt bundle), anonymous like the user API routes; the
 * page calls the same /api routes with the caller's App Service Authentication session, so the API still decides
 * what each user may do. One catch-all route (literal routes such as api/... win over it); logic in src/dashboard.
 */
import { app } from "@azure/functions";
import { DashboardBundle, serveDashboard } from "../src/dashboard/serve";

let bundle: DashboardBundle | undefined | null = null;

app.http("dashboard", {
  route: "{*path}",
  methods: ["GET", "HEAD"],
  authLevel: "anonymous",
  handler: async (request) => {
    if (bundle === null || bundle === undefined) bundle = DashboardBundle.load();
    const res = serveDashboard(bundle, new URL(request.url).pathname, request.headers);
    return { status: res.status, headers: res.headers, body: res.body };
  },
});

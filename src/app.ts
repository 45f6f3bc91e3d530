/**
 * Builds the Hono app: request ids first, then the routes (each with its own auth and body
 * middleware, see routes/route.ts), then the single error path — onError and notFound render
 * every failure as problem+json — and the OpenAPI document generated from the zod schemas. A
 * plain JSON POST /events is answered before the app, by routes/publish-fast.ts.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./context.js";
import { AppError, errorResponse, problemResponse, validationError } from "./errors.js";
import { requestId } from "./middleware/request-id.js";
import { cache } from "./routes/cache.js";
import { consolePages } from "./routes/console.js";
import { deliveryLogRoutes } from "./routes/delivery-log.js";
import { docs } from "./routes/docs.js";
import { events } from "./routes/events.js";
import { health } from "./routes/health.js";
import { liveTail } from "./routes/live-tail.js";
import { orders } from "./routes/orders.js";
import { pulls } from "./routes/pull.js";
import { replays } from "./routes/replays.js";
import { schemas } from "./routes/schemas.js";
import { stats } from "./routes/stats.js";
import { subscriptions } from "./routes/subscriptions.js";
import { tasks } from "./routes/tasks.js";
import { tenants } from "./routes/tenants.js";
import { webhookDeliveries } from "./routes/webhook-deliveries.js";
import { webhooks } from "./routes/webhooks.js";
import { workers } from "./routes/workers.js";

export function buildApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    // `/subscriptions/` routes like `/subscriptions`, for every method: matched as is, no redirect.
    strict: false,
    // One zod hook for every route: validation failures become the same problem body as all errors.
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target === "json" ? "body" : result.target);
    },
  });

  // Whatever applies to every request here must apply in routes/publish-fast.ts too.
  app.use("*", requestId);
  app.route("/", health);
  app.route("/", tenants);
  app.route("/", events);
  app.route("/", liveTail);
  app.route("/", subscriptions);
  app.route("/", webhooks);
  app.route("/", webhookDeliveries);
  app.route("/", deliveryLogRoutes("webhooks"));
  app.route("/", deliveryLogRoutes("subscriptions"));
  app.route("/", pulls);
  app.route("/", replays);
  app.route("/", tasks);
  app.route("/", workers);
  app.route("/", cache);
  app.route("/", orders);
  app.route("/", schemas);
  app.route("/", stats);

  app.openAPIRegistry.registerComponent("securitySchemes", "Bearer", { type: "http", scheme: "bearer" });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "edgebus",
      version: "0.1.0",
      description: "Durable ordered events, signed webhooks, work queues and event-driven caching on Cloudflare Workers.",
    },
    servers: [{ url: "/", description: "This deployment" }],
  });
  app.route("/", docs);
  app.route("/", consolePages);

  const allowed = allowedMethods(app);
  app.notFound((c) => {
    const methods = allowed(new URL(c.req.url).pathname);
    if (methods.length > 0) {
      return problemResponse(
        c,
        new AppError("METHOD_NOT_ALLOWED", `${c.req.method} is not allowed here; use ${methods.join(", ")}.`, undefined, {
          allow: methods.join(", "),
        }),
      );
    }
    return problemResponse(c, new AppError("ROUTE_NOT_FOUND", `No route ${c.req.method} ${new URL(c.req.url).pathname}.`));
  });

  app.onError((err, c) => errorResponse(err, c.get("requestId") ?? "unknown"));
  return app;
}

/** For 405: which methods some route accepts for a path (computed once from the route table). */
function allowedMethods(app: OpenAPIHono<AppEnv>): (path: string) => string[] {
  let table: Array<{ re: RegExp; method: string }> | undefined;
  return (path) => {
    table ??= app.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => ({
        method: r.method,
        re: new RegExp(`^${r.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z0-9_]+/g, "[^/]+")}/?$`),
      }));
    return [...new Set(table.filter((r) => r.re.test(path)).map((r) => r.method))];
  };
}

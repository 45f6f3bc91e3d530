/** Liveness: no auth, no storage — the benchmark's baseline. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";

const HealthSchema = z.object({ status: z.literal("ok"), environment: z.string() }).openapi("Health");

// Sub-apps are built statement by statement (not chained) so their exported type stays
// OpenAPIHono<AppEnv>: mounting a chained app's accumulated route types costs tsc minutes.
export const health = new OpenAPIHono<AppEnv>();

health.openapi(
  createRoute({
    method: "get",
    path: "/health",
    operationId: "getHealth",
    tags: ["system"],
    summary: "Liveness check",
    security: [], // public: no API key
    responses: { 200: { description: "Up", content: { "application/json": { schema: HealthSchema } } } },
  }),
  (c) => c.json({ status: "ok" as const, environment: c.env.ENVIRONMENT }, 200),
);

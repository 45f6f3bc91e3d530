/** /stats — the tenant's figures in one call (the console's overview): built in services/stats.ts. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { jsonContent } from "../schemas/common.js";
import { StatsSchema } from "../schemas/stats.js";
import { tenantStats } from "../services/stats.js";
import { tenantRoute } from "./route.js";

export const stats = new OpenAPIHono<AppEnv>();

stats.openapi(
  tenantRoute({
    method: "get",
    path: "/stats",
    scope: "events:read",
    operationId: "getStats",
    tags: ["events"],
    summary: "The tenant's figures: events accepted, deliveries, tasks by status, cache hits",
    description:
      "Events and cache reads are counted where they happen and reported every few seconds, so those figures trail by about 5 s; deliveries and tasks are counted when asked. Only the caller's tenant is counted.",
    responses: { 200: jsonContent(StatsSchema, "The tenant's figures") },
  }),
  async (c) => c.json(await tenantStats(c.env, c.var.principal.tenantId), 200),
);

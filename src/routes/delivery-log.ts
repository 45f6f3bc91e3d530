/**
 * The delivery log, redelivery and recovery, served twice: under /webhooks/:id (webhooks only)
 * and under /subscriptions/:id (push and pull subscriptions alike).
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { IdParam, jsonBody, jsonContent } from "../schemas/common.js";
import { DeliveryLogQuery, DeliveryLogSchema, RecoverSchema } from "../schemas/webhook.js";
import { deliveryLog, recoverSince, redeliverOne, type Via } from "../services/webhooks.js";
import { tenantRoute } from "./route.js";

export function deliveryLogRoutes(via: Via): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  const noun = via === "webhooks" ? "Webhook" : "Subscription";
  const tags = [via];

  app.openapi(
    tenantRoute({
      method: "get",
      path: `/${via}/{id}/deliveries`,
      scope: "subscriptions:read",
      operationId: `list${noun}Deliveries`,
      tags,
      summary: `The ${noun.toLowerCase()}'s delivery log, newest first, with every attempt`,
      request: { params: IdParam, query: DeliveryLogQuery },
      responses: { 200: jsonContent(DeliveryLogSchema, "A page of deliveries") },
    }),
    async (c) => {
      const { status, cursor } = c.req.valid("query");
      return c.json(await deliveryLog(c.env, c.var.principal.tenantId, c.req.valid("param").id, status, cursor, via), 200);
    },
  );

  app.openapi(
    tenantRoute({
      method: "post",
      path: `/${via}/{id}/deliveries/{deliveryId}/redeliver`,
      scope: "deliveries:write",
      operationId: `redeliver${noun}Delivery`,
      tags,
      summary: "Send one delivery again (a fresh attempt budget); the body may be empty",
      request: {
        params: IdParam.extend({
          deliveryId: z
            .string()
            .max(64)
            .openapi({ param: { name: "deliveryId", in: "path" } }),
        }),
      },
      responses: { 202: jsonContent(z.object({ deliveryId: z.string(), status: z.literal("PENDING") }), "Queued again") },
    }),
    async (c) => {
      const { id, deliveryId } = c.req.valid("param");
      await redeliverOne(c.env, c.var.principal.tenantId, id, deliveryId, via);
      return c.json({ deliveryId, status: "PENDING" as const }, 202);
    },
  );

  app.openapi(
    tenantRoute({
      method: "post",
      path: `/${via}/{id}/recover`,
      scope: "deliveries:write",
      operationId: `recover${noun}Deliveries`,
      tags,
      summary: "Send again every failed (or dropped) delivery since a time, oldest first",
      request: { params: IdParam, body: jsonBody(RecoverSchema) },
      responses: { 202: jsonContent(z.object({ recovered: z.number().int() }), "How many were queued again") },
    }),
    async (c) => {
      const recovered = await recoverSince(
        c.env,
        c.var.principal.tenantId,
        c.req.valid("param").id,
        Date.parse(c.req.valid("json").since),
        via,
      );
      return c.json({ recovered }, 202);
    },
  );
  return app;
}

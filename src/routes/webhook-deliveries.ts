/** A webhook's delivery log, redelivery, recovery, secret rotation and test sends. */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { IdParam, jsonBody, jsonContent } from "../schemas/common.js";
import {
  DeliveryLogQuery,
  DeliveryLogSchema,
  RecoverSchema,
  RotatedSchema,
  RotateSecretSchema,
  TestResultSchema,
} from "../schemas/webhook.js";
import { deliveryLog, recoverSince, redeliverOne, rotateSecret, sendTest } from "../services/webhooks.js";
import { tenantRoute } from "./route.js";

const tags = ["webhooks"];

export const webhookDeliveries = new OpenAPIHono<AppEnv>();

webhookDeliveries.openapi(
  tenantRoute({
    method: "get",
    path: "/webhooks/{id}/deliveries",
    scope: "subscriptions:read",
    operationId: "listWebhookDeliveries",
    tags,
    summary: "The webhook's delivery log, newest first, with every attempt",
    request: { params: IdParam, query: DeliveryLogQuery },
    responses: { 200: jsonContent(DeliveryLogSchema, "A page of deliveries") },
  }),
  async (c) => {
    const { tenantId } = c.var.principal;
    const { id } = c.req.valid("param");
    const { status, cursor } = c.req.valid("query");
    return c.json(await deliveryLog(c.env, tenantId, id, status, cursor), 200);
  },
);

webhookDeliveries.openapi(
  tenantRoute({
    method: "post",
    path: "/webhooks/{id}/deliveries/{deliveryId}/redeliver",
    scope: "deliveries:write",
    operationId: "redeliverWebhookDelivery",
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
    const { tenantId } = c.var.principal;
    const { id, deliveryId } = c.req.valid("param");
    await redeliverOne(c.env, tenantId, id, deliveryId);
    return c.json({ deliveryId, status: "PENDING" as const }, 202);
  },
);

webhookDeliveries.openapi(
  tenantRoute({
    method: "post",
    path: "/webhooks/{id}/recover",
    scope: "deliveries:write",
    operationId: "recoverWebhookDeliveries",
    tags,
    summary: "Send again every failed (or dropped) delivery since a time, oldest first",
    request: { params: IdParam, body: jsonBody(RecoverSchema) },
    responses: { 202: jsonContent(z.object({ recovered: z.number().int() }), "How many were queued again") },
  }),
  async (c) => {
    const { tenantId } = c.var.principal;
    const { id } = c.req.valid("param");
    const recovered = await recoverSince(c.env, tenantId, id, Date.parse(c.req.valid("json").since));
    return c.json({ recovered }, 202);
  },
);

webhookDeliveries.openapi(
  tenantRoute({
    method: "post",
    path: "/webhooks/{id}/rotate-secret",
    scope: "subscriptions:write",
    operationId: "rotateWebhookSecret",
    tags,
    summary: "Rotate the signing secret; the old one keeps signing during the grace period",
    description: "During the grace period `webhook-signature` and `X-Signature` carry both signatures, new first.",
    request: { params: IdParam, body: jsonBody(RotateSecretSchema, false) },
    responses: { 200: jsonContent(RotatedSchema, "Rotated") },
  }),
  async (c) => {
    const { tenantId } = c.var.principal;
    const { id } = c.req.valid("param");
    const { generated, previousExpiresAt } = await rotateSecret(c.env, tenantId, id, c.req.valid("json"));
    return c.json(
      {
        webhookId: id,
        ...(generated ? { secret: generated } : {}),
        previousSecretExpiresAt: previousExpiresAt !== null ? new Date(previousExpiresAt).toISOString() : null,
      },
      200,
    );
  },
);

webhookDeliveries.openapi(
  tenantRoute({
    method: "post",
    path: "/webhooks/{id}/test",
    scope: "deliveries:write",
    operationId: "sendWebhookTest",
    tags,
    summary: "Send a signed webhook.test event now and report the receiver's answer",
    request: { params: IdParam },
    responses: { 200: jsonContent(TestResultSchema, "The receiver's status and latency") },
  }),
  async (c) => {
    const outcome = await sendTest(c.env, c.var.principal.tenantId, c.req.valid("param").id);
    return c.json(
      {
        ok: outcome.class === "success",
        durationMs: outcome.durationMs,
        ...(outcome.statusCode !== undefined ? { statusCode: outcome.statusCode } : {}),
        ...(outcome.error !== undefined ? { error: outcome.error } : {}),
      },
      200,
    );
  },
);

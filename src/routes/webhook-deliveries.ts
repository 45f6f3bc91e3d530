/** A webhook's secret rotation and test sends (its delivery log: delivery-log.ts). */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { IdParam, jsonBody, jsonContent } from "../schemas/common.js";
import { RotatedSchema, RotateSecretSchema, TestResultSchema } from "../schemas/webhook.js";
import { rotateSecret, sendTest } from "../services/webhooks.js";
import { tenantRoute } from "./route.js";

const tags = ["webhooks"];

export const webhookDeliveries = new OpenAPIHono<AppEnv>();

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

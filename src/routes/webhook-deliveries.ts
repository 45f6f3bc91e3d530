/** A webhook's delivery log, redelivery, recovery, secret rotation and test sends. */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { settings } from "../config.js";
import { AppError } from "../errors.js";
import { newId } from "../domain/ids.js";
import { generateSecret } from "../domain/signing.js";
import { redeliver } from "../services/webhooks.js";
import { forgetSubscriptions } from "../services/subscription-cache.js";
import { liveSecrets, signedPost } from "../queues/signed-post.js";
import { IdParam, jsonBody, jsonContent } from "../schemas/common.js";
import { DEFAULT_RETRY_POLICY } from "../domain/backoff.js";
import { DeliveryLogQuery, DeliveryLogSchema, RecoverSchema, RotateSecretSchema, RotatedSchema, TestResultSchema } from "../schemas/webhook.js";
import { checkSecret, tenantStub } from "../services/subscriptions.js";
import { getWebhook } from "./webhooks.js";
import { tenantRoute } from "./route.js";
import type { AppEnv } from "../context.js";

const tags = ["webhooks"];
export const endpointStub = (env: Env, tenantId: string, id: string) => env.ENDPOINT.get(env.ENDPOINT.idFromName(`${tenantId}/${id}`));


/** Re-sends every FAILED or DROPPED delivery logged since `sinceMs`, oldest first. */
export async function recoverSince(env: Env, tenantId: string, id: string, sinceMs: number): Promise<number> {
  const items = await endpointStub(env, tenantId, id).failedSince(sinceMs);
  return items.length === 0 ? 0 : redeliver(env, tenantId, id, items);
}

export const webhookDeliveries = new OpenAPIHono<AppEnv>();

webhookDeliveries.openapi(
  tenantRoute({
    method: "get",
    path: "/webhooks/{id}/deliveries",
    tags,
    summary: "The webhook's delivery log, newest first, with every attempt",
    request: { params: IdParam, query: DeliveryLogQuery },
    responses: { 200: jsonContent(DeliveryLogSchema, "A page of deliveries") },
  }),
  async (c) => {
    const { tenantId } = c.var.principal;
    const { id } = c.req.valid("param");
    const { status, cursor } = c.req.valid("query");
    await getWebhook(c.env, tenantId, id);
    return c.json(await endpointStub(c.env, tenantId, id).list(status, cursor), 200);
  },
);

webhookDeliveries.openapi(
  tenantRoute({
    method: "post",
    path: "/webhooks/{id}/deliveries/{deliveryId}/redeliver",
    tags,
    summary: "Send one delivery again (a fresh attempt budget); the body may be empty",
    request: { params: IdParam.extend({ deliveryId: z.string().max(64).openapi({ param: { name: "deliveryId", in: "path" } }) }) },
    responses: { 202: jsonContent(z.object({ deliveryId: z.string(), status: z.literal("PENDING") }), "Queued again") },
  }),
  async (c) => {
    const { tenantId } = c.var.principal;
    const { id, deliveryId } = c.req.valid("param");
    await getWebhook(c.env, tenantId, id);
    const found = await endpointStub(c.env, tenantId, id).find(deliveryId);
    if (!found) throw new AppError("NOT_FOUND", `No delivery ${deliveryId} for webhook ${id}.`);
    if (found.status === "PENDING") throw new AppError("CONFLICT", `Delivery ${deliveryId} is still pending.`);
    const sent = await redeliver(c.env, tenantId, id, [{ deliveryId, partitionKey: found.partitionKey }]);
    if (sent === 0) throw new AppError("CONFLICT", `Delivery ${deliveryId} can no longer be sent: its event was pruned or it is pending.`);
    return c.json({ deliveryId, status: "PENDING" as const }, 202);
  },
);

webhookDeliveries.openapi(
  tenantRoute({
    method: "post",
    path: "/webhooks/{id}/recover",
    tags,
    summary: "Send again every failed (or dropped) delivery since a time, oldest first",
    request: { params: IdParam, body: jsonBody(RecoverSchema) },
    responses: { 202: jsonContent(z.object({ recovered: z.number().int() }), "How many were queued again") },
  }),
  async (c) => {
    const { tenantId } = c.var.principal;
    const { id } = c.req.valid("param");
    await getWebhook(c.env, tenantId, id);
    const recovered = await recoverSince(c.env, tenantId, id, Date.parse(c.req.valid("json").since));
    return c.json({ recovered }, 202);
  },
);

webhookDeliveries.openapi(
  tenantRoute({
    method: "post",
    path: "/webhooks/{id}/rotate-secret",
    tags,
    summary: "Rotate the signing secret; the old one keeps signing during the grace period",
    description: "During the grace period `webhook-signature` and `X-Signature` carry both signatures, new first.",
    request: { params: IdParam, body: jsonBody(RotateSecretSchema, false) },
    responses: { 200: jsonContent(RotatedSchema, "Rotated") },
  }),
  async (c) => {
    const { tenantId } = c.var.principal;
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const current = await getWebhook(c.env, tenantId, id);
    const generated = body?.secret === undefined ? generateSecret() : undefined;
    const secret = body?.secret !== undefined ? checkSecret(body.secret) : (generated as string);
    const now = Date.now();
    const expiresAt = now + (body?.graceSeconds ?? 86_400) * 1000;
    const previous = liveSecrets(current.secrets, now).slice(0, 1).map((s) => ({ secret: s, expiresAt }));
    const result = await tenantStub(c.env, tenantId).updateSubscription(id, { secrets: [{ secret }, ...previous] });
    if (!result.ok) throw new AppError(result.code, result.detail);
    forgetSubscriptions(tenantId);
    return c.json(
      {
        webhookId: id,
        ...(generated ? { secret: generated } : {}),
        previousSecretExpiresAt: previous.length > 0 ? new Date(expiresAt).toISOString() : null,
      },
      200,
    );
  },
);

webhookDeliveries.openapi(
  tenantRoute({
    method: "post",
    path: "/webhooks/{id}/test",
    tags,
    summary: "Send a signed webhook.test event now and report the receiver's answer",
    request: { params: IdParam },
    responses: { 200: jsonContent(TestResultSchema, "The receiver's status and latency") },
  }),
  async (c) => {
    const { tenantId } = c.var.principal;
    const hook = await getWebhook(c.env, tenantId, c.req.valid("param").id);
    const event = {
      id: newId("evt"),
      type: "webhook.test",
      timestamp: new Date().toISOString(),
      source: "edgebus",
      data: { webhookId: hook.id, message: "This is a test delivery." },
      metadata: { version: "1.0", tenantId },
      partitionKey: "_test",
      sequence: 0,
    };
    const outcome = await signedPost({
      url: hook.url as string,
      secrets: hook.secrets,
      allowPrivate: settings(c.env).allowPrivateTargets,
      eventId: event.id,
      eventType: event.type,
      sequence: 0,
      partitionKey: event.partitionKey,
      attempt: 1,
      rawBody: JSON.stringify({ event }),
      timeoutMs: (hook.retryPolicy ?? DEFAULT_RETRY_POLICY).timeoutMs,
    });
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

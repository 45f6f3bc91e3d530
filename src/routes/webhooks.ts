/** /webhooks: the `{url, events, secret, retryPolicy}` registration shape over subscriptions with a URL (one store, one matcher). */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { newId } from "../domain/ids.js";
import { AppError } from "../errors.js";
import { requireScope } from "../middleware/auth.js";
import { IdParam, jsonBody, jsonContent, problemResponses } from "../schemas/common.js";
import { type SubscriptionRecord, toView } from "../schemas/subscription.js";
import {
  CreateWebhookSchema,
  UpdateWebhookSchema,
  WebhookCreatedSchema,
  WebhookDetailSchema,
  WebhookSchema,
  WebhookUpdatedSchema,
} from "../schemas/webhook.js";
import { createSubscription, deleteSubscription, subscriptionDetail, updateSubscription } from "../services/subscriptions.js";
import { getWebhook, listWebhooks, recoverAfterDisable } from "../services/webhooks.js";
import { tenantRoute } from "./route.js";

const tags = ["webhooks"];

const webhookView = (r: SubscriptionRecord) => ({ webhookId: r.id, ...toView(r) });

export const webhooks = new OpenAPIHono<AppEnv>();

webhooks.openapi(
  tenantRoute({
    method: "post",
    path: "/webhooks",
    scope: "subscriptions:write",
    operationId: "createWebhook",
    tags,
    summary: "Register a webhook (a subscription with a URL)",
    description: "Without `secret`, one is generated (`whsec_…`) and returned in this response only.",
    request: { body: jsonBody(CreateWebhookSchema) },
    responses: { 201: jsonContent(WebhookCreatedSchema, "Created"), ...problemResponses(409, 422) },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const { record, generatedSecret } = await createSubscription(c.env, c.var.principal.tenantId, {
      ...input,
      name: input.name ?? newId("webhook"),
    });
    return c.json({ ...webhookView(record), ...(generatedSecret ? { secret: generatedSecret } : {}) }, 201);
  },
);

webhooks.openapi(
  tenantRoute({
    method: "get",
    path: "/webhooks",
    scope: "subscriptions:read",
    operationId: "listWebhooks",
    tags,
    summary: "List webhooks",
    responses: { 200: jsonContent(z.object({ webhooks: z.array(WebhookSchema) }), "Subscriptions with a URL") },
  }),
  async (c) => {
    return c.json({ webhooks: (await listWebhooks(c.env, c.var.principal.tenantId)).map(webhookView) }, 200);
  },
);

webhooks.openapi(
  tenantRoute({
    method: "get",
    path: "/webhooks/{id}",
    scope: "subscriptions:read",
    operationId: "getWebhook",
    tags,
    summary: "Get a webhook",
    request: { params: IdParam },
    responses: { 200: jsonContent(WebhookDetailSchema, "The webhook, with its backlog (and pausedUntil while paused)") },
  }),
  async (c) => {
    const { tenantId } = c.var.principal;
    const detail = await subscriptionDetail(c.env, tenantId, await getWebhook(c.env, tenantId, c.req.valid("param").id));
    return c.json({ webhookId: detail.id, ...detail }, 200);
  },
);

webhooks.openapi(
  tenantRoute({
    method: "patch",
    path: "/webhooks/{id}",
    scope: "subscriptions:write",
    operationId: "updateWebhook",
    tags,
    summary: "Change a webhook; `status: ACTIVE` with `recover: true` re-sends what failed while it was disabled",
    description: "`recover: true` also needs the scope `deliveries:write`.",
    request: { params: IdParam, body: jsonBody(UpdateWebhookSchema) },
    responses: { 200: jsonContent(WebhookUpdatedSchema, "Updated"), ...problemResponses(409) },
  }),
  async (c) => {
    const { tenantId } = c.var.principal;
    const { id } = c.req.valid("param");
    const { recover, ...patch } = c.req.valid("json");
    if (recover) requireScope(c.var.principal, "deliveries:write", "recover: true");
    const before = await getWebhook(c.env, tenantId, id);
    if (recover && patch.status !== "ACTIVE") {
      throw new AppError("VALIDATION_FAILED", "recover applies only when setting status ACTIVE.", [
        { path: "recover", message: "needs status ACTIVE" },
      ]);
    }
    const { record, generatedSecret } = await updateSubscription(c.env, tenantId, id, patch);
    const recovered = recover && before.status === "DISABLED" ? await recoverAfterDisable(c.env, tenantId, before) : undefined;
    return c.json(
      {
        ...webhookView(record),
        ...(generatedSecret ? { secret: generatedSecret } : {}),
        ...(recovered !== undefined ? { recovered } : {}),
      },
      200,
    );
  },
);

webhooks.openapi(
  tenantRoute({
    method: "delete",
    path: "/webhooks/{id}",
    scope: "subscriptions:write",
    operationId: "deleteWebhook",
    tags,
    summary: "Delete a webhook (pending deliveries are dropped, its delivery log erased)",
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" } },
  }),
  async (c) => {
    const { tenantId } = c.var.principal;
    const { id } = c.req.valid("param");
    await getWebhook(c.env, tenantId, id);
    await deleteSubscription(c.env, tenantId, id);
    return c.body(null, 204);
  },
);

/** /subscriptions: push (with url) and pull (without) subscriptions of a tenant. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { IdParam, jsonBody, jsonContent, problemResponses } from "../schemas/common.js";
import {
  CreateSubscriptionSchema,
  SubscriptionCreatedSchema,
  SubscriptionDetailSchema,
  SubscriptionListSchema,
  toView,
  UpdateSubscriptionSchema,
} from "../schemas/subscription.js";
import {
  createSubscription,
  deleteSubscription,
  getSubscription,
  listSubscriptions,
  subscriptionDetail,
  updateSubscription,
} from "../services/subscriptions.js";
import { tenantRoute } from "./route.js";

const tags = ["subscriptions"];

export const subscriptions = new OpenAPIHono<AppEnv>();

subscriptions.openapi(
  tenantRoute({
    method: "post",
    path: "/subscriptions",
    scope: "subscriptions:write",
    operationId: "createSubscription",
    tags,
    summary: "Create a subscription (names are unique per tenant)",
    request: { body: jsonBody(CreateSubscriptionSchema) },
    responses: { 201: jsonContent(SubscriptionCreatedSchema, "Created"), ...problemResponses(409, 422) },
  }),
  async (c) => {
    const { record, generatedSecret } = await createSubscription(c.env, c.var.principal.tenantId, c.req.valid("json"));
    return c.json({ ...toView(record), ...(generatedSecret ? { secret: generatedSecret } : {}) }, 201);
  },
);

subscriptions.openapi(
  tenantRoute({
    method: "get",
    path: "/subscriptions",
    scope: "subscriptions:read",
    operationId: "listSubscriptions",
    tags,
    summary: "List subscriptions",
    responses: { 200: jsonContent(SubscriptionListSchema, "All of the tenant's subscriptions") },
  }),
  async (c) => {
    const list = await listSubscriptions(c.env, c.var.principal.tenantId);
    return c.json({ subscriptions: list.map(toView) }, 200);
  },
);

subscriptions.openapi(
  tenantRoute({
    method: "get",
    path: "/subscriptions/{id}",
    scope: "subscriptions:read",
    operationId: "getSubscription",
    tags,
    summary: "Get a subscription, with its backlog (and pausedUntil while a receiver asked for a pause)",
    request: { params: IdParam },
    responses: { 200: jsonContent(SubscriptionDetailSchema, "The subscription") },
  }),
  async (c) => {
    const { tenantId } = c.var.principal;
    return c.json(await subscriptionDetail(c.env, tenantId, await getSubscription(c.env, tenantId, c.req.valid("param").id)), 200);
  },
);

subscriptions.openapi(
  tenantRoute({
    method: "patch",
    path: "/subscriptions/{id}",
    scope: "subscriptions:write",
    operationId: "updateSubscription",
    tags,
    summary: "Change a subscription (takes effect within 2 s everywhere)",
    request: { params: IdParam, body: jsonBody(UpdateSubscriptionSchema) },
    responses: { 200: jsonContent(SubscriptionCreatedSchema, "Updated"), ...problemResponses(409) },
  }),
  async (c) => {
    const { record, generatedSecret } = await updateSubscription(
      c.env,
      c.var.principal.tenantId,
      c.req.valid("param").id,
      c.req.valid("json"),
    );
    return c.json({ ...toView(record), ...(generatedSecret ? { secret: generatedSecret } : {}) }, 200);
  },
);

subscriptions.openapi(
  tenantRoute({
    method: "delete",
    path: "/subscriptions/{id}",
    scope: "subscriptions:write",
    operationId: "deleteSubscription",
    tags,
    summary: "Delete a subscription (pending deliveries to it are dropped)",
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" } },
  }),
  async (c) => {
    await deleteSubscription(c.env, c.var.principal.tenantId, c.req.valid("param").id);
    return c.body(null, 204);
  },
);

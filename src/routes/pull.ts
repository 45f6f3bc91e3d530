/** Pull subscriptions: pull leased messages, ack, nack (visible again after a delay), extend a lease. */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { IdParam, jsonBody, jsonContent, problemResponses } from "../schemas/common.js";
import { AckSchema, ExtendSchema, NackSchema, PulledSchema, PullSchema } from "../schemas/pull.js";
import { ack, extend, nack, pull } from "../services/pull.js";
import { tenantRoute } from "./route.js";

const tags = ["subscriptions"];

export const pulls = new OpenAPIHono<AppEnv>();

pulls.openapi(
  tenantRoute({
    method: "post",
    path: "/subscriptions/{id}/pull",
    scope: "deliveries:write",
    operationId: "pullMessages",
    tags,
    summary: "Lease up to maxMessages messages of a pull subscription for a visibility timeout",
    description:
      "A message not acked within its visibility timeout is returned again with `attempt` + 1 and the same `deliveryId`. With `waitSeconds` the call answers as soon as a message is available, else empty at the end of the wait. The body may be empty (defaults).",
    request: { params: IdParam, body: jsonBody(PullSchema, false) },
    responses: { 200: jsonContent(PulledSchema, "Leased messages (durable: a crash loses no lease)"), ...problemResponses(409) },
  }),
  async (c) => {
    const input = PullSchema.parse(c.req.valid("json") ?? {});
    return c.json({ messages: await pull(c.env, c.var.principal.tenantId, c.req.valid("param").id, input) }, 200);
  },
);

pulls.openapi(
  tenantRoute({
    method: "post",
    path: "/subscriptions/{id}/ack",
    scope: "deliveries:write",
    operationId: "ackMessages",
    tags,
    summary: "Settle leased messages as delivered (idempotent; an unknown or expired ackId is not counted)",
    request: { params: IdParam, body: jsonBody(AckSchema) },
    responses: { 200: jsonContent(z.object({ acked: z.number().int() }), "How many leases were acked"), ...problemResponses(409) },
  }),
  async (c) => {
    const { ackIds } = c.req.valid("json");
    return c.json({ acked: await ack(c.env, c.var.principal.tenantId, c.req.valid("param").id, ackIds) }, 200);
  },
);

pulls.openapi(
  tenantRoute({
    method: "post",
    path: "/subscriptions/{id}/nack",
    scope: "deliveries:write",
    operationId: "nackMessages",
    tags,
    summary: "Give leased messages back: visible again after delaySeconds; the attempt counts as failed",
    request: { params: IdParam, body: jsonBody(NackSchema) },
    responses: { 200: jsonContent(z.object({ nacked: z.number().int() }), "How many leases were given back"), ...problemResponses(409) },
  }),
  async (c) => {
    const { ackIds, delaySeconds } = c.req.valid("json");
    return c.json({ nacked: await nack(c.env, c.var.principal.tenantId, c.req.valid("param").id, ackIds, delaySeconds) }, 200);
  },
);

pulls.openapi(
  tenantRoute({
    method: "post",
    path: "/subscriptions/{id}/extend",
    scope: "deliveries:write",
    operationId: "extendLeases",
    tags,
    summary: "Extend leases: visible again only after visibilityTimeoutSeconds from now",
    request: { params: IdParam, body: jsonBody(ExtendSchema) },
    responses: { 200: jsonContent(z.object({ extended: z.number().int() }), "How many leases were extended"), ...problemResponses(409) },
  }),
  async (c) => {
    const { ackIds, visibilityTimeoutSeconds } = c.req.valid("json");
    return c.json(
      { extended: await extend(c.env, c.var.principal.tenantId, c.req.valid("param").id, ackIds, visibilityTimeoutSeconds) },
      200,
    );
  },
);

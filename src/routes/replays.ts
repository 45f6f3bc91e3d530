/** Replays of a subscription's stored events, and the partition directory. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { IdParam, jsonBody, jsonContent } from "../schemas/common.js";
import { PartitionListQuery, PartitionListSchema, ReplayIdParam, ReplaySchema, ReplayStateSchema } from "../schemas/replay.js";
import { cancelReplay, getReplay, listPartitions, startReplay } from "../services/replays.js";
import { tenantRoute } from "./route.js";

export const replays = new OpenAPIHono<AppEnv>();

replays.openapi(
  tenantRoute({
    method: "post",
    path: "/subscriptions/{id}/replay",
    scope: "deliveries:write",
    operationId: "startReplay",
    tags: ["subscriptions"],
    summary: "Deliver the stored events of a range again to this subscription (push or pull), in the background",
    description:
      "Every stored event (within retention) accepted in [since, until] — or with partitionKey, in [fromSequence, toSequence] of that partition — that matches the subscription now is delivered again as a new delivery with the same event id and `X-Replay-Id`. Progress: GET /replays/{replayId}.",
    request: { params: IdParam, body: jsonBody(ReplaySchema) },
    responses: { 202: jsonContent(ReplayStateSchema, "Started") },
  }),
  async (c) => c.json(await startReplay(c.env, c.var.principal.tenantId, c.req.valid("param").id, c.req.valid("json")), 202),
);

replays.openapi(
  tenantRoute({
    method: "get",
    path: "/replays/{id}",
    scope: "subscriptions:read",
    operationId: "getReplay",
    tags: ["subscriptions"],
    summary: "A replay's progress",
    request: { params: ReplayIdParam },
    responses: { 200: jsonContent(ReplayStateSchema, "The replay") },
  }),
  async (c) => c.json(await getReplay(c.env, c.var.principal.tenantId, c.req.valid("param").id), 200),
);

replays.openapi(
  tenantRoute({
    method: "delete",
    path: "/replays/{id}",
    scope: "deliveries:write",
    operationId: "cancelReplay",
    tags: ["subscriptions"],
    summary: "Cancel a running replay (deliveries it already created still go out)",
    request: { params: ReplayIdParam },
    responses: { 200: jsonContent(ReplayStateSchema, "The replay, CANCELLED (or as it ended)") },
  }),
  async (c) => c.json(await cancelReplay(c.env, c.var.principal.tenantId, c.req.valid("param").id), 200),
);

replays.openapi(
  tenantRoute({
    method: "get",
    path: "/partitions",
    scope: "events:read",
    operationId: "listPartitions",
    tags: ["events"],
    summary: "The tenant's partitions in key order, with their last sequence and time",
    description: "Figures are refreshed lazily (they may trail the partition by about a minute).",
    request: { query: PartitionListQuery },
    responses: { 200: jsonContent(PartitionListSchema, "A page of partitions") },
  }),
  async (c) => {
    const { cursor, limit } = c.req.valid("query");
    return c.json(await listPartitions(c.env, c.var.principal.tenantId, cursor, limit), 200);
  },
);

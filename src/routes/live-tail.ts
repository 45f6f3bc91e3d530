/**
 * The live tail: `GET /partitions/:key/stream` upgrades to a WebSocket that receives each event
 * as the partition appends it. Non-browser clients send `Authorization: Bearer <api key>` on the
 * upgrade; browsers, which cannot set headers on a WebSocket, first ask
 * `POST /partitions/:key/stream-tokens` for a single-use token valid 60 s and pass it as `?token=`.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context.js";
import { AppError } from "../errors.js";
import { tenantAuth } from "../middleware/auth.js";
import { jsonContent, problemResponses } from "../schemas/common.js";
import { PartitionName } from "../schemas/event.js";
import { issueStreamToken, openStream, streamTokenTenant } from "../services/live-tail.js";
import { tenantRoute } from "./route.js";

export const liveTail = new OpenAPIHono<AppEnv>();
liveTail.openAPIRegistry.registerComponent("securitySchemes", "StreamToken", {
  type: "apiKey",
  in: "query",
  name: "token",
  description: "A single-use token from POST /partitions/{key}/stream-tokens (for browsers, which cannot send headers on a WebSocket).",
});

const StreamTokenSchema = z
  .object({
    token: z.string().openapi({ example: "ebt_acme_5f2c…" }),
    expiresAt: z.string().openapi({ format: "date-time", description: "The token opens one stream before this time." }),
    streamUrl: z.string().openapi({ example: "/partitions/customer-123/stream?token=ebt_acme_5f2c…" }),
  })
  .openapi("StreamToken");

liveTail.openapi(
  tenantRoute({
    method: "post",
    path: "/partitions/{key}/stream-tokens",
    scope: "events:read",
    operationId: "createStreamToken",
    tags: ["events"],
    summary: "Get a single-use token that opens the partition's live tail",
    description: "For browsers: open `streamUrl` (as ws:// or wss://) within 60 s. A token opens one stream, of this partition only.",
    request: { params: z.object({ key: PartitionName }) },
    responses: { 201: jsonContent(StreamTokenSchema, "The token") },
  }),
  async (c) => c.json(await issueStreamToken(c.env, c.var.principal.tenantId, c.req.valid("param").key), 201),
);

/** A `?token=` stands for the key (its signature checked here, redeemed by the partition); otherwise the Bearer key with events:read. */
const streamAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = c.req.query("token");
  if (token === undefined) return tenantAuth("events:read")(c, next);
  // Checked here, before any Durable Object is involved: a forged token costs nothing.
  const tenantId = await streamTokenTenant(c.env, c.req.param("key") ?? "", token);
  c.set("principal", { tenantId, keyId: "stream-token", scopes: ["events:read"] });
  await next();
});

liveTail.openapi(
  createRoute({
    method: "get",
    path: "/partitions/{key}/stream",
    operationId: "streamPartition",
    tags: ["events"],
    summary: "Watch a partition live (WebSocket)",
    description:
      'A WebSocket upgrade. The server sends JSON text frames: first `{"type":"ready","partition":…,"lastSequence":n}`, then `{"type":"event","event":{…}}` for each appended event (shaped like an item of GET /partitions/{key}/events). Sending the text `ping` gets `{"type":"pong"}`. Authenticate with the Bearer header (scope `events:read`) or, from a browser, `?token=` from POST /partitions/{key}/stream-tokens. Read earlier events from the log; `lastSequence` says where the live stream starts.',
    middleware: [streamAuth] as const,
    security: [{ Bearer: ["events:read"] }, { StreamToken: [] }] as Array<Record<string, string[]>>,
    "x-scope": "events:read",

    request: {
      params: z.object({ key: PartitionName }),
      query: z.object({
        token: z
          .string()
          .optional()
          .openapi({ param: { name: "token", in: "query" } }),
      }),
    },
    responses: {
      101: { description: "Switching protocols: the stream is open" },
      ...problemResponses(400, 401, 403, 426, 429),
    },
  }),
  async (c) => {
    const { key } = c.req.valid("param");
    const { token } = c.req.valid("query");
    const { tenantId } = c.var.principal;
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new AppError(
        "UPGRADE_REQUIRED",
        "This is a WebSocket: send 'Upgrade: websocket' (read earlier events with GET /partitions/{key}/events).",
        undefined,
        {
          upgrade: "websocket",
        },
      );
    }
    return openStream(c.env, tenantId, key, token);
  },
);

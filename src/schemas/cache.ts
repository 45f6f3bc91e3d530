/** The /cache boundary: the key path parameter, the stored value (any JSON) and the PUT result. */
import { z } from "@hono/zod-openapi";
import { LIMITS } from "../config.js";
import { CLIENT_ID } from "../domain/ids.js";
import { finiteNumbers, withinJsonDepth } from "./common.js";

export const CacheKeyParam = z.object({
  key: z
    .string()
    .regex(CLIENT_ID, "1–256 characters of letters, digits and . _ : ~ @ -")
    .openapi({ param: { name: "key", in: "path" }, example: "order-123" }),
});

/** Any JSON value (the body middleware has parsed it already). */
export const CacheValueSchema = z
  .unknown()
  .refine(...withinJsonDepth)
  .superRefine(finiteNumbers)
  .openapi("CacheValue", {
    description: `Any JSON value, at most 64 KiB serialized and ${LIMITS.jsonDepth} levels deep.`,
    example: { id: "order-123", status: "PROCESSING", total: 99.99 },
  });

export const CacheStoredSchema = z
  .object({
    key: z.string(),
    ttlSeconds: z.number().int(),
    expiresAt: z.string().openapi({ example: "2024-07-15T15:32:22.000Z" }),
  })
  .openapi("CacheStored");

export const CacheStatusHeader = z.object({
  "X-Cache-Status": z.enum(["HIT", "MISS", "STORED", "CLEARED", "UPDATED"]).openapi({ description: "What the cache did" }),
});

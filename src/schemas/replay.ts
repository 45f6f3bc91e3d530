/** Replays and the partition directory. */
import { z } from "@hono/zod-openapi";
import { LIMITS } from "../config.js";
import { PartitionName } from "./event.js";

export const ReplaySchema = z
  .object({
    since: z.iso.datetime({ offset: true }).openapi({ description: "Events edgebus accepted at or after this time." }),
    until: z.iso.datetime({ offset: true }).optional(),
    partitionKey: PartitionName.optional().openapi({ description: "Only this partition." }),
    fromSequence: z.number().int().min(1).optional().openapi({ description: "Inclusive; with partitionKey." }),
    toSequence: z.number().int().min(1).optional().openapi({ description: "Inclusive; with partitionKey." }),
  })
  .strict()
  .refine((r) => r.partitionKey !== undefined || (r.fromSequence === undefined && r.toSequence === undefined), {
    message: "fromSequence and toSequence need partitionKey",
    path: ["partitionKey"],
  })
  .refine((r) => r.until === undefined || Date.parse(r.until) >= Date.parse(r.since), { message: "until is before since", path: ["until"] })
  .refine((r) => r.fromSequence === undefined || r.toSequence === undefined || r.toSequence >= r.fromSequence, {
    message: "toSequence is below fromSequence",
    path: ["toSequence"],
  })
  .openapi("Replay");

export const ReplayStateSchema = z
  .object({
    replayId: z.string(),
    subscriptionId: z.string(),
    status: z.enum(["RUNNING", "COMPLETED", "FAILED", "CANCELLED"]),
    partitionsScanned: z.number().int(),
    eventsScanned: z.number().int(),
    deliveriesCreated: z.number().int(),
    startedAt: z.string(),
    finishedAt: z.string().optional(),
  })
  .openapi("ReplayState");

export const ReplayIdParam = z.object({
  id: z
    .string()
    .regex(/^rpl_[a-z0-9]{1,64}$/)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const PartitionListQuery = z.object({
  cursor: z
    .string()
    .max(LIMITS.partitionKeyChars)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" } }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .openapi({ param: { name: "limit", in: "query" } }),
});

export const PartitionListSchema = z
  .object({
    partitions: z.array(z.object({ partitionKey: z.string(), lastSequence: z.number().int(), lastEventAt: z.string() })),
    nextCursor: z.string().nullable(),
  })
  .openapi("PartitionList");

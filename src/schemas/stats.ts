/** The GET /stats boundary: the tenant-wide figures behind the console's overview. */
import { z } from "@hono/zod-openapi";
import { TASK_STATUSES } from "./task.js";

const count = z.number().int().min(0);

export const StatsSchema = z
  .object({
    generatedAt: z.string().openapi({ example: "2026-04-01T12:00:00.000Z" }),
    events: z
      .object({
        lastMinute: count.openapi({ description: "Events accepted in the last 60 s (duplicates not counted)." }),
        lastHour: count.openapi({ description: "Events accepted in the last hour." }),
        total: count.openapi({
          description:
            "The sum of the partitions' last sequence numbers: every event accepted so far, as the partition directory last heard (it may trail by about a minute).",
        }),
        partitions: count.openapi({ description: "Partitions in the directory." }),
      })
      .openapi({
        description: "Counted by the partitions that accept the events, reported every few seconds: the figures may trail by about 5 s.",
      }),
    subscriptions: count.openapi({ description: "The tenant's subscriptions (push and pull, paused and disabled ones too)." }),
    deliveries: z
      .object({
        pending: count.openapi({ description: "Not yet settled: waiting, in flight or between retries." }),
        failed: count.openapi({ description: "Dead-lettered (FAILED after the last attempt) in the retained delivery logs." }),
        delivered: count.openapi({ description: "DELIVERED in the retained delivery logs." }),
      })
      .openapi({ description: "Summed over the tenant's subscriptions (push and pull)." }),
    tasks: z
      .object(Object.fromEntries(TASK_STATUSES.map((s) => [s, count])) as Record<(typeof TASK_STATUSES)[number], typeof count>)
      .openapi({ description: "Tasks by status, exact (settled tasks until they are pruned after RETENTION_DAYS)." }),
    cache: z
      .object({
        hits: count,
        misses: count,
        hitRatio: z
          .number()
          .min(0)
          .max(1)
          .nullable()
          .openapi({ description: "hits / (hits + misses); null when there were no reads.", example: 0.9 }),
        windowSeconds: z.literal(3600).openapi({ description: "The window the reads are counted over: the last hour." }),
      })
      .openapi({
        description:
          "Reads answered with X-Cache-Status HIT or MISS (GET /cache/:key, GET /orders/:id, GET /customers/:id/orders) over the last hour, from every isolate; each isolate reports its reads every few seconds, so the figures trail by about 5 s.",
      }),
  })
  .openapi("Stats");

export type Stats = z.infer<typeof StatsSchema>;

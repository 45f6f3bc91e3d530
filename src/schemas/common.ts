/** Schemas shared by several boundaries: problem bodies, ids, retry policy. */
import { z } from "@hono/zod-openapi";
import { LIMITS } from "../config.js";
import { DEFAULT_RETRY_POLICY } from "../domain/backoff.js";
import { deeperThan, firstNonFinite } from "../domain/json-depth.js";

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ example: "VALIDATION_FAILED" }),
    requestId: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

/** A zod check that a JSON value nests at most LIMITS.jsonDepth levels (before anything serialises it). */
export const withinJsonDepth = [
  (v: unknown) => !deeperThan(v, LIMITS.jsonDepth),
  `nests deeper than ${LIMITS.jsonDepth} levels of objects and arrays (the limit)`,
] as const;

/** A zod check that a JSON value holds no number beyond a double's range (stored, it would turn into null). */
export function finiteNumbers(value: unknown, ctx: z.RefinementCtx): void {
  const at = firstNonFinite(value);
  if (at !== undefined) {
    ctx.addIssue({
      code: "custom",
      message: `holds a number too large for JSON${at ? ` at ${at}` : ""} (stored, it would become null)`,
    });
  }
}

export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [s, { description: "Problem (RFC 9457)", content: { "application/problem+json": { schema: ProblemSchema } } }]),
  );

export const RetryPolicySchema = z
  .object({
    maxAttempts: z
      .number()
      .int()
      .min(LIMITS.retryMaxAttempts.min)
      .max(LIMITS.retryMaxAttempts.max)
      .default(DEFAULT_RETRY_POLICY.maxAttempts),
    backoffMs: z.number().int().min(100).max(86_400_000).default(DEFAULT_RETRY_POLICY.backoffMs),
    timeoutMs: z.number().int().min(LIMITS.retryTimeoutMs.min).max(LIMITS.retryTimeoutMs.max).default(DEFAULT_RETRY_POLICY.timeoutMs),
  })
  .openapi("RetryPolicy");

export type RetryPolicyInput = z.infer<typeof RetryPolicySchema>;

/** For PATCH: only the fields sent change; the others keep their current values (no defaults). */
export const RetryPolicyPatchSchema = z
  .object({
    maxAttempts: z.number().int().min(LIMITS.retryMaxAttempts.min).max(LIMITS.retryMaxAttempts.max).optional(),
    backoffMs: z.number().int().min(100).max(86_400_000).optional(),
    timeoutMs: z.number().int().min(LIMITS.retryTimeoutMs.min).max(LIMITS.retryTimeoutMs.max).optional(),
  })
  .openapi("RetryPolicyPatch");

/** Delivery order per partition: `partition` = one delivery at a time per (subscription, partition), in sequence. */
export const OrderingSchema = z.enum(["none", "partition"]).openapi("Ordering", { example: "partition" });
export type Ordering = z.infer<typeof OrderingSchema>;

/** Throttling of one endpoint (webhook or worker), held across every consumer invocation. */
export const RateLimitSchema = z
  .object({
    perSecond: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .openapi({ description: "At most this many requests in any one-second window." }),
    maxInFlight: z.number().int().min(1).max(1_000).optional().openapi({ description: "At most this many requests at once." }),
  })
  .strict()
  .refine((r) => r.perSecond !== undefined || r.maxInFlight !== undefined, "give perSecond, maxInFlight or both")
  .openapi("RateLimit");
export type RateLimit = z.infer<typeof RateLimitSchema>;

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(256)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const jsonBody = <T extends z.ZodType>(schema: T, required = true) => ({
  required,
  content: { "application/json": { schema } },
});

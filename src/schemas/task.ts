/**
 * Work queues: task and worker bodies (HTTP), the task view, the state the TaskShard object
 * returns over RPC (plain data, JSON kept as text), and the task queue message (a reference).
 */
import { z } from "@hono/zod-openapi";
import { LIMITS } from "../config.js";
import { CLIENT_ID } from "../domain/ids.js";
import { isValidEventType } from "../domain/patterns.js";
import { finiteNumbers, RateLimitSchema, withinJsonDepth } from "./common.js";
import { Secret, TargetUrl, TypePatterns } from "./subscription.js";

/** Serialized `data` of one task; keeps a task, its queue hop and its worker POST small. */
export const TASK_DATA_BYTES = 64 * 1024;
/** The part of a worker's 2xx body kept as the task's result. */
export const TASK_RESULT_BYTES = 64 * 1024;
/** Per-task attempt timeout when none is given (within LIMITS.retryTimeoutMs). */
export const DEFAULT_TASK_TIMEOUT_MS = 30_000;
export const DEFAULT_WORKER_CONCURRENCY = 4;
/** Tasks are sharded by id over this many TaskShard objects per tenant. */
export const TASK_SHARDS = 16;
export const TASK_LIST_MAX = 100;

export const PRIORITIES = ["high", "normal", "low"] as const;
export const Priority = z.enum(PRIORITIES).openapi({ example: "high" });
export type Priority = z.infer<typeof Priority>;

export const TASK_STATUSES = ["QUEUED", "RUNNING", "RETRYING", "SUCCEEDED", "DEAD"] as const;
export const TaskStatus = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof TaskStatus>;

const CLIENT_ID_HINT = "1–256 characters of letters, digits and . _ : ~ @ -";
export const TaskId = z.string().regex(CLIENT_ID, CLIENT_ID_HINT);

export const TaskType = z
  .string()
  .max(LIMITS.typeChars)
  .refine(isValidEventType, "lower-case dotted words, e.g. process.order")
  .openapi({ example: "process.order" });

export const CreateTaskSchema = z
  .object({
    type: TaskType,
    data: z
      .record(z.string(), z.unknown())
      .refine(...withinJsonDepth)
      .superRefine(finiteNumbers)
      .optional()
      .openapi({ example: { orderId: "order-123", priority: "high" } }),
    priority: Priority.optional().openapi({ description: "Default: a valid `data.priority`, else normal." }),
    id: TaskId.optional().openapi({ description: "Idempotency: the same id again is the same task.", example: "order-123-fulfil" }),
    delaySeconds: z.number().int().min(0).max(86_400).optional(),
    maxAttempts: z.number().int().min(LIMITS.retryMaxAttempts.min).max(LIMITS.retryMaxAttempts.max).optional(),
    backoffMs: z.number().int().min(100).max(86_400_000).optional(),
    timeoutMs: z.number().int().min(LIMITS.retryTimeoutMs.min).max(LIMITS.retryTimeoutMs.max).optional(),
    onComplete: z.boolean().optional().openapi({ description: "Publish task.succeeded / task.failed to this tenant's bus." }),
  })
  .strict()
  .openapi("CreateTask");
export type CreateTask = z.infer<typeof CreateTaskSchema>;

export const TaskAcceptedSchema = z
  .object({
    taskId: z.string(),
    status: TaskStatus,
    estimatedProcessingTime: z.string().optional().openapi({ example: "30s" }),
    duplicate: z.boolean().optional(),
  })
  .openapi("TaskAccepted");

export const TaskSchema = z
  .object({
    taskId: z.string(),
    type: z.string(),
    priority: Priority,
    status: TaskStatus,
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    worker: z.string().optional(),
    data: z.record(z.string(), z.unknown()).optional(),
    result: z.unknown().optional(),
    error: z.string().optional(),
    onComplete: z.boolean(),
    createdAt: z.string(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    nextAttemptAt: z.string().optional(),
  })
  .openapi("Task");

export const TaskListSchema = z.object({ tasks: z.array(TaskSchema) }).openapi("TaskList");

/** What a TaskShard returns over RPC: concrete types only (JSON stays text, see StoredEventText). */
export interface TaskState {
  id: string;
  type: string;
  priority: Priority;
  status: TaskStatus;
  attempts: number;
  maxAttempts: number;
  worker: string | null;
  dataText?: string;
  resultText: string | null;
  error: string | null;
  onComplete: boolean;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  nextAttemptAt: number | null;
}

const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());

export function taskView(s: TaskState): z.infer<typeof TaskSchema> {
  const startedAt = iso(s.startedAt);
  const finishedAt = iso(s.finishedAt);
  const waits = s.status === "QUEUED" || s.status === "RETRYING";
  const nextAttemptAt = waits ? iso(s.nextAttemptAt) : undefined;
  return {
    taskId: s.id,
    type: s.type,
    priority: s.priority,
    status: s.status,
    attempts: s.attempts,
    maxAttempts: s.maxAttempts,
    ...(s.worker !== null ? { worker: s.worker } : {}),
    ...(s.dataText !== undefined ? { data: JSON.parse(s.dataText) as Record<string, unknown> } : {}),
    ...(s.resultText !== null ? { result: JSON.parse(s.resultText) as unknown } : {}),
    ...(s.error !== null ? { error: s.error } : {}),
    onComplete: s.onComplete,
    createdAt: new Date(s.createdAt).toISOString(),
    ...(startedAt ? { startedAt } : {}),
    ...(finishedAt ? { finishedAt } : {}),
    ...(nextAttemptAt ? { nextAttemptAt } : {}),
  };
}

export const TaskListQuery = z.object({
  status: TaskStatus.optional().openapi({ param: { name: "status", in: "query" } }),
  type: TaskType.optional().openapi({ param: { name: "type", in: "query" } }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(TASK_LIST_MAX)
    .default(50)
    .openapi({ param: { name: "limit", in: "query" } }),
});

export const TaskIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(1024)
    .openapi({ param: { name: "id", in: "path" } }),
});

/** Queue message: which task, and which attempt it is for (a message for a started attempt is stale). */
export const TaskMessageSchema = z.object({
  kind: z.literal("task"),
  tenantId: z.string(),
  shard: z.number().int().min(0),
  taskId: z.string(),
  type: z.string(),
  priority: z.enum(PRIORITIES),
  attempt: z.number().int().positive(),
  /** The worker of the failed attempt before this one: another is preferred when there is one. */
  avoid: z.string().optional(),
});
export type TaskMessage = z.infer<typeof TaskMessageSchema>;

// --- workers ---

const WorkerName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, "letters, digits, '.', '_' or '-', at most 100, starting with a letter or digit")
  .openapi({ example: "order-processor-1" });

export const CreateWorkerSchema = z
  .object({
    name: WorkerName,
    url: TargetUrl,
    taskTypes: TypePatterns.min(1).openapi({ example: ["process.order", "send.#"] }),
    secret: Secret.optional(),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(100)
      .optional()
      .openapi({ description: `Default ${DEFAULT_WORKER_CONCURRENCY}.` }),
    rateLimit: RateLimitSchema.optional(),
  })
  .strict()
  .openapi("CreateWorker");
export type CreateWorker = z.infer<typeof CreateWorkerSchema>;

export const WorkerSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    url: z.string(),
    taskTypes: z.array(z.string()),
    concurrency: z.number().int(),
    rateLimit: RateLimitSchema.optional(),
    createdAt: z.string(),
  })
  .openapi("Worker");

export const WorkerCreatedSchema = WorkerSchema.extend({
  secret: z.string().optional().openapi({ description: "Only when generated; shown once." }),
}).openapi("WorkerCreated");

export const WorkerListSchema = z.object({ workers: z.array(WorkerSchema) }).openapi("WorkerList");

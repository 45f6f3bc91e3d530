/**
 * Worker entry: wiring only. HTTP goes to the Hono app, queue batches to the consumers, and the
 * Durable Object classes are re-exported for the runtime.
 */
import { buildApp } from "./app.js";
import { handleQueue } from "./queues/index.js";

export { Partition } from "./durable-objects/partition.js";
export { Tenant } from "./durable-objects/tenant.js";
export { Endpoint } from "./durable-objects/endpoint.js";
export { TaskShard } from "./durable-objects/task-shard.js";
export { Store } from "./durable-objects/store.js";

const app = buildApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  queue: (batch, env, ctx) => handleQueue(batch, env, ctx),
} satisfies ExportedHandler<Env>;

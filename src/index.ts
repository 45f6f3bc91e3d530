/**
 * Worker entry: wiring only. HTTP goes to the Hono app (a plain JSON POST /events to its fast
 * path first, see routes/publish-fast.ts), queue batches to the consumers, and the Durable Object
 * classes are re-exported for the runtime.
 */
import { buildApp } from "./app.js";
import { handleQueue } from "./queues/index.js";
import { publishFast } from "./routes/publish-fast.js";

export { Directory } from "./objects/directory/object.js";
export { Endpoint } from "./objects/endpoint/object.js";
export { Partition } from "./objects/partition/object.js";
export { Replay } from "./objects/replay/object.js";
export { Store } from "./objects/store/object.js";
export { TaskShard } from "./objects/task-shard/object.js";
export { TaskStats } from "./objects/task-stats/object.js";
export { Tenant } from "./objects/tenant/object.js";

const app = buildApp();

export default {
  fetch: (request, env, ctx) => publishFast(request, env, (r) => app.fetch(r, env, ctx)) ?? app.fetch(request, env, ctx),
  queue: (batch, env, ctx) => handleQueue(batch, env, ctx),
} satisfies ExportedHandler<Env>;

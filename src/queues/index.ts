/** Queue entry: dispatches a batch to its consumer by queue name (production and local share names). */
import { consumeDeliveries } from "./deliveries.js";
import { consumeTasks } from "./tasks.js";

export async function handleQueue(batch: MessageBatch, env: Env, _ctx: ExecutionContext): Promise<void> {
  if (batch.queue === "edgebus-deliveries") return consumeDeliveries(batch, env);
  if (batch.queue.startsWith("edgebus-tasks-") && batch.queue !== "edgebus-tasks-dlq") return consumeTasks(batch, env);
  // Dead-letter queues have no consumer configured; anything else is unexpected and kept for a retry.
  for (const message of batch.messages) message.retry({ delaySeconds: 60 });
}

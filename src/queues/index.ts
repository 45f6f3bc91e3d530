/** Queue entry: dispatches a batch to its consumer by queue name (production and local share names). */
import { consumeDeliveries } from "./deliveries.js";

export async function handleQueue(batch: MessageBatch, env: Env, _ctx: ExecutionContext): Promise<void> {
  if (batch.queue.startsWith("edgebus-deliveries") && !batch.queue.endsWith("-dlq")) {
    await consumeDeliveries(batch, env);
    return;
  }
  // Task queues get their consumer with the work-queue issue; until then nothing is dropped.
  for (const message of batch.messages) message.retry({ delaySeconds: 60 });
}

/** Queue entry: dispatches a batch to its consumer by queue name. */
export async function handleQueue(batch: MessageBatch, _env: Env, _ctx: ExecutionContext): Promise<void> {
  // Consumers are added with their issues; until then a message is left for a retry, never dropped.
  for (const message of batch.messages) message.retry();
}

/** Task queue consumer (being built; see the work-queue issue). Until then nothing is dropped. */
export async function consumeTasks(batch: MessageBatch, _env: Env): Promise<void> {
  for (const message of batch.messages) message.retry({ delaySeconds: 60 });
}

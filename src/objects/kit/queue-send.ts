/**
 * Chunked queue sends for the objects' outboxes: `sendBatch` takes at most 100 messages, and a
 * refused chunk must not stop the others. Each chunk that the queue took is reported to `sent`
 * (the object then gives its rows the full lease); a refused one is logged, reported to `failed`
 * and left for the object's alarm, which re-sends rows whose lease ran out.
 */
export const SEND_CHUNK = 100;

export async function sendInChunks<T>(
  items: readonly T[],
  send: (chunk: T[]) => Promise<unknown>,
  sent: (chunk: T[]) => void,
  what: string,
  failed: (chunk: T[]) => void = () => {},
): Promise<void> {
  for (let i = 0; i < items.length; i += SEND_CHUNK) {
    const chunk = items.slice(i, i + SEND_CHUNK);
    try {
      await send(chunk);
    } catch (err) {
      console.warn(JSON.stringify({ level: "warn", message: `${what} sendBatch failed; the alarm will re-send`, error: String(err) }));
      failed(chunk);
      continue;
    }
    sent(chunk);
  }
}

/** Reading a body with a size limit: stops (and cancels the stream) as soon as it passes the limit. */

/** The bytes of `stream`, or null when it is longer than `limit` bytes. */
export async function readLimited(stream: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array | null> {
  if (!stream) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  const size = await consume(stream.getReader(), limit, (chunk) => chunks.push(chunk));
  if (size === null) return null;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Reads `stream` to its end and keeps nothing: true when it ended within `limit` bytes and `ms`
 * milliseconds; otherwise it is cancelled there and false (also when reading fails). An HTTP
 * response read to its end leaves its connection open for the next request; a cancelled one
 * closes it.
 */
export async function drainLimited(stream: ReadableStream<Uint8Array> | null, limit: number, ms: number): Promise<boolean> {
  if (!stream) return true;
  const reader = stream.getReader();
  let late = false;
  // Cancelling ends the pending read as if the stream had ended; `late` tells the two apart.
  const timer = setTimeout(() => {
    late = true;
    reader.cancel().catch(() => {});
  }, ms);
  try {
    return (await consume(reader, limit)) !== null && !late;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Reads to the end, handing each chunk to `keep`: the size read, or null (cancelled) past `limit` bytes. */
async function consume(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  limit: number,
  keep?: (chunk: Uint8Array) => void,
): Promise<number | null> {
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return size;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    keep?.(value);
  }
}

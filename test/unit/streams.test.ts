import { describe, expect, it } from "vitest";
import { drainLimited, readLimited } from "../../src/domain/streams.js";

const bytes = (n: number) => new Uint8Array(n).fill(120);

/** A stream of `chunks`, then (unless `stall`) its end; `cancelled` tells whether it was cancelled. */
function source(chunks: Uint8Array[], stall = false) {
  const state = { cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      if (!stall) controller.close();
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

describe("readLimited", () => {
  it("returns the bytes within the limit, and null (cancelled) past it", async () => {
    expect(await readLimited(source([bytes(3), bytes(4)]).stream, 7)).toEqual(bytes(7));
    const over = source([bytes(5), bytes(5)], true);
    expect(await readLimited(over.stream, 7)).toBeNull();
    expect(over.state.cancelled).toBe(true);
  });
});

describe("drainLimited", () => {
  it("reads a short body to its end without cancelling it", async () => {
    const s = source([bytes(10), bytes(10)]);
    expect(await drainLimited(s.stream, 64, 1_000)).toBe(true);
    expect(s.state.cancelled).toBe(false);
    expect(await drainLimited(null, 64, 1_000)).toBe(true);
  });

  it("cancels a body past the limit", async () => {
    const s = source([bytes(40), bytes(40)], true);
    expect(await drainLimited(s.stream, 64, 1_000)).toBe(false);
    expect(s.state.cancelled).toBe(true);
  });

  it("cancels a body that has not ended after `ms`", async () => {
    const s = source([bytes(5)], true);
    const started = Date.now();
    expect(await drainLimited(s.stream, 64, 100)).toBe(false);
    expect(s.state.cancelled).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });
});

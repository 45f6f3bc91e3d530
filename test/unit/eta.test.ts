/** Unit tests for the task estimate: moving average, parallelism, the formula and its formatting. */
import { describe, expect, it } from "vitest";
import {
  CONSUMER_BATCH,
  DEFAULT_PROCESSING_MS,
  DISPATCH_MS,
  estimatedProcessingTime,
  estimateSeconds,
  ewma,
  parallelism,
  processingMs,
} from "../../src/domain/eta";

describe("ewma", () => {
  it("takes the first sample as is, then moves a fifth of the way to each new one", () => {
    expect(ewma(null, 500)).toBe(500);
    expect(ewma(1000, 2000)).toBe(1200);
    expect(ewma(1000, 0)).toBe(800);
    expect(ewma(1000, 2000, 0.5)).toBe(1500);
  });

  it("converges to a steady processing time and ignores nonsense samples", () => {
    let avg: number | null = null;
    for (let i = 0; i < 60; i++) avg = ewma(avg, 300);
    expect(avg).toBe(300);
    avg = 5000;
    for (let i = 0; i < 30; i++) avg = ewma(avg, 300);
    expect(avg).toBeGreaterThan(300);
    expect(avg).toBeLessThan(310);
    expect(ewma(100, Number.NaN)).toBe(80);
    expect(ewma(100, -50)).toBe(80);
  });
});

describe("parallelism", () => {
  it("is the workers' total concurrency, within [1, batch size]", () => {
    expect(parallelism([])).toBe(1);
    expect(parallelism([2])).toBe(2);
    expect(parallelism([2, 3])).toBe(5);
    expect(parallelism([8, 8])).toBe(CONSUMER_BATCH);
    expect(parallelism([0, -3, Number.NaN])).toBe(1);
    expect(parallelism([4, 4], 6)).toBe(6);
  });
});

describe("estimateSeconds", () => {
  const base = { typeAvgMs: 2000, anyAvgMs: null, parallelism: 1 };

  it("is dispatch plus one processing time for an empty queue", () => {
    expect(estimateSeconds({ ...base, ahead: 0 })).toBe(DISPATCH_MS / 1000 + 2);
  });

  it("grows with the backlog ahead and shrinks with parallelism", () => {
    expect(estimateSeconds({ ...base, ahead: 10 })).toBe(1 + 11 * 2);
    expect(estimateSeconds({ ...base, ahead: 10, parallelism: 5 })).toBe(1 + 3 * 2);
    expect(estimateSeconds({ ...base, ahead: 9, parallelism: 10 })).toBe(1 + 1 * 2);
    const few = estimateSeconds({ ...base, ahead: 5 });
    const many = estimateSeconds({ ...base, ahead: 50 });
    expect(many).toBeGreaterThan(few);
  });

  it("adds a requested delay and honours an explicit dispatch time", () => {
    expect(estimateSeconds({ ...base, ahead: 0, delaySeconds: 60, dispatchMs: 0 })).toBe(62);
  });

  it("uses the type's average, else the tenant's, else the default", () => {
    expect(processingMs({ typeAvgMs: 300, anyAvgMs: 900 })).toBe(300);
    expect(processingMs({ typeAvgMs: null, anyAvgMs: 900 })).toBe(900);
    expect(processingMs({ typeAvgMs: null, anyAvgMs: null })).toBe(DEFAULT_PROCESSING_MS);
    expect(processingMs({ typeAvgMs: Number.NaN, anyAvgMs: null })).toBe(DEFAULT_PROCESSING_MS);
  });

  it("treats broken inputs as the neutral value", () => {
    const odd = { ahead: -4, typeAvgMs: 1000, anyAvgMs: null, parallelism: 0, delaySeconds: -5, dispatchMs: -1 };
    expect(estimateSeconds(odd)).toBe(1);
    expect(estimateSeconds({ ...odd, ahead: Number.NaN, parallelism: Number.NaN })).toBe(1);
  });
});

describe("estimatedProcessingTime", () => {
  it("formats as whole seconds, then minutes, then hours", () => {
    expect(estimatedProcessingTime({ ahead: 0, typeAvgMs: 29_000, anyAvgMs: null, parallelism: 1 })).toBe("30s");
    expect(estimatedProcessingTime({ ahead: 0, typeAvgMs: 200, anyAvgMs: null, parallelism: 1 })).toBe("2s");
    expect(estimatedProcessingTime({ ahead: 119, typeAvgMs: 1000, anyAvgMs: null, parallelism: 1 })).toBe("2m");
    expect(estimatedProcessingTime({ ahead: 3 * 3600, typeAvgMs: 1000, anyAvgMs: null, parallelism: 1 })).toBe("3h");
  });

  it("is not a constant: the same type behind a backlog of 50 is estimated later", () => {
    const input = { typeAvgMs: 400, anyAvgMs: null, parallelism: 2 };
    expect(estimatedProcessingTime({ ...input, ahead: 0 })).toBe("2s");
    expect(estimatedProcessingTime({ ...input, ahead: 50 })).toBe("12s");
  });
});

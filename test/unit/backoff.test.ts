/** Unit tests for retry timing: backoff schedule, jitter, Retry-After, classification, formatting. */
import { describe, expect, it } from "vitest";
import {
  classifyResponse,
  DEFAULT_RETRY_POLICY,
  DEFAULT_TASK_RETRY,
  formatDuration,
  nextDelaySeconds,
  parseRetryAfter,
  retryDelaySeconds,
} from "../../src/domain/backoff";

const noJitter = () => 0.5;

describe("defaults", () => {
  it("are 12 attempts from 5 s for webhooks and 5 attempts from 1 s for tasks", () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ maxAttempts: 12, backoffMs: 5000, timeoutMs: 15000 });
    expect(DEFAULT_TASK_RETRY).toEqual({ maxAttempts: 5, backoffMs: 1000 });
  });
});

describe("retryDelaySeconds", () => {
  it("doubles from backoffMs (5000 ms): 5 s … 5120 s over 11 retries", () => {
    const delays = Array.from({ length: 11 }, (_, i) => retryDelaySeconds(i + 1, 5000, noJitter));
    expect(delays).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120]);
    const total = delays.reduce((a, b) => a + b, 0);
    expect(total).toBe(10235);
    expect(total / 3600).toBeCloseTo(2.84, 2);
    expect(formatDuration(total)).toBe("3h");
    expect(formatDuration(delays[10] ?? 0)).toBe("85m");
  });

  it("is at least 1 s for small backoffMs", () => {
    expect(retryDelaySeconds(1, 100, noJitter)).toBe(1);
    expect(retryDelaySeconds(1, 0, noJitter)).toBe(1);
    expect(retryDelaySeconds(1, 100, () => 0)).toBe(1);
    expect(retryDelaySeconds(4, 100, noJitter)).toBe(1);
    expect(retryDelaySeconds(5, 100, noJitter)).toBe(2);
  });

  it("is at most 24 h", () => {
    expect(retryDelaySeconds(20, 5000, noJitter)).toBe(86400);
    expect(retryDelaySeconds(1000, 5000, () => 0.999)).toBe(86400);
    expect(retryDelaySeconds(Number.MAX_SAFE_INTEGER, 0, noJitter)).toBe(1);
  });

  it("jitters within ±20%", () => {
    expect(retryDelaySeconds(1, 5000, () => 0)).toBe(4);
    expect(retryDelaySeconds(1, 5000, () => 0.999)).toBe(6);
    expect(retryDelaySeconds(10, 5000, () => 0)).toBe(Math.round(2560 * 0.8));
    expect(retryDelaySeconds(10, 5000, () => 0.999)).toBe(Math.round(2560 * (0.8 + 0.4 * 0.999)));
    for (let i = 0; i < 200; i++) {
      const d = retryDelaySeconds(6, 5000);
      expect(d).toBeGreaterThanOrEqual(128);
      expect(d).toBeLessThanOrEqual(192);
    }
  });

  it("is deterministic given random", () => {
    let seed = 0;
    const rnd = () => {
      seed = (seed * 9301 + 49297) % 233280;
      return seed / 233280;
    };
    seed = 42;
    const a = Array.from({ length: 8 }, (_, i) => retryDelaySeconds(i + 1, 5000, rnd));
    seed = 42;
    const b = Array.from({ length: 8 }, (_, i) => retryDelaySeconds(i + 1, 5000, rnd));
    expect(a).toEqual(b);
  });

  it("treats attempt < 1 as attempt 1", () => {
    expect(retryDelaySeconds(0, 5000, noJitter)).toBe(5);
    expect(retryDelaySeconds(-3, 5000, noJitter)).toBe(5);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);
  it("reads delta-seconds", () => {
    expect(parseRetryAfter("120", now)).toBe(120);
    expect(parseRetryAfter(" 30 ", now)).toBe(30);
    expect(parseRetryAfter("0", now)).toBe(1);
    expect(parseRetryAfter("999999", now)).toBe(86400);
  });
  it("reads HTTP dates relative to now", () => {
    expect(parseRetryAfter("Wed, 01 Jan 2025 12:02:00 GMT", now)).toBe(120);
    expect(parseRetryAfter(new Date(now + 45_000).toUTCString(), now)).toBe(45);
    expect(parseRetryAfter("Wed, 01 Jan 2025 11:00:00 GMT", now)).toBe(1);
    expect(parseRetryAfter("Fri, 01 Jan 2027 12:00:00 GMT", now)).toBe(86400);
  });
  it("is undefined when absent or invalid", () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("-5", now)).toBeUndefined();
    expect(parseRetryAfter("1.5", now)).toBeUndefined();
    expect(parseRetryAfter("Wed, 99 Foo 2025 nonsense", now)).toBeUndefined();
  });
});

describe("nextDelaySeconds", () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);
  const policy = { backoffMs: 5000 };
  it("honours Retry-After on 429 and 503", () => {
    expect(nextDelaySeconds({ attempt: 1, policy, status: 429, retryAfter: "120", nowMs: now, random: noJitter })).toBe(120);
    expect(
      nextDelaySeconds({ attempt: 1, policy, status: 503, retryAfter: "Wed, 01 Jan 2025 12:10:00 GMT", nowMs: now, random: noJitter }),
    ).toBe(600);
    expect(nextDelaySeconds({ attempt: 1, policy, status: 429, retryAfter: "0", nowMs: now, random: noJitter })).toBe(1);
    expect(nextDelaySeconds({ attempt: 1, policy, status: 429, retryAfter: "9999999", nowMs: now, random: noJitter })).toBe(86400);
  });
  it("ignores Retry-After for other statuses", () => {
    expect(nextDelaySeconds({ attempt: 3, policy, status: 500, retryAfter: "120", nowMs: now, random: noJitter })).toBe(20);
    expect(nextDelaySeconds({ attempt: 3, policy, status: 502, retryAfter: "120", nowMs: now, random: noJitter })).toBe(20);
    expect(nextDelaySeconds({ attempt: 3, policy, retryAfter: "120", nowMs: now, random: noJitter })).toBe(20);
  });
  it("falls back to backoff when Retry-After is missing or invalid", () => {
    expect(nextDelaySeconds({ attempt: 2, policy, status: 429, nowMs: now, random: noJitter })).toBe(10);
    expect(nextDelaySeconds({ attempt: 2, policy, status: 503, retryAfter: null, nowMs: now, random: noJitter })).toBe(10);
    expect(nextDelaySeconds({ attempt: 2, policy, status: 503, retryAfter: "later", nowMs: now, random: noJitter })).toBe(10);
  });
});

describe("classifyResponse", () => {
  const table: Array<[number, "success" | "disable" | "retry"]> = [
    [200, "success"],
    [201, "success"],
    [202, "success"],
    [204, "success"],
    [299, "success"],
    [100, "retry"],
    [301, "retry"],
    [302, "retry"],
    [304, "retry"],
    [307, "retry"],
    [308, "retry"],
    [400, "retry"],
    [401, "retry"],
    [403, "retry"],
    [404, "retry"],
    [408, "retry"],
    [409, "retry"],
    [410, "disable"],
    [413, "retry"],
    [429, "retry"],
    [500, "retry"],
    [502, "retry"],
    [503, "retry"],
    [504, "retry"],
  ];
  for (const [status, cls] of table) {
    it(`${status} → ${cls}`, () => expect(classifyResponse(status)).toBe(cls));
  }
});

describe("formatDuration", () => {
  const table: Array<[number, string]> = [
    [0, "1s"],
    [0.4, "1s"],
    [1, "1s"],
    [30, "30s"],
    [89, "89s"],
    [90, "2m"],
    [120, "2m"],
    [300, "5m"],
    [5120, "85m"],
    [5399, "90m"],
    [5400, "2h"],
    [7200, "2h"],
    [10235, "3h"],
    [86400, "24h"],
  ];
  for (const [seconds, text] of table) {
    it(`${seconds} → ${text}`, () => expect(formatDuration(seconds)).toBe(text));
  }
});

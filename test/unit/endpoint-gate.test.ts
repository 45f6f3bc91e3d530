import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EndpointGate } from "../../src/domain/endpoint-gate.js";

/** Every start time admitted, and the most that ever fell into one window of `windowMs`. */
function maxInWindow(starts: number[], windowMs: number): number {
  const s = [...starts].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < s.length; i++) {
    while ((s[i] as number) - (s[j] as number) >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe("EndpointGate", () => {
  it("paces starts 1000 ÷ perSecond ms apart, with slots up to the horizon", () => {
    const gate = new EndpointGate(1_000);
    const a = gate.admit(0, 120, { perSecond: 50 }, 10_000);
    // One every 20 ms from now up to the horizon (0, 20, …, 1000): never a burst at one instant.
    expect(a.admitted.map((x) => x.at)).toEqual(Array.from({ length: 51 }, (_, i) => i * 20));
    expect(a.retryAt).toBe(1_020);
    // An interval that is not whole milliseconds is rounded down; the window still holds 3/s.
    const b = new EndpointGate(1_000).admit(0, 5, { perSecond: 3 }, 10_000);
    expect(b.admitted.map((x) => x.at)).toEqual([0, 333, 666, 1_000]);
    expect(b.retryAt).toBe(1_333);
  });

  it("keeps the configured rate when its interval is not whole milliseconds (300/s, 700/s, 2,000/s)", () => {
    for (const perSecond of [300, 700, 2_000]) {
      const gate = new EndpointGate(1_000);
      const starts: number[] = [];
      // A backlog that asks to start every millisecond, as often as the gate lets it, for 10 s.
      for (let now = 0; now < 10_000; now++) {
        while (gate.start(now, { perSecond }) === 0) starts.push(now);
      }
      expect(starts.length / 10).toBeGreaterThanOrEqual(perSecond * 0.98);
      expect(maxInWindow(starts, 1_000)).toBeLessThanOrEqual(perSecond);
    }
  });

  it("caps requests in flight and gives slots back when they finish or expire", () => {
    const gate = new EndpointGate();
    const a = gate.admit(0, 5, { maxInFlight: 2 }, 1_000);
    expect(a.admitted).toHaveLength(2);
    expect(a.retryAt).toBe(1_000);
    gate.done([a.admitted[0]?.token as number]);
    expect(gate.admit(10, 5, { maxInFlight: 2 }, 1_000).admitted).toHaveLength(1);
    expect(gate.inFlightCount(10)).toBe(2);
    // Never reported done: the hold time gives the slots back.
    expect(gate.inFlightCount(1_010)).toBe(0);
  });

  it("a pause refuses everything until it ends", () => {
    const gate = new EndpointGate();
    gate.pause(5_000);
    expect(gate.admit(1_000, 3, undefined, 1_000)).toEqual({ admitted: [], retryAt: 5_000 });
    expect(gate.admit(5_000, 3, undefined, 1_000).admitted).toHaveLength(3);
  });

  it("never exceeds the limits, whatever the sequence of calls", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 700 }), count: fc.integer({ min: 0, max: 80 }), finish: fc.nat(30) }), {
          maxLength: 60,
        }),
        (perSecond, maxInFlight, calls) => {
          const gate = new EndpointGate(1_000);
          let now = 0;
          const starts: number[] = [];
          const open: number[] = [];
          for (const c of calls) {
            now += c.gap;
            gate.done(open.splice(0, c.finish));
            const { admitted, retryAt } = gate.admit(now, c.count, { perSecond, maxInFlight }, 60_000);
            for (const x of admitted) {
              expect(x.at).toBeGreaterThanOrEqual(now);
              expect(x.at).toBeLessThanOrEqual(now + 1_000);
              starts.push(x.at);
              open.push(x.token);
            }
            expect(open.length).toBeLessThanOrEqual(maxInFlight);
            if (admitted.length < c.count) expect(retryAt).not.toBeNull();
          }
          expect(maxInWindow(starts, 1_000)).toBeLessThanOrEqual(perSecond);
        },
      ),
      { numRuns: 300, seed: 20261127 },
    );
  });
});

describe("EndpointGate without reserved slots (the Endpoint object's own sender)", () => {
  it("admits at most one second's worth to wait, and counts real start times", () => {
    const gate = new EndpointGate();
    const a = gate.admit(0, 30, { perSecond: 10 }, 5_000, false);
    expect(a.admitted).toHaveLength(10);
    expect(a.retryAt).toBe(1_000);
    // Starts are paced 100 ms apart: the second caller at the same instant waits.
    expect(gate.start(0, { perSecond: 10 })).toBe(0);
    expect(gate.start(0, { perSecond: 10 })).toBe(100);
    expect(gate.start(100, { perSecond: 10 })).toBe(0);
    // A start that ran late is counted when it really happens, and the next one paces from it.
    expect(gate.start(450, { perSecond: 10 })).toBe(0);
    expect(gate.start(500, { perSecond: 10 })).toBe(50);
    expect(gate.start(550, { perSecond: 10 })).toBe(0);
  });

  it("never lets more than perSecond start in any window, however late the callers are", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 200 }),
        (perSecond, gaps) => {
          const gate = new EndpointGate();
          let now = 0;
          const starts: number[] = [];
          for (const gap of gaps) {
            now += gap;
            let t = now;
            for (;;) {
              const wait = gate.start(t, { perSecond });
              if (wait <= 0) break;
              t += wait;
            }
            starts.push(t);
            now = Math.max(now, t - 200); // callers run late and out of step
          }
          expect(maxInWindow(starts, 1_000)).toBeLessThanOrEqual(perSecond);
        },
      ),
      { numRuns: 300, seed: 20261127 },
    );
  });
});

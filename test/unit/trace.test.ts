import { describe, expect, it } from "vitest";
import { newTrace, parseTraceparent, parseTracestate, traceForId, traceFrom, traceHeaders } from "../../src/domain/trace.js";

const VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("W3C trace context", () => {
  it("reads a valid traceparent", () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", parentId: "00f067aa0ba902b7", flags: "01" });
    // A later version may append fields; they are dropped and the context is kept as version 00.
    expect(traceFrom("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra").traceparent).toBe(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
    );
  });

  it.each([
    ["empty", ""],
    ["garbage", "not-a-traceparent"],
    ["upper case", VALID.toUpperCase()],
    ["version ff", `ff${VALID.slice(2)}`],
    ["zero trace id", `00-${"0".repeat(32)}-00f067aa0ba902b7-01`],
    ["zero parent id", `00-4bf92f3577b34da6a3ce929d0e0e4736-${"0".repeat(16)}-01`],
    ["version 00 with more fields", `${VALID}-x`],
    ["short trace id", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"],
  ])("refuses a malformed traceparent (%s) and starts a new trace instead", (_label, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
    const started = traceFrom(value, "vendor=abc");
    expect(parseTraceparent(started.traceparent)).toBeDefined();
    expect(started.traceparent).not.toContain("4bf92f3577b34da6a3ce929d0e0e4736");
    // tracestate belongs to the traceparent it came with: dropped with it.
    expect(started.tracestate).toBeUndefined();
  });

  it("keeps a well-formed tracestate and drops a malformed one", () => {
    expect(parseTracestate("congo=t61rcWkgMzE, rojo=00f067aa0ba902b7")).toBe("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    expect(parseTracestate("tenant@vendor=x")).toBe("tenant@vendor=x");
    expect(parseTracestate("no equals sign")).toBeUndefined();
    expect(parseTracestate("UPPER=x")).toBeUndefined();
    expect(parseTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(","))).toBeUndefined();
    expect(traceFrom(VALID, "rojo=00f067aa0ba902b7")).toEqual({ traceparent: VALID, tracestate: "rojo=00f067aa0ba902b7" });
  });

  it("starts a sampled trace with random ids", () => {
    const a = parseTraceparent(newTrace().traceparent);
    const b = parseTraceparent(newTrace().traceparent);
    expect(a?.flags).toBe("01");
    expect(a?.traceId).not.toBe(b?.traceId);
  });

  it("sends the same trace id and flags with a new parent id on every request", () => {
    const trace = traceFrom(VALID, "rojo=1");
    const sent = Array.from({ length: 20 }, () => traceHeaders(trace));
    const parsed = sent.map((h) => parseTraceparent(h.traceparent));
    expect(parsed.every((p) => p?.traceId === "4bf92f3577b34da6a3ce929d0e0e4736" && p.flags === "01")).toBe(true);
    const parents = new Set(parsed.map((p) => p?.parentId));
    expect(parents.size).toBe(20);
    expect(parents.has("00f067aa0ba902b7")).toBe(false);
    expect(sent.every((h) => h.tracestate === "rojo=1")).toBe(true);
  });

  it("derives a stable, valid trace for records stored before trace context existed", () => {
    expect(traceForId("t/p/evt-1")).toEqual(traceForId("t/p/evt-1"));
    expect(traceForId("t/p/evt-1").traceparent).not.toBe(traceForId("t/p/evt-2").traceparent);
    expect(parseTraceparent(traceForId("t/p/evt-1").traceparent)).toBeDefined();
  });
});

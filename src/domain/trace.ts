/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): reading the `traceparent` /
 * `tracestate` a publisher sent, starting a trace when there is none (or it is malformed — never
 * an error), and the header pair of one outgoing request: the same trace id and flags, a new
 * parent id each time (each delivery attempt and task dispatch is its own span).
 */
import { hash32, idBytes, toHex } from "./ids.js";

/** What is stored with an event or a task: a valid `traceparent`, and `tracestate` when one came with it. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const TRACESTATE_MAX_CHARS = 512;
/** Members are `key=value`, comma-separated; values are printable ASCII without `,` and `=`. */
const TRACESTATE_MEMBER = /^[a-z0-9][a-z0-9_\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_PARENT = "0".repeat(16);

/** A `traceparent` as the spec accepts it, normalized to version 00; undefined when malformed. */
export function parseTraceparent(value: string | undefined | null): { traceId: string; parentId: string; flags: string } | undefined {
  if (typeof value !== "string") return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return undefined;
  const [, version, traceId, parentId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === "ff" || traceId === ZERO_TRACE || parentId === ZERO_PARENT) return undefined;
  // Version 00 has exactly four fields; a later version may append more, which are dropped.
  if (version === "00" && rest !== undefined) return undefined;
  return { traceId, parentId, flags };
}

/** A `tracestate` kept only when it is well formed (at most 32 members, 512 characters). */
export function parseTracestate(value: string | undefined | null): string | undefined {
  if (typeof value !== "string") return undefined;
  const members = value
    .split(",")
    .map((m) => m.trim())
    .filter((m) => m !== "");
  if (members.length === 0 || members.length > 32) return undefined;
  if (!members.every((m) => TRACESTATE_MEMBER.test(m))) return undefined;
  const joined = members.join(",");
  return joined.length <= TRACESTATE_MAX_CHARS ? joined : undefined;
}

/**
 * The trace context to store: the publisher's when its `traceparent` is valid (with its
 * `tracestate`), else a new trace (a `tracestate` without a valid `traceparent` is dropped).
 */
export function traceFrom(traceparent?: string | null, tracestate?: string | null): TraceContext {
  const parsed = parseTraceparent(traceparent);
  if (!parsed) return newTrace();
  const state = parseTracestate(tracestate);
  return { traceparent: `00-${parsed.traceId}-${parsed.parentId}-${parsed.flags}`, ...(state ? { tracestate: state } : {}) };
}

/** A new trace: random trace and parent ids, sampled. */
export function newTrace(): TraceContext {
  return { traceparent: `00-${randomHex(16, ZERO_TRACE)}-${randomHex(8, ZERO_PARENT)}-01` };
}

/**
 * A stable trace for an event or task stored before trace context existed: derived from its id,
 * so all of its attempts still share one trace id.
 */
export function traceForId(id: string): TraceContext {
  const words = [hash32(id), hash32(`${id}#1`), hash32(`${id}#2`), hash32(`${id}#3`)];
  const traceId = words.map((w) => w.toString(16).padStart(8, "0")).join("");
  return { traceparent: `00-${traceId === ZERO_TRACE ? "1".padStart(32, "0") : traceId}-${"0".repeat(15)}1-01` };
}

/** The headers of one outgoing request in this trace: same trace id and flags, a new parent id. */
export function traceHeaders(trace: TraceContext): { traceparent: string; tracestate?: string } {
  const parsed =
    parseTraceparent(trace.traceparent) ?? (parseTraceparent(newTrace().traceparent) as NonNullable<ReturnType<typeof parseTraceparent>>);
  return {
    traceparent: `00-${parsed.traceId}-${randomHex(8, ZERO_PARENT)}-${parsed.flags}`,
    ...(trace.tracestate ? { tracestate: trace.tracestate } : {}),
  };
}

function randomHex(bytes: number, zero: string): string {
  for (;;) {
    const hex = toHex(idBytes(bytes));
    if (hex !== zero) return hex;
  }
}

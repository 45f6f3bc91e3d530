/**
 * The benchmark's receiver: a plain Node HTTP server on 127.0.0.1 that answers every webhook and
 * task delivery with 200 at once. Paths are `/hook/<bucket>` and `/task/<bucket>`; per bucket it
 * counts receipts and distinct ids (x-event-id / webhook-id, or the task id), so lost and
 * duplicated deliveries can be computed. Buckets opened with `{ record: true }` also keep, per
 * receipt, the receiver's clock and the event's own timestamp (publish→receipt latency).
 *
 * Two bucket options make a bad receiver for the fault scenarios: `delayMs` answers 200 only after
 * that long (a hanging endpoint), and `faults: {seed, timeoutMs}` fails 30 % of requests, drawn
 * from a seeded random sequence (which request gets which draw depends on arrival order): 15 %
 * 500, 10 % held past the sender's `timeoutMs`, 5 % connection reset. Only a 2xx counts as a
 * receipt (ids, samples). With `faults` or `log: true` every request is also logged in `attempts`
 * with its `X-Delivery-Attempt` and what it was answered.
 *
 * It lives in the benchmark's process (not test/helpers/receiver.ts, which is TypeScript and keeps
 * every body): at hundreds of deliveries a second only counters and small records are kept.
 */
import { createServer } from "node:http";

export class Receiver {
  constructor() {
    this.buckets = new Map();
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this.url;
  }

  /** Creates (or resets) a bucket; returns its URL path for the given kind ("hook" or "task"). */
  open(bucket, { record = false, order = false, delayMs = 0, faults = null, log = false } = {}) {
    this.buckets.set(bucket, {
      ...emptyBucket(),
      record,
      order: order ? { partitions: new Map(), violations: 0, gaps: 0 } : null,
      delayMs,
      faults: faults ? { ...faults, random: mulberry32(faults.seed) } : null,
      log: log || faults !== null,
    });
    return bucket;
  }

  bucket(name) {
    let b = this.buckets.get(name);
    if (!b) {
      b = emptyBucket();
      this.buckets.set(name, b);
    }
    return b;
  }

  handle(req, res) {
    const at = Date.now();
    const [, , name = "default"] = (req.url ?? "/").split("?")[0].split("/");
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const b = this.bucket(name);
      let id = header(req, "x-event-id") ?? header(req, "webhook-id") ?? header(req, "x-task-id");
      let timestamp;
      if (b.record || !id) {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          const event = body?.event ?? body?.task ?? body;
          id ??= event?.id ?? event?.taskId;
          timestamp = event?.timestamp;
        } catch {
          b.unparsable += 1;
        }
      }
      const answer = b.faults ? fault(b.faults.random()) : "ok";
      if (b.log) b.attempts.push({ at, id, attempt: Number(header(req, "x-delivery-attempt")), answer });
      if (answer === "reset") return req.socket.destroy();
      if (answer === 500) return res.writeHead(500).end("failing on purpose");
      if (answer === "timeout") return void setTimeout(() => res.writeHead(200).end("too late"), b.faults.timeoutMs + 1000);
      const accept = () => {
        b.received += 1;
        if (b.order && id && !b.ids.has(id)) checkOrder(b.order, req);
        if (id) b.ids.set(id, (b.ids.get(id) ?? 0) + 1);
        if (b.record) b.samples.push({ at, id, ts: timestamp ? Date.parse(timestamp) : NaN });
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"ok":true}');
      };
      if (b.delayMs <= 0) return accept();
      b.holding += 1;
      b.maxHolding = Math.max(b.maxHolding, b.holding);
      setTimeout(() => {
        b.holding -= 1;
        accept();
      }, b.delayMs);
    });
    req.on("error", () => res.destroy());
  }

  /** Receipts and distinct ids over several buckets. */
  totals(names) {
    let received = 0;
    let distinct = 0;
    for (const n of names) {
      const b = this.bucket(n);
      received += b.received;
      distinct += b.ids.size;
    }
    return { received, distinct, duplicates: received - distinct };
  }

  /** Waits until `distinct` (or raw receipts, for id-less tasks) reach `expected`, or the deadline. */
  async waitFor(names, expected, maxMs, { byReceipts = false } = {}) {
    const start = Date.now();
    for (;;) {
      const t = this.totals(names);
      const have = byReceipts ? t.received : t.distinct;
      if (have >= expected || Date.now() - start >= maxMs) return { ...t, waitedMs: Date.now() - start, complete: have >= expected };
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close() {
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function emptyBucket() {
  return {
    received: 0,
    ids: new Map(),
    record: false,
    order: null,
    samples: [],
    unparsable: 0,
    delayMs: 0,
    holding: 0,
    maxHolding: 0,
    faults: null,
    log: false,
    attempts: [],
  };
}

/** 30 % of requests fail: 15 % 500, 10 % time out, 5 % connection reset. */
function fault(r) {
  return r < 0.15 ? 500 : r < 0.25 ? "timeout" : r < 0.3 ? "reset" : "ok";
}

/** mulberry32: a fixed sequence of draws in [0, 1) for a given seed (the fault scenarios and the chaos run). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function checkOrder(order, req) {
  const key = header(req, "x-partition-key") ?? "";
  const seq = Number(header(req, "x-event-sequence"));
  const prev = Number(header(req, "x-previous-sequence"));
  const p = order.partitions.get(key) ?? { last: 0, max: 0, count: 0 };
  if (seq < p.max) order.violations += 1;
  if (prev !== p.last) order.gaps += 1;
  order.partitions.set(key, { last: seq, max: Math.max(p.max, seq), count: p.count + 1 });
}

function header(req, name) {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

#!/usr/bin/env node
import { rmSync } from "node:fs";
/**
 * `npm run test:chaos` — the fault run: N events over many partitions to several webhooks whose
 * receiver fails about 30 % of requests (500s, 429/503 with Retry-After, time-outs, connection
 * resets), with `wrangler dev` stopped and started again in the middle of the run, and publishers
 * that retry with the same event ids until they get a 202.
 *
 *   node scripts/chaos.mjs [--quick] [--events N] [--webhooks W] [--partitions P] [--seed S]
 *                          [--publishers C] [--drain-seconds D]
 *
 * It asserts that nothing is lost (every event reaches every webhook with a 2xx) and that a
 * duplicate is only ever the same delivery again (the same `webhook-id`, which is the event id),
 * and prints events, deliveries, duplicates, drain time and deliveries/s. Exit 1 on a failed
 * assertion or when the run could not complete. `--quick` (about 2 minutes) runs in `.ci/run`.
 */
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { mulberry32 } from "../bench/lib/receiver.mjs";
import { freePort, WranglerDev } from "../bench/lib/server.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const ADMIN = "dev-admin-token";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    events: { type: "string" },
    webhooks: { type: "string" },
    partitions: { type: "string" },
    publishers: { type: "string" },
    seed: { type: "string" },
    "drain-seconds": { type: "string" },
  },
});
const quick = args.quick;
const N = Number(args.events ?? (quick ? 300 : 1000));
const W = Number(args.webhooks ?? (quick ? 3 : 4));
const P = Number(args.partitions ?? (quick ? 40 : 200));
const C = Number(args.publishers ?? 8);
const SEED = Number(args.seed ?? 15);
const DRAIN_MS = Number(args["drain-seconds"] ?? (quick ? 80 : 600)) * 1000;
/**
 * After the drain, how much longer to wait for deliveries that are still in their retry schedule
 * (pending, with a next attempt): a long run of failures puts a delivery's next attempt minutes
 * out by its exponential backoff, which is late, not lost.
 */
const LATE_MS = quick ? 150_000 : 30 * 60_000;
const RUN_LIMIT_MS = quick ? 300_000 : 70 * 60_000;
const TIMEOUT_MS = 2000; // each webhook's timeoutMs; a "time-out" answer holds the request longer
/**
 * Each webhook's backoffMs. At 30 % failures about one delivery in 5,000 fails 7 times in a row;
 * with 1 s its next attempt is then a minute or more out. The quick run waits less for that:
 * 250 ms doubles from 1 s (the shortest delay) at the 4th failure, so even 9 failures in a row are
 * retried within about two minutes.
 */
const BACKOFF_MS = quick ? 250 : 1000;

// ---------- the failing receiver ----------

const rand = mulberry32(SEED);
const stats = { requests: 0, ok: 0, e500: 0, e429: 0, e503: 0, timeouts: 0, resets: 0 };
/** `${hook}|${eventId}` → { first: ms of the first 2xx, oks: number of 2xx, ids: Set of webhook-ids } */
const deliveries = new Map();
const badIds = [];
/** `${hook}|${eventId}` → what the receiver answered each time (for the report on a loss). */
const answers = new Map();

function startReceiver(port) {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      stats.requests++;
      const hook = req.url.split("/")[2] ?? "?";
      let eventId = "?";
      try {
        eventId = JSON.parse(Buffer.concat(chunks).toString("utf8")).event.id;
      } catch {
        // not an event delivery
      }
      const r = rand();
      const seen = `${hook}|${eventId}`;
      answers.set(seen, [
        ...(answers.get(seen) ?? []),
        r < 0.1 ? 500 : r < 0.15 ? 429 : r < 0.2 ? 503 : r < 0.25 ? "timeout" : r < 0.3 ? "reset" : 200,
      ]);
      if (r < 0.1) {
        stats.e500++;
        res.writeHead(500).end("boom");
      } else if (r < 0.15) {
        stats.e429++;
        res.writeHead(429, { "retry-after": "1" }).end("slow down");
      } else if (r < 0.2) {
        stats.e503++;
        res.writeHead(503, { "retry-after": "1" }).end("unavailable");
      } else if (r < 0.25) {
        stats.timeouts++;
        setTimeout(() => res.writeHead(200).end("too late"), TIMEOUT_MS + 1500);
      } else if (r < 0.3) {
        stats.resets++;
        req.socket.destroy();
      } else {
        stats.ok++;
        const key = `${hook}|${eventId}`;
        const d = deliveries.get(key) ?? { first: Date.now(), oks: 0, ids: new Set() };
        d.oks++;
        d.ids.add(req.headers["webhook-id"]);
        deliveries.set(key, d);
        if (req.headers["webhook-id"] !== eventId) badIds.push({ hook, eventId, webhookId: req.headers["webhook-id"] });
        res.writeHead(200).end("ok");
      }
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

// ---------- talking to edgebus ----------

async function api(base, method, path, { key, body, expect = [200, 201, 202] } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  if (!expect.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const server = new WranglerDev(ROOT);
let receiver;
const watchdog = setTimeout(() => {
  console.error(`chaos: the run took longer than ${RUN_LIMIT_MS / 1000} s; stopping`);
  server.killNow();
  process.exit(1);
}, RUN_LIMIT_MS);
process.on("exit", () => server.killNow());

async function main() {
  const t0 = Date.now();
  const log = (msg) => console.log(`${String(Math.round((Date.now() - t0) / 1000)).padStart(4)}s ${msg}`);
  console.log(
    `edgebus chaos — ${quick ? "quick" : "full"}: ${N} events, ${P} partitions, ${W} webhooks, ${C} publishers, seed ${SEED}; receiver fails ~30 %`,
  );
  const receiverPort = await freePort();
  receiver = await startReceiver(receiverPort);
  let base = await server.start();
  log(`wrangler dev ready at ${base}; receiver at http://127.0.0.1:${receiverPort}`);

  const tenant = await api(base, "POST", "/tenants", { key: ADMIN, body: { name: "chaos" } });
  const key = tenant.apiKey;
  // The publishers are meant to be fast here, not throttled: the run is about faults.
  await api(base, "PATCH", `/tenants/${tenant.tenantId}`, { key: ADMIN, body: { limits: { publishPerSecond: 100_000 } } });
  const hooks = [];
  for (let w = 0; w < W; w++) {
    const hook = await api(base, "POST", "/webhooks", {
      key,
      body: {
        name: `chaos-${w}`,
        url: `http://127.0.0.1:${receiverPort}/hook/h${w}`,
        events: ["chaos.*"],
        retryPolicy: { maxAttempts: 30, backoffMs: BACKOFF_MS, timeoutMs: TIMEOUT_MS },
      },
    });
    hooks.push(`h${w}`);
    void hook;
  }
  // Subscriptions reach every isolate within 2 s.
  await sleep(2500);

  // ---------- publishers, with a restart in the middle ----------
  let next = 0;
  let published = 0;
  let publishRetries = 0;
  let restarting = null;
  const restartAt = Math.floor(N / 2);
  let restarted = false;
  const publishStart = Date.now();

  async function publishOne(i) {
    const body = { id: `chaos-${i}`, type: "chaos.event", partitionKey: `p-${i % P}`, data: { i } };
    for (let attempt = 0; ; attempt++) {
      if (restarting) await restarting;
      try {
        const res = await fetch(`${base}/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
        await res.text();
        if (res.status === 202) return;
        if (res.status < 500 && res.status !== 429) throw new Error(`publish ${body.id}: ${res.status}`);
      } catch (err) {
        if (String(err).includes("publish chaos-")) throw err;
      }
      publishRetries++;
      await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
    }
  }

  async function publisher() {
    for (;;) {
      const i = next++;
      if (i >= N) return;
      if (i === restartAt && !restarted) {
        restarted = true;
        log(`published ${published}; restarting wrangler dev (in-memory queue messages are lost)`);
        restarting = server.restart().then((url) => {
          base = url;
          restarting = null;
          log("wrangler dev is back");
        });
      }
      await publishOne(i);
      published++;
    }
  }
  await Promise.all(Array.from({ length: C }, publisher));
  const publishedAt = Date.now();

  /** `${hook}|chaos-${i}` of every delivery the receiver has not accepted yet. */
  const missingKeys = () => {
    const keys = [];
    for (let i = 0; i < N; i++) for (const h of hooks) if (!deliveries.has(`${h}|chaos-${i}`)) keys.push(`${h}|chaos-${i}`);
    return keys;
  };
  /** The delivery row its partition holds for a missing delivery (status, attempts, next attempt). */
  async function rowOf(miss) {
    const [hook, eventId] = miss.split("|");
    const i = Number(eventId.slice("chaos-".length));
    try {
      const ev = await api(base, "GET", `/events/${eventId}?partitionKey=p-${i % P}`, { key });
      return { sequence: ev.sequence, row: ev.deliveries.find((x) => x.subscription === `chaos-${hook.slice(1)}`) };
    } catch (err) {
      return { error: err.message };
    }
  }
  log(`published ${N} events in ${((publishedAt - publishStart) / 1000).toFixed(1)} s (${publishRetries} publish retries)`);

  // ---------- drain ----------
  const expected = N * W;
  const deadline = Date.now() + DRAIN_MS;
  let lastReport = 0;
  while (deliveries.size < expected && Date.now() < deadline) {
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      log(`delivered ${deliveries.size} / ${expected}; receiver saw ${stats.requests} requests`);
    }
    await sleep(250);
  }
  const drainedAt = Date.now();
  const missingAtDrain = expected - deliveries.size;
  const lateUntil = drainedAt + LATE_MS;
  while (deliveries.size < expected && Date.now() < lateUntil) {
    // Wait for the next attempts the partitions have scheduled (a pending row without one waits
    // for its 30 s lease), as long as every missing delivery is pending; one that is not (failed,
    // dropped, no row) is lost, so stop waiting.
    const rows = await Promise.all(
      missingKeys()
        .slice(0, 50)
        .map((miss) => rowOf(miss)),
    );
    if (rows.some((r) => r.row?.status !== "PENDING")) break;
    const due = Math.max(...rows.map((r) => (r.row.nextAttemptAt ? Date.parse(r.row.nextAttemptAt) : Date.now() + 30_000)));
    log(
      `${expected - deliveries.size} deliveries still retrying; the last next attempt is due in ${Math.max(0, Math.round((due - Date.now()) / 1000))} s`,
    );
    // A next attempt already due (in flight, or its lease about to send it) still gets 10 s.
    const until = Math.min(lateUntil, Math.max(due, Date.now()) + 10_000);
    while (deliveries.size < expected && Date.now() < until) await sleep(250);
  }
  // Late duplicates (an attempt whose answer was lost, retried) still count.
  await sleep(3000);

  let lastFirst = 0;
  let duplicates = 0;
  let mixedIds = 0;
  for (const d of deliveries.values()) {
    lastFirst = Math.max(lastFirst, d.first);
    duplicates += d.oks - 1;
    if (d.ids.size !== 1) mixedIds++;
  }
  const lost = missingKeys().slice(0, 20);
  const lostCount = expected - deliveries.size;
  const drainSeconds = (Math.max(lastFirst, publishedAt) - publishedAt) / 1000;
  const totalSeconds = (lastFirst - publishStart) / 1000;
  const summary = {
    mode: quick ? "quick" : "full",
    seed: SEED,
    events: N,
    partitions: P,
    webhooks: W,
    expectedDeliveries: expected,
    delivered: deliveries.size,
    lost: lostCount,
    duplicates,
    duplicatesWithAnotherWebhookId: mixedIds + badIds.length,
    receiverRequests: stats.requests,
    failuresInjected: stats.requests - stats.ok,
    failureShare: Number(((stats.requests - stats.ok) / Math.max(1, stats.requests)).toFixed(3)),
    faults: { e500: stats.e500, e429: stats.e429, e503: stats.e503, timeouts: stats.timeouts, resets: stats.resets },
    publishRetries,
    restarted,
    publishSeconds: Number(((publishedAt - publishStart) / 1000).toFixed(1)),
    drainSeconds: Number(drainSeconds.toFixed(1)),
    deliveriesPerSecond: Number((deliveries.size / Math.max(0.001, totalSeconds)).toFixed(1)),
    lateAfterDrain: missingAtDrain - lostCount,
    gaveUpWaitingAfterSeconds: deliveries.size < expected ? (Date.now() - publishedAt) / 1000 : null,
  };
  console.log("");
  console.log(`events ${N} · deliveries ${deliveries.size}/${expected} · lost ${lostCount} · duplicates ${duplicates}`);
  console.log(
    `receiver: ${stats.requests} requests, ${summary.failuresInjected} failed on purpose (${(summary.failureShare * 100).toFixed(0)} %: ${stats.e500}×500, ${stats.e429}×429, ${stats.e503}×503, ${stats.timeouts} time-outs, ${stats.resets} resets)`,
  );
  console.log(
    `publish ${summary.publishSeconds} s (${publishRetries} retries across the restart) · drain ${summary.drainSeconds} s after the last publish · ${summary.deliveriesPerSecond} deliveries/s · ${summary.lateAfterDrain} late (still retrying at the ${DRAIN_MS / 1000} s drain limit, delivered after it)`,
  );
  console.log(JSON.stringify(summary));

  const problems = [];
  if (lostCount > 0) {
    // What the partition says about each missing delivery: late (pending, with its attempts and
    // next attempt) or stuck, and why.
    console.log("missing deliveries, as their partitions hold them:");
    for (const miss of lost.slice(0, 10)) {
      const r = await rowOf(miss);
      const held = r.error ? `could not read it (${r.error})` : `(sequence ${r.sequence}): ${JSON.stringify(r.row ?? "no delivery row")}`;
      console.log(`  ${miss} ${held}; receiver answered ${JSON.stringify(answers.get(miss) ?? [])}`);
    }
  }
  if (lostCount > 0) problems.push(`${lostCount} deliveries lost, e.g. ${lost.slice(0, 5).join(", ")}`);
  if (summary.duplicatesWithAnotherWebhookId > 0)
    problems.push(`${summary.duplicatesWithAnotherWebhookId} deliveries under another webhook-id`);
  if (!restarted) problems.push("wrangler dev was not restarted");
  const errors = server.logSummary();
  if (errors.errorLines > 0)
    console.log(`wrangler dev logged ${errors.errorLines} error lines, e.g.:\n  ${errors.errorSamples.slice(0, 3).join("\n  ")}`);
  if (problems.length > 0) throw new Error(problems.join("; "));
  console.log("chaos run OK: 0 lost, duplicates only with the same webhook-id");
}

main()
  .then(async () => {
    clearTimeout(watchdog);
    await server.stop();
    receiver?.closeAllConnections?.();
    receiver?.close();
    rmSync(server.tmp, { recursive: true, force: true });
    process.exit(0);
  })
  .catch(async (err) => {
    console.error(`chaos: FAILED — ${err.message}`);
    console.error(server.logTail?.(20) ?? "");
    clearTimeout(watchdog);
    await server.stop();
    receiver?.closeAllConnections?.();
    receiver?.close();
    process.exit(1);
  });

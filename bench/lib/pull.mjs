/**
 * Pull subscriptions and replay benchmarks, each with a fresh tenant:
 *
 * - pull.throughput: one pull subscription on `bench.#`; N events published up front with
 *   POST /events/batch (100 per request, 4 in flight, 100 partition keys, 10 per batch), then one
 *   consumer pulls (`maxMessages: 100, waitSeconds: 1`) and acks each batch in a closed loop until
 *   all N are acked. Messages/s = acked ÷ the time from the first pull to the last ack; reported
 *   also as a ratio of the events/s of publishing those N (and of the batch publish scenario's
 *   events/s when it ran).
 * - replay.throughput: N events seeded the same way over 100 partitions (quick: 20), then a pull subscription
 *   is created (it receives nothing live: every event is older) and replayed with
 *   `{since: <before seeding>}`; GET /replays/:id is polled until COMPLETED. Events scanned/s and
 *   deliveries created/s = the replay's counters ÷ (finishedAt − startedAt) as the server reports
 *   them. Then one consumer pulls and acks everything, which gives how long after the replay's
 *   start all N had been pulled.
 */
import { pool } from "./api.mjs";
import { round } from "./load.mjs";
import { SAMPLE_DATA } from "./load-scenarios.mjs";
import { guarded, probeSubscribers, record, sleep } from "./scenario.mjs";

const PARTITIONS = 100;

/**
 * Publishes `count` events of `type` (100 per request, 4 in flight) over `partitions` keys, in runs
 * of 10 consecutive events per key: a batch touches 10 partitions, and every key is used once
 * 10 × partitions events were published. (Spreading each batch over all 100 keys makes every
 * batch and every pull call 100 partitions, which on one machine is about a second each.)
 */
async function publish(ctx, api, count, type, label, partitions) {
  const started = Date.now();
  let done = 0;
  let lastReport = started;
  await pool(Math.ceil(count / 100), 4, async (b) => {
    const events = Array.from({ length: Math.min(100, count - b * 100) }, (_, k) => {
      const i = b * 100 + k;
      return { type, source: "bench", partitionKey: `p-${Math.floor(i / 10) % partitions}`, data: { ...SAMPLE_DATA, i } };
    });
    const res = await api.call("POST", "/events/batch", { body: { events }, expect: [202] });
    const bad = res.body.results.filter((r) => r?.status !== "PUBLISHED");
    if (bad.length > 0) throw new Error(`batch ${b}: ${bad.length} not published: ${JSON.stringify(bad[0])}`);
    done += events.length;
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      const rate = done / ((Date.now() - started) / 1000);
      ctx.log.progress(`${label}: ${done}/${count} events, ${Math.round(rate)} events/s, ~${Math.round((count - done) / rate)} s left`);
    }
  });
  const seconds = (Date.now() - started) / 1000;
  return { events: count, seconds: round(seconds, 2), eventsPerSec: round(count / seconds, 0) };
}

/**
 * One consumer: pull 100 (long poll 1 s) and ack them, until `expected` distinct deliveries were
 * acked or `boundMs` passed. Returns counts and the times of the first pull and the last ack.
 */
async function consume(ctx, api, subId, expected, boundMs, label) {
  const seen = new Set();
  let acked = 0;
  let pulls = 0;
  let emptyPulls = 0;
  let redelivered = 0;
  const started = Date.now();
  let lastAck = started;
  let lastReport = started;
  while (seen.size < expected && Date.now() - started < boundMs) {
    const res = await api.call("POST", `/subscriptions/${subId}/pull`, {
      body: { maxMessages: 100, waitSeconds: 1 },
      expect: [200],
    });
    pulls++;
    const messages = res.body?.messages ?? [];
    if (messages.length === 0) {
      emptyPulls++;
      continue;
    }
    for (const m of messages) {
      if (seen.has(m.deliveryId)) redelivered++;
      seen.add(m.deliveryId);
    }
    const ack = await api.call("POST", `/subscriptions/${subId}/ack`, {
      body: { ackIds: messages.map((m) => m.ackId) },
      expect: [200],
    });
    acked += ack.body?.acked ?? 0;
    lastAck = Date.now();
    if (lastAck - lastReport > 5000) {
      lastReport = lastAck;
      ctx.log.progress(`${label}: ${seen.size}/${expected} pulled, ${Math.round(seen.size / ((lastAck - started) / 1000))} messages/s`);
    }
  }
  const seconds = (lastAck - started) / 1000;
  return {
    started,
    lastAck,
    pulled: seen.size,
    acked,
    redelivered,
    pulls,
    emptyPulls,
    seconds: round(seconds, 2),
    messagesPerSec: seconds > 0 ? round(seen.size / seconds, 1) : null,
    complete: seen.size >= expected,
  };
}

/** A pull subscription on `pattern`, seen by publishes (a matching probe) when `probeType` is given. */
async function pullSubscription(api, rec, name, pattern, probeType) {
  const { body } = await api.call("POST", "/subscriptions", { body: { name, events: [pattern] }, expect: [201] });
  const probes = probeType ? await probeSubscribers(api, JSON.stringify({ type: probeType, data: {} }), 1, rec) : 0;
  return { id: body.id, probes };
}

export async function runPullThroughput(ctx) {
  const n = ctx.cfg.pullEvents;
  const rec = record("pull.throughput", `Pull throughput, 1 pull subscription, ${n} events, 1 consumer`, "pull");
  ctx.log.start(rec, `${n} events over ${PARTITIONS} partitions, then pull 100 + ack in a loop`);
  return guarded(rec, ctx.log, async () => {
    const api = await ctx.api.createTenant(`bench-${ctx.runId}-pull`);
    const sub = await pullSubscription(api, rec, "bench-pull", "bench.#", "bench.pull.probe");
    const pub = await publish(ctx, api, n, "bench.pull", "publishing", PARTITIONS);
    const expected = n + sub.probes;
    const c = await consume(ctx, api, sub.id, expected, Math.max(ctx.cfg.drainSec, Math.ceil(expected / 20)) * 1000, "pulling");
    if (!c.complete) rec.notes.push(`only ${c.pulled} of ${expected} messages pulled in time`);
    if (c.acked !== c.pulled) rec.notes.push(`${c.acked} acks counted for ${c.pulled} messages`);
    const batch = ctx.records?.find((r) => r.id === "publish.batch100" && r.status === "ok")?.metrics?.itemsPerSec ?? null;
    rec.pull = {
      events: n,
      partitions: PARTITIONS,
      probes: sub.probes,
      expected,
      publishSec: pub.seconds,
      publishEventsPerSec: pub.eventsPerSec,
      pulled: c.pulled,
      acked: c.acked,
      redelivered: c.redelivered,
      pulls: c.pulls,
      emptyPulls: c.emptyPulls,
      pullSec: c.seconds,
      messagesPerSec: c.messagesPerSec,
      ratioToPublish: c.messagesPerSec && pub.eventsPerSec ? round(c.messagesPerSec / pub.eventsPerSec, 3) : null,
      batchPublishEventsPerSec: batch,
      ratioToBatchPublish: c.messagesPerSec && batch ? round(c.messagesPerSec / batch, 3) : null,
    };
  });
}

/** Waits (bounded) until the partition directory lists `n` partitions; returns how many it lists. */
async function directoryHolds(api, n, boundMs) {
  const deadline = Date.now() + boundMs;
  for (;;) {
    let count = 0;
    let cursor = null;
    do {
      const q = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : "?limit=100";
      const { body } = await api.call("GET", `/partitions${q}`, { expect: [200] });
      count += body.partitions.length;
      cursor = body.nextCursor;
    } while (cursor);
    if (count >= n || Date.now() > deadline) return count;
    await sleep(250);
  }
}

export async function runReplayThroughput(ctx) {
  const n = ctx.cfg.replayEvents;
  const partitions = ctx.cfg.replayPartitions;
  const rec = record("replay.throughput", `Replay throughput, ${n} stored events over ${partitions} partitions`, "pull");
  ctx.log.start(rec, `seeding ${n} events over ${partitions} partitions, then replay to a pull subscription`);
  return guarded(rec, ctx.log, async () => {
    const api = await ctx.api.createTenant(`bench-${ctx.runId}-replay`);
    // The server runs on this machine's clock; 1 s of margin, and the tenant is fresh anyway.
    const since = new Date(Date.now() - 1000).toISOString();
    // Not in extra.seeding: the run's seeding line is about the one-partition growth seeding.
    const seeded = await publish(ctx, api, n, "bench.replay", "seeding", partitions);
    const listed = await directoryHolds(api, partitions, 10_000);
    if (listed < partitions) rec.notes.push(`the directory listed ${listed} of ${partitions} partitions before the replay`);
    const sub = await pullSubscription(api, rec, "bench-replay", "bench.#", null);
    const posted = Date.now();
    const { body: started } = await api.call("POST", `/subscriptions/${sub.id}/replay`, { body: { since }, expect: [202] });
    let state = started;
    // At least 30 s, and 200 events/s for a large replay (≈ 10× slower than seen on a quiet machine).
    const boundMs = Math.max(30, Math.ceil(n / 200)) * 1000;
    let lastReport = posted;
    let slowPolls = 0;
    while (state.status === "RUNNING" && Date.now() - posted < boundMs) {
      await sleep(250);
      try {
        state = (await api.call("GET", `/replays/${started.replayId}`, { expect: [200] })).body;
      } catch (err) {
        // The single local runtime is busy with the replay's deliveries: a poll that times out
        // says nothing about the replay, which the bound above still limits.
        if (!/timeout|aborted/i.test(String(err))) throw err;
        slowPolls++;
        continue;
      }
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        ctx.log.progress(
          `replay: ${state.partitionsScanned} partitions, ${state.eventsScanned} events scanned, ${state.deliveriesCreated} deliveries`,
        );
      }
    }
    const observed = Date.now();
    if (slowPolls > 0) rec.notes.push(`${slowPolls} progress polls timed out (30 s) while the replay ran`);
    if (state.status === "RUNNING") {
      // Cancelled, so a stalled replay does not keep working under the next scenario.
      await api.call("DELETE", `/replays/${started.replayId}`, { expect: [200, 204, 404] }).catch(() => {});
    }
    if (state.status !== "COMPLETED")
      throw new Error(`replay ${state.status} after ${round((observed - posted) / 1000, 1)} s: ${JSON.stringify(state)}`);
    const serverSec = (Date.parse(state.finishedAt) - Date.parse(state.startedAt)) / 1000;
    if (state.eventsScanned < n) rec.notes.push(`scanned ${state.eventsScanned} of ${n} events`);
    if (state.deliveriesCreated !== n) rec.notes.push(`${state.deliveriesCreated} deliveries created for ${n} events`);
    // How long until every replayed message had been pulled (one consumer, from the replay POST).
    const c = await consume(
      ctx,
      api,
      sub.id,
      state.deliveriesCreated,
      Math.max(ctx.cfg.drainSec, Math.ceil(n / 20)) * 1000,
      "pulling the replay",
    );
    if (!c.complete) rec.notes.push(`only ${c.pulled} of ${state.deliveriesCreated} replayed messages pulled in time`);
    rec.pull = {
      events: n,
      partitions,
      seedSec: seeded.seconds,
      seedEventsPerSec: seeded.eventsPerSec,
      partitionsScanned: state.partitionsScanned,
      eventsScanned: state.eventsScanned,
      deliveriesCreated: state.deliveriesCreated,
      replaySec: round(serverSec, 2),
      observedSec: round((observed - posted) / 1000, 2),
      eventsScannedPerSec: serverSec > 0 ? round(state.eventsScanned / serverSec, 0) : null,
      deliveriesCreatedPerSec: serverSec > 0 ? round(state.deliveriesCreated / serverSec, 0) : null,
      pulled: c.pulled,
      pullSec: c.seconds,
      messagesPerSec: c.messagesPerSec,
      allPulledSec: round((c.lastAck - posted) / 1000, 2),
    };
  });
}

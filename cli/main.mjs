/**
 * The edgebus command line (bin/edgebus.mjs): publish, tail, deliveries, redeliver, recover, replay
 * and listen, built on the typed client (client/index.js) and commander. Configured by
 * EDGEBUS_URL / EDGEBUS_API_KEY or --url / --api-key. Every failure is one line on stderr and a
 * non-zero exit code; Ctrl-C stops `tail` and `listen` cleanly (messages in hand are given back).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Command, InvalidArgumentError, Option } from "commander";
import WebSocket from "ws";
import { createClient, EdgebusError, unwrap } from "../client/index.js";
import { CliError, describeError, eventLine, progressPrinter, table } from "./output.mjs";
import { deliveryHeaders, generateSecret, secretProblem, traceHeaders, webhookBody } from "./signing.mjs";

const VERSION = "0.1.0";
const REQUEST_TIMEOUT_MS = 30_000;
/**
 * Long polls wait up to this on the server. Ctrl-C lets the poll in progress finish rather than
 * aborting it: the server's side of an aborted poll would go on waiting and could lease a message
 * that nobody reads, so Ctrl-C takes up to this long while idle (a second Ctrl-C quits at once).
 */
const LONG_POLL_SECONDS = 5;
/**
 * A pull leases for this long at first, and the lease is extended to --visibility-timeout as soon
 * as the messages are in hand: a process killed between the two (or a forced second Ctrl-C) holds
 * them for seconds, not for the whole visibility timeout.
 */
const FIRST_LEASE_SECONDS = 5;

/** Ctrl-C: the first one stops the running command cleanly, a second one exits at once. */
const stop = new AbortController();
let interrupted = false;
/** Set while a long poll is in progress (it is let finish: see LONG_POLL_SECONDS). */
let polling = false;
process.on("SIGINT", () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  if (polling)
    process.stderr.write(`stopping: letting the pending pull finish (at most ${LONG_POLL_SECONDS} s; Ctrl-C again to quit now)\n`);
  stop.abort();
});

// ---------- configuration and the client ----------

function connection(command) {
  const o = command.optsWithGlobals();
  if (!o.url) throw new CliError("no server URL: set EDGEBUS_URL or pass --url (e.g. http://127.0.0.1:8787)");
  let url;
  try {
    url = new URL(o.url);
  } catch {
    throw new CliError(`--url is not a URL: ${o.url}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new CliError(`--url must be http or https: ${o.url}`);
  if (!o.apiKey) throw new CliError("no API key: set EDGEBUS_API_KEY or pass --api-key");
  const base = url.href.replace(/\/+$/, "");
  context.url = base;
  return { url: base, apiKey: o.apiKey, json: Boolean(o.json), client: createClient({ url: base, apiKey: o.apiKey }) };
}

/** The server URL of the running command, for error messages. */
const context = { url: undefined };

/** Per-request options: a time-out, and the Ctrl-C signal when the call may be abandoned. */
function request(extraMs = 0, { interruptible = true } = {}) {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS + extraMs);
  return { signal: interruptible ? AbortSignal.any([timeout, stop.signal]) : timeout };
}

const print = (line) => process.stdout.write(`${line}\n`);
const printJson = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const note = (line) => process.stderr.write(`${line}\n`);

// ---------- argument parsers ----------

function integer(min, max) {
  return (text) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`an integer from ${min} to ${max}`);
    return n;
  };
}

/** An ISO 8601 time, or a duration ago: 30s, 15m, 2h, 7d. */
function timeArg(text) {
  const ago = /^(\d+)([smhd])$/.exec(text);
  if (ago) {
    const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[ago[2]];
    return new Date(Date.now() - Number(ago[1]) * unit * 1000).toISOString();
  }
  const ms = Date.parse(text);
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    throw new InvalidArgumentError("an ISO 8601 time (2026-01-31T12:00:00Z) or a duration ago (30s, 15m, 2h, 7d)");
  }
  return new Date(ms).toISOString();
}

const list = (text, previous = []) => [...previous, ...text.split(",").filter((s) => s !== "")];

// ---------- publish ----------

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** --data '{...}', --data @file.json, --data - (stdin), or stdin when it is not a terminal. */
async function readData(option) {
  let text;
  let from;
  if (option === undefined || option === "-") {
    if (option === undefined && process.stdin.isTTY)
      throw new CliError("no data: pass --data '{...}', --data @file.json, or pipe JSON to stdin");
    text = await readStdin();
    from = "stdin";
  } else if (option.startsWith("@")) {
    from = option.slice(1);
    try {
      text = await readFile(from, "utf8");
    } catch (err) {
      throw new CliError(`cannot read ${from}: ${err.code ?? err.message}`);
    }
  } else {
    text = option;
    from = "--data";
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${from} is not valid JSON: ${err.message.split("\n")[0]}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CliError(`${from} must be a JSON object, e.g. '{"orderId":"order-1"}'`);
  }
  return value;
}

async function publish(type, options, command) {
  const data = await readData(options.data);
  const { client, json } = connection(command);
  const body = {
    type,
    data,
    ...(options.id ? { id: options.id } : {}),
    ...(options.partitionKey ? { partitionKey: options.partitionKey } : {}),
    ...(options.routingKey ? { routingKey: options.routingKey } : {}),
    ...(options.source ? { source: options.source } : {}),
    ...(options.subject ? { subject: options.subject } : {}),
  };
  const result = await unwrap(client.POST("/events", { body, ...request() }));
  if (json) return printJson(result);
  print(
    `published ${result.eventId} partition=${result.partitionKey} sequence=${result.sequence} subscribers=${result.subscribers.join(",") || "-"}${result.duplicate ? " (duplicate)" : ""}`,
  );
}

// ---------- pull loops (tail --subscription, listen) ----------

/**
 * Pulls and hands each message to `handle`, which answers "ack", "nack" or "stop". Each message is
 * acked (or nacked with `retryDelay`) as soon as it is handled; on Ctrl-C the long poll is aborted
 * and every message still in hand is nacked with delay 0, so it can be pulled again at once.
 */
async function pullLoop(client, id, { maxMessages, visibilityTimeout, retryDelay }, handle) {
  const path = { params: { path: { id } } };
  let failures = 0;
  while (!stop.signal.aborted) {
    let messages;
    try {
      const body = {
        maxMessages,
        visibilityTimeoutSeconds: Math.min(visibilityTimeout, FIRST_LEASE_SECONDS),
        waitSeconds: LONG_POLL_SECONDS,
      };
      polling = true;
      const poll = request(LONG_POLL_SECONDS * 1000, { interruptible: false });
      ({ messages } = await unwrap(client.POST("/subscriptions/{id}/pull", { ...path, body, ...poll })));
      failures = 0;
    } catch (err) {
      if (stop.signal.aborted) break;
      // A server that went away for a moment (a wrangler dev restart): retry with a backoff.
      if (err instanceof EdgebusError && err.status < 500) throw err;
      failures++;
      const wait = Math.min(30, 2 ** failures);
      note(`edgebus: ${describeError(err, context.url)}; trying again in ${wait} s`);
      await new Promise((r) => {
        const t = setTimeout(r, wait * 1000);
        stop.signal.addEventListener("abort", () => r(clearTimeout(t)), { once: true });
      });
      continue;
    } finally {
      polling = false;
    }
    const inHand = new Set(messages.map((m) => m.ackId));
    try {
      if (messages.length > 0 && visibilityTimeout > FIRST_LEASE_SECONDS) {
        const body = { ackIds: [...inHand], visibilityTimeoutSeconds: visibilityTimeout };
        await unwrap(client.POST("/subscriptions/{id}/extend", { ...path, body, ...request(0, { interruptible: false }) }));
      }
      for (const m of messages) {
        if (stop.signal.aborted) break; // the rest is given back below
        const verdict = await handle(m);
        if (verdict === "stop") break;
        const settle = request(0, { interruptible: false });
        if (verdict === "ack") await unwrap(client.POST("/subscriptions/{id}/ack", { ...path, body: { ackIds: [m.ackId] }, ...settle }));
        else
          await unwrap(
            client.POST("/subscriptions/{id}/nack", { ...path, body: { ackIds: [m.ackId], delaySeconds: retryDelay }, ...settle }),
          );
        inHand.delete(m.ackId);
      }
    } finally {
      if (inHand.size > 0) {
        // Not handled (Ctrl-C, or an error): visible again right away instead of after the lease.
        await unwrap(
          client.POST("/subscriptions/{id}/nack", {
            ...path,
            body: { ackIds: [...inHand], delaySeconds: 0 },
            ...request(0, { interruptible: false }),
          }),
        ).catch((err) => note(`edgebus: could not give back ${inHand.size} message(s): ${describeError(err, context.url)}`));
      }
    }
  }
}

// ---------- tail ----------

async function tail(options, command) {
  if (Boolean(options.partition) === Boolean(options.subscription))
    throw new CliError("tail needs exactly one of --partition <key> or --subscription <id>");
  const conn = connection(command);
  if (options.subscription) return tailSubscription(conn, options);
  return tailPartition(conn, options);
}

async function tailSubscription({ client, json }, options) {
  note(`tailing subscription ${options.subscription} (messages are acked; Ctrl-C to stop)`);
  await pullLoop(client, options.subscription, { ...options, retryDelay: 0 }, async (m) => {
    if (json) printJson(m);
    else print(eventLine(m.event, ` attempt=${m.attempt}`));
    return "ack";
  });
  throw new CliError("", 130);
}

/** The live stream of one partition (a WebSocket); with --after, the log from there first. */
async function tailPartition({ url, apiKey, client, json }, options) {
  const key = options.partition;
  const show = (event) => (json ? printJson(event) : print(eventLine(event)));
  const streamUrl = `${url.replace(/^http/, "ws")}/partitions/${encodeURIComponent(key)}/stream`;
  await new Promise((_resolve, reject) => {
    // Ends only by rejecting: Ctrl-C (exit 130), a refused upgrade, or a closed stream.
    const ws = new WebSocket(streamUrl, { headers: { authorization: `Bearer ${apiKey}` }, handshakeTimeout: REQUEST_TIMEOUT_MS });
    let caughtUp = Promise.resolve();
    let lastShown = options.after ?? Number.POSITIVE_INFINITY;
    const onStop = () => ws.close(1000, "bye");
    stop.signal.addEventListener("abort", onStop, { once: true });
    ws.on("unexpected-response", (_req, res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        let body = Buffer.concat(chunks).toString("utf8");
        try {
          body = JSON.parse(body);
        } catch {
          // not a problem body
        }
        reject(new EdgebusError(res.statusCode ?? 0, body));
      });
    });
    ws.on("error", (err) => reject(err.code === "ECONNREFUSED" ? new CliError(`cannot reach ${url}: ECONNREFUSED`) : err));
    ws.on("close", () => {
      stop.signal.removeEventListener("abort", onStop);
      if (stop.signal.aborted) reject(new CliError("", 130));
      else reject(new CliError(`the stream of ${key} was closed by the server`));
    });
    ws.on("message", (raw) => {
      let frame;
      try {
        frame = JSON.parse(String(raw));
      } catch {
        return;
      }
      if (frame.type === "ready") {
        note(`tailing partition ${frame.partition} (last sequence ${frame.lastSequence}; Ctrl-C to stop)`);
        if (options.after !== undefined && options.after < frame.lastSequence) {
          // The log up to the stream's start; the stream's own events wait until it is shown.
          caughtUp = readLog(client, key, options.after, frame.lastSequence, show).then((last) => {
            lastShown = last;
          });
        } else lastShown = frame.lastSequence;
      } else if (frame.type === "event") {
        caughtUp = caughtUp.then(() => {
          if (frame.event.sequence > lastShown || lastShown === Number.POSITIVE_INFINITY) {
            show(frame.event);
            lastShown = frame.event.sequence;
          }
        });
      }
      caughtUp.catch((err) => {
        reject(err);
        ws.terminate();
      });
    });
  });
}

async function readLog(client, key, after, upTo, show) {
  let cursor = after;
  while (cursor < upTo) {
    const page = await unwrap(
      client.GET("/partitions/{key}/events", { params: { path: { key }, query: { after: cursor, limit: 100 } }, ...request() }),
    );
    for (const e of page.events) if (e.sequence <= upTo) show(e);
    if (page.events.length === 0 || page.nextAfter <= cursor) break;
    cursor = page.nextAfter;
  }
  return upTo;
}

// ---------- deliveries, redeliver, recover ----------

async function deliveries(id, options, command) {
  const { client, json } = connection(command);
  const query = { ...(options.status ? { status: options.status } : {}), ...(options.cursor ? { cursor: options.cursor } : {}) };
  const page = await unwrap(client.GET("/subscriptions/{id}/deliveries", { params: { path: { id }, query }, ...request() }));
  if (json) return printJson(page);
  const rows = page.deliveries.map((d) => {
    const last = d.attempts.at(-1);
    return [
      d.deliveryId,
      d.eventId,
      d.partitionKey,
      d.sequence,
      d.status,
      d.attempts.length,
      last ? (last.statusCode ?? last.error ?? "") : "",
      last?.at ?? "",
    ];
  });
  print(table(["DELIVERY", "EVENT", "PARTITION", "SEQ", "STATUS", "ATTEMPTS", "LAST RESULT", "LAST AT"], rows));
  if (page.nextCursor) print(`more: edgebus deliveries ${id} --cursor ${page.nextCursor}`);
}

async function redeliver(id, deliveryId, _options, command) {
  const { client, json } = connection(command);
  const result = await unwrap(
    client.POST("/subscriptions/{id}/deliveries/{deliveryId}/redeliver", { params: { path: { id, deliveryId } }, ...request() }),
  );
  if (json) return printJson(result);
  print(`redelivering ${result.deliveryId} (${result.status})`);
}

async function recover(id, options, command) {
  const { client, json } = connection(command);
  const result = await unwrap(
    client.POST("/subscriptions/{id}/recover", { params: { path: { id } }, body: { since: options.since }, ...request() }),
  );
  if (json) return printJson(result);
  print(`recovering ${result.recovered} failed or dropped deliveries since ${options.since}`);
}

// ---------- replay ----------

/** How many partitions the tenant has (the directory, at most 20 pages), or null when unknown. */
async function partitionCount(client) {
  let count = 0;
  let cursor;
  for (let page = 0; page < 20; page++) {
    const res = await unwrap(
      client.GET("/partitions", { params: { query: { limit: 1000, ...(cursor ? { cursor } : {}) } }, ...request() }),
    );
    count += res.partitions.length;
    if (!res.nextCursor) return count;
    cursor = res.nextCursor;
  }
  return null;
}

async function replay(id, options, command) {
  const { client, json } = connection(command);
  const body = {
    since: options.since,
    ...(options.until ? { until: options.until } : {}),
    ...(options.partitionKey ? { partitionKey: options.partitionKey } : {}),
    ...(options.fromSequence !== undefined ? { fromSequence: options.fromSequence } : {}),
    ...(options.toSequence !== undefined ? { toSequence: options.toSequence } : {}),
  };
  const total = options.partitionKey ? 1 : await partitionCount(client);
  let state = await unwrap(client.POST("/subscriptions/{id}/replay", { params: { path: { id } }, body, ...request() }));
  if (!options.wait) return json ? printJson(state) : print(`replay ${state.replayId} ${state.status}`);
  const progress = json ? { update: (s) => printJson(s), end() {} } : progressPrinter({ tty: Boolean(process.stdout.isTTY) });
  progress.update(state, total);
  while (state.status === "RUNNING") {
    await new Promise((r) => {
      const t = setTimeout(r, 300);
      stop.signal.addEventListener("abort", () => r(clearTimeout(t)), { once: true });
    });
    if (stop.signal.aborted) {
      progress.end();
      note(`replay ${state.replayId} goes on on the server (stop it: DELETE /replays/${state.replayId})`);
      throw new CliError("", 130);
    }
    state = await unwrap(client.GET("/replays/{id}", { params: { path: { id: state.replayId } }, ...request() }));
    progress.update(state, total);
  }
  progress.end();
  if (state.status !== "COMPLETED") throw new CliError(`replay ${state.replayId} ended ${state.status}`);
  if (!json) print(`replay ${state.replayId} COMPLETED: ${state.deliveriesCreated} deliveries from ${state.eventsScanned} events`);
}

// ---------- listen ----------

/** The same options give the same name, so a second `listen` reuses the subscription. */
function listenName(options) {
  const key = JSON.stringify({
    forward: options.forward,
    events: [...options.events].sort(),
    routingKeys: [...options.routingKeys].sort(),
  });
  return `listen-${createHash("sha256").update(key).digest("hex").slice(0, 16)}`;
}

async function findOrCreatePull(client, name, options) {
  const body = {
    name,
    ...(options.events.length ? { events: options.events } : {}),
    ...(options.routingKeys.length ? { routingKeys: options.routingKeys } : {}),
  };
  const created = await client.POST("/subscriptions", { body, ...request() });
  if (created.response.ok) return { subscription: created.data, reused: false };
  if (created.error?.code !== "CONFLICT") throw new EdgebusError(created.response.status, created.error);
  const { subscriptions } = await unwrap(client.GET("/subscriptions", request()));
  const existing = subscriptions.find((s) => s.name === name);
  if (!existing) throw new EdgebusError(created.response.status, created.error);
  if (existing.url) throw new CliError(`subscription ${name} (${existing.id}) pushes to ${existing.url}; choose another --name`);
  return { subscription: existing, reused: true };
}

async function listen(options, command) {
  let forward;
  try {
    forward = new URL(options.forward);
  } catch {
    throw new CliError(`--forward is not a URL: ${options.forward}`);
  }
  if (forward.protocol !== "http:" && forward.protocol !== "https:")
    throw new CliError(`--forward must be http or https: ${options.forward}`);
  options.events ??= [];
  options.routingKeys ??= [];
  let secret = options.secret;
  const generated = !secret;
  if (secret) {
    const problem = secretProblem(secret);
    if (problem) throw new CliError(`--secret: ${problem}`);
  } else secret = generateSecret();
  const { client, json } = connection(command);
  const name = options.name ?? listenName(options);
  const { subscription, reused } = await findOrCreatePull(client, name, options);
  const ready = {
    type: "ready",
    subscriptionId: subscription.id,
    name,
    reused,
    forward: forward.href,
    ...(generated ? { secret } : {}),
  };
  if (json) printJson(ready);
  else {
    print(`${reused ? "reusing" : "created"} pull subscription ${name} (${subscription.id}); forwarding to ${forward.href}`);
    if (generated) print(`signing secret (verify webhook-signature with it): ${secret}`);
    print("Ctrl-C to stop");
  }
  await pullLoop(client, subscription.id, options, async (m) => {
    const { event, rawBody } = webhookBody(m.event);
    const headers = {
      ...deliveryHeaders({
        secret,
        event,
        rawBody,
        attempt: m.attempt,
        previousSequence: m.event.previousSequence,
        replayId: m.replayId,
        nowSeconds: Date.now() / 1000,
      }),
      ...traceHeaders(m.event.trace),
      "User-Agent": `edgebus-cli/${VERSION}`,
    };
    const started = Date.now();
    let status;
    let error;
    try {
      const res = await fetch(forward, {
        method: "POST",
        headers,
        body: rawBody,
        redirect: "manual",
        signal: AbortSignal.any([AbortSignal.timeout(options.timeout * 1000), stop.signal]),
      });
      status = res.status;
      await res.body?.cancel();
    } catch (err) {
      if (stop.signal.aborted) return "stop";
      error = err.name === "TimeoutError" ? `no answer in ${options.timeout} s` : describeError(err, forward.href);
    }
    const ok = status !== undefined && status >= 200 && status < 300;
    const ms = Date.now() - started;
    if (json) {
      printJson({
        type: "event",
        eventId: event.id,
        eventType: event.type,
        partitionKey: event.partitionKey,
        sequence: event.sequence,
        attempt: m.attempt,
        ...(status !== undefined ? { status } : { error }),
        outcome: ok ? "acked" : "nacked",
        durationMs: ms,
      });
    } else {
      const result = ok ? `${status} acked` : `${status ?? error} nacked (again in ${options.retryDelay} s)`;
      print(
        `${event.type} ${event.id} partition=${event.partitionKey} sequence=${event.sequence} attempt=${m.attempt} → ${result} ${ms} ms`,
      );
    }
    return ok ? "ack" : "nack";
  });
  throw new CliError("", 130);
}

// ---------- the program ----------

function program() {
  const cli = new Command("edgebus")
    .description(
      "The edgebus command line: publish events, tail partitions and subscriptions, inspect and replay deliveries, and forward events to a local URL.",
    )
    .version(VERSION)
    .addOption(new Option("--url <url>", "the edgebus server, e.g. http://127.0.0.1:8787").env("EDGEBUS_URL"))
    .addOption(new Option("--api-key <key>", "an API key (Authorization: Bearer)").env("EDGEBUS_API_KEY"))
    .option("--json", "print JSON (one object per line) instead of text")
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ outputError: (text, write) => write(`edgebus: ${text.replace(/^error: /, "")}`) })
    .showSuggestionAfterError(false);

  cli
    .command("publish")
    .description("Publish one event: its data from --data '{...}', --data @file.json, or stdin")
    .argument("<type>", "the event type, e.g. order.created")
    .option("-d, --data <json>", "the data: a JSON object, @file.json, or - for stdin")
    .option("-p, --partition-key <key>", "the partition (ordering scope)")
    .option("-r, --routing-key <key>", "the routing key, e.g. order.region.eu.created")
    .option("--id <id>", "the event id (publishing the same id again is a duplicate)")
    .option("--source <source>", "the source, e.g. order-service")
    .option("--subject <subject>", "what the event is about within its source")
    .action(publish);

  cli
    .command("tail")
    .description("Print events as they arrive: a partition's live stream, or a pull subscription's messages (acked)")
    .option("--partition <key>", "a partition: its live stream")
    .option("--after <sequence>", "with --partition: first print the log after this sequence", integer(0, Number.MAX_SAFE_INTEGER))
    .option("--subscription <id>", "a pull subscription: pull, print and ack")
    .option("--max-messages <n>", "with --subscription: messages per pull", integer(1, 100), 10)
    .option("--visibility-timeout <seconds>", "with --subscription: lease length", integer(1, 43_200), 30)
    .action(tail);

  cli
    .command("deliveries")
    .description("A subscription's or webhook's delivery log as a table, newest first")
    .argument("<subscription>", "the subscription or webhook id (sub_…)")
    .addOption(new Option("--status <status>", "only this status").choices(["PENDING", "DELIVERED", "FAILED", "DROPPED"]))
    .option("--cursor <cursor>", "the next page (printed under the table)")
    .action(deliveries);

  cli
    .command("redeliver")
    .description("Send one delivery again, with a fresh attempt budget")
    .argument("<subscription>", "the subscription or webhook id")
    .argument("<delivery>", "the delivery id (dlv_…)")
    .action(redeliver);

  cli
    .command("recover")
    .description("Send again every FAILED or DROPPED delivery since a time, oldest first")
    .argument("<subscription>", "the subscription or webhook id")
    .requiredOption("--since <time>", "ISO 8601 time, or a duration ago (30m, 2h, 7d)", timeArg)
    .action(recover);

  cli
    .command("replay")
    .description("Deliver stored events again to a subscription, with progress until it completes")
    .argument("<subscription>", "the subscription or webhook id")
    .requiredOption("--since <time>", "events accepted at or after this time (ISO 8601, or 30m, 2h, 7d ago)", timeArg)
    .option("--until <time>", "events accepted at or before this time", timeArg)
    .option("--partition-key <key>", "only this partition")
    .option("--from-sequence <n>", "with --partition-key: first sequence (inclusive)", integer(1, Number.MAX_SAFE_INTEGER))
    .option("--to-sequence <n>", "with --partition-key: last sequence (inclusive)", integer(1, Number.MAX_SAFE_INTEGER))
    .option("--no-wait", "start the replay and print its id without waiting")
    .action(replay);

  cli
    .command("listen")
    .description(
      "Forward events to a local URL, signed like edgebus webhooks (Standard Webhooks), through a pull subscription: acked on 2xx, given back otherwise",
    )
    .requiredOption("--forward <url>", "where to POST each event, e.g. http://localhost:3000/webhook")
    .option("--events <patterns>", "event type patterns, comma-separated or repeated (default: every type)", list)
    .option("--routing-keys <patterns>", "routing-key patterns, comma-separated or repeated", list)
    .option("--name <name>", "the pull subscription's name (default: derived from the options, so a second listen reuses it)")
    .addOption(new Option("--secret <secret>", "the signing secret (default: a new whsec_ secret, printed)").env("EDGEBUS_SECRET"))
    .option("--timeout <seconds>", "how long the local URL may take", integer(1, 300), 10)
    .option("--retry-delay <seconds>", "after a failure, when the message comes back", integer(0, 43_200), 5)
    .option("--max-messages <n>", "messages per pull", integer(1, 100), 10)
    .option("--visibility-timeout <seconds>", "lease length (the longest a message is held if this process dies)", integer(1, 43_200), 30)
    .action(listen);

  return cli;
}

export async function main(argv = process.argv) {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    if (err instanceof CliError && err.message === "") process.exit(err.exitCode);
    // Ctrl-C during a one-shot command aborts its request: say so, and exit as interrupted.
    if (interrupted) {
      note("edgebus: interrupted");
      process.exit(130);
    }
    note(`edgebus: ${describeError(err, context.url)}`);
    process.exit(err instanceof CliError ? err.exitCode : 1);
  }
}

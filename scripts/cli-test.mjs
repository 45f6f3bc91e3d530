#!/usr/bin/env node
/**
 * Tests the edgebus CLI as a user runs it: each command is a process (`node bin/edgebus.mjs …`)
 * against a real `wrangler dev` that this script starts (fresh state, a free port, stopped by
 * process group) with a fresh tenant per run. A local receiver on 127.0.0.1 checks every forwarded
 * event with the reference `standardwebhooks` library. `npm run test:cli`; CI runs it (about a minute).
 *
 * Covers: publish (--data inline, @file, stdin), tail of a subscription (pull) and of a partition
 * (its live stream), listen (signed forwarding, nack and redelivery on a
 * non-2xx, reuse of the subscription by a second listen, a generated secret), Ctrl-C during listen
 * (the message in hand is pullable again at once), deliveries/redeliver/recover, replay with
 * plain progress lines and with a progress bar under a terminal, and the error cases (missing URL
 * or key, wrong key, unreachable server, malformed --data): one line on stderr, non-zero exit, no
 * stack trace.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, unwrap } from "edgebus/client";
import { Webhook } from "standardwebhooks";
import { freePort, WranglerDev } from "../bench/lib/server.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "edgebus.mjs");
const TOTAL_LIMIT_MS = 150_000;
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"; // 24 bytes, base64

const server = new WranglerDev(ROOT);
const children = new Set();
const tmp = mkdtempSync(join(tmpdir(), "edgebus-cli-test-"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let passed = 0;
let failed = 0;

const watchdog = setTimeout(() => {
  console.error(`cli-test: took longer than ${TOTAL_LIMIT_MS / 1000} s; stopping`);
  cleanup();
  process.exit(1);
}, TOTAL_LIMIT_MS);

function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  server.killNow();
  rmSync(tmp, { recursive: true, force: true });
}
process.on("exit", cleanup);

function check(ok, what, detail = "") {
  if (ok) {
    passed++;
    console.log(`  ✓ ${what}`);
  } else {
    failed++;
    console.log(`  ✗ ${what}${detail ? `\n      ${detail.replaceAll("\n", "\n      ")}` : ""}`);
  }
}

// ---------- running the CLI ----------

let baseEnv = {};

/** Runs the CLI to completion: {code, signal, stdout, stderr}. */
function run(args, { env = baseEnv, input, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(input ?? "");
  });
}

/** Starts a long-running command (listen, tail); lines of stdout are collected as they come. */
function start(args, { env = baseEnv } = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  const proc = { child, lines: [], stderr: "", exited: null };
  let partial = "";
  child.stdout.on("data", (c) => {
    partial += c;
    const parts = partial.split("\n");
    partial = parts.pop();
    proc.lines.push(...parts);
  });
  child.stderr.on("data", (c) => (proc.stderr += c));
  proc.exited = new Promise((resolve) =>
    child.on("close", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  /** Waits until `n` lines match; returns them. */
  proc.waitFor = async (predicate, n = 1, ms = 20_000) => {
    const until = Date.now() + ms;
    for (;;) {
      const found = proc.lines.filter(predicate);
      if (found.length >= n) return found;
      if (Date.now() > until || child.exitCode !== null) {
        throw new Error(`waited for ${n} matching line(s); stdout:\n${proc.lines.join("\n")}\nstderr:\n${proc.stderr}`);
      }
      await sleep(50);
    }
  };
  /** Ctrl-C: SIGINT, then the exit (or null after `ms`). */
  proc.interrupt = async (ms = 10_000) => {
    const sent = Date.now();
    child.kill("SIGINT");
    const result = await Promise.race([proc.exited, sleep(ms).then(() => null)]);
    return result && { ...result, ms: Date.now() - sent };
  };
  return proc;
}

const oneLineError = (r) => {
  const lines = r.stderr.trimEnd().split("\n");
  return r.code !== 0 && r.code !== null && lines.length === 1 && lines[0].startsWith("edgebus: ") && !/\n\s+at /.test(r.stderr);
};

// ---------- the receiver ----------

/** A webhook receiver on 127.0.0.1 that verifies with standardwebhooks. `mode`: ok | fail-first | hang. */
async function receiver() {
  const rec = { received: [], mode: "ok", secret: SECRET, failed: new Set(), hanging: [] };
  const srv = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let verified = false;
      let payload = null;
      try {
        payload = new Webhook(rec.secret).verify(body, req.headers);
        verified = true;
      } catch {
        // recorded as unverified
      }
      const entry = { headers: req.headers, body, payload, verified, at: Date.now() };
      rec.received.push(entry);
      const id = req.headers["webhook-id"];
      if (rec.mode === "hang") {
        rec.hanging.push(res);
        return;
      }
      if (!verified) {
        res.writeHead(401).end("bad signature");
      } else if (rec.mode === "fail-first" && !rec.failed.has(id)) {
        rec.failed.add(id);
        res.writeHead(500).end("try again");
      } else res.writeHead(204).end();
    });
  });
  const port = await freePort();
  await new Promise((r) => srv.listen(port, "127.0.0.1", r));
  rec.url = `http://127.0.0.1:${port}/webhook`;
  rec.close = () => {
    for (const res of rec.hanging) res.destroy();
    srv.close();
    srv.closeAllConnections?.();
  };
  rec.waitFor = async (predicate, n, ms = 20_000) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const found = rec.received.filter(predicate);
      if (found.length >= n) return found;
      await sleep(50);
    }
    throw new Error(`the receiver got ${rec.received.filter(predicate).length} of ${n} matching requests`);
  };
  return rec;
}

// ---------- the tests ----------

async function errors(url, apiKey) {
  console.log("bad input");
  const noUrl = await run(["publish", "cli.test", "--data", "{}"], { env: { EDGEBUS_API_KEY: apiKey } });
  check(oneLineError(noUrl) && /EDGEBUS_URL/.test(noUrl.stderr), "a missing URL: one line naming EDGEBUS_URL, non-zero exit", noUrl.stderr);
  const noKey = await run(["publish", "cli.test", "--data", "{}"], { env: { EDGEBUS_URL: url } });
  check(oneLineError(noKey) && /EDGEBUS_API_KEY/.test(noKey.stderr), "a missing key: one line naming EDGEBUS_API_KEY", noKey.stderr);
  const wrongKey = await run(["publish", "cli.test", "--data", "{}"], { env: { EDGEBUS_URL: url, EDGEBUS_API_KEY: "ebk_nobody_123" } });
  check(
    oneLineError(wrongKey) && /401 INVALID_API_KEY/.test(wrongKey.stderr),
    "a wrong key: one line with 401 INVALID_API_KEY",
    wrongKey.stderr,
  );
  const wrongFlag = await run(["--url", url, "--api-key", "wrong", "deliveries", "sub_x"], { env: {} });
  check(oneLineError(wrongFlag) && /401/.test(wrongFlag.stderr), "a wrong --api-key flag: one line with 401", wrongFlag.stderr);
  const nowhere = `http://127.0.0.1:${await freePort()}`;
  const unreachable = await run(["publish", "cli.test", "--data", "{}"], { env: { EDGEBUS_URL: nowhere, EDGEBUS_API_KEY: apiKey } });
  check(
    oneLineError(unreachable) && unreachable.stderr.includes(`cannot reach ${nowhere}: ECONNREFUSED`),
    "an unreachable server: one line naming the URL and ECONNREFUSED",
    unreachable.stderr,
  );
  const unreachableListen = await run(["listen", "--forward", "http://127.0.0.1:9/x"], {
    env: { EDGEBUS_URL: nowhere, EDGEBUS_API_KEY: apiKey },
  });
  check(oneLineError(unreachableListen), "listen against an unreachable server: one line, non-zero exit", unreachableListen.stderr);
  for (const [what, args, input] of [
    ["malformed --data", ["--data", "{nope"]],
    ["--data that is not an object", ["--data", "[1,2]"]],
    ["malformed JSON on stdin", [], "{"],
    ["a missing @file", ["--data", `@${join(tmp, "missing.json")}`]],
  ]) {
    const r = await run(["publish", "cli.test", ...args], { input });
    check(oneLineError(r), `${what}: one line, non-zero exit, no stack trace`, r.stderr);
  }
  const badType = await run(["publish", "Not A Type", "--data", "{}"]);
  check(
    oneLineError(badType) && /400 VALIDATION_FAILED/.test(badType.stderr),
    "a server-side validation error: one line with its code",
    badType.stderr,
  );
  const help = await run(["listen", "--help"]);
  check(help.code === 0 && help.stdout.includes("--forward <url>") && help.stdout.includes("EDGEBUS_SECRET"), "listen --help");
}

async function publishAndTail(client) {
  console.log("publish and tail");
  const file = join(tmp, "data.json");
  writeFileSync(file, JSON.stringify({ from: "file" }));
  const inline = await run(["--json", "publish", "cli.published", "-p", "cli-p1", "--data", '{"from":"inline"}']);
  const fromFile = await run(["publish", "cli.published", "-p", "cli-p1", "--data", `@${file}`, "--json"]);
  const fromStdin = await run(["publish", "cli.published", "-p", "cli-p1", "--json"], { input: '{"from":"stdin"}' });
  const seqs = [inline, fromFile, fromStdin].map((r) => (r.code === 0 ? JSON.parse(r.stdout).sequence : r.stderr));
  check(seqs.join(",") === "1,2,3", "publish --data inline, @file and stdin → sequences 1, 2, 3", String(seqs));
  const text = await run(["publish", "cli.published", "-p", "cli-p1", "--id", "cli-evt-4", "--data", "{}"]);
  check(
    /^published cli-evt-4 partition=cli-p1 sequence=4 /.test(text.stdout),
    "publish prints one line with id, partition and sequence",
    text.stdout,
  );
  const page = await unwrap(client.GET("/partitions/{key}/events", { params: { path: { key: "cli-p1" }, query: { after: 0 } } }));
  check(
    page.events.map((e) => e.data.from ?? "-").join(",") === "inline,file,stdin,-",
    "the partition log holds the published data (read with the typed client)",
  );

  const example = spawnSync(process.execPath, [join(ROOT, "examples", "client.mjs")], {
    env: { PATH: process.env.PATH, ...baseEnv },
    encoding: "utf8",
    timeout: 30_000,
  });
  check(
    example.status === 0 && /^published \S+ sequence=1\nread back order\.created /.test(example.stdout),
    "examples/client.mjs runs against the server (the client as a user imports it)",
    example.stdout + example.stderr,
  );

  // tail of a pull subscription: prints and acks.
  const sub = await unwrap(client.POST("/subscriptions", { body: { name: "cli-tail", events: ["cli.tail.*"] } }));
  for (let i = 1; i <= 2; i++)
    await unwrap(client.POST("/events", { body: { type: "cli.tail.test", partitionKey: "cli-tail", data: { i } } }));
  const tail = start(["tail", "--subscription", sub.id, "--json"]);
  const lines = await tail.waitFor((l) => l.includes('"cli.tail.test"'), 2);
  check(lines.map((l) => JSON.parse(l).event.data.i).join(",") === "1,2", "tail --subscription prints each message (--json)");
  const stopped = await tail.interrupt();
  check(stopped && (stopped.code === 0 || stopped.code === 130), "Ctrl-C ends tail cleanly (exit 0 or 130)", JSON.stringify(stopped));
  const after = await unwrap(client.POST("/subscriptions/{id}/pull", { params: { path: { id: sub.id } }, body: { waitSeconds: 1 } }));
  check(after.messages.length === 0, "tail acked what it printed (nothing left to pull)");

  // tail of a partition: the live stream (a WebSocket).
  const live = start(["tail", "--partition", "cli-p1", "--after", "2", "--json"]);
  await live.waitFor((l) => JSON.parse(l).sequence === 4);
  await unwrap(client.POST("/events", { body: { type: "cli.published", partitionKey: "cli-p1", data: { from: "live" } } }));
  await live.waitFor((l) => JSON.parse(l).sequence === 5);
  const seen = live.lines.map((l) => JSON.parse(l).sequence).join(",");
  check(seen === "3,4,5", "tail --partition --after 2: the log (3, 4) then the live event (5), each once", seen);
  const liveStop = await live.interrupt();
  check(liveStop && (liveStop.code === 0 || liveStop.code === 130), "Ctrl-C ends tail --partition cleanly");
  const refused = await run(["tail", "--partition", "cli-p1"], { env: { ...baseEnv, EDGEBUS_API_KEY: "ebk_nobody_123" } });
  check(
    oneLineError(refused) && /401 INVALID_API_KEY/.test(refused.stderr),
    "tail --partition with a wrong key: one line with 401",
    refused.stderr,
  );
}

async function listen(client) {
  console.log("listen");
  const rec = await receiver();
  try {
    rec.mode = "fail-first";
    const args = ["listen", "--forward", rec.url, "--events", "cli.listen.*", "--retry-delay", "1"];
    const first = start([...args, "--secret", SECRET]);
    const [hello] = await first.waitFor((l) => l.startsWith("created pull subscription"));
    const subId = /\((sub_[a-z0-9]+)\)/.exec(hello)?.[1];
    const published = [];
    for (let i = 1; i <= 3; i++) {
      published.push(
        await unwrap(client.POST("/events", { body: { type: "cli.listen.test", partitionKey: `cli-l${i % 2}`, data: { i } } })),
      );
    }
    const ids = new Set(published.map((p) => p.eventId));
    // Each event: a 500 first (nacked, back after 1 s), then a 204 (acked).
    await first.waitFor((l) => / → 204 acked /.test(l), 3, 30_000);
    const verified = rec.received.filter((r) => r.verified && ids.has(r.headers["webhook-id"]));
    check(
      verified.length === 6 && rec.received.every((r) => r.verified),
      "every forwarded request verifies with standardwebhooks (3 events × 2 attempts)",
    );
    const retried = verified.filter((r) => r.headers["x-delivery-attempt"] === "2").length;
    check(retried === 3, "a non-2xx answer leaves the message for redelivery: each event came again with attempt 2");
    const one = verified.find((r) => r.headers["webhook-id"] === published[0].eventId);
    check(
      one?.payload?.event?.data?.i === 1 &&
        one.headers["x-event-type"] === "cli.listen.test" &&
        one.headers["x-partition-key"] === "cli-l1" &&
        one.headers["x-event-sequence"] === "1" &&
        one.headers["x-previous-sequence"] === "0" &&
        /^sha256=[0-9a-f]{64}$/.test(one.headers["x-signature"]),
      "the request carries the webhook body and headers (X-Event-Type, X-Partition-Key, X-Event-Sequence, X-Previous-Sequence, X-Signature)",
    );
    check(first.lines.filter((l) => / → 500 nacked /.test(l)).length === 3, "listen prints one line per attempt (3 nacked, 3 acked)");
    const firstStop = await first.interrupt();
    check(firstStop && (firstStop.code === 0 || firstStop.code === 130), "Ctrl-C ends listen (exit 0 or 130)", JSON.stringify(firstStop));

    // The same options again: the subscription is reused; no --secret: one is generated and printed.
    rec.mode = "ok";
    const second = start([...args, "--json"]);
    const [readyLine] = await second.waitFor((l) => l.includes('"type":"ready"'));
    const ready = JSON.parse(readyLine);
    check(
      ready.reused === true && ready.subscriptionId === subId,
      "a second listen with the same options reuses the subscription",
      readyLine,
    );
    check(
      typeof ready.secret === "string" && ready.secret.startsWith("whsec_"),
      "without --secret, a whsec_ secret is generated and printed",
    );
    rec.secret = ready.secret;
    // The first listen was stopped while idle (in a long poll): that poll was let finish, so
    // nothing on the server is still waiting to lease this event to a process that is gone.
    const publishedAt = Date.now();
    const fourth = await unwrap(client.POST("/events", { body: { type: "cli.listen.test", data: { i: 4 } } }));
    await second.waitFor((l) => l.includes(fourth.eventId) && l.includes('"outcome":"acked"'));
    const tookMs = Date.now() - publishedAt;
    check(tookMs < 5_000, "an event published after an idle listen was stopped reaches the next listen at once (< 5 s)", `${tookMs} ms`);
    check(
      rec.received.some((r) => r.verified && r.headers["webhook-id"] === fourth.eventId),
      "an event forwarded with the generated secret verifies",
    );
    await second.interrupt();

    // deliveries, redeliver, recover on the listen subscription.
    const table = await run(["deliveries", subId]);
    const rows = table.stdout.trim().split("\n");
    check(
      table.code === 0 &&
        /^DELIVERY\s+EVENT\s+PARTITION\s+SEQ\s+STATUS\s+ATTEMPTS/.test(rows[0]) &&
        rows.filter((r) => / DELIVERED /.test(r)).length === 4,
      "deliveries prints the log as a table (4 DELIVERED)",
      table.stdout + table.stderr,
    );
    const log = JSON.parse((await run(["deliveries", subId, "--json"])).stdout);
    const dlv = log.deliveries[0].deliveryId;
    const again = await run(["redeliver", subId, dlv]);
    check(
      again.code === 0 && again.stdout.includes(`redelivering ${dlv} (PENDING)`),
      "redeliver queues a delivery again",
      again.stdout + again.stderr,
    );
    const recovered = await run(["recover", subId, "--since", "1h", "--json"]);
    check(
      recovered.code === 0 && JSON.parse(recovered.stdout).recovered === 0,
      "recover --since 1h (nothing failed: 0 recovered)",
      recovered.stderr,
    );

    // Ctrl-C while a message is in hand: it is given back at once, not after the visibility timeout.
    rec.mode = "hang";
    const third = start(["listen", "--forward", rec.url, "--events", "cli.hang.*", "--visibility-timeout", "300", "--secret", SECRET]);
    const [hang] = await third.waitFor((l) => l.startsWith("created pull subscription"));
    const hangSub = /\((sub_[a-z0-9]+)\)/.exec(hang)?.[1];
    const held = await unwrap(client.POST("/events", { body: { type: "cli.hang.test", data: { held: true } } }));
    await rec.waitFor((r) => r.headers["webhook-id"] === held.eventId, 1);
    const hangStop = await third.interrupt();
    check(
      hangStop && (hangStop.code === 0 || hangStop.code === 130),
      "Ctrl-C during a forward ends listen (exit 0 or 130)",
      JSON.stringify(hangStop),
    );
    const pulled = await unwrap(
      client.POST("/subscriptions/{id}/pull", { params: { path: { id: hangSub } }, body: { waitSeconds: 2, visibilityTimeoutSeconds: 5 } }),
    );
    check(
      pulled.messages.length === 1 && pulled.messages[0].event.id === held.eventId,
      "the message in hand is pullable again right away (its 300 s lease was given back)",
      JSON.stringify(pulled),
    );
  } finally {
    rec.close();
  }
}

async function replay(client) {
  console.log("replay");
  for (let i = 0; i < 6; i++)
    await unwrap(client.POST("/events", { body: { type: "cli.replay.test", partitionKey: `cli-r${i % 3}`, data: { i } } }));
  // Partitions register in the directory just after their first event.
  for (let t = 0; t < 50; t++) {
    const { partitions } = await unwrap(client.GET("/partitions", { params: { query: { limit: 1000 } } }));
    if (partitions.filter((p) => p.partitionKey.startsWith("cli-r")).length === 3) break;
    await sleep(100);
  }
  const sub = await unwrap(client.POST("/subscriptions", { body: { name: "cli-replay", events: ["cli.replay.*"] } }));
  const plain = await run(["replay", sub.id, "--since", "10m"], { timeoutMs: 60_000 });
  const lines = plain.stdout.trim().split("\n");
  check(
    plain.code === 0 &&
      lines.some((l) => /^replay rpl_\w+ (RUNNING|COMPLETED) partitions=\d+\/\d+ events=\d+ deliveries=\d+$/.test(l)) &&
      /COMPLETED: 6 deliveries from \d+ events$/.test(lines.at(-1)) &&
      !plain.stdout.includes("\r"),
    "replay without a terminal: plain progress lines, then COMPLETED with 6 deliveries",
    plain.stdout + plain.stderr,
  );
  const got = [];
  for (let t = 0; t < 10 && got.length < 6; t++) {
    const { messages } = await unwrap(
      client.POST("/subscriptions/{id}/pull", { params: { path: { id: sub.id } }, body: { maxMessages: 10, waitSeconds: 2 } }),
    );
    got.push(...messages);
  }
  check(got.length === 6 && got.every((m) => m.replayId?.startsWith("rpl_")), "the 6 replayed messages are pulled, each with its replayId");
  // Under a terminal (script(1) gives the CLI a pty): a bar redrawn in place.
  const hasScript = spawnSync("script", ["--version"]).status === 0;
  if (!hasScript) {
    console.log("  - replay under a terminal: skipped, no script(1)");
    return;
  }
  const tty = await new Promise((resolve) => {
    const cmd = [process.execPath, BIN, "replay", sub.id, "--since", "10m"].map((a) => `'${a}'`).join(" ");
    const child = spawn("script", ["-qec", cmd, "/dev/null"], {
      env: { PATH: process.env.PATH, ...baseEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, out });
    });
  });
  check(
    tty.code === 0 &&
      /\r\[#{30}\] 100% COMPLETED partitions=(\d+)\/\1 events=\d+ deliveries=6/.test(tty.out) &&
      !/^replay rpl_\w+ RUNNING/m.test(tty.out),
    "replay under a terminal: a progress bar redrawn in place, ending at 100%",
    JSON.stringify(tty.out.slice(0, 400)),
  );
}

async function main() {
  const url = await server.start();
  console.log(`cli-test: wrangler dev at ${url}`);
  const res = await fetch(`${url}/tenants`, {
    method: "POST",
    headers: { authorization: "Bearer dev-admin-token", "content-type": "application/json" },
    body: JSON.stringify({ name: `cli-${Date.now()}` }),
  });
  const tenant = await res.json();
  if (res.status !== 201) throw new Error(`POST /tenants: ${res.status} ${JSON.stringify(tenant)}`);
  baseEnv = { EDGEBUS_URL: url, EDGEBUS_API_KEY: tenant.apiKey };
  const client = createClient({ url, apiKey: tenant.apiKey });
  const started = Date.now();
  await errors(url, tenant.apiKey);
  await publishAndTail(client);
  await listen(client);
  await replay(client);
  console.log(`cli-test: the checks took ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main()
  .catch((err) => {
    failed++;
    console.error(`cli-test: ${err.stack ?? err}`);
    console.error(server.logTail?.(20) ?? "");
  })
  .finally(async () => {
    clearTimeout(watchdog);
    await server.stop();
    console.log(`cli: ${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  });

#!/usr/bin/env node
/**
 * Pull subscriptions across a restart: starts a fresh `wrangler dev`, leases two of three messages,
 * stops and starts `wrangler dev` again on the same state, and checks that the leases survived
 * (they are not handed out again and their ackIds still ack) and that the pending message is
 * pulled. `npm run test:pull-restart`; CI runs it (about 30 s).
 */
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { WranglerDev } from "../bench/lib/server.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const KEY = "dev-api-key"; // the development tenant, accepted on 127.0.0.1 only
const server = new WranglerDev(ROOT);
const watchdog = setTimeout(() => {
  console.error("pull-restart: took longer than 180 s; stopping");
  server.killNow();
  process.exit(1);
}, 180_000);
process.on("exit", () => server.killNow());

async function api(base, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function pullUntil(base, id, n, body, limitMs) {
  const got = [];
  const until = Date.now() + limitMs;
  while (got.length < n && Date.now() < until) {
    const { messages } = await api(base, "POST", `/subscriptions/${id}/pull`, { waitSeconds: 5, ...body, maxMessages: n - got.length });
    got.push(...messages);
  }
  return got;
}

const check = (ok, what) => {
  if (!ok) throw new Error(what);
  console.log(`  ✓ ${what}`);
};

async function main() {
  let base = await server.start();
  console.log(`pull-restart: wrangler dev at ${base}`);
  const sub = await api(base, "POST", "/subscriptions", { name: `restart-${Date.now()}`, events: ["restart.*"] });
  for (let i = 0; i < 3; i++) await api(base, "POST", "/events", { type: "restart.test", partitionKey: `rs-${i}`, data: { i } });
  const leased = await pullUntil(base, sub.id, 2, { visibilityTimeoutSeconds: 300 }, 30_000);
  check(leased.length === 2, "two messages leased before the restart");
  base = await server.restart();
  console.log(`pull-restart: wrangler dev restarted at ${base}`);
  // The third is pulled (from the mailbox, or re-sent by its partition if the restart lost its queue message).
  const rest = await pullUntil(base, sub.id, 1, { visibilityTimeoutSeconds: 300 }, 90_000);
  check(rest.length === 1 && !leased.some((m) => m.deliveryId === rest[0].deliveryId), "the pending message is pulled after the restart");
  const again = await api(base, "POST", `/subscriptions/${sub.id}/pull`, { waitSeconds: 1 });
  check(again.messages.length === 0, "the leased messages are not handed out again");
  const { acked } = await api(base, "POST", `/subscriptions/${sub.id}/ack`, { ackIds: [...leased, ...rest].map((m) => m.ackId) });
  check(acked === 3, "the leases taken before the restart still ack (3 acked)");
}

main()
  .then(async () => {
    clearTimeout(watchdog);
    await server.stop();
    rmSync(server.tmp, { recursive: true, force: true });
    console.log("pull-restart: OK");
    process.exit(0);
  })
  .catch(async (err) => {
    console.error(`pull-restart: FAILED — ${err.message}`);
    console.error(server.logTail?.(20) ?? "");
    clearTimeout(watchdog);
    await server.stop();
    process.exit(1);
  });

// A pull consumer for an edgebus pull subscription (one without a url): long-polls for leased
// messages, handles each, acks what worked and nacks the rest with a delay. Node 18+, no dependencies.
//
//   EDGEBUS_URL=http://127.0.0.1:8787 EDGEBUS_API_KEY=dev-api-key SUBSCRIPTION_ID=sub_… node examples/pull-consumer.mjs
//
// A message not acked within its visibility timeout comes back with attempt + 1; after the
// subscription's retryPolicy.maxAttempts it is dead-lettered (FAILED in its delivery log).
const base = process.env.EDGEBUS_URL ?? "http://127.0.0.1:8787";
const key = process.env.EDGEBUS_API_KEY ?? "dev-api-key";
const id = process.env.SUBSCRIPTION_ID;
const once = process.env.ONCE === "1"; // one long poll, handle what it returns, stop (for scripts)
if (!id) {
  console.error("set SUBSCRIPTION_ID to a pull subscription's id");
  process.exit(1);
}

async function call(verb, body) {
  const res = await fetch(`${base}/subscriptions/${id}/${verb}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${verb}: ${res.status} ${json.detail ?? ""}`);
  return json;
}

/** Your work. Throwing means "not now": the message is nacked and comes back after the delay. */
async function handle(event) {
  console.log(`${event.type} ${event.id} partition=${event.partitionKey} sequence=${event.sequence} previous=${event.previousSequence}`);
}

let stopping = false;
process.on("SIGINT", () => {
  stopping = true; // finish the current batch; leases not acked expire after their visibility timeout
});

const lastSeen = new Map(); // partition → last sequence handled, to notice a missed delivery
while (!stopping) {
  const { messages } = await call("pull", { maxMessages: 10, visibilityTimeoutSeconds: 30, waitSeconds: once ? 5 : 20 });
  const ok = [];
  const failed = [];
  for (const m of messages) {
    const seen = lastSeen.get(m.event.partitionKey);
    if (seen !== undefined && m.event.previousSequence > seen) {
      console.warn(`missed ${m.event.partitionKey} after ${seen}: read GET /partitions/${m.event.partitionKey}/events?after=${seen}`);
    }
    try {
      await handle(m.event);
      ok.push(m.ackId);
      lastSeen.set(m.event.partitionKey, Math.max(seen ?? 0, m.event.sequence));
    } catch (err) {
      console.warn(`attempt ${m.attempt} of ${m.deliveryId} failed: ${err.message}`);
      failed.push(m.ackId);
    }
  }
  if (ok.length > 0) await call("ack", { ackIds: ok });
  if (failed.length > 0) await call("nack", { ackIds: failed, delaySeconds: 10 });
  if (once) break;
}

/**
 * An example webhook receiver for edgebus: `WEBHOOK_SECRET=… node examples/receiver.mjs`.
 *
 * Listens on 127.0.0.1:$PORT (default 9000), accepts POSTs on any path, verifies both signature
 * schemes (see verify.mjs) with the secret in WEBHOOK_SECRET, and answers
 *   200  verified: prints the event with its partition and sequence number
 *   401  refused: says which header failed and why, in the response and in a log line
 *   400  verified but not an edgebus event body
 * Deliveries are at least once: a real receiver deduplicates on webhook-id (= the event id) and
 * may use X-Event-Sequence to put a partition's events back in order.
 */
import { createServer } from "node:http";
import { readBody, secretFromEnv, verify } from "./verify.mjs";

const secret = secretFromEnv("WEBHOOK_SECRET", "webhook-secret-123");
const port = Number(process.env.PORT ?? 9000);

const server = createServer(async (req, res) => {
  if (req.method !== "POST") return res.writeHead(405, { allow: "POST" }).end();
  const body = await readBody(req);
  const check = verify(req.headers, body, secret);
  if (!check.ok) {
    console.log(`refused ${req.url}: ${check.reason}`);
    return res.writeHead(401, { "content-type": "text/plain" }).end(`refused: ${check.reason}\n`);
  }
  let event;
  try {
    ({ event } = JSON.parse(body));
  } catch {
    event = undefined;
  }
  if (!event?.id) {
    console.log(`refused ${req.url}: signed, but the body is not {"event": {...}}`);
    return res.writeHead(400, { "content-type": "text/plain" }).end("not an event\n");
  }
  console.log(
    `verified ${event.type} ${event.id} partition=${event.partitionKey} sequence=${event.sequence}` +
      ` attempt=${req.headers["x-delivery-attempt"]} data=${JSON.stringify(event.data)}`,
  );
  res.writeHead(200, { "content-type": "application/json" }).end('{"received":true}');
});

server.listen(port, "127.0.0.1", () => console.log(`receiver listening on http://127.0.0.1:${port}`));

/**
 * The calibration worker of `npm run bench`: the two floors edgebus is measured against in the
 * same run, on the same machine and runtime (see BENCHMARKS.md, "Calibration").
 *
 * `POST /fanout?n=N&url=U&tag=T` — the outbound ceiling. Signs and POSTs N deliveries to the
 * receiver at U, all at once, and answers when every one has answered. It calls edgebus's own
 * `signedPost` (target check, X-Signature and webhook-signature HMACs, timeout, no redirects,
 * response body cancelled), so the only difference from edgebus's delivery path is everything
 * edgebus does around the POST: the queue, the Endpoint object, the partition's begin/record.
 *
 * `POST /insert` — the publish floor. One Durable Object call (16 objects, chosen at random like
 * keyless publishes spread over 16 shards) that stores the request body with one SQLite insert.
 */
import { DurableObject } from "cloudflare:workers";
import { signedPost } from "../../src/queues/signed-post.js";

interface CalibrationEnv {
  FLOOR: DurableObjectNamespace<Floor>;
}

// Same shape and size as the body of an edgebus delivery of the benchmark's sample event.
const DATA = { orderId: "order-123", customerId: "cust-456", total: 99.95, currency: "USD" };
const SECRETS = [{ secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }];
let counter = 0;

async function fanout(url: string, tag: string, n: number): Promise<number> {
  const posts = Array.from({ length: n }, () => {
    const seq = ++counter;
    const id = `cal-${tag}-${seq}`;
    const event = { id, type: "bench.calibration", source: "bench", timestamp: new Date().toISOString(), data: DATA };
    return signedPost({
      url,
      secrets: SECRETS,
      allowPrivate: true,
      eventId: id,
      eventType: event.type,
      sequence: seq,
      partitionKey: "_shard-0",
      attempt: 1,
      previousSequence: seq - 1,
      rawBody: JSON.stringify({ event: { ...event, partitionKey: "_shard-0", sequence: seq } }),
      timeoutMs: 5000,
    });
  });
  const outcomes = await Promise.all(posts);
  return outcomes.filter((o) => o.class === "success").length;
}

export class Floor extends DurableObject {
  constructor(ctx: DurableObjectState, env: CalibrationEnv) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, body TEXT NOT NULL)");
  }

  insert(id: string, body: string): number {
    return this.ctx.storage.sql.exec("INSERT INTO events (id, body) VALUES (?, ?)", id, body).rowsWritten;
  }
}

export default {
  async fetch(request: Request, env: CalibrationEnv): Promise<Response> {
    const u = new URL(request.url);
    if (u.pathname === "/health") return new Response("ok");
    if (u.pathname === "/insert" && request.method === "POST") {
      const id = crypto.randomUUID();
      const stub = env.FLOOR.get(env.FLOOR.idFromName(`shard-${Math.floor(Math.random() * 16)}`));
      await stub.insert(id, await request.text());
      return Response.json({ eventId: id, status: "PUBLISHED" }, { status: 202 });
    }
    if (u.pathname === "/fanout" && request.method === "POST") {
      const n = Math.min(1000, Math.max(1, Number(u.searchParams.get("n") ?? 1)));
      const delivered = await fanout(u.searchParams.get("url") ?? "", u.searchParams.get("tag") ?? "x", n);
      return Response.json({ delivered });
    }
    return new Response("not found", { status: 404 });
  },
};

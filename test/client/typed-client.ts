/**
 * Compiled by `npm test`'s tsc, never run: the published client (`edgebus/client`, resolved through
 * package.json `exports`) type-checks against the generated OpenAPI types. A route, a field or a
 * response that changes shape breaks this file once `npm run client:generate` has run.
 */
import { createClient, EdgebusError, unwrap } from "edgebus/client";

export async function typedClientUsage(): Promise<void> {
  const edgebus = createClient({ url: "http://127.0.0.1:8787", apiKey: "dev-api-key" });

  const published = await unwrap(
    edgebus.POST("/events", { body: { type: "order.created", partitionKey: "order-1", data: { orderId: "order-1" } } }),
  );
  const sequence: number = published.sequence;
  const eventId: string = published.eventId;

  const page = await unwrap(
    edgebus.GET("/partitions/{key}/events", { params: { path: { key: "order-1" }, query: { after: sequence - 1, limit: 10 } } }),
  );
  const first: string | undefined = page.events[0]?.id;

  const sub = await unwrap(edgebus.POST("/subscriptions", { body: { name: "typed", events: ["order.*"] } }));
  const { messages } = await unwrap(
    edgebus.POST("/subscriptions/{id}/pull", { params: { path: { id: sub.id } }, body: { waitSeconds: 1 } }),
  );
  const ackIds: string[] = messages.map((m) => m.ackId);
  if (ackIds.length > 0) await unwrap(edgebus.POST("/subscriptions/{id}/ack", { params: { path: { id: sub.id } }, body: { ackIds } }));

  const replay = await unwrap(
    edgebus.POST("/subscriptions/{id}/replay", { params: { path: { id: sub.id } }, body: { since: "2026-01-01T00:00:00Z" } }),
  );
  const status: "RUNNING" | "COMPLETED" | "FAILED" | "CANCELLED" = replay.status;

  // @ts-expect-error: `data` is required by the PublishEvent schema.
  await edgebus.POST("/events", { body: { type: "order.created" } });
  // @ts-expect-error: there is no such route.
  await edgebus.GET("/no-such-route");

  const { error } = await edgebus.GET("/subscriptions/{id}", { params: { path: { id: "sub_missing" } } });
  const code: string | undefined = error?.code;

  try {
    await unwrap(edgebus.GET("/tenants/keys"));
  } catch (err) {
    if (err instanceof EdgebusError) console.log(err.status, err.code, err.problem?.requestId);
  }
  console.log(eventId, first, status, code);
}

/**
 * Publishing, shared by the HTTP routes and by objects that publish on their own (orders, endpoint
 * health): fills the envelope's defaults, matches it against the tenant's cached subscriptions,
 * groups events by partition, and makes one Partition call per partition touched.
 */
import { LIMITS } from "../config.js";
import { matchFilter } from "../domain/filters.js";
import { newId } from "../domain/ids.js";
import { newTrace } from "../domain/trace.js";
import { AppError } from "../errors.js";
import { type PublishItem, partitionFor, partitionStub } from "../objects/partition/client.js";
import type { EventEnvelope, PublishInput, PublishResult } from "../schemas/event.js";
import { tenantSubscriptions } from "./subscription-cache.js";

/**
 * Fills the envelope's defaults (an event without trace context starts its own trace); refuses
 * (TENANT_MISMATCH) a body that names another tenant.
 */
export function toEnvelope(input: PublishInput, tenantId: string, now = new Date()): EventEnvelope {
  if (input.metadata?.tenantId !== undefined && input.metadata.tenantId !== tenantId) {
    throw new AppError("TENANT_MISMATCH", "metadata.tenantId names another tenant than the API key's.");
  }
  const id = input.id ?? newId("evt");
  const envelope: EventEnvelope = {
    id,
    type: input.type,
    timestamp: input.timestamp ?? now.toISOString(),
    ...(input.source !== undefined ? { source: input.source } : {}),
    ...(input.subject !== undefined ? { subject: input.subject } : {}),
    ...(input.dataSchema !== undefined ? { dataSchema: input.dataSchema } : {}),
    data: input.data,
    metadata: {
      correlationId: input.metadata?.correlationId ?? id,
      ...(input.metadata?.causationId !== undefined ? { causationId: input.metadata.causationId } : {}),
      version: input.metadata?.version ?? "1.0",
      tenantId,
    },
    ...(input.routingKey !== undefined ? { routingKey: input.routingKey } : {}),
    partitionKey: partitionFor(id, input.partitionKey),
    ...(input.cacheInvalidation ? { cacheInvalidation: input.cacheInvalidation } : {}),
    trace: input.trace ?? newTrace(),
  };
  const body = JSON.stringify(envelope);
  // A UTF-16 unit is at most 3 UTF-8 bytes: only a long text needs counting.
  const size = body.length * 3 <= LIMITS.eventBytes ? body.length : new TextEncoder().encode(body).byteLength;
  if (size > LIMITS.eventBytes) {
    throw new AppError("PAYLOAD_TOO_LARGE", `An event is limited to ${LIMITS.eventBytes} bytes serialized; this one is ${size}.`);
  }
  serialized.set(envelope, body);
  return envelope;
}

/** Each envelope's JSON, as toEnvelope made it: the partition stores that text, so it is built once. */
const serialized = new WeakMap<EventEnvelope, string>();

/** Publishes envelopes (already validated); results come back in input order. */
export async function publishEnvelopes(env: Env, tenantId: string, envelopes: EventEnvelope[]): Promise<PublishResult[]> {
  const { index } = await tenantSubscriptions(env, tenantId);
  const groups = new Map<string, Array<{ at: number; item: PublishItem }>>();
  envelopes.forEach((envelope, at) => {
    // The index narrows by type and routing key first; only those candidates run their filters.
    const matched = index
      .match(envelope.type, envelope.routingKey)
      .filter((s) => s.filter === undefined || matchFilter(s.filter, envelope));
    const item: PublishItem = {
      id: envelope.id,
      // Envelopes are never changed after toEnvelope; one built elsewhere is serialized here.
      body: serialized.get(envelope) ?? JSON.stringify(envelope),
      subscribers: matched.map((s) => s.name),
      ...(envelope.routingKey !== undefined ? { routedTo: matched.filter((s) => s.routingKeys.length > 0).map((s) => s.name) } : {}),
      targets: matched.map((s) => ({ id: s.id, name: s.name, ordered: s.ordering === "partition" })),
    };
    const group = groups.get(envelope.partitionKey) ?? [];
    group.push({ at, item });
    groups.set(envelope.partitionKey, group);
  });
  const results: PublishResult[] = new Array(envelopes.length);
  await Promise.all(
    [...groups].map(async ([partitionKey, group]) => {
      const out = await partitionStub(env, tenantId, partitionKey).publish(
        tenantId,
        partitionKey,
        group.map((g) => g.item),
      );
      group.forEach((g, i) => {
        results[g.at] = out[i] as PublishResult;
      });
    }),
  );
  return results;
}

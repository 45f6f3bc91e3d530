/**
 * Publishing from the API (one event or a batch, with event-driven cache invalidation after the
 * commit) and reading what partitions stored. Routes call these; the envelope defaults and the
 * fan-out are in publish.ts, which objects that publish their own events use too.
 */
import { invalidateKeys } from "../cache/index.js";
import { LIMITS } from "../config.js";
import type { TraceContext } from "../domain/trace.js";
import { AppError, validationError } from "../errors.js";
import { partitionFor, partitionStub } from "../objects/partition/client.js";
import {
  type EventEnvelope,
  PublishEventSchema,
  type PublishInput,
  type PublishResult,
  parseStored,
  publicEvent,
  type StoredEvent,
} from "../schemas/event.js";
import { publishEnvelopes, toEnvelope } from "./publish.js";
import { takePublishTokens } from "./quota.js";
import { checkEventSchema } from "./schema-cache.js";

export type Published = PublishResult & { invalidated?: string[] };

/** Called with the deprecation time when an event used a deprecated schema version. */
export type OnDeprecated = (deprecatedAt: string) => void;

/**
 * Checks the event against its schema version (when its type has versions), takes a quota token,
 * commits the event, then clears its cache keys (a duplicate repeats no side effect).
 */
export async function publishEvent(env: Env, tenantId: string, input: PublishInput, onDeprecated?: OnDeprecated): Promise<Published> {
  const envelope = toEnvelope(input, tenantId);
  const { deprecatedAt } = await checkEventSchema(env, tenantId, envelope);
  if (deprecatedAt !== undefined) onDeprecated?.(deprecatedAt);
  await takePublishTokens(env, tenantId, 1);
  const [result] = (await publishEnvelopes(env, tenantId, [envelope])) as [PublishResult];
  const keys = input.cacheInvalidation?.keys;
  const invalidated = keys && !result.duplicate ? await invalidateKeys(env, tenantId, keys) : undefined;
  return { ...result, ...(invalidated ? { invalidated } : {}) };
}

/** A batch item in the plain envelope format: validated, or refused on its own. */
export function parseEnvelope(item: unknown, at: number): PublishInput {
  const parsed = PublishEventSchema.safeParse(item);
  if (!parsed.success) throw validationError(parsed.error, `events.${at}`);
  return parsed.data;
}

/**
 * One outcome per raw event, in order: a result, or the error that refused that event alone.
 * `parse` reads one item (the plain envelope by default); `trace` is the request's trace
 * context, for the items that carry none of their own.
 */
export async function publishBatch(
  env: Env,
  tenantId: string,
  raw: unknown[],
  {
    parse = parseEnvelope,
    trace,
    onDeprecated,
  }: { parse?: (item: unknown, at: number) => PublishInput; trace?: TraceContext; onDeprecated?: OnDeprecated } = {},
): Promise<Array<Published | AppError>> {
  const outcomes: Array<Published | AppError> = new Array(raw.length);
  const valid: Array<{ at: number; envelope: EventEnvelope }> = [];
  for (const [at, item] of raw.entries()) {
    try {
      const input = parse(item, at);
      const envelope = toEnvelope({ ...(trace ? { trace } : {}), ...input }, tenantId);
      // Each event is checked against its own schema version; a failure refuses that event alone.
      const { deprecatedAt } = await checkEventSchema(env, tenantId, envelope);
      if (deprecatedAt !== undefined) onDeprecated?.(deprecatedAt);
      valid.push({ at, envelope });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      if (err.code === "SCHEMA_VALIDATION_FAILED" || err.code === "UNKNOWN_SCHEMA_VERSION") {
        outcomes[at] = new AppError(
          err.code,
          err.message,
          err.errors?.map((e) => ({ ...e, path: `events.${at}.${e.path}` })),
        );
      } else outcomes[at] = err;
    }
  }
  if (valid.length === 0) return outcomes;
  const distinct = new Set(valid.flatMap((v) => v.envelope.cacheInvalidation?.keys ?? []));
  if (distinct.size > LIMITS.batchInvalidationKeys) {
    throw new AppError(
      "VALIDATION_FAILED",
      `A batch may invalidate at most ${LIMITS.batchInvalidationKeys} distinct cache keys; this one names ${distinct.size}.`,
      [{ path: "events", message: "too many cacheInvalidation.keys in total" }],
    );
  }
  // The quota counts every event that would be stored; when it cannot cover them all, nothing is.
  await takePublishTokens(env, tenantId, valid.length);
  const published = await publishEnvelopes(
    env,
    tenantId,
    valid.map((v) => v.envelope),
  );
  // Each key is cleared once for the whole batch (new events only: a duplicate repeats nothing).
  const wanted = new Set(
    valid.flatMap((v, i) => ((published[i] as PublishResult).duplicate ? [] : (v.envelope.cacheInvalidation?.keys ?? []))),
  );
  const cleared = new Set(wanted.size > 0 ? await invalidateKeys(env, tenantId, [...wanted]) : []);
  valid.forEach((v, i) => {
    const result = published[i] as PublishResult;
    const keys = v.envelope.cacheInvalidation?.keys;
    const invalidated = keys && !result.duplicate ? keys.filter((k) => cleared.has(k)) : undefined;
    outcomes[v.at] = { ...result, ...(invalidated ? { invalidated } : {}) };
  });
  return outcomes;
}

/** A stored event (as clients see it) and its per-subscription delivery status. */
export async function readEvent(env: Env, tenantId: string, id: string, partitionKey?: string) {
  const { event, deliveries } = await findEvent(env, tenantId, id, partitionKey);
  return { ...publicEvent(event), deliveries };
}

/** The stored event alone, with everything it was stored with. */
export async function readStoredEvent(env: Env, tenantId: string, id: string, partitionKey?: string): Promise<StoredEvent> {
  return (await findEvent(env, tenantId, id, partitionKey)).event;
}

async function findEvent(env: Env, tenantId: string, id: string, partitionKey?: string) {
  const partition = partitionFor(id, partitionKey);
  const found = await partitionStub(env, tenantId, partition).getEvent(id);
  if (!found) {
    throw new AppError(
      "NOT_FOUND",
      `No event ${id} in partition ${partition}${partitionKey ? "" : " (pass ?partitionKey= if it was published with one)"}.`,
    );
  }
  return { event: parseStored(found.event), deliveries: found.deliveries };
}

/** A page of a partition's log; `nextAfter` continues from its last event. */
export async function readLog(env: Env, tenantId: string, partitionKey: string, after: number, limit: number) {
  const page = await partitionStub(env, tenantId, partitionKey).readLog(after, limit);
  const events = page.map(parseStored).map(publicEvent);
  return { events, nextAfter: events.at(-1)?.sequence ?? after };
}

/**
 * Command events: a task submitted with `onComplete: true` gets its task.succeeded / task.failed
 * event written in the same SQL statement as its final state (task-store.ts), and published from
 * here to the tenant's own bus — partition key = the task id, routing key = the task type,
 * causationId = the task id. The event id is fixed per run, so a re-publish after a failure (the
 * shard's alarm tries again) is deduplicated by the partition.
 */
import { AppError } from "../../errors.js";
import { publishEnvelopes, toEnvelope } from "../../services/publish.js";
import type { PendingEvent } from "./sql.js";
import type { TaskStore } from "./store.js";

/** Publishes what is pending (at most `limit`); true when nothing is left over. */
export async function publishCompletions(env: Env, tenantId: string, store: TaskStore, limit = 50): Promise<boolean> {
  let done = true;
  for (const { id, pending_event } of store.pendingEvents(limit)) {
    const event = JSON.parse(pending_event) as PendingEvent;
    const taskType = typeof event.data.type === "string" ? event.data.type : undefined;
    try {
      const envelope = envelopeFor(event, id, taskType, tenantId);
      await publishEnvelopes(env, tenantId, [envelope]);
      store.clearEvent(id, pending_event);
    } catch (err) {
      done = false;
      console.warn(JSON.stringify({ level: "warn", message: "task completion event not published yet", taskId: id, error: String(err) }));
    }
  }
  return done;
}

/** The completion event; a result too large for an event is left out (the task keeps it). */
function envelopeFor(event: PendingEvent, id: string, taskType: string | undefined, tenantId: string) {
  const build = (data: Record<string, unknown>) =>
    toEnvelope(
      {
        id: event.id,
        type: event.type,
        data,
        partitionKey: id,
        ...(taskType !== undefined ? { routingKey: taskType } : {}),
        metadata: { causationId: id },
      },
      tenantId,
    );
  try {
    return build(event.data);
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== "PAYLOAD_TOO_LARGE") throw err;
    return build({ ...event.data, result: null, resultOmitted: "too large for an event; GET /tasks/:id has it" });
  }
}

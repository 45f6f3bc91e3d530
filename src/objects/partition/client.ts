/**
 * Where a partition lives and what a publish hands it. One Partition object per tenant +
 * partition key; events without a key go to `_shard-<n>`, n from a hash of the event id, so a
 * retried publish lands in the same partition.
 */
import { AUTO_SHARDS } from "../../config.js";
import { hash32 } from "../../domain/ids.js";
import { objectId } from "../kit/object-id.js";

/** What the worker passes for one event: the matching is done in the isolate, not in the object. */
export interface PublishItem {
  /** The event id and its envelope as stored (serialized once, in the worker). */
  id: string;
  body: string;
  subscribers: string[];
  routedTo?: string[];
  /** Every matching subscription (push or pull) gets a delivery row; `ordered`: one at a time, in sequence. */
  targets: Array<{ id: string; name: string; ordered: boolean }>;
}

export function partitionStub(env: Env, tenantId: string, partitionKey: string) {
  return env.PARTITION.get(objectId(env.PARTITION, `${tenantId}/${partitionKey}`));
}

/** The partition an event goes to: its own key, or `_shard-<n>` from a hash of its id. */
export function partitionFor(eventId: string, partitionKey?: string): string {
  return partitionKey ?? `_shard-${hash32(eventId) % AUTO_SHARDS}`;
}

/**
 * Addressing for the work queues: which TaskShard holds a task (`${tenantId}/${hash32(id) % 16}`)
 * and which queue carries a priority. Shared by the routes, the consumer and the objects themselves.
 */
import { hash32 } from "../../domain/ids.js";
import { type Priority, TASK_SHARDS } from "../../schemas/task.js";
import { objectId } from "../kit/object-id.js";

export function shardOf(taskId: string): number {
  return hash32(taskId) % TASK_SHARDS;
}

export function shardStub(env: Env, tenantId: string, shard: number) {
  return env.TASK_SHARD.get(objectId(env.TASK_SHARD, `${tenantId}/${shard}`));
}

export function taskStub(env: Env, tenantId: string, taskId: string) {
  return shardStub(env, tenantId, shardOf(taskId));
}

/** One call per shard of the tenant, in parallel (lists, recounts, waking waiting tasks). */
export function eachShard<T>(env: Env, tenantId: string, fn: (stub: ReturnType<typeof shardStub>) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: TASK_SHARDS }, (_, i) => fn(shardStub(env, tenantId, i))));
}

/** One queue per priority, so high-priority work never waits behind a backlog of low. */
export function taskQueue(env: Env, priority: Priority): Queue {
  if (priority === "high") return env.TASKS_HIGH;
  if (priority === "low") return env.TASKS_LOW;
  return env.TASKS_NORMAL;
}

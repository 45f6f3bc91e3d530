/**
 * Where the Store's data lives. The catalog is one Store instance per tenant (`<tenant>/catalog`),
 * read by the route, which passes the prices to the order's shard: so any shard can price an
 * order without calling another object, and an order keeps the prices it was created with.
 * Orders are sharded by id over ORDER_SHARDS instances (`<tenant>/orders-<n>`), so one tenant's
 * orders are not capped by one object; a customer's orders are read from every shard.
 */
import { hash32 } from "../../domain/ids.js";

/** Fixed: changing it would move existing orders to other shards. */
export const ORDER_SHARDS = 8;

export function catalogStub(env: Env, tenantId: string) {
  return env.STORE.get(env.STORE.idFromName(`${tenantId}/catalog`));
}

export function orderShardName(tenantId: string, orderId: string): string {
  return `${tenantId}/orders-${hash32(orderId) % ORDER_SHARDS}`;
}

export function orderStub(env: Env, tenantId: string, orderId: string) {
  return env.STORE.get(env.STORE.idFromName(orderShardName(tenantId, orderId)));
}

export function allOrderShards(env: Env, tenantId: string) {
  return Array.from({ length: ORDER_SHARDS }, (_, n) => env.STORE.get(env.STORE.idFromName(`${tenantId}/orders-${n}`)));
}

/**
 * Orders with caching, between the routes and the Store objects. Writes go to the Store first (the
 * source of truth), then through to the cache under the order's id with the order's version, and
 * invalidate the customer's cached list. GET /orders/:id is cache-aside, and a cached copy counts
 * as a HIT only when its version is the Store's current one: a copy that another location wrote
 * before a change (or a value PUT through /cache under the order's id) is never served as the order.
 * Cache failures never fail an order request; the cache is only a copy.
 */
import { cacheSettings, clearCache, LIST_TTL_SECONDS, readCache, writeCache } from "../cache/index.js";
import { newId } from "../domain/ids.js";
import { toCents } from "../domain/money.js";
import { nextStatuses, type OrderStatus } from "../domain/order-status.js";
import { AppError } from "../errors.js";
import { allOrderShards, catalogStub, orderStub } from "../objects/store/client.js";
import { type CreateOrder, catalogView, type OrderRecord, type OrderView, orderView } from "../schemas/order.js";

export type CacheStatus = "HIT" | "MISS" | "UPDATED";

/** The newest orders a customer list shows. */
export const CUSTOMER_ORDERS_LIMIT = 100;

/** Marks list entries as written by this service (orders carry their version, 1 or more). */
const LIST_VERSION = 0;

export const customerOrdersKey = (customerId: string) => `customer-orders-${customerId}`;

export async function putCatalogItem(env: Env, tenantId: string, itemId: string, name: string, price: number) {
  const cents = toCents(price);
  if (cents === null) throw new AppError("VALIDATION_FAILED", "price must be a non-negative amount with at most two decimals.");
  const { item, created } = await catalogStub(env, tenantId).putItem(itemId, name, cents);
  return { item: catalogView(item), created };
}

export async function getCatalogItem(env: Env, tenantId: string, itemId: string) {
  const [item] = await catalogStub(env, tenantId).getItems([itemId]);
  if (!item) throw new AppError("NOT_FOUND", `No catalog item ${itemId}.`);
  return catalogView(item);
}

export async function createOrder(env: Env, tenantId: string, input: CreateOrder): Promise<OrderView> {
  const ids = [...new Set(input.items.map((i) => i.itemId))];
  const catalog = new Map((await catalogStub(env, tenantId).getItems(ids)).map((item) => [item.itemId, item]));
  const unknown = ids.filter((itemId) => !catalog.has(itemId));
  if (unknown.length > 0) {
    const errors = input.items.flatMap((line, at) =>
      catalog.has(line.itemId) ? [] : [{ path: `items.${at}.itemId`, message: `no catalog item ${line.itemId}` }],
    );
    throw new AppError("UNPROCESSABLE", `Unknown catalog item(s): ${unknown.join(", ")}.`, errors);
  }
  const id = input.id ?? `order-${newId("o").slice(2)}`;
  const items = input.items.map(({ itemId, quantity }) => {
    const item = catalog.get(itemId);
    if (!item) throw new Error("unreachable: checked above");
    return { itemId, name: item.name, quantity, unitCents: item.priceCents };
  });
  const result = await orderStub(env, tenantId, id).createOrder(tenantId, { id, customerId: input.customerId, items });
  if (!result.ok) throw new AppError("CONFLICT", `An order ${id} already exists.`);
  return writeThrough(env, tenantId, result.order);
}

export async function changeOrderStatus(env: Env, tenantId: string, id: string, status: OrderStatus): Promise<OrderView> {
  const result = await orderStub(env, tenantId, id).changeStatus(tenantId, id, status);
  if (!result.ok) {
    if (result.code === "NOT_FOUND") throw new AppError("NOT_FOUND", `No order ${id}.`);
    const allowed = nextStatuses(result.from);
    throw new AppError(
      "INVALID_TRANSITION",
      `An order cannot move from ${result.from} to ${status}; ${allowed.length > 0 ? `allowed: ${allowed.join(", ")}` : `${result.from} is final`}.`,
    );
  }
  return writeThrough(env, tenantId, result.order);
}

/**
 * Cache-aside with a version check: one small Store call either confirms the cached copy or
 * returns the order. Null when there is no such order (a miss, as far as the cache goes).
 */
export async function getOrder(env: Env, tenantId: string, id: string): Promise<{ order: OrderView; cache: CacheStatus } | null> {
  const cached = await readCache(env, tenantId, id);
  const lookup = await orderStub(env, tenantId, id).lookupOrder(id, cached?.version ?? null);
  if (lookup.state === "current" && cached) return { order: JSON.parse(cached.text) as OrderView, cache: "HIT" };
  if (lookup.state !== "found") return null;
  const order = orderView(lookup.order);
  await writeCache(env, tenantId, id, JSON.stringify(order), cacheSettings(env).defaultTtlSeconds, lookup.order.version);
  return { order, cache: "MISS" };
}

/**
 * A customer's newest orders from every shard, cached under `customer-orders-<id>`. Lists are
 * written with version 0, so a value a client PUT under that key (no version) is not served as one.
 */
export async function customerOrders(env: Env, tenantId: string, customerId: string): Promise<{ orders: OrderView[]; cache: CacheStatus }> {
  const key = customerOrdersKey(customerId);
  const cached = await readCache(env, tenantId, key);
  if (cached?.version === LIST_VERSION) return { orders: JSON.parse(cached.text) as OrderView[], cache: "HIT" };
  const shards = await Promise.all(allOrderShards(env, tenantId).map((s) => s.listByCustomer(customerId, CUSTOMER_ORDERS_LIMIT)));
  const orders = shards
    .flat()
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
    .slice(0, CUSTOMER_ORDERS_LIMIT)
    .map(orderView);
  await writeCache(
    env,
    tenantId,
    key,
    JSON.stringify(orders),
    Math.min(LIST_TTL_SECONDS, cacheSettings(env).defaultTtlSeconds),
    LIST_VERSION,
  );
  return { orders, cache: "MISS" };
}

async function writeThrough(env: Env, tenantId: string, record: OrderRecord): Promise<OrderView> {
  const order = orderView(record);
  await Promise.all([
    writeCache(env, tenantId, record.id, JSON.stringify(order), cacheSettings(env).defaultTtlSeconds, record.version),
    clearCache(env, tenantId, customerOrdersKey(record.customerId)),
  ]);
  return order;
}

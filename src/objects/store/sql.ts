/** The Store object's SQL schema, row shapes and row → record mapping (private to it and its tests). */
import type { OrderStatus } from "../../domain/order-status.js";
import type { CatalogItemRecord, OrderLine, OrderRecord } from "../../schemas/order.js";

export const STORE_MIGRATIONS = [
  `CREATE TABLE catalog (item_id TEXT PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`,
  `CREATE TABLE orders (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, status TEXT NOT NULL,
     total_cents INTEGER NOT NULL, items TEXT NOT NULL, version INTEGER NOT NULL,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`,
  "CREATE INDEX orders_customer ON orders (customer_id, created_at)",
  // Events written with the order change, deleted once the partition has taken them.
  `CREATE TABLE outbox (event_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, body TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, created_at INTEGER NOT NULL)`,
];

export interface CatalogRow {
  item_id: string;
  name: string;
  price_cents: number;
  created_at: number;
  updated_at: number;
  [key: string]: SqlStorageValue;
}

export interface OrderRow {
  id: string;
  customer_id: string;
  status: string;
  total_cents: number;
  items: string;
  version: number;
  created_at: number;
  updated_at: number;
  [key: string]: SqlStorageValue;
}

export interface OutboxRow {
  event_id: string;
  tenant_id: string;
  body: string;
  attempts: number;
  [key: string]: SqlStorageValue;
}

export function catalogRecord(r: CatalogRow): CatalogItemRecord {
  return { itemId: r.item_id, name: r.name, priceCents: r.price_cents, createdAt: r.created_at, updatedAt: r.updated_at };
}

export function orderRecord(r: OrderRow): OrderRecord {
  return {
    id: r.id,
    customerId: r.customer_id,
    status: r.status as OrderStatus,
    totalCents: r.total_cents,
    items: JSON.parse(r.items) as OrderLine[],
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** `?, ?, ?` for an IN list. */
export const placeholders = (n: number) => Array.from({ length: n }, () => "?").join(", ");

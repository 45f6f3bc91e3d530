/**
 * The catalog and orders boundaries: HTTP bodies and views, and the records the Store object
 * returns over RPC (concrete types, amounts in integer cents, times in epoch ms). Views turn cents
 * into decimal numbers (5998 → 59.98) only at the edge.
 */
import { z } from "@hono/zod-openapi";
import { CLIENT_ID } from "../domain/ids.js";
import { fromCents, toCents } from "../domain/money.js";
import { ORDER_STATUSES, type OrderStatus } from "../domain/order-status.js";

const Id = (example: string) =>
  z
    .string()
    .max(200)
    .regex(CLIENT_ID, "1–200 characters of letters, digits and . _ : ~ @ -")
    .refine((s) => !s.startsWith("_"), "ids starting with '_' are reserved")
    .openapi({ example });

export const ItemIdParam = z.object({ itemId: Id("item-456").openapi({ param: { name: "itemId", in: "path" } }) });
export const OrderIdParam = z.object({ id: Id("order-123").openapi({ param: { name: "id", in: "path" } }) });
export const CustomerIdParam = z.object({ id: Id("cust-456").openapi({ param: { name: "id", in: "path" } }) });

export const Price = z
  .number()
  .refine((p) => toCents(p) !== null, "a non-negative amount with at most two decimals, at most 1000000")
  .openapi({ example: 29.99 });

export const PutCatalogItemSchema = z.object({ name: z.string().min(1).max(200), price: Price }).openapi("PutCatalogItem");

export const CatalogItemSchema = z
  .object({ itemId: z.string(), name: z.string(), price: z.number(), createdAt: z.string(), updatedAt: z.string() })
  .openapi("CatalogItem");

export const MAX_ORDER_LINES = 100;
export const MAX_QUANTITY = 10_000;

export const CreateOrderSchema = z
  .object({
    id: Id("order-123").optional().openapi({ description: "Optional client id; a new `order-…` id by default. A repeat is 409." }),
    customerId: Id("cust-123"),
    items: z
      .array(z.object({ itemId: Id("item-456"), quantity: z.number().int().min(1).max(MAX_QUANTITY) }))
      .min(1)
      .max(MAX_ORDER_LINES),
  })
  .openapi("CreateOrder");

export const OrderStatusSchema = z.enum(ORDER_STATUSES);
export const UpdateOrderSchema = z.object({ status: OrderStatusSchema }).openapi("UpdateOrder");

export const OrderSchema = z
  .object({
    id: z.string().openapi({ example: "order-789" }),
    status: OrderStatusSchema,
    total: z.number().openapi({ example: 59.98 }),
    customerId: z.string(),
    items: z.array(z.object({ itemId: z.string(), name: z.string(), quantity: z.number().int(), price: z.number() })),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Order");

export const CustomerOrdersSchema = z.object({ customerId: z.string(), orders: z.array(OrderSchema) }).openapi("CustomerOrders");

export type CreateOrder = z.infer<typeof CreateOrderSchema>;
export type OrderView = z.infer<typeof OrderSchema>;

// --- records crossing RPC ---

export interface CatalogItemRecord {
  itemId: string;
  name: string;
  priceCents: number;
  createdAt: number;
  updatedAt: number;
}

export interface OrderLine {
  itemId: string;
  name: string;
  quantity: number;
  unitCents: number;
}

export interface OrderRecord {
  id: string;
  customerId: string;
  status: OrderStatus;
  totalCents: number;
  items: OrderLine[];
  /** 1 at creation, +1 on every change: what a cached copy is checked against. */
  version: number;
  createdAt: number;
  updatedAt: number;
}

export interface NewOrder {
  id: string;
  customerId: string;
  items: OrderLine[];
}

export function catalogView(r: CatalogItemRecord): z.infer<typeof CatalogItemSchema> {
  return { itemId: r.itemId, name: r.name, price: fromCents(r.priceCents), createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt) };
}

export function orderView(r: OrderRecord): OrderView {
  return {
    id: r.id,
    status: r.status,
    total: fromCents(r.totalCents),
    customerId: r.customerId,
    items: r.items.map((l) => ({ itemId: l.itemId, name: l.name, quantity: l.quantity, price: fromCents(l.unitCents) })),
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

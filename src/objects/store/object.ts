/**
 * Store Durable Object: the source of truth for the caching examples. One instance per tenant holds
 * the catalog (`<tenant>/catalog`); orders are sharded by id (`<tenant>/orders-<n>`, see
 * store-client.ts). An order change and its `order.*` event are written in one SQLite transaction
 * (the event into an outbox), then published from here; the alarm re-publishes whatever is still in
 * the outbox with the same event id, which the partition deduplicates — so a 201 never loses its event.
 */
import { DurableObject } from "cloudflare:workers";
import { fromCents, totalCents } from "../../domain/money.js";
import { canTransition, type OrderStatus } from "../../domain/order-status.js";
import type { EventEnvelope } from "../../schemas/event.js";
import type { CatalogItemRecord, NewOrder, OrderRecord } from "../../schemas/order.js";
import { publishEnvelopes, toEnvelope } from "../../services/publish.js";
import { Alarm } from "../kit/alarm.js";
import { migrate } from "../kit/migrations.js";
import { inSlices } from "../kit/sql-in.js";
import { type CatalogRow, catalogRecord, type OrderRow, type OutboxRow, orderRecord, placeholders, STORE_MIGRATIONS } from "./sql.js";

export type CreateOrderResult = { ok: true; order: OrderRecord } | { ok: false; code: "CONFLICT" };
export type ChangeStatusResult =
  | { ok: true; order: OrderRecord; previous: OrderStatus }
  | { ok: false; code: "NOT_FOUND" }
  | { ok: false; code: "INVALID_TRANSITION"; from: OrderStatus };
/** `current`: the caller's cached copy has the order's version; `found`: it does not (here is the order). */
export type OrderLookup = { state: "current" } | { state: "found"; order: OrderRecord } | { state: "missing" };

/** A publish still unfinished after this is retried by the alarm (duplicates are harmless). */
const REPUBLISH_AFTER_MS = 10_000;
const RETRY_MAX_MS = 300_000;
const ALARM_BATCH = 100;

export class Store extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly timer: Alarm;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.timer = new Alarm(ctx.storage);
    ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql, STORE_MIGRATIONS);
      await this.timer.load();
    });
  }

  // --- catalog (the `<tenant>/catalog` instance) ---

  putItem(itemId: string, name: string, priceCents: number): { item: CatalogItemRecord; created: boolean } {
    const now = Date.now();
    const created = this.sql.exec("SELECT 1 FROM catalog WHERE item_id = ?", itemId).toArray().length === 0;
    this.sql.exec(
      `INSERT INTO catalog (item_id, name, price_cents, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (item_id) DO UPDATE SET name = excluded.name, price_cents = excluded.price_cents, updated_at = excluded.updated_at`,
      itemId,
      name,
      priceCents,
      now,
      now,
    );
    return { item: catalogRecord(this.sql.exec<CatalogRow>("SELECT * FROM catalog WHERE item_id = ?", itemId).one()), created };
  }

  getItems(itemIds: string[]): CatalogItemRecord[] {
    if (itemIds.length === 0) return [];
    return this.sql
      .exec<CatalogRow>(`SELECT * FROM catalog WHERE item_id IN (${placeholders(itemIds.length)})`, ...itemIds)
      .toArray()
      .map(catalogRecord);
  }

  // --- orders (the `<tenant>/orders-<n>` shards) ---

  async createOrder(tenantId: string, input: NewOrder): Promise<CreateOrderResult> {
    if (this.sql.exec("SELECT 1 FROM orders WHERE id = ?", input.id).toArray().length > 0) return { ok: false, code: "CONFLICT" };
    const now = Date.now();
    const total = totalCents(input.items);
    const envelope = toEnvelope(
      {
        type: "order.created",
        source: "edgebus.orders",
        data: {
          orderId: input.id,
          customerId: input.customerId,
          status: "CREATED",
          total: fromCents(total),
          items: input.items.map((l) => ({ itemId: l.itemId, quantity: l.quantity, price: fromCents(l.unitCents) })),
        },
        partitionKey: input.id,
      },
      tenantId,
      new Date(now),
    );
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO orders (id, customer_id, status, total_cents, items, version, created_at, updated_at)
           VALUES (?, ?, 'CREATED', ?, ?, 1, ?, ?)`,
        input.id,
        input.customerId,
        total,
        JSON.stringify(input.items),
        now,
        now,
      );
      this.addToOutbox(tenantId, envelope, now);
    });
    const order = this.readOrder(input.id);
    if (!order) throw new Error(`order ${input.id} vanished after its insert`);
    await this.publishNow(tenantId, [envelope]);
    return { ok: true, order };
  }

  async changeStatus(tenantId: string, id: string, status: OrderStatus): Promise<ChangeStatusResult> {
    const current = this.readOrder(id);
    if (!current) return { ok: false, code: "NOT_FOUND" };
    if (!canTransition(current.status, status)) return { ok: false, code: "INVALID_TRANSITION", from: current.status };
    const now = Math.max(Date.now(), current.updatedAt);
    const envelope = toEnvelope(
      {
        type: "order.status.changed",
        source: "edgebus.orders",
        data: { orderId: id, customerId: current.customerId, status, previousStatus: current.status, total: fromCents(current.totalCents) },
        partitionKey: id,
      },
      tenantId,
      new Date(now),
    );
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("UPDATE orders SET status = ?, version = version + 1, updated_at = ? WHERE id = ?", status, now, id);
      this.addToOutbox(tenantId, envelope, now);
    });
    const order = this.readOrder(id);
    if (!order) throw new Error(`order ${id} vanished after its update`);
    await this.publishNow(tenantId, [envelope]);
    return { ok: true, order, previous: current.status };
  }

  /** The order, unless the caller's cached copy already has its version (then nothing to send). */
  lookupOrder(id: string, knownVersion: number | null): OrderLookup {
    const order = this.readOrder(id);
    if (!order) return { state: "missing" };
    return order.version === knownVersion ? { state: "current" } : { state: "found", order };
  }

  listByCustomer(customerId: string, limit: number): OrderRecord[] {
    return this.sql
      .exec<OrderRow>("SELECT * FROM orders WHERE customer_id = ? ORDER BY created_at DESC, id DESC LIMIT ?", customerId, limit)
      .toArray()
      .map(orderRecord);
  }

  // --- the outbox ---

  override async alarm(): Promise<void> {
    this.timer.fired();
    const rows = this.sql
      .exec<OutboxRow>("SELECT event_id, tenant_id, body, attempts FROM outbox ORDER BY created_at LIMIT ?", ALARM_BATCH)
      .toArray();
    const byTenant = new Map<string, EventEnvelope[]>();
    for (const row of rows) byTenant.set(row.tenant_id, [...(byTenant.get(row.tenant_id) ?? []), JSON.parse(row.body) as EventEnvelope]);
    for (const [tenantId, envelopes] of byTenant) await this.flush(tenantId, envelopes);
    const left = this.sql.exec<{ n: number; attempts: number | null }>("SELECT count(*) AS n, max(attempts) AS attempts FROM outbox").one();
    if (left.n > 0) await this.timer.wakeBy(Date.now() + Math.min(RETRY_MAX_MS, 5_000 * 2 ** Math.min(left.attempts ?? 0, 10)));
  }

  /**
   * The one place that hands events to the bus (tests replace it to simulate a failed publish).
   * The partition deduplicates by event id, so publishing the same envelope again is safe.
   */
  protected async publishPending(tenantId: string, envelopes: EventEnvelope[]): Promise<void> {
    await publishEnvelopes(this.env, tenantId, envelopes);
  }

  private addToOutbox(tenantId: string, envelope: EventEnvelope, now: number): void {
    this.sql.exec(
      "INSERT INTO outbox (event_id, tenant_id, body, created_at) VALUES (?, ?, ?, ?)",
      envelope.id,
      tenantId,
      JSON.stringify(envelope),
      now,
    );
  }

  /** After the commit: the alarm is armed first, so a crash during the publish is covered too. */
  private async publishNow(tenantId: string, envelopes: EventEnvelope[]): Promise<void> {
    await this.timer.wakeBy(Date.now() + REPUBLISH_AFTER_MS);
    if (!(await this.flush(tenantId, envelopes))) return;
    if (this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n === 0) await this.timer.clear();
  }

  /** Publishes and removes the envelopes from the outbox; on failure they stay for the alarm. */
  private async flush(tenantId: string, envelopes: EventEnvelope[]): Promise<boolean> {
    const ids = envelopes.map((e) => e.id);
    try {
      await this.publishPending(tenantId, envelopes);
      inSlices(ids, 0, (slice, marks) => this.sql.exec(`DELETE FROM outbox WHERE event_id IN (${marks})`, ...slice));
      return true;
    } catch (err) {
      inSlices(ids, 1, (slice, marks) =>
        this.sql.exec(`UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE event_id IN (${marks})`, String(err), ...slice),
      );
      console.warn(
        JSON.stringify({
          level: "warn",
          message: "order event publish failed; the alarm will re-publish",
          tenantId,
          eventIds: ids,
          error: String(err),
        }),
      );
      return false;
    }
  }

  private readOrder(id: string): OrderRecord | null {
    const row = this.sql.exec<OrderRow>("SELECT * FROM orders WHERE id = ?", id).toArray()[0];
    return row ? orderRecord(row) : null;
  }
}

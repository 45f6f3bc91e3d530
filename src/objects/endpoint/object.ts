/**
 * Endpoint Durable Object (one per subscription with a URL): the per-webhook delivery index that
 * GET /webhooks/:id/deliveries reads (so listing never scans partitions), and the endpoint's
 * health. The consumer writes here once per batch per endpoint, not once per attempt, so a busy
 * endpoint stays far below the per-object request rate. The Partition rows stay the truth; this
 * is the log view. An endpoint failing with no success for the configured window is disabled.
 */
import { DurableObject } from "cloudflare:workers";
import { settings } from "../../config.js";
import type { DeliveryStatus } from "../../schemas/event.js";
import { disableWebhook } from "../../services/webhooks.js";
import { migrate } from "../kit/migrations.js";

const MIGRATIONS = [
  "CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
  `CREATE TABLE log (delivery_id TEXT PRIMARY KEY, event_id TEXT NOT NULL, partition_key TEXT NOT NULL,
     seq INTEGER NOT NULL, status TEXT NOT NULL, attempts TEXT NOT NULL, created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL)`,
  "CREATE INDEX log_newest ON log (created_at DESC, delivery_id DESC)",
  "CREATE INDEX log_status ON log (status, created_at)",
];

export interface AttemptEntry {
  attempt: number;
  statusCode?: number;
  durationMs: number;
  error?: string;
  at: number;
}

/** One delivery's news from a consumer batch. */
export interface LogEntry {
  deliveryId: string;
  eventId: string;
  partitionKey: string;
  sequence: number;
  status: DeliveryStatus;
  attempt?: AttemptEntry;
}

export interface DeliveryLogItem {
  deliveryId: string;
  eventId: string;
  partitionKey: string;
  sequence: number;
  status: DeliveryStatus;
  attempts: Array<{ attempt: number; statusCode?: number; durationMs: number; error?: string; at: string }>;
}

const PAGE = 50;

export class Endpoint extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => migrate(this.sql, MIGRATIONS));
  }

  /** Records a batch of outcomes and re-evaluates health; disables the webhook past the window. */
  async record(tenantId: string, subscriptionId: string, entries: LogEntry[]): Promise<void> {
    const now = Date.now();
    for (const e of entries) this.upsert(e, now);
    const attempts = entries.flatMap((e) => (e.attempt ? [{ ...e.attempt, ok: e.status === "DELIVERED" }] : []));
    if (attempts.length === 0) return;
    const lastOk = Math.max(0, ...attempts.filter((a) => a.ok).map((a) => a.at));
    if (lastOk > 0) {
      this.sql.exec("DELETE FROM meta WHERE k = 'failing_since'");
      this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('last_success_at', ?)", String(lastOk));
    } else {
      const since = Number(this.meta("failing_since") ?? Math.min(...attempts.map((a) => a.at)));
      this.sql.exec("INSERT OR IGNORE INTO meta (k, v) VALUES ('failing_since', ?)", String(since));
      if (now - since >= settings(this.env).disableAfterMs) {
        this.sql.exec("DELETE FROM meta WHERE k = 'failing_since'");
        const days = Math.round((now - since) / 86_400_000);
        await disableWebhook(this.env, tenantId, subscriptionId, `every delivery failed for ${days} days with no success`);
      }
    }
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + 86_400_000);
  }

  private upsert(e: LogEntry, now: number): void {
    const row = this.sql.exec<{ attempts: string }>("SELECT attempts FROM log WHERE delivery_id = ?", e.deliveryId).toArray()[0];
    const attempts = row ? (JSON.parse(row.attempts) as AttemptEntry[]) : [];
    if (e.attempt && !attempts.some((a) => a.attempt === e.attempt?.attempt)) attempts.push(e.attempt);
    attempts.sort((a, b) => a.attempt - b.attempt);
    this.sql.exec(
      `INSERT INTO log (delivery_id, event_id, partition_key, seq, status, attempts, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (delivery_id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
         updated_at = excluded.updated_at`,
      e.deliveryId,
      e.eventId,
      e.partitionKey,
      e.sequence,
      e.status,
      JSON.stringify(attempts),
      now,
      now,
    );
  }

  /** Newest first; `cursor` is opaque (the position after the previous page's last row). */
  list(status: DeliveryStatus | undefined, cursor: string | undefined): { deliveries: DeliveryLogItem[]; nextCursor: string | null } {
    const [at, id] = decodeCursor(cursor);
    const rows = this.sql
      .exec<{
        delivery_id: string;
        event_id: string;
        partition_key: string;
        seq: number;
        status: DeliveryStatus;
        attempts: string;
        created_at: number;
      }>(
        `SELECT * FROM log WHERE (? IS NULL OR status = ?) AND (created_at < ? OR (created_at = ? AND delivery_id < ?))
           ORDER BY created_at DESC, delivery_id DESC LIMIT ?`,
        status ?? null,
        status ?? null,
        at,
        at,
        id,
        PAGE + 1,
      )
      .toArray();
    const page = rows.slice(0, PAGE);
    const last = page.at(-1);
    return {
      deliveries: page.map((r) => ({
        deliveryId: r.delivery_id,
        eventId: r.event_id,
        partitionKey: r.partition_key,
        sequence: r.seq,
        status: r.status,
        attempts: (JSON.parse(r.attempts) as AttemptEntry[]).map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
      })),
      nextCursor: rows.length > PAGE && last ? btoa(`${last.created_at}:${last.delivery_id}`) : null,
    };
  }

  find(deliveryId: string): { partitionKey: string; status: DeliveryStatus } | null {
    const row = this.sql
      .exec<{ partition_key: string; status: DeliveryStatus }>("SELECT partition_key, status FROM log WHERE delivery_id = ?", deliveryId)
      .toArray()[0];
    return row ? { partitionKey: row.partition_key, status: row.status } : null;
  }

  /** Failed (and dropped) deliveries since a time, oldest first, for recovery. */
  failedSince(sinceMs: number, limit = 1000): Array<{ deliveryId: string; partitionKey: string }> {
    return this.sql
      .exec<{ delivery_id: string; partition_key: string }>(
        "SELECT delivery_id, partition_key FROM log WHERE status IN ('FAILED', 'DROPPED') AND created_at >= ? ORDER BY created_at, delivery_id LIMIT ?",
        sinceMs,
        limit,
      )
      .toArray()
      .map((r) => ({ deliveryId: r.delivery_id, partitionKey: r.partition_key }));
  }

  /** When a delivery last succeeded (recovery after re-activation starts there), or null. */
  lastSuccessAt(): number | null {
    const v = this.meta("last_success_at");
    return v === undefined ? null : Number(v);
  }

  /** Marks rows as pending again (a redelivery was requested), so the log shows it at once. */
  markPending(deliveryIds: string[]): void {
    for (const id of deliveryIds) this.sql.exec("UPDATE log SET status = 'PENDING', updated_at = ? WHERE delivery_id = ?", Date.now(), id);
  }

  /** The webhook was deleted: forget everything. */
  async erase(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    migrate(this.sql, MIGRATIONS); // a late message from a consumer batch still finds the tables
  }

  override async alarm(): Promise<void> {
    const cutoff = Date.now() - settings(this.env).retentionMs;
    this.sql.exec("DELETE FROM log WHERE updated_at < ? AND status != 'PENDING'", cutoff);
    const left = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM log").one().n;
    if (left > 0) await this.ctx.storage.setAlarm(Date.now() + 86_400_000);
  }

  private meta(key: string): string | undefined {
    return this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", key).toArray()[0]?.v;
  }
}

function decodeCursor(cursor: string | undefined): [number, string] {
  if (!cursor) return [Number.MAX_SAFE_INTEGER, "\uffff"];
  try {
    const [at, id] = atob(cursor).split(":");
    const n = Number(at);
    if (Number.isFinite(n) && id) return [n, id];
  } catch {
    // fall through: an unreadable cursor starts from the newest row
  }
  return [Number.MAX_SAFE_INTEGER, "\uffff"];
}

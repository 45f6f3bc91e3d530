/**
 * TaskStats Durable Object (one per tenant): the counts behind `estimatedProcessingTime` — per
 * priority the backlog of unfinished tasks, per task type a moving average of processing time.
 * The routes add to the backlog when they accept a task; the task consumer reports what
 * finished. The counts are approximate by design, so while the backlog is not zero the alarm
 * re-counts it from the tenant's TaskShards and lost reports do not accumulate.
 */
import { DurableObject } from "cloudflare:workers";
import { PRIORITIES, type Priority } from "../../schemas/task.js";
import { Alarm } from "../kit/alarm.js";
import { Meta } from "../kit/meta.js";
import { migrate } from "../kit/migrations.js";
import { eachShard } from "../task-shard/client.js";
import { type EstimateInputs, MIGRATIONS, type StatsReport, StatsTables } from "./tables.js";

/** While the tenant has a backlog, the backlog is re-counted from the shards this often. */
const RECOUNT_MS = 60_000;

export class TaskStats extends DurableObject<Env> {
  private readonly tables: StatsTables;
  private readonly meta: Meta;
  private readonly timer: Alarm;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.tables = new StatsTables(ctx.storage.sql);
    this.meta = new Meta(ctx.storage.sql);
    this.timer = new Alarm(ctx.storage);
    ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage.sql, MIGRATIONS);
      await this.timer.load();
    });
  }

  /** The inputs for a task's estimate; `accepted` adds the task itself to its priority's backlog. */
  async enqueue(tenantId: string, priority: Priority, type: string, accepted: number): Promise<EstimateInputs> {
    this.identify(tenantId);
    const inputs = this.tables.enqueue(priority, type, accepted);
    if (accepted > 0) await this.timer.wakeBy(Date.now() + RECOUNT_MS);
    return inputs;
  }

  report(tenantId: string, report: StatsReport): void {
    this.identify(tenantId);
    this.tables.report(report, Date.now());
  }

  snapshot(): ReturnType<StatsTables["snapshot"]> {
    return this.tables.snapshot();
  }

  /** Replaces the approximate backlog with the shards' own counts while there is one. */
  override async alarm(): Promise<void> {
    this.timer.fired();
    const tenantId = this.meta.get("tenantId");
    if (!tenantId) return;
    const counts = await eachShard(this.env, tenantId, (s) => s.liveCounts());
    const total: Record<Priority, number> = { high: 0, normal: 0, low: 0 };
    for (const c of counts) for (const p of PRIORITIES) total[p] += c[p];
    this.tables.recount(total);
    if (this.tables.totalBacklog() > 0) await this.timer.wakeBy(Date.now() + RECOUNT_MS);
  }

  private identify(tenantId: string): void {
    if (this.meta.get("tenantId") !== tenantId) this.meta.set("tenantId", tenantId);
  }
}

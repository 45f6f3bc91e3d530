/**
 * Replay Durable Object (one per replay, `<tenant>/<replayId>`): delivers a subscription's
 * stored events again, in the background and in bounded steps. Each alarm does one step — one
 * page of one partition (its Partition object matches the events against the subscription as it
 * is now and creates the new deliveries) or one page of the tenant's partition directory — saves
 * its progress and sets the next alarm, so no request does unbounded work, a restart resumes where
 * it stopped, and DELETE cancels between steps.
 */
import { DurableObject } from "cloudflare:workers";
import { settings } from "../../config.js";
import { directoryStub } from "../directory/client.js";
import { META_TABLE, Meta } from "../kit/meta.js";
import { migrate } from "../kit/migrations.js";
import { partitionStub } from "../partition/client.js";
import type { ReplayStep } from "../partition/replay.js";

const MIGRATIONS = [META_TABLE];
/** Events scanned per partition step, and partitions listed per directory step. */
const STEP = 200;

export type ReplayStatus = "RUNNING" | "COMPLETED" | "FAILED" | "CANCELLED";

export interface ReplayRequest {
  tenantId: string;
  replayId: string;
  subscription: ReplayStep["subscription"];
  since: number;
  until: number;
  partitionKey?: string;
  fromSequence: number;
  toSequence: number;
}

export interface ReplayState {
  replayId: string;
  subscriptionId: string;
  status: ReplayStatus;
  partitionsScanned: number;
  eventsScanned: number;
  deliveriesCreated: number;
  startedAt: string;
  finishedAt?: string;
  error?: string;
}

interface Progress {
  request: ReplayRequest;
  state: ReplayState;
  /** Partitions still to scan in the current directory page, and where the directory continues. */
  queue: string[];
  directoryCursor: string | null;
  directoryDone: boolean;
  /** The partition being scanned and where it continues. */
  current: { partitionKey: string; after: number; previous: number } | null;
}

export class Replay extends DurableObject<Env> {
  private readonly meta: Meta;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.meta = new Meta(ctx.storage.sql);
    ctx.blockConcurrencyWhile(async () => migrate(ctx.storage.sql, MIGRATIONS));
  }

  async start(request: ReplayRequest): Promise<ReplayState> {
    const state: ReplayState = {
      replayId: request.replayId,
      subscriptionId: request.subscription.id,
      status: "RUNNING",
      partitionsScanned: 0,
      eventsScanned: 0,
      deliveriesCreated: 0,
      startedAt: new Date().toISOString(),
    };
    const single = request.partitionKey !== undefined;
    this.save({
      request,
      state,
      queue: single ? [request.partitionKey as string] : [],
      directoryCursor: null,
      directoryDone: single,
      current: null,
    });
    await this.ctx.storage.setAlarm(Date.now());
    return state;
  }

  get(tenantId: string): ReplayState | null {
    const p = this.load();
    return p && p.request.tenantId === tenantId ? p.state : null;
  }

  async cancel(tenantId: string): Promise<ReplayState | null> {
    const p = this.load();
    if (!p || p.request.tenantId !== tenantId) return null;
    if (p.state.status === "RUNNING") {
      p.state.status = "CANCELLED";
      p.state.finishedAt = new Date().toISOString();
      this.save(p);
      await this.ctx.storage.deleteAlarm();
    }
    return p.state;
  }

  override async alarm(): Promise<void> {
    const p = this.load();
    if (p?.state.status !== "RUNNING") return;
    const startedAt = Date.now();
    const createdBefore = p.state.deliveriesCreated;
    try {
      await this.step(p);
    } catch (err) {
      // A failed step is tried again (a partition may be restarting); the progress is kept.
      console.warn(
        JSON.stringify({ level: "warn", message: "replay step failed; retrying", replayId: p.state.replayId, error: String(err) }),
      );
      if (this.load()?.state.status === "RUNNING") await this.ctx.storage.setAlarm(Date.now() + 5_000);
      return;
    }
    // Cancelled while this step awaited its partition: the cancellation stands, with this step's
    // counts (the deliveries it created still go, as for any cancel).
    const stored = this.load();
    if (stored && stored.state.status !== "RUNNING") {
      const { partitionsScanned, eventsScanned, deliveriesCreated } = p.state;
      this.save({ ...stored, state: { ...stored.state, partitionsScanned, eventsScanned, deliveriesCreated } });
      return;
    }
    this.save(p);
    if (p.state.status === "RUNNING") {
      // Paced (REPLAY_DELIVERIES_PER_SECOND): it shares the Deliveries queue with new events, and a
      // flood of messages would crowd them out (the local queue simulator even fails under one).
      // Always later than this alarm's own time: a step with no I/O sees a clock that has not moved
      // (startedAt may equal the time this alarm was set for), and an alarm set again to the time
      // of the one running is treated as unchanged and deleted when the handler returns — the
      // replay would stop for good.
      const created = p.state.deliveriesCreated - createdBefore;
      const paced = startedAt + Math.ceil((created * 1000) / settings(this.env).replayPerSecond);
      await this.ctx.storage.setAlarm(Math.max(paced, startedAt + 1));
    }
  }

  private async step(p: Progress): Promise<void> {
    const r = p.request;
    if (p.current) {
      const progress = await partitionStub(this.env, r.tenantId, p.current.partitionKey).replay({
        replayId: r.replayId,
        subscription: r.subscription,
        since: r.since,
        until: r.until,
        fromSequence: r.fromSequence,
        toSequence: r.toSequence,
        after: p.current.after,
        previous: p.current.previous,
        limit: STEP,
      });
      p.state.eventsScanned += progress.scanned;
      p.state.deliveriesCreated += progress.created;
      if (progress.after === null) {
        p.state.partitionsScanned++;
        p.current = null;
      } else p.current = { ...p.current, after: progress.after, previous: progress.previous };
      return;
    }
    const next = p.queue.shift();
    if (next !== undefined) {
      p.current = { partitionKey: next, after: 0, previous: 0 };
      return;
    }
    if (!p.directoryDone) {
      const page = await directoryStub(this.env, r.tenantId).list(p.directoryCursor ?? undefined, STEP);
      // A partition with nothing after `since` has nothing to replay (the directory's figures may
      // trail by up to a minute, hence the margin).
      p.queue = page.partitions.filter((x) => Date.parse(x.lastEventAt) >= r.since - 120_000).map((x) => x.partitionKey);
      p.directoryCursor = page.nextCursor;
      p.directoryDone = page.nextCursor === null;
      return;
    }
    p.state.status = "COMPLETED";
    p.state.finishedAt = new Date().toISOString();
  }

  private load(): Progress | null {
    const raw = this.meta.get("progress");
    return raw ? (JSON.parse(raw) as Progress) : null;
  }

  private save(p: Progress): void {
    this.meta.set("progress", JSON.stringify(p));
  }
}

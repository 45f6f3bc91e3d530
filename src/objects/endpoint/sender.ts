/**
 * The Endpoint object's sender: it performs one webhook's deliveries, so a slow or hanging
 * receiver holds up only its own object — never a queue batch, another endpoint or another
 * tenant. For admitted deliveries (each with a start slot from the gate) it begins the attempts
 * the queue consumer has not begun (one call per partition), POSTs each at its slot, and settles
 * outcomes as they arrive, coalesced: one record call per partition, one sendBatch of retries,
 * the log rows written here. A 429/503 with Retry-After pauses the gate; a 410 disables the
 * webhook. If the object is evicted meanwhile, the partition rows' leases send the deliveries again.
 */
import { settings } from "../../config.js";
import { DEFAULT_RETRY_POLICY, nextDelaySeconds, parseRetryAfter } from "../../domain/backoff.js";
import type { Admitted, EndpointGate } from "../../domain/endpoint-gate.js";
import { groupBy } from "../../domain/group.js";
import { traceForId, traceHeaders } from "../../domain/trace.js";
import { signedPost } from "../../queues/signed-post.js";
import { renderDelivery } from "../../schemas/cloudevent.js";
import { parseStored } from "../../schemas/event.js";
import type { DeliveryMessage } from "../../schemas/messages.js";
import type { SubscriptionRecord } from "../../schemas/subscription.js";
import { sendInChunks } from "../kit/queue-send.js";
import { partitionStub } from "../partition/client.js";
import type { AttemptOutcome, BeganAttempt, PartitionBacklog } from "../partition/sql.js";
import type { LogEntry } from "./log.js";

/** Queues hold a delayed message for at most 12 h; longer backoffs are left to the partition's alarm. */
const MAX_QUEUE_DELAY_S = 43_200;
/**
 * Outcomes of an unordered subscription are written back this long after the first of them
 * finished, together with those that finish meanwhile: every record call to a partition has a
 * fixed cost, and a receiver answering many requests a second would otherwise cost one call per
 * answer. The receiver does not wait for it (its slot is freed on the answer); an ordered
 * subscription's outcome is written at once, since its next delivery waits for it.
 */
const FLUSH_DELAY_MS = 250;

export interface Job {
  msg: DeliveryMessage;
  slot: Admitted;
  /** The attempt as its partition began it (by the queue consumer, or here). */
  began?: BeganAttempt | undefined;
  outcome?: AttemptOutcome;
  retryIn?: number;
  pauseUntil?: number;
  disable?: boolean;
  log?: LogEntry;
  /** Counted as started by the gate (a job that never starts gives its place back). */
  started?: boolean;
}

/** What settling a set of jobs tells the object: log entries, gate tokens to free, backlog, pause, disable. */
export interface Settled {
  jobs: Job[];
  backlog: Array<PartitionBacklog & { partitionKey: string }>;
}

export class Sender {
  private waiting: Job[] = [];
  private flushing = false;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** Jobs of the flush pass in progress. */
  private recording = 0;

  constructor(
    private readonly env: Env,
    private readonly gate: EndpointGate,
    private readonly onSettled: (tenantId: string, sub: SubscriptionRecord, settled: Settled) => Promise<void>,
    /** The next rows of an ordered subscription, released by settling the ones before them. */
    private readonly onReleased: (tenantId: string, sub: SubscriptionRecord, messages: DeliveryMessage[]) => void,
    /** A request finished at the receiver (its slot is free; a Retry-After pause applies now). */
    private readonly onAnswered: (job: Job) => void,
  ) {}

  /** Begins and sends the jobs in the background; returns at once. */
  start(tenantId: string, sub: SubscriptionRecord, jobs: Job[]): void {
    void this.run(tenantId, sub, jobs).catch((err: unknown) =>
      console.error(JSON.stringify({ level: "error", message: "endpoint sender failed", error: String(err) })),
    );
  }

  private async run(tenantId: string, sub: SubscriptionRecord, jobs: Job[]): Promise<void> {
    const policy = sub.retryPolicy ?? DEFAULT_RETRY_POLICY;
    // Begun already by the queue consumer, or begun here (one call per partition).
    const toBegin = jobs.filter((j) => !j.began);
    const backlog: Settled["backlog"] = [];
    await Promise.all(
      [...groupBy(toBegin, (j) => j.msg.partitionKey)].map(async ([partitionKey, list]) => {
        const now = Date.now();
        try {
          const { results, backlog: b } = await partitionStub(this.env, tenantId, partitionKey).beginAttempts(
            list.map((j) => ({
              deliveryId: j.msg.deliveryId,
              attempt: j.msg.attempt,
              inFlightMs: Math.max(0, j.slot.at - now) + policy.timeoutMs,
              ordered: sub.ordering === "partition",
            })),
            list.flatMap((j) => (j.msg.sentAt !== undefined && j.msg.attempt === 1 ? [j.msg.sentAt] : [])),
          );
          list.forEach((j, k) => {
            const r = results[k];
            if (r && "began" in r) j.began = r.began;
          });
          backlog.push(...b.map((x) => ({ ...x, partitionKey })));
        } catch (err) {
          // The rows keep their leases: the partition's alarm sends them again.
          console.error(JSON.stringify({ level: "error", message: "beginning deliveries failed", partitionKey, error: String(err) }));
        }
      }),
    );
    // Stale or failed to begin: nothing to send; their gate slots are given back now.
    const idle = jobs.filter((j) => !j.began);
    if (idle.length > 0 || backlog.length > 0) await this.onSettled(tenantId, sub, { jobs: idle, backlog });
    await Promise.all(
      jobs
        .filter((j) => j.began)
        .map(async (j) => {
          await this.attempt(sub, j);
          this.onAnswered(j);
          this.waiting.push(j);
          // The next row of an ordered stream waits for this outcome; a 410 disables the webhook.
          if (sub.ordering === "partition" || j.disable) await this.flush(tenantId, sub);
          else this.flushSoon(tenantId, sub);
        }),
    );
  }

  private async attempt(sub: SubscriptionRecord, job: Job): Promise<void> {
    // The rate window counts real start times, so a late request never bunches up with the next second's.
    for (;;) {
      const wait = this.gate.start(Date.now(), sub.rateLimit);
      if (wait <= 0) break;
      await new Promise((r) => setTimeout(r, wait));
    }
    job.started = true;
    const began = job.began as BeganAttempt;
    const policy = sub.retryPolicy ?? DEFAULT_RETRY_POLICY;
    const event = parseStored(began.event);
    // The subscription's format; every attempt is a new span of the event's trace.
    const { rawBody, contentType, headers } = renderDelivery(sub.format, event);
    const result = await signedPost({
      url: sub.url as string,
      secrets: sub.secrets,
      allowPrivate: settings(this.env).allowPrivateTargets,
      eventId: event.id,
      eventType: event.type,
      sequence: event.sequence,
      partitionKey: event.partitionKey,
      attempt: job.msg.attempt,
      previousSequence: began.previousSequence,
      rawBody,
      contentType,
      headers: {
        ...headers,
        ...(began.replayId ? { "X-Replay-Id": began.replayId } : {}),
        ...traceHeaders(event.trace ?? traceForId(`${job.msg.tenantId}/${event.partitionKey}/${event.id}`)),
      },
      timeoutMs: policy.timeoutMs,
    });
    const now = Date.now();
    const base: AttemptOutcome = {
      attempt: job.msg.attempt,
      durationMs: result.durationMs,
      ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}),
      ...(result.error !== undefined ? { error: result.error } : {}),
    };
    // A 429 or 503 that says when to come back pauses the whole endpoint until then.
    if ((result.statusCode === 429 || result.statusCode === 503) && result.retryAfter) {
      const seconds = parseRetryAfter(result.retryAfter, now);
      if (seconds !== undefined) job.pauseUntil = now + seconds * 1000;
    }
    if (result.class === "success") job.outcome = { ...base, settle: "DELIVERED" };
    else if (result.class === "disable") {
      job.outcome = { ...base, settle: "DROPPED" };
      job.disable = true;
    } else if (result.class === "refused" || job.msg.attempt - began.attemptBase >= policy.maxAttempts) {
      job.outcome = { ...base, settle: "FAILED" };
    } else {
      job.retryIn = nextDelaySeconds({
        attempt: job.msg.attempt - began.attemptBase,
        policy,
        ...(result.statusCode !== undefined ? { status: result.statusCode } : {}),
        retryAfter: result.retryAfter ?? null,
        nowMs: now,
      });
      job.outcome = { ...base, retryInSeconds: job.retryIn };
    }
    job.log = {
      deliveryId: job.msg.deliveryId,
      eventId: event.id,
      partitionKey: event.partitionKey,
      sequence: event.sequence,
      previousSequence: began.previousSequence,
      status: job.outcome.settle ?? "PENDING",
      attempt: {
        attempt: job.msg.attempt,
        durationMs: base.durationMs,
        at: now,
        ...(base.statusCode !== undefined ? { statusCode: base.statusCode } : {}),
        ...(base.error !== undefined ? { error: base.error } : {}),
      },
    };
  }

  /** Answers not yet written back to their partitions (new deliveries wait while there are too many). */
  get unrecorded(): number {
    return this.waiting.length + this.recording;
  }

  /** The object's webhook was deleted: forget what waits. */
  stop(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.waiting = [];
  }

  private flushSoon(tenantId: string, sub: SubscriptionRecord): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush(tenantId, sub).catch((err: unknown) =>
        console.error(JSON.stringify({ level: "error", message: "endpoint sender failed", error: String(err) })),
      );
    }, FLUSH_DELAY_MS);
  }

  /** Settles whatever finished since the last flush (outcomes arriving meanwhile wait for the next). */
  private async flush(tenantId: string, sub: SubscriptionRecord): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.waiting.length > 0) {
        const jobs = this.waiting;
        this.waiting = [];
        this.recording = jobs.length;
        const backlog: Settled["backlog"] = [];
        const released: DeliveryMessage[] = [];
        await Promise.all(
          [...groupBy(jobs, (j) => j.msg.partitionKey)].map(async ([partitionKey, list]) => {
            try {
              const { backlog: b, next } = await partitionStub(this.env, tenantId, partitionKey).recordAttempts(
                list.map((j) => ({ deliveryId: j.msg.deliveryId, outcome: j.outcome as AttemptOutcome })),
                true,
              );
              backlog.push(...b.map((x) => ({ ...x, partitionKey })));
              released.push(...next);
            } catch (err) {
              // The rows keep their leases, so the alarm sends them again; no retry message of ours.
              console.error(JSON.stringify({ level: "error", message: "recording deliveries failed", error: String(err) }));
              for (const j of list) delete j.retryIn;
            }
          }),
        );
        await this.sendRetries(jobs);
        await this.onSettled(tenantId, sub, { jobs, backlog });
        if (released.length > 0) this.onReleased(tenantId, sub, released);
      }
    } finally {
      this.flushing = false;
      this.recording = 0;
      // A pass that failed (or answers that came during it) must not leave outcomes unwritten.
      if (this.waiting.length > 0) this.flushSoon(tenantId, sub);
    }
  }

  /** The next attempts, as new messages delayed by their backoff; a failed send is covered by the rows' leases. */
  private async sendRetries(jobs: Job[]): Promise<void> {
    await sendInChunks(
      jobs.filter((j) => j.retryIn !== undefined && j.retryIn <= MAX_QUEUE_DELAY_S),
      (chunk) =>
        this.env.DELIVERIES.sendBatch(
          chunk.map((j) => {
            const { sentAt: _sent, ...msg } = j.msg;
            return {
              body: { ...msg, attempt: msg.attempt + 1 } satisfies DeliveryMessage,
              delaySeconds: j.retryIn,
              contentType: "json" as const,
            };
          }),
        ),
      () => {},
      "delivery retry",
    );
  }
}

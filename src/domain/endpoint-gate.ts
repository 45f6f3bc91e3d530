/**
 * Admission to one endpoint: the rate limit (`perSecond`: never more than that many requests
 * start in any one-second window), the in-flight cap (`maxInFlight`), and a pause (a 429 or 503
 * with Retry-After stops the whole endpoint until then). Pure and clock-injected: the Endpoint
 * object owns one per endpoint, so the limit holds across every consumer invocation.
 *
 * Two ways to use it. A caller elsewhere (the task consumer) is admitted with a reserved start
 * time: now, or a slot up to `horizonMs` ahead that it waits for. The Endpoint object's own sender
 * is admitted without a slot (`reserve: false`: at most one second's worth waits) and calls
 * `start()` right before each request, with the real clock — so a request that runs late (a busy
 * machine) can never bunch up with the next second's. What cannot be admitted is refused with the
 * time to come back.
 */
export interface GateLimit {
  perSecond?: number;
  maxInFlight?: number;
}

export interface Admitted {
  token: number;
  /** When the request may start (ms since epoch, ≥ now). */
  at: number;
}

export interface Admission {
  admitted: Admitted[];
  /** For the requests not admitted: when to ask again; null when all were admitted. */
  retryAt: number | null;
}

const WINDOW_MS = 1_000;

export class EndpointGate {
  /** Start times of admitted requests, ascending, for the rate window. */
  private starts: number[] = [];
  /** token → the time its slot is given back at the latest (a lost `done` cannot leak it). */
  private readonly inFlight = new Map<number, number>();
  private nextToken = 1;
  /** Admitted without a slot and not started yet. */
  private waiting = 0;
  pausedUntil = 0;

  constructor(private readonly horizonMs = 1_000) {}

  admit(now: number, count: number, limit: GateLimit | undefined, holdMs: number, reserve = true): Admission {
    if (this.pausedUntil > now) return { admitted: [], retryAt: this.pausedUntil };
    this.expire(now);
    const admitted: Admitted[] = [];
    let retryAt: number | null = null;
    for (let i = 0; i < count; i++) {
      if (limit?.maxInFlight !== undefined && this.inFlight.size >= limit.maxInFlight) {
        retryAt = now + WINDOW_MS;
        break;
      }
      if (!reserve) {
        if (limit?.perSecond !== undefined && this.waiting >= limit.perSecond) {
          retryAt = now + WINDOW_MS;
          break;
        }
        const token = this.nextToken++;
        this.waiting++;
        this.inFlight.set(token, now + this.horizonMs + holdMs);
        admitted.push({ token, at: now });
        continue;
      }
      const at = limit?.perSecond !== undefined ? this.slot(now, limit.perSecond) : now;
      if (at > now + this.horizonMs) {
        retryAt = at;
        break;
      }
      const token = this.nextToken++;
      this.insertStart(at);
      this.inFlight.set(token, at + holdMs);
      admitted.push({ token, at });
    }
    return { admitted, retryAt };
  }

  /**
   * For a request admitted without a slot, right before it starts: 0 when it may start now (the
   * start is counted), else how many ms to wait before asking again.
   */
  start(now: number, limit: GateLimit | undefined): number {
    if (limit?.perSecond !== undefined) {
      this.expire(now);
      const at = this.slot(now, limit.perSecond);
      if (at > now) return at - now;
    }
    this.insertStart(now);
    this.waiting = Math.max(0, this.waiting - 1);
    return 0;
  }

  /** An admitted request that will never start (its delivery was stale). */
  skip(): void {
    this.waiting = Math.max(0, this.waiting - 1);
  }

  /** The requests of these tokens finished (or never started). */
  done(tokens: readonly number[]): void {
    for (const t of tokens) this.inFlight.delete(t);
  }

  pause(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }

  inFlightCount(now: number): number {
    this.expire(now);
    return this.inFlight.size;
  }

  /**
   * The earliest start ≥ now about 1000 ÷ perSecond ms after the latest one (even pacing: a
   * burst of perSecond at one instant would reach the receiver as more than perSecond in some
   * second once network and machine jitter move a few of them) and with fewer than `perSecond`
   * starts in the window ending there — that window rule alone bounds the count, exactly.
   */
  private slot(now: number, perSecond: number): number {
    const last = this.starts.at(-1);
    // Whole milliseconds, rounded down: the window arithmetic stays exact, and a rate whose
    // interval is not a whole number of ms (300/s: 3.33 ms) is not capped by rounding up (250/s).
    const paced = last === undefined ? now : Math.max(now, Math.floor(last + WINDOW_MS / perSecond));
    const k = this.starts.length - perSecond;
    if (k < 0) return paced;
    return Math.max(paced, (this.starts[k] as number) + WINDOW_MS);
  }

  private insertStart(at: number): void {
    let i = this.starts.length;
    while (i > 0 && (this.starts[i - 1] as number) > at) i--;
    this.starts.splice(i, 0, at);
  }

  private expire(now: number): void {
    const cutoff = now - WINDOW_MS;
    let drop = 0;
    while (drop < this.starts.length && (this.starts[drop] as number) <= cutoff) drop++;
    if (drop > 0) this.starts.splice(0, drop);
    for (const [token, until] of this.inFlight) if (until <= now) this.inFlight.delete(token);
  }
}

/**
 * Admission to one endpoint: the rate limit (`perSecond`: never more than that many requests
 * start in any one-second window), the in-flight cap (`maxInFlight`), and a pause (a 429 or 503
 * with Retry-After stops the whole endpoint until then). Pure and clock-injected: the Endpoint
 * object owns one per endpoint, so the limit holds across every consumer invocation.
 *
 * A request is admitted with a start time: now, or a slot up to `horizonMs` ahead (the caller
 * waits for it), so a backlog drains at the full rate instead of in one-second steps. What cannot
 * start within the horizon is refused with the time to come back.
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
  pausedUntil = 0;

  constructor(private readonly horizonMs = 1_000) {}

  admit(now: number, count: number, limit: GateLimit | undefined, holdMs: number): Admission {
    if (this.pausedUntil > now) return { admitted: [], retryAt: this.pausedUntil };
    this.expire(now);
    const admitted: Admitted[] = [];
    let retryAt: number | null = null;
    for (let i = 0; i < count; i++) {
      if (limit?.maxInFlight !== undefined && this.inFlight.size >= limit.maxInFlight) {
        retryAt = now + WINDOW_MS;
        break;
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

  /** The earliest start ≥ now with fewer than `perSecond` starts in the window ending there. */
  private slot(now: number, perSecond: number): number {
    const k = this.starts.length - perSecond;
    if (k < 0) return now;
    // Appended after the latest start, once the perSecond-th newest has left the window.
    return Math.max(now, this.starts.at(-1) as number, (this.starts[k] as number) + WINDOW_MS);
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

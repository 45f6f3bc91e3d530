/**
 * The per-tenant publish quota as a token bucket that holds one second's worth of events and
 * refills continuously at the tenant's rate. Pure: the Tenant object keeps one in memory and
 * isolates lease tokens from it in chunks (services/quota.ts), so most publishes spend tokens the
 * isolate already holds and never wait for the object.
 */

/** What an isolate may take beyond what it needs, as a fraction of the rate: 1/20 s of traffic. */
export const LEASE_FRACTION = 1 / 20;

/** How long an isolate may spend a lease: tokens not spent by then are given up (never used late). */
export const LEASE_MS = 1_000;

export type Grant =
  | { granted: number; rate: number }
  /** Nothing taken; `need` will be there after `retryAfterMs` (never, when `tooLarge`). */
  | { granted: 0; rate: number; retryAfterMs: number; tooLarge?: true };

export class TokenBucket {
  private tokens = -1;
  private at = 0;
  private rate = 0;

  /** Takes `need` tokens and, with `lease`, up to a chunk more (for the isolate's lease), or none. */
  take(now: number, rate: number, need: number, lease = true): Grant {
    this.refill(now, rate);
    if (need > rate) return { granted: 0, rate, retryAfterMs: 1_000, tooLarge: true };
    if (need > this.tokens) return { granted: 0, rate, retryAfterMs: Math.ceil(((need - this.tokens) / rate) * 1000) };
    const extra = lease ? Math.max(0, Math.min(Math.floor(this.tokens) - need, Math.ceil(rate * LEASE_FRACTION))) : 0;
    const granted = need + extra;
    this.tokens -= granted;
    return { granted, rate };
  }

  /** The rate changed now: what accrued so far accrued at the old rate, from now on at the new one. */
  retune(now: number, rate: number): void {
    this.refill(now, rate);
  }

  private refill(now: number, rate: number): void {
    if (this.tokens < 0)
      this.tokens = rate; // a new bucket starts full
    else this.tokens += (Math.max(0, now - this.at) / 1000) * this.rate;
    // A changed rate is in force at once: the bucket never holds more than one second of it.
    this.rate = rate;
    this.tokens = Math.min(this.tokens, rate);
    this.at = now;
  }
}

/** Retry-After in whole seconds (at least 1). */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

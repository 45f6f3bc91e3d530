/**
 * The per-tenant publish quota as seen from an isolate. Tokens come from the tenant's bucket in
 * its Tenant object (domain/quota.ts), so the limit holds across every isolate and location; an
 * isolate takes what a request needs plus a small chunk, and spends the chunk on its next
 * publishes without a round trip for up to LEASE_MS. A lease is never spent after that, so no
 * isolate can save tokens up into a burst; an unspent one is simply given up.
 */
import { type Grant, LEASE_MS, retryAfterSeconds } from "../domain/quota.js";
import { AppError } from "../errors.js";
import { tenantStub } from "../objects/tenant/client.js";

interface Lease {
  tokens: number;
  until: number;
}

const leases = new Map<string, Lease>();
/** Requests of this isolate asking the bucket right now, per tenant: only the first asks for a chunk. */
const asking = new Map<string, number>();

/** Takes `count` publish tokens for the tenant, or throws RATE_LIMITED (with Retry-After) and takes none. */
export async function takePublishTokens(env: Env, tenantId: string, count: number): Promise<void> {
  if (count <= 0) return;
  const lease = leases.get(tenantId);
  if (lease && lease.until > Date.now() && lease.tokens >= count) {
    lease.tokens -= count;
    return;
  }
  // Concurrent misses each ask (workerd does not let a request await another's I/O); only the first
  // takes a chunk for the lease, so a burst of them does not drain the bucket into leases.
  const first = (asking.get(tenantId) ?? 0) === 0;
  asking.set(tenantId, (asking.get(tenantId) ?? 0) + 1);
  let grant: Grant;
  try {
    grant = await tenantStub(env, tenantId).takeTokens(count, first);
  } finally {
    const left = (asking.get(tenantId) ?? 1) - 1;
    if (left <= 0) asking.delete(tenantId);
    else asking.set(tenantId, left);
  }
  if (grant.granted === 0) {
    const after = "retryAfterMs" in grant ? grant.retryAfterMs : 1_000;
    const seconds = retryAfterSeconds(after);
    const detail =
      "tooLarge" in grant && grant.tooLarge
        ? `This request publishes ${count} events; the tenant's quota is ${grant.rate} events per second, so it can never be covered: send fewer events per request.`
        : `The tenant's publish quota of ${grant.rate} events per second is used up; retry after ${seconds} s.`;
    throw new AppError("RATE_LIMITED", detail, undefined, { "retry-after": String(seconds) });
  }
  // What the grant brought beyond this request is the new lease (a smaller leftover is given up).
  const extra = grant.granted - count;
  if (extra > 0) leases.set(tenantId, { tokens: extra, until: Date.now() + LEASE_MS });
}

/** Drops the isolate's lease (tests, and after an admin changes the tenant's limit here). */
export function forgetLease(tenantId: string): void {
  leases.delete(tenantId);
}

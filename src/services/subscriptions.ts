/**
 * Creating and changing subscriptions, shared by /subscriptions and /webhooks (a webhook is a
 * subscription with a URL): target checks, secrets, defaults, and the Tenant object's answers
 * turned into errors. Every change drops this isolate's cached subscription list at once.
 */
import { settings } from "../config.js";
import { DEFAULT_RETRY_POLICY } from "../domain/backoff.js";
import { type FilterPattern, validateFilter } from "../domain/filters.js";
import { newId } from "../domain/ids.js";
import { generateSecret, isValidClientSecret } from "../domain/signing.js";
import { checkTarget } from "../domain/targets.js";
import { AppError } from "../errors.js";
import { endpointStub } from "../objects/endpoint/client.js";
import { tenantStub } from "../objects/tenant/client.js";
import type { StoreResult } from "../objects/tenant/records.js";
import { type CreateSubscription, type SubscriptionRecord, toView, type UpdateSubscription } from "../schemas/subscription.js";
import { forgetSubscriptions } from "./subscription-cache.js";

export function checkUrl(env: Env, url: string): string {
  const check = checkTarget(url, { allowPrivate: settings(env).allowPrivateTargets });
  if (!check.ok) throw new AppError("TARGET_REFUSED", `url: ${check.reason}`, [{ path: "url", message: check.reason }]);
  return check.url.toString();
}

/** A client-supplied signing secret (webhooks and workers alike). */
export function checkSecret(secret: string): string {
  if (!isValidClientSecret(secret)) {
    throw new AppError("VALIDATION_FAILED", "secret: 16–256 characters (a whsec_ secret must decode to at least 16 bytes).", [
      { path: "secret", message: "16–256 characters" },
    ]);
  }
  return secret;
}

/** A content filter, checked for its operators and limits (400 naming the path of each fault). */
export function checkFilter(filter: Record<string, unknown>): FilterPattern {
  const faults = validateFilter(filter);
  const first = faults[0];
  if (first) throw new AppError("VALIDATION_FAILED", `Invalid filter: ${first.path}: ${first.message}`, faults);
  return filter as FilterPattern;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function unwrap<T>(result: StoreResult<T>): T {
  if (result.ok) return result.value;
  throw new AppError(result.code, result.detail);
}

export async function createSubscription(
  env: Env,
  tenantId: string,
  input: CreateSubscription,
): Promise<{ record: SubscriptionRecord; generatedSecret?: string }> {
  if (input.url === undefined) {
    // A pull subscription takes retryPolicy too (only maxAttempts applies to it).
    const field = (["secret", "rateLimit"] as const).find((f) => input[f] !== undefined);
    if (field) {
      throw new AppError("VALIDATION_FAILED", `${field} applies only to subscriptions with a url.`, [
        { path: field, message: "needs url" },
      ]);
    }
  }
  const now = new Date().toISOString();
  const generatedSecret = input.url !== undefined && input.secret === undefined ? generateSecret() : undefined;
  const secret = input.secret !== undefined ? checkSecret(input.secret) : generatedSecret;
  const record: SubscriptionRecord = {
    id: newId("sub"),
    name: input.name,
    events: input.events ?? [],
    routingKeys: input.routingKeys ?? [],
    ...(input.filter !== undefined ? { filter: checkFilter(input.filter) } : {}),
    ...(input.url !== undefined ? { url: checkUrl(env, input.url) } : {}),
    ...(input.url !== undefined || input.retryPolicy !== undefined
      ? { retryPolicy: { ...DEFAULT_RETRY_POLICY, ...input.retryPolicy } }
      : {}),
    ordering: input.ordering ?? "none",
    format: input.format ?? "json",
    ...(input.rateLimit !== undefined ? { rateLimit: input.rateLimit } : {}),
    status: "ACTIVE",
    secrets: secret !== undefined ? [{ secret }] : [],
    createdAt: now,
    updatedAt: now,
  };
  const created = unwrap(await tenantStub(env, tenantId).createSubscription(record));
  forgetSubscriptions(tenantId);
  return { record: created, ...(generatedSecret !== undefined ? { generatedSecret } : {}) };
}

/** A subscription with its live delivery state: backlog, and the pause a receiver asked for. */
export async function subscriptionDetail(env: Env, tenantId: string, record: SubscriptionRecord) {
  const empty = { backlog: { pending: 0, inFlight: 0, oldestPendingSeconds: 0 } };
  if (record.url === undefined) return { ...toView(record), ...empty };
  const state = await endpointStub(env, tenantId, record.id).state();
  return {
    ...toView(record),
    backlog: state.backlog,
    ...(state.pausedUntil !== null ? { pausedUntil: new Date(state.pausedUntil).toISOString() } : {}),
  };
}

export async function listSubscriptions(env: Env, tenantId: string): Promise<SubscriptionRecord[]> {
  return tenantStub(env, tenantId).listSubscriptions();
}

export async function getSubscription(env: Env, tenantId: string, id: string): Promise<SubscriptionRecord> {
  const record = await tenantStub(env, tenantId).getSubscription(id);
  if (!record) throw new AppError("NOT_FOUND", `No subscription ${id}.`);
  return record;
}

export async function updateSubscription(
  env: Env,
  tenantId: string,
  id: string,
  input: UpdateSubscription,
): Promise<{ record: SubscriptionRecord; generatedSecret?: string }> {
  const patch: Partial<SubscriptionRecord> = {};
  if (input.name !== undefined) patch.name = input.name;
  if (input.events !== undefined) patch.events = input.events;
  if (input.routingKeys !== undefined) patch.routingKeys = input.routingKeys;
  if (input.status !== undefined) patch.status = input.status;
  if (input.filter !== undefined) patch.filter = input.filter === null ? undefined : checkFilter(input.filter);
  // Applies to deliveries not attempted yet: the partition reads it when it hands rows out.
  if (input.ordering !== undefined) patch.ordering = input.ordering;
  if (input.rateLimit !== undefined) patch.rateLimit = input.rateLimit ?? undefined;
  // Applies to every attempt from now on, retries of earlier events included.
  if (input.format !== undefined) patch.format = input.format;
  let generatedSecret: string | undefined;
  if (input.url !== undefined || input.retryPolicy !== undefined || input.rateLimit) {
    const current = await getSubscription(env, tenantId, id);
    if (input.url !== undefined) {
      patch.url = checkUrl(env, input.url);
      if (current.secrets.length === 0) {
        generatedSecret = generateSecret();
        patch.secrets = [{ secret: generatedSecret }];
      }
    }
    // A pull subscription takes retryPolicy too (only maxAttempts applies to it), not rateLimit.
    if ((patch.url ?? current.url) === undefined && input.rateLimit) {
      throw new AppError("VALIDATION_FAILED", "rateLimit applies only to subscriptions with a url.", [
        { path: "rateLimit", message: "needs url" },
      ]);
    }
    // Only the fields sent change; the rest keep their current values.
    if (patch.url !== undefined || input.retryPolicy !== undefined) {
      patch.retryPolicy = { ...DEFAULT_RETRY_POLICY, ...current.retryPolicy, ...definedOnly(input.retryPolicy ?? {}) };
    }
  }
  const record = unwrap(await tenantStub(env, tenantId).updateSubscription(id, patch));
  forgetSubscriptions(tenantId);
  return { record, ...(generatedSecret !== undefined ? { generatedSecret } : {}) };
}

export async function deleteSubscription(env: Env, tenantId: string, id: string): Promise<void> {
  const record = await getSubscription(env, tenantId, id);
  if (!(await tenantStub(env, tenantId).deleteSubscription(id))) throw new AppError("NOT_FOUND", `No subscription ${id}.`);
  forgetSubscriptions(tenantId);
  // A webhook's delivery log goes with it (a pull subscription never had one).
  if (record.url !== undefined) await endpointStub(env, tenantId, id).erase();
}

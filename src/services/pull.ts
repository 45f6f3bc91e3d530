/**
 * Pull subscriptions (no URL): their consumers pull leased messages from the subscription's
 * Endpoint object (its mailbox) and ack, nack or extend them. A push subscription refuses pulls.
 */
import { DEFAULT_RETRY_POLICY } from "../domain/backoff.js";
import { AppError } from "../errors.js";
import { endpointStub } from "../objects/endpoint/client.js";
import type { SubscriptionRecord } from "../schemas/subscription.js";
import { getSubscription } from "./subscriptions.js";

async function pullSubscription(env: Env, tenantId: string, id: string): Promise<SubscriptionRecord> {
  const sub = await getSubscription(env, tenantId, id);
  if (sub.url !== undefined) {
    throw new AppError("CONFLICT", `Subscription ${id} is a push subscription (it has a url): its events are delivered to it, not pulled.`);
  }
  return sub;
}

const maxAttempts = (sub: SubscriptionRecord) => sub.retryPolicy?.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts;

export async function pull(
  env: Env,
  tenantId: string,
  id: string,
  input: { maxMessages: number; visibilityTimeoutSeconds: number; waitSeconds: number },
) {
  const sub = await pullSubscription(env, tenantId, id);
  return endpointStub(env, tenantId, id).pull(tenantId, {
    ...input,
    maxAttempts: maxAttempts(sub),
    ordered: sub.ordering === "partition",
  });
}

export async function ack(env: Env, tenantId: string, id: string, ackIds: string[]): Promise<number> {
  await pullSubscription(env, tenantId, id);
  return endpointStub(env, tenantId, id).ack(tenantId, ackIds);
}

export async function nack(env: Env, tenantId: string, id: string, ackIds: string[], delaySeconds: number): Promise<number> {
  const sub = await pullSubscription(env, tenantId, id);
  return endpointStub(env, tenantId, id).nack(tenantId, ackIds, delaySeconds, maxAttempts(sub));
}

export async function extend(env: Env, tenantId: string, id: string, ackIds: string[], visibilityTimeoutSeconds: number): Promise<number> {
  await pullSubscription(env, tenantId, id);
  return endpointStub(env, tenantId, id).extend(ackIds, visibilityTimeoutSeconds);
}

/**
 * The live tail of a partition: stream tokens for browsers, and the WebSocket upgrade handed to
 * the partition's object (objects/partition/live-tail.ts).
 */
import { newStreamToken } from "../domain/keys.js";
import { AppError } from "../errors.js";
import { partitionStub } from "../objects/partition/client.js";

export interface StreamToken {
  token: string;
  expiresAt: string;
  streamUrl: string;
}

export async function issueStreamToken(env: Env, tenantId: string, partitionKey: string): Promise<StreamToken> {
  const token = newStreamToken(tenantId);
  const expiresAt = await partitionStub(env, tenantId, partitionKey).issueStreamToken(token);
  return {
    token,
    expiresAt: new Date(expiresAt).toISOString(),
    streamUrl: `/partitions/${encodeURIComponent(partitionKey)}/stream?token=${token}`,
  };
}

/** Refuses (401) a token this partition did not issue, or one used or expired. */
export async function redeemStreamToken(env: Env, tenantId: string, partitionKey: string, token: string): Promise<void> {
  if (!(await partitionStub(env, tenantId, partitionKey).redeemStreamToken(token))) {
    throw new AppError("INVALID_API_KEY", "The stream token is unknown, already used or expired; ask for a new one.");
  }
}

/** Hands the upgrade to the partition, which accepts the WebSocket. */
export async function openStream(env: Env, tenantId: string, partitionKey: string): Promise<Response> {
  const res = await partitionStub(env, tenantId, partitionKey).fetch("https://partition/stream", {
    headers: { upgrade: "websocket", "x-partition-key": partitionKey },
  });
  if (res.status === 429) {
    throw new AppError("RATE_LIMITED", "This partition has as many live tails open as it allows; close one and try again.");
  }
  return res;
}

/**
 * The live tail of a partition: stream tokens for browsers, and the WebSocket upgrade handed to
 * the partition's object (objects/partition/live-tail.ts). A token is signed with a key derived
 * from the ADMIN_TOKEN secret (the development admin token locally), so the worker refuses a
 * forged one before any Durable Object is involved; the issuing partition redeems it once.
 */
import { DEV, settings } from "../config.js";
import { newStreamToken, streamTokenKey, verifyStreamToken } from "../domain/keys.js";
import { AppError } from "../errors.js";
import { partitionStub } from "../objects/partition/client.js";
import { STREAM_TOKEN_TTL_MS } from "../objects/partition/live-tail.js";

export interface StreamToken {
  token: string;
  expiresAt: string;
  streamUrl: string;
}

let cached: { secret: string; key: Promise<CryptoKey> } | undefined;

function tokenKey(env: Env): Promise<CryptoKey> {
  const secret = env.ADMIN_TOKEN || (settings(env).production ? undefined : DEV.adminToken);
  if (!secret) throw new AppError("UPSTREAM_UNAVAILABLE", "Stream tokens need the ADMIN_TOKEN secret, which is not set.");
  if (cached?.secret !== secret) cached = { secret, key: streamTokenKey(secret) };
  return cached.key;
}

export async function issueStreamToken(env: Env, tenantId: string, partitionKey: string): Promise<StreamToken> {
  const expiresAt = Date.now() + STREAM_TOKEN_TTL_MS;
  const token = await newStreamToken(await tokenKey(env), tenantId, partitionKey, expiresAt);
  await partitionStub(env, tenantId, partitionKey).issueStreamToken(token, expiresAt);
  return {
    token,
    expiresAt: new Date(expiresAt).toISOString(),
    streamUrl: `/partitions/${encodeURIComponent(partitionKey)}/stream?token=${token}`,
  };
}

/** The tenant of a token this server signed for this partition, still valid; otherwise 401. */
export async function streamTokenTenant(env: Env, partitionKey: string, token: string): Promise<string> {
  const tenantId = await verifyStreamToken(await tokenKey(env), token, partitionKey, Date.now());
  if (!tenantId) {
    throw new AppError("INVALID_API_KEY", "The stream token is malformed, expired or for another partition; ask for a new one.");
  }
  return tenantId;
}

/**
 * Hands the upgrade to the partition, which accepts the WebSocket; with a browser's stream token,
 * the partition redeems it in the same call (401 when it did not issue it or it was used).
 */
export async function openStream(env: Env, tenantId: string, partitionKey: string, token?: string): Promise<Response> {
  const res = await partitionStub(env, tenantId, partitionKey).fetch("https://partition/stream", {
    headers: { upgrade: "websocket", "x-partition-key": partitionKey, ...(token !== undefined ? { "x-stream-token": token } : {}) },
  });
  if (res.status === 401) {
    throw new AppError("INVALID_API_KEY", "The stream token is unknown, already used or expired; ask for a new one.");
  }
  if (res.status === 429) {
    throw new AppError("RATE_LIMITED", "This partition has as many live tails open as it allows; close one and try again.");
  }
  return res;
}

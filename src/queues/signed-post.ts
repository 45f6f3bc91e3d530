/**
 * One signed POST in the webhook wire format (docs/webhooks.md), used for webhook deliveries and for
 * task workers alike: target re-checked, signed with every live secret, a hard timeout, redirects
 * never followed, and the outcome classified (2xx success, 410 disable, anything else retry).
 */
import { classifyResponse, type ResponseClass } from "../domain/backoff.js";
import { buildDeliveryHeaders } from "../domain/signing.js";
import { readLimited } from "../domain/streams.js";
import { checkTarget } from "../domain/targets.js";
import type { SigningSecret } from "../schemas/subscription.js";

export interface SignedPost {
  url: string;
  secrets: readonly SigningSecret[];
  allowPrivate: boolean;
  eventId: string;
  eventType: string;
  sequence: number;
  partitionKey: string;
  attempt: number;
  previousSequence?: number;
  rawBody: string;
  /** Media type of rawBody (default application/json). */
  contentType?: string;
  /** More headers (CloudEvents attributes, trace context); the signatures cover the body as sent. */
  headers?: Record<string, string>;
  timeoutMs: number;
  /** Read at most this many bytes of the response body (tasks keep it as their result). */
  keepResponseBytes?: number;
}

export interface PostOutcome {
  class: ResponseClass | "refused";
  statusCode?: number;
  durationMs: number;
  error?: string;
  retryAfter?: string | null;
  responseText?: string;
}

/** Secrets that still sign now, newest first (a rotated secret signs until its grace ends). */
export function liveSecrets(secrets: readonly SigningSecret[], now = Date.now()): string[] {
  return secrets.filter((s) => s.expiresAt === undefined || s.expiresAt > now).map((s) => s.secret);
}

export async function signedPost(p: SignedPost): Promise<PostOutcome> {
  const target = checkTarget(p.url, { allowPrivate: p.allowPrivate });
  if (!target.ok) return { class: "refused", durationMs: 0, error: `target refused: ${target.reason}` };
  const started = Date.now();
  const headers = await buildDeliveryHeaders({
    secrets: liveSecrets(p.secrets, started),
    eventId: p.eventId,
    eventType: p.eventType,
    sequence: p.sequence,
    partitionKey: p.partitionKey,
    attempt: p.attempt,
    ...(p.previousSequence !== undefined ? { previousSequence: p.previousSequence } : {}),
    nowSeconds: Math.floor(started / 1000),
    rawBody: p.rawBody,
    ...(p.contentType !== undefined ? { contentType: p.contentType } : {}),
    ...(p.headers !== undefined ? { extraHeaders: p.headers } : {}),
  });
  // A timer cleared as soon as the answer is in: AbortSignal.timeout would keep one alive for the
  // whole timeout after every request, and a busy Endpoint object hits the runtime's timer quota.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), p.timeoutMs);
  try {
    const res = await fetch(target.url, {
      method: "POST",
      headers,
      body: p.rawBody,
      redirect: "manual",
      signal: abort.signal,
    });
    // A body over the limit is not kept, but the answer's status still counts (2xx is success).
    const responseText = p.keepResponseBytes ? await readText(res, p.keepResponseBytes) : undefined;
    if (!p.keepResponseBytes) await res.body?.cancel();
    const cls = classifyResponse(res.status);
    return {
      class: cls,
      statusCode: res.status,
      durationMs: Date.now() - started,
      retryAfter: res.headers.get("retry-after"),
      ...(cls !== "success" ? { error: `receiver answered ${res.status}` } : {}),
      ...(responseText !== undefined ? { responseText } : {}),
    };
  } catch (err) {
    const e = err as Error;
    const timedOut = e.name === "TimeoutError" || e.name === "AbortError" || abort.signal.aborted;
    return {
      class: "retry",
      durationMs: Date.now() - started,
      error: timedOut ? `timeout after ${p.timeoutMs} ms` : `network error: ${e.message}`,
    };
  } finally {
    clearTimeout(timer);
  }
}

async function readText(res: Response, limit: number): Promise<string | undefined> {
  const bytes = await readLimited(res.body, limit);
  return bytes === null ? undefined : new TextDecoder().decode(bytes);
}

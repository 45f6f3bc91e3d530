/**
 * Request bodies: size limit before anything is parsed (413), JSON only (415), parse once with a
 * clear error for malformed JSON (400) — before any route's validator sees the body. The text and
 * the parsed value are put in Hono's body cache for the validators and the routes.
 */
import { createMiddleware } from "hono/factory";
import { LIMITS } from "../config.js";
import type { AppEnv } from "../context.js";
import { readLimited } from "../domain/streams.js";
import { AppError } from "../errors.js";

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json(\s*;.*)?$/i;
const WITH_BODY = new Set(["POST", "PUT", "PATCH"]);

export const parseJsonBody = createMiddleware<AppEnv>(async (c, next) => {
  if (!WITH_BODY.has(c.req.method)) return next();
  const length = c.req.header("content-length");
  const declared = declaredLength(length);
  if (declared > LIMITS.requestBodyBytes) throw tooLarge();
  // A declared length is the body's exact length (HTTP framing), checked above: read it at once.
  // Without one (chunked), read up to the limit.
  const text = Number.isFinite(declared) ? await c.req.raw.text() : await readLimitedText(c.req.raw.body);
  if (text === null) throw tooLarge();
  const type = c.req.header("content-type");
  // The validators read the body through Hono's c.req.json(), which parses the cached text (and
  // without it would turn the parsed value back into text first). The cache holds promises,
  // though Hono's type for it names the values.
  (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
  if (text.length === 0) {
    // Routes whose body is optional accept an empty body with no content type (redeliver, retry, test).
    c.req.bodyCache.json = Promise.resolve(undefined);
    return next();
  }
  if (!type || !JSON_TYPE.test(type.trim())) {
    if (c.req.header("ce-specversion") !== undefined) {
      throw new AppError(
        "UNSUPPORTED_MEDIA_TYPE",
        `In CloudEvents binary mode the body is the event's data, which must be JSON (Content-Type: application/json); got ${type ? `'${type}'` : "no content type"}.`,
      );
    }
    throw new AppError(
      "UNSUPPORTED_MEDIA_TYPE",
      `Request bodies must be JSON (Content-Type: application/json); got ${type ? `'${type}'` : "no content type"}.`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AppError("BAD_JSON", `The request body is not valid JSON: ${(err as Error).message}`);
  }
  c.req.bodyCache.json = Promise.resolve(value);
  await next();
});

/** A `Content-Length` header's value as a number; NaN when there is none or it is malformed. */
export function declaredLength(header: string | null | undefined): number {
  return header != null && /^\d{1,15}$/.test(header) ? Number(header) : Number.NaN;
}

async function readLimitedText(body: ReadableStream<Uint8Array> | null): Promise<string | null> {
  const raw = await readLimited(body, LIMITS.requestBodyBytes);
  return raw === null ? null : new TextDecoder().decode(raw);
}

function tooLarge(): AppError {
  return new AppError("PAYLOAD_TOO_LARGE", `Request bodies are limited to ${LIMITS.requestBodyBytes} bytes.`);
}

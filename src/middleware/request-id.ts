/**
 * Request ids: honour a well-formed incoming `X-Request-Id`, otherwise make one; every response
 * (errors included, see errors.ts) carries it back.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context.js";
import { newId } from "../domain/ids.js";

const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's id: its own `X-Request-Id` when well formed, otherwise a new one. */
export function requestIdOf(incoming: string | null | undefined): string {
  return incoming && WELL_FORMED.test(incoming) ? incoming : newId("req");
}

export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const id = requestIdOf(c.req.header("x-request-id"));
  c.set("requestId", id);
  await next();
  // A WebSocket upgrade's 101 comes from the Durable Object with immutable headers.
  if (c.res.status !== 101) c.res.headers.set("x-request-id", id);
});

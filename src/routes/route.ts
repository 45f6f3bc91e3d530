/**
 * Route definitions with their security: `tenantRoute` puts API-key auth and the JSON body
 * middleware in front of the validators, `adminRoute` the admin token, `publicRoute` nothing.
 * Auth runs before the body is read, so an anonymous client never costs a parse.
 */
import { createRoute } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { adminAuth, tenantAuth } from "../middleware/auth.js";
import { parseJsonBody } from "../middleware/body.js";
import { problemResponses } from "../schemas/common.js";

type RouteConfig = Parameters<typeof createRoute>[0];

/** `before` runs after auth and body parsing, ahead of the validators (it may answer the request itself). */
export function tenantRoute<R extends Omit<RouteConfig, "middleware" | "security">>(config: R, ...before: MiddlewareHandler[]) {
  return createRoute({
    ...config,
    middleware: [tenantAuth, parseJsonBody, ...before] as const,
    security: [{ Bearer: [] }],
    responses: { ...problemResponses(400, 401, 404), ...config.responses },
  });
}

export function adminRoute<R extends Omit<RouteConfig, "middleware" | "security">>(config: R) {
  return createRoute({
    ...config,
    middleware: [adminAuth, parseJsonBody] as const,
    security: [{ Bearer: [] }],
    responses: { ...problemResponses(400, 401, 403), ...config.responses },
  });
}

export const publicRoute = createRoute;

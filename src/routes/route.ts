/**
 * Route definitions with their security: `tenantRoute` puts API-key auth (with the scope the
 * route declares) and the JSON body middleware in front of the validators, `adminRoute` the
 * admin token, `publicRoute` nothing. Auth runs before the body is read, so an anonymous client
 * never costs a parse. The scope is written into the OpenAPI document: as the operation's
 * security requirement, as `x-scope`, and in its description.
 */
import { createRoute } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Scope } from "../domain/scopes.js";
import { adminAuth, tenantAuth } from "../middleware/auth.js";
import { parseJsonBody } from "../middleware/body.js";
import { problemResponses } from "../schemas/common.js";

type RouteConfig = Parameters<typeof createRoute>[0];

/**
 * `before` runs after auth and body parsing, ahead of the validators (it may answer the request
 * itself). A plain POST /events skips this chain (routes/publish-fast.ts), so a check added here
 * must be added there too.
 */
export function tenantRoute<R extends Omit<RouteConfig, "middleware" | "security">>(
  config: R & { scope: Scope },
  ...before: MiddlewareHandler[]
) {
  const { scope, ...rest } = config;
  const needs = `Needs an API key with the scope \`${scope}\`.`;
  return createRoute({
    ...(rest as unknown as R),
    description: config.description ? `${config.description}\n\n${needs}` : needs,
    "x-scope": scope,
    middleware: [tenantAuth(scope), parseJsonBody, ...before] as const,
    security: [{ Bearer: [scope] }],
    responses: { ...problemResponses(400, 401, 403, 404), ...config.responses },
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

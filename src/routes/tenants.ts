/** Tenants (admin) and a tenant's own API keys. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { forgetKey } from "../middleware/auth.js";
import { jsonBody, jsonContent, problemResponses } from "../schemas/common.js";
import {
  CreateKeySchema,
  CreateTenantSchema,
  KeyCreatedSchema,
  KeyIdParam,
  KeyListSchema,
  TenantCreatedSchema,
  TenantIdParam,
  TenantLimitsPatchSchema,
  TenantLimitsSchema,
} from "../schemas/tenant.js";
import { forgetLease } from "../services/quota.js";
import { createKey, createTenant, listKeys, revokeKey, setTenantLimits } from "../services/tenants.js";
import { adminRoute, tenantRoute } from "./route.js";

export const tenants = new OpenAPIHono<AppEnv>();

tenants.openapi(
  adminRoute({
    method: "post",
    path: "/tenants",
    operationId: "createTenant",
    tags: ["tenants"],
    summary: "Create a tenant (admin token); returns its first API key once",
    request: { body: jsonBody(CreateTenantSchema) },
    responses: { 201: jsonContent(TenantCreatedSchema, "Created; the key is shown only here") },
  }),
  async (c) => {
    return c.json(await createTenant(c.env, c.req.valid("json").name), 201);
  },
);

tenants.openapi(
  adminRoute({
    method: "patch",
    path: "/tenants/{id}",
    operationId: "updateTenantLimits",
    tags: ["tenants"],
    summary: "Set a tenant's limits (admin token): its publish quota in events per second",
    description:
      "A token bucket per tenant holding one second's worth; past it, publishes are refused with 429 `RATE_LIMITED` and `Retry-After`. A change is in force within about a second everywhere.",
    request: { params: TenantIdParam, body: jsonBody(TenantLimitsPatchSchema) },
    responses: { 200: jsonContent(TenantLimitsSchema, "The tenant's limits now"), ...problemResponses(404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const result = await setTenantLimits(c.env, id, c.req.valid("json").limits);
    forgetLease(id);
    return c.json(result, 200);
  },
);

tenants.openapi(
  tenantRoute({
    method: "get",
    path: "/tenants/keys",
    scope: "keys:admin",
    operationId: "listApiKeys",
    tags: ["tenants"],
    summary: "List this tenant's API keys (hints only)",
    responses: { 200: jsonContent(KeyListSchema, "Keys") },
  }),
  async (c) => {
    return c.json({ keys: await listKeys(c.env, c.var.principal.tenantId) }, 200);
  },
);

tenants.openapi(
  tenantRoute({
    method: "post",
    path: "/tenants/keys",
    scope: "keys:admin",
    operationId: "createApiKey",
    tags: ["tenants"],
    summary: "Create another API key for this tenant; the key is shown once",
    request: { body: jsonBody(CreateKeySchema, false) },
    responses: { 201: jsonContent(KeyCreatedSchema, "Created") },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const { tenantId, scopes } = c.var.principal;
    return c.json(await createKey(c.env, tenantId, body?.name ?? null, scopes, body?.scopes), 201);
  },
);

tenants.openapi(
  tenantRoute({
    method: "delete",
    path: "/tenants/keys/{keyId}",
    scope: "keys:admin",
    operationId: "revokeApiKey",
    tags: ["tenants"],
    summary: "Revoke an API key (at once through this isolate; everywhere within 30 s, the key cache lifetime)",
    request: { params: KeyIdParam },
    responses: { 204: { description: "Revoked" } },
  }),
  async (c) => {
    const { tenantId } = c.var.principal;
    const { keyId } = c.req.valid("param");
    await revokeKey(c.env, tenantId, keyId);
    forgetKey(tenantId, keyId);
    return c.body(null, 204);
  },
);

/** Tenants (admin) and a tenant's own API keys. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { jsonBody, jsonContent } from "../schemas/common.js";
import {
  CreateKeySchema,
  CreateTenantSchema,
  KeyCreatedSchema,
  KeyIdParam,
  KeyListSchema,
  TenantCreatedSchema,
} from "../schemas/tenant.js";
import { createKey, createTenant, listKeys, revokeKey } from "../services/tenants.js";
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
  tenantRoute({
    method: "get",
    path: "/tenants/keys",
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
    operationId: "createApiKey",
    tags: ["tenants"],
    summary: "Create another API key for this tenant; the key is shown once",
    request: { body: jsonBody(CreateKeySchema, false) },
    responses: { 201: jsonContent(KeyCreatedSchema, "Created") },
  }),
  async (c) => {
    return c.json(await createKey(c.env, c.var.principal.tenantId, c.req.valid("json")?.name ?? null), 201);
  },
);

tenants.openapi(
  tenantRoute({
    method: "delete",
    path: "/tenants/keys/{keyId}",
    operationId: "revokeApiKey",
    tags: ["tenants"],
    summary: "Revoke an API key (stops working within 30 s, the key cache lifetime)",
    request: { params: KeyIdParam },
    responses: { 204: { description: "Revoked" } },
  }),
  async (c) => {
    await revokeKey(c.env, c.var.principal.tenantId, c.req.valid("param").keyId);
    return c.body(null, 204);
  },
);

/** Tenants (admin) and a tenant's own API keys. */
import { OpenAPIHono } from "@hono/zod-openapi";
import { AppError } from "../errors.js";
import { newId } from "../domain/ids.js";
import { jsonBody, jsonContent } from "../schemas/common.js";
import {
  CreateKeySchema,
  CreateTenantSchema,
  KeyCreatedSchema,
  KeyIdParam,
  KeyListSchema,
  TenantCreatedSchema,
} from "../schemas/tenant.js";
import { adminRoute, tenantRoute } from "./route.js";
import type { AppEnv } from "../context.js";

const tenantStub = (env: Env, tenantId: string) => env.TENANT.get(env.TENANT.idFromName(tenantId));

export const tenants = new OpenAPIHono<AppEnv>();

tenants.openapi(
  adminRoute({
    method: "post",
    path: "/tenants",
    tags: ["tenants"],
    summary: "Create a tenant (admin token); returns its first API key once",
    request: { body: jsonBody(CreateTenantSchema) },
    responses: { 201: jsonContent(TenantCreatedSchema, "Created; the key is shown only here") },
  }),
  async (c) => {
    const { name } = c.req.valid("json");
    const tenantId = newId("ten");
    const { apiKey, keyId } = await tenantStub(c.env, tenantId).createTenant(tenantId, name);
    return c.json({ tenantId, apiKey, keyId }, 201);
  },
);

tenants.openapi(
  tenantRoute({
    method: "get",
    path: "/tenants/keys",
    tags: ["tenants"],
    summary: "List this tenant's API keys (hints only)",
    responses: { 200: jsonContent(KeyListSchema, "Keys") },
  }),
  async (c) => {
    const keys = await tenantStub(c.env, c.var.principal.tenantId).listKeys();
    return c.json({ keys }, 200);
  },
);

tenants.openapi(
  tenantRoute({
    method: "post",
    path: "/tenants/keys",
    tags: ["tenants"],
    summary: "Create another API key for this tenant; the key is shown once",
    request: { body: jsonBody(CreateKeySchema, false) },
    responses: { 201: jsonContent(KeyCreatedSchema, "Created") },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const { tenantId } = c.var.principal;
    const created = await tenantStub(c.env, tenantId).createKey(tenantId, body?.name ?? null);
    return c.json(created, 201);
  },
);

tenants.openapi(
  tenantRoute({
    method: "delete",
    path: "/tenants/keys/{keyId}",
    tags: ["tenants"],
    summary: "Revoke an API key (stops working within 30 s, the key cache lifetime)",
    request: { params: KeyIdParam },
    responses: { 204: { description: "Revoked" } },
  }),
  async (c) => {
    const { keyId } = c.req.valid("param");
    const revoked = await tenantStub(c.env, c.var.principal.tenantId).revokeKey(keyId);
    if (!revoked) throw new AppError("NOT_FOUND", `No API key ${keyId}.`);
    return c.body(null, 204);
  },
);

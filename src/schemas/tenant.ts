/** Tenant and API key bodies. */
import { z } from "@hono/zod-openapi";
import { SCOPES } from "../domain/scopes.js";

export const ScopeSchema = z.enum(SCOPES).openapi("Scope", { example: "events:publish" });

export const CreateTenantSchema = z
  .object({ name: z.string().trim().min(1).max(128).openapi({ example: "acme" }) })
  .openapi("CreateTenant");

export const TenantCreatedSchema = z.object({ tenantId: z.string(), apiKey: z.string(), keyId: z.string() }).openapi("TenantCreated");

export const CreateKeySchema = z
  .object({
    name: z.string().trim().min(1).max(128).optional(),
    scopes: z
      .array(ScopeSchema)
      .min(1, "must name at least one scope (leave it out for every scope this key holds)")
      .max(SCOPES.length * 2)
      .optional()
      .openapi({ description: "What the new key may do; default: every scope of the key that creates it." }),
  })
  .optional()
  .openapi("CreateKey");

export const ApiKeySchema = z
  .object({ keyId: z.string(), name: z.string().nullable(), hint: z.string(), createdAt: z.string(), scopes: z.array(ScopeSchema) })
  .openapi("ApiKey");

export const KeyCreatedSchema = ApiKeySchema.extend({ apiKey: z.string() }).openapi("ApiKeyCreated");

export const KeyListSchema = z.object({ keys: z.array(ApiKeySchema) }).openapi("ApiKeyList");

export const KeyIdParam = z.object({
  keyId: z
    .string()
    .regex(/^key_[a-z0-9]{20}$/)
    .openapi({ param: { name: "keyId", in: "path" } }),
});

export const TenantIdParam = z.object({
  id: z
    .string()
    .regex(/^[a-z0-9_]{1,64}$/)
    .openapi({ param: { name: "id", in: "path" }, example: "ten_0123456789abcdefghij" }),
});

export const TenantLimitsPatchSchema = z
  .strictObject({
    limits: z.strictObject({
      publishPerSecond: z
        .number()
        .int()
        .min(1)
        .max(1_000_000)
        .nullable()
        .optional()
        .openapi({ description: "Events per second (POST /events, /events/batch); null = the deployment's PUBLISH_PER_SECOND." }),
    }),
  })
  .openapi("TenantLimitsPatch");

export const TenantLimitsSchema = z
  .object({
    tenantId: z.string(),
    limits: z.object({ publishPerSecond: z.number().int(), default: z.boolean() }),
  })
  .openapi("TenantLimits");

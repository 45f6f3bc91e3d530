/** Tenant and API key bodies. */
import { z } from "@hono/zod-openapi";

export const CreateTenantSchema = z
  .object({ name: z.string().trim().min(1).max(128).openapi({ example: "acme" }) })
  .openapi("CreateTenant");

export const TenantCreatedSchema = z.object({ tenantId: z.string(), apiKey: z.string(), keyId: z.string() }).openapi("TenantCreated");

export const CreateKeySchema = z
  .object({ name: z.string().trim().min(1).max(128).optional() })
  .optional()
  .openapi("CreateKey");

export const ApiKeySchema = z
  .object({ keyId: z.string(), name: z.string().nullable(), hint: z.string(), createdAt: z.string() })
  .openapi("ApiKey");

export const KeyCreatedSchema = ApiKeySchema.extend({ apiKey: z.string() }).openapi("ApiKeyCreated");

export const KeyListSchema = z.object({ keys: z.array(ApiKeySchema) }).openapi("ApiKeyList");

export const KeyIdParam = z.object({
  keyId: z
    .string()
    .regex(/^key_[a-z0-9]{20}$/)
    .openapi({ param: { name: "keyId", in: "path" } }),
});

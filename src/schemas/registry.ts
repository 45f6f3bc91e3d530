/** Schema registry bodies and views: versions of JSON Schemas for an event type's `data`. */
import { z } from "@hono/zod-openapi";

export const SchemaTypeParam = z.object({
  type: z
    .string()
    .min(1)
    .max(256)
    .openapi({ param: { name: "type", in: "path" }, example: "order.created" }),
});

export const SchemaVersionParams = SchemaTypeParam.extend({
  version: z
    .string()
    .min(1)
    .max(32)
    .openapi({ param: { name: "version", in: "path" }, example: "1.0", description: "MAJOR.MINOR or MAJOR.MINOR.PATCH; 1.0 is 1.0.0." }),
});

export const PutSchemaVersionSchema = z
  .object({
    schema: z.union([z.record(z.string(), z.unknown()), z.boolean()]).openapi({
      description: "A JSON Schema (2020-12) for the event's data.",
      example: { type: "object", properties: { orderId: { type: "string" } }, required: ["orderId"] },
    }),
    description: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("PutSchemaVersion");

export const UpdateSchemaVersionSchema = z
  .object({
    deprecated: z.boolean().openapi({ description: "A deprecated version is still accepted on publish, with a Deprecation header." }),
  })
  .strict()
  .openapi("UpdateSchemaVersion");

export const SchemaVersionViewSchema = z
  .object({
    type: z.string(),
    version: z.string().openapi({ description: "Canonical MAJOR.MINOR.PATCH." }),
    schema: z.union([z.record(z.string(), z.unknown()), z.boolean()]),
    description: z.string().optional(),
    deprecated: z.boolean(),
    deprecatedAt: z.string().optional(),
    createdAt: z.string(),
  })
  .openapi("SchemaVersion");
export type SchemaVersionView = z.infer<typeof SchemaVersionViewSchema>;

export const SchemaTypeViewSchema = z
  .object({ type: z.string(), latest: z.string(), versions: z.array(SchemaVersionViewSchema) })
  .openapi("SchemaType");

export const SchemaCatalogSchema = z
  .object({ types: z.array(z.object({ type: z.string(), latest: z.string(), versions: z.array(z.string()) })) })
  .openapi("SchemaCatalog");

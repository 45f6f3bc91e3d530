/** /schemas: the schema registry (versions of JSON Schemas for each event type's data). */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { jsonBody, jsonContent, problemResponses } from "../schemas/common.js";
import {
  PutSchemaVersionSchema,
  SchemaCatalogSchema,
  SchemaTypeParam,
  SchemaTypeViewSchema,
  SchemaVersionParams,
  SchemaVersionViewSchema,
  UpdateSchemaVersionSchema,
} from "../schemas/registry.js";
import { deprecateSchemaVersion, putSchemaVersion, schemaCatalog, schemaType, schemaVersion } from "../services/schemas.js";
import { tenantRoute } from "./route.js";

const tags = ["schemas"];

export const schemas = new OpenAPIHono<AppEnv>();

schemas.openapi(
  tenantRoute({
    method: "put",
    path: "/schemas/{type}/versions/{version}",
    scope: "schemas:write",
    operationId: "putSchemaVersion",
    tags,
    summary: "Register a schema version (immutable; within a MAJOR it must be backward compatible)",
    request: { params: SchemaVersionParams, body: jsonBody(PutSchemaVersionSchema) },
    responses: {
      200: jsonContent(SchemaVersionViewSchema, "That version already exists with the same schema"),
      201: jsonContent(SchemaVersionViewSchema, "Created"),
      ...problemResponses(409, 413),
    },
  }),
  async (c) => {
    const { type, version } = c.req.valid("param");
    const { created, view } = await putSchemaVersion(c.env, c.var.principal.tenantId, type, version, c.req.valid("json"));
    return created ? c.json(view, 201) : c.json(view, 200);
  },
);

schemas.openapi(
  tenantRoute({
    method: "get",
    path: "/schemas",
    scope: "events:read",
    operationId: "listSchemas",
    tags,
    summary: "The catalog: event types with versions, and the latest of each",
    responses: { 200: jsonContent(SchemaCatalogSchema, "The catalog") },
  }),
  async (c) => c.json(await schemaCatalog(c.env, c.var.principal.tenantId), 200),
);

schemas.openapi(
  tenantRoute({
    method: "get",
    path: "/schemas/{type}",
    scope: "events:read",
    operationId: "getSchemaType",
    tags,
    summary: "The versions of one event type",
    request: { params: SchemaTypeParam },
    responses: { 200: jsonContent(SchemaTypeViewSchema, "The type's versions, oldest first") },
  }),
  async (c) => c.json(await schemaType(c.env, c.var.principal.tenantId, c.req.valid("param").type), 200),
);

schemas.openapi(
  tenantRoute({
    method: "get",
    path: "/schemas/{type}/versions/{version}",
    scope: "events:read",
    operationId: "getSchemaVersion",
    tags,
    summary: "One schema version",
    request: { params: SchemaVersionParams },
    responses: { 200: jsonContent(SchemaVersionViewSchema, "The version") },
  }),
  async (c) => {
    const { type, version } = c.req.valid("param");
    return c.json(await schemaVersion(c.env, c.var.principal.tenantId, type, version), 200);
  },
);

schemas.openapi(
  tenantRoute({
    method: "patch",
    path: "/schemas/{type}/versions/{version}",
    scope: "schemas:write",
    operationId: "updateSchemaVersion",
    tags,
    summary: "Deprecate a schema version (its schema never changes)",
    request: { params: SchemaVersionParams, body: jsonBody(UpdateSchemaVersionSchema) },
    responses: { 200: jsonContent(SchemaVersionViewSchema, "The version") },
  }),
  async (c) => {
    const { type, version } = c.req.valid("param");
    const view = await deprecateSchemaVersion(c.env, c.var.principal.tenantId, type, version, c.req.valid("json").deprecated);
    return c.json(view, 200);
  },
);

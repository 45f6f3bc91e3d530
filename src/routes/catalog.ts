/** /catalog/items/:itemId — the prices orders are computed from (one Store instance per tenant). */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { jsonBody, jsonContent } from "../schemas/common.js";
import { CatalogItemSchema, ItemIdParam, PutCatalogItemSchema } from "../schemas/order.js";
import { getCatalogItem, putCatalogItem } from "../services/orders.js";
import { tenantRoute } from "./route.js";

const tags = ["orders"];

export const catalog = new OpenAPIHono<AppEnv>();

catalog.openapi(
  tenantRoute({
    method: "put",
    path: "/catalog/items/{itemId}",
    scope: "cache:write",
    operationId: "putCatalogItem",
    tags,
    summary: "Create or replace a catalog item",
    description:
      "`price` is a decimal amount with at most two decimals (kept as integer cents). New orders use the new price; existing orders keep theirs.",
    request: { params: ItemIdParam, body: jsonBody(PutCatalogItemSchema) },
    responses: { 200: jsonContent(CatalogItemSchema, "Replaced"), 201: jsonContent(CatalogItemSchema, "Created") },
  }),
  async (c) => {
    const { name, price } = c.req.valid("json");
    const { item, created } = await putCatalogItem(c.env, c.var.principal.tenantId, c.req.valid("param").itemId, name, price);
    return created ? c.json(item, 201) : c.json(item, 200);
  },
);

catalog.openapi(
  tenantRoute({
    method: "get",
    path: "/catalog/items/{itemId}",
    scope: "cache:read",
    operationId: "getCatalogItem",
    tags,
    summary: "Read a catalog item",
    request: { params: ItemIdParam },
    responses: { 200: jsonContent(CatalogItemSchema, "The item") },
  }),
  async (c) => c.json(await getCatalogItem(c.env, c.var.principal.tenantId, c.req.valid("param").itemId), 200),
);

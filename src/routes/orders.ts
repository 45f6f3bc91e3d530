/**
 * /orders and /customers/:id/orders — the caching example domain (and the catalog routes,
 * mounted here). POST and PATCH write through to the cache (`X-Cache-Status: UPDATED`) and publish
 * `order.created` / `order.status.changed` from the Store object; GET /orders/:id is cache-aside.
 */

import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";
import { AppError } from "../errors.js";
import { CacheStatusHeader } from "../schemas/cache.js";
import { jsonBody, jsonContent, problemResponses } from "../schemas/common.js";
import {
  CreateOrderSchema,
  CustomerIdParam,
  CustomerOrdersSchema,
  OrderIdParam,
  OrderSchema,
  UpdateOrderSchema,
} from "../schemas/order.js";
import { countCacheRead } from "../services/cache-reads.js";
import { CUSTOMER_ORDERS_LIMIT, changeOrderStatus, createOrder, customerOrders, getOrder } from "../services/orders.js";
import { catalog } from "./catalog.js";
import { tenantRoute } from "./route.js";

const tags = ["orders"];
const withCacheStatus = <T extends object>(response: T) => ({ ...response, headers: CacheStatusHeader });

const routes = new OpenAPIHono<AppEnv>();

routes.openapi(
  tenantRoute({
    method: "post",
    path: "/orders",
    scope: "cache:write",
    operationId: "createOrder",
    tags,
    summary: "Create an order (write-through; publishes order.created)",
    description:
      "The total is computed from catalog prices in integer cents. The order is cached under its id (`X-Cache-Status: UPDATED`), the customer's cached list is invalidated, and `order.created` (partition key = the order id) is published.",
    request: { body: jsonBody(CreateOrderSchema) },
    responses: { 201: withCacheStatus(jsonContent(OrderSchema, "Created")), ...problemResponses(409, 422) },
  }),
  async (c) => {
    const order = await createOrder(c.env, c.var.principal.tenantId, c.req.valid("json"));
    c.header("X-Cache-Status", "UPDATED");
    return c.json(order, 201);
  },
);

routes.openapi(
  tenantRoute({
    method: "get",
    path: "/orders/{id}",
    scope: "cache:read",
    operationId: "getOrder",
    tags,
    summary: "Read an order (cache-aside)",
    description:
      "`X-Cache-Status: HIT` when the cached copy has the order's current version, else `MISS` (read from the Store, then cached).",
    request: { params: OrderIdParam },
    responses: { 200: withCacheStatus(jsonContent(OrderSchema, "The order")) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const found = await getOrder(c.env, c.var.principal.tenantId, id);
    countCacheRead(c.env, c.executionCtx, c.var.principal.tenantId, found?.cache === "HIT");
    if (!found) throw new AppError("NOT_FOUND", `No order ${id}.`, undefined, { "x-cache-status": "MISS" });
    c.header("X-Cache-Status", found.cache);
    return c.json(found.order, 200);
  },
);

routes.openapi(
  tenantRoute({
    method: "patch",
    path: "/orders/{id}",
    scope: "cache:write",
    operationId: "updateOrder",
    tags,
    summary: "Change an order's status (write-through; publishes order.status.changed)",
    description:
      "CREATED → PROCESSING → SHIPPED → DELIVERED (forward moves may skip steps); CANCELLED from CREATED or PROCESSING. Any other move is 409 INVALID_TRANSITION.",
    request: { params: OrderIdParam, body: jsonBody(UpdateOrderSchema) },
    responses: { 200: withCacheStatus(jsonContent(OrderSchema, "Updated")), ...problemResponses(409) },
  }),
  async (c) => {
    const order = await changeOrderStatus(c.env, c.var.principal.tenantId, c.req.valid("param").id, c.req.valid("json").status);
    c.header("X-Cache-Status", "UPDATED");
    return c.json(order, 200);
  },
);

routes.openapi(
  tenantRoute({
    method: "get",
    path: "/customers/{id}/orders",
    scope: "cache:read",
    operationId: "listCustomerOrders",
    tags,
    summary: `A customer's newest orders (at most ${CUSTOMER_ORDERS_LIMIT}), cached under customer-orders-<id>`,
    request: { params: CustomerIdParam },
    responses: { 200: withCacheStatus(jsonContent(CustomerOrdersSchema, "The orders, newest first")) },
  }),
  async (c) => {
    const customerId = c.req.valid("param").id;
    const { orders, cache } = await customerOrders(c.env, c.var.principal.tenantId, customerId);
    countCacheRead(c.env, c.executionCtx, c.var.principal.tenantId, cache === "HIT");
    c.header("X-Cache-Status", cache);
    return c.json({ customerId, orders }, 200);
  },
);

export const orders = new OpenAPIHono<AppEnv>();
orders.route("/", catalog);
orders.route("/", routes);

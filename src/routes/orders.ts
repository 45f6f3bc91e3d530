/** /orders routes (being built; see the issue). */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";

export const orders = new OpenAPIHono<AppEnv>();

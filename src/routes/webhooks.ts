/** /webhooks routes (being built). */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";

export const webhooks = new OpenAPIHono<AppEnv>();

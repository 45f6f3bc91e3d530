/** /tasks routes (being built; see the issue). */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";

export const tasks = new OpenAPIHono<AppEnv>();

/**
 * Types of the edgebus client (client/index.js). `paths`, `components` and `operations` are
 * generated from the OpenAPI document (client/schema.d.ts, `npm run client:generate`).
 */
import type { Client } from "openapi-fetch";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

/** A typed openapi-fetch client: `client.POST("/events", { body })` → `{ data, error, response }`. */
export type EdgebusClient = Client<paths>;

/** A problem+json error body (RFC 9457), as every edgebus error is. */
export type Problem = components["schemas"]["Problem"];

export interface ClientOptions {
  /** The deployment, e.g. http://127.0.0.1:8787 (`npm start`) or https://edgebus.example.workers.dev. */
  url: string;
  /** Sent as `Authorization: Bearer <apiKey>`; the key decides the tenant and the scopes. */
  apiKey?: string;
  /** More headers for every request. */
  headers?: Record<string, string>;
  /** A fetch implementation (default: the global one). */
  fetch?: (input: Request) => Promise<Response>;
}

export declare function createClient(options: ClientOptions): EdgebusClient;

/** A response that was not 2xx. `message` is `CODE: detail`. */
export declare class EdgebusError extends Error {
  constructor(status: number, body: unknown);
  readonly status: number;
  /** The problem's `code` (e.g. INVALID_API_KEY), or HTTP_<status> when the body was not a problem. */
  readonly code: string;
  readonly problem: Problem | undefined;
}

/** The data of a call, or throws EdgebusError when the answer was not 2xx. */
export declare function unwrap<R extends { data?: unknown; error?: unknown; response: Response }>(
  call: Promise<R>,
): Promise<Exclude<R["data"], undefined>>;

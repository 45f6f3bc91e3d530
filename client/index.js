// @ts-check
/**
 * The edgebus client: openapi-fetch typed by client/schema.d.ts (generated from GET /openapi.json).
 * Plain JavaScript with JSDoc types, so Node runs it as is (no build step); client/index.d.ts
 * declares the same API for TypeScript, and `npm test`'s tsc checks this file against it.
 *
 *   import { createClient, unwrap } from "edgebus/client";
 *   const edgebus = createClient({ url: "http://127.0.0.1:8787", apiKey: "dev-api-key" });
 *   const { eventId } = await unwrap(edgebus.POST("/events", { body: { type: "order.created", data: {} } }));
 */
import createFetchClient from "openapi-fetch";

/** @typedef {import("./index.js").ClientOptions} ClientOptions */
/** @typedef {import("./index.js").EdgebusClient} EdgebusClient */
/** @typedef {import("./index.js").Problem} Problem */

/** A response that was not 2xx: the problem+json fields (RFC 9457) when the server sent them. */
export class EdgebusError extends Error {
  /**
   * @param {number} status
   * @param {unknown} body the parsed error body (a problem object, or text)
   */
  constructor(status, body) {
    const problem = isProblem(body) ? body : undefined;
    const code = problem?.code ?? `HTTP_${status}`;
    const detail = problem ? (problem.detail ?? problem.title) : typeof body === "string" && body.trim() !== "" ? body.trim() : undefined;
    super(detail ? `${code}: ${detail}` : code);
    this.name = "EdgebusError";
    /** @type {number} */
    this.status = status;
    /** @type {string} */
    this.code = code;
    /** @type {Problem | undefined} */
    this.problem = problem;
  }
}

/**
 * @param {unknown} body
 * @returns {body is Problem}
 */
function isProblem(body) {
  return typeof body === "object" && body !== null && typeof (/** @type {Record<string, unknown>} */ (body).status) === "number";
}

/**
 * A typed client for one edgebus deployment. Every operation of the OpenAPI document is a call such
 * as `client.GET("/subscriptions/{id}", { params: { path: { id } } })`, typed by path and method.
 * @param {ClientOptions} options
 * @returns {EdgebusClient}
 */
export function createClient(options) {
  if (!options?.url) throw new TypeError("createClient: url is required");
  /** @type {Record<string, string>} */
  const headers = { ...options.headers };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  return createFetchClient({
    baseUrl: options.url.replace(/\/+$/, ""),
    headers,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

/**
 * The data of a call, or an EdgebusError when the answer was not 2xx.
 * @template {{ data?: unknown; error?: unknown; response: Response }} R
 * @param {Promise<R>} call
 * @returns {Promise<Exclude<R["data"], undefined>>}
 */
export async function unwrap(call) {
  const { data, error, response } = await call;
  if (!response.ok) throw new EdgebusError(response.status, error);
  return /** @type {Exclude<R["data"], undefined>} */ (data);
}

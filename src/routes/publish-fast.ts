/**
 * POST /events without the framework, for the request publishers send all day: a JSON envelope
 * (not a CloudEvent) with a declared length within the body limit. It is answered here by the
 * functions the route itself uses (authentication and scope, request id, the envelope schema,
 * Idempotency-Key, trace context, publish, problem responses), without Hono's routing, context,
 * middleware chain and validator: a few per cent more publishes per second and per CPU-second,
 * measured against the same route in the app (BENCHMARKS.md, "the publish fast path").
 *
 * Everything else goes to the app, which answers it in full: another route or media type, a
 * chunked body, and a body that is empty, not JSON or not a valid envelope (the app words those
 * errors). Up to that point only the key was checked and the body read, so handing over repeats
 * nothing a client could see. Errors after that (an unknown schema version, a quota) are the
 * app's problem responses, from the same function.
 */
import { LIMITS } from "../config.js";
import { errorResponse } from "../errors.js";
import { authenticate } from "../middleware/auth.js";
import { declaredLength } from "../middleware/body.js";
import { requestIdOf } from "../middleware/request-id.js";
import { isBinaryMode } from "../schemas/cloudevent.js";
import { PublishEventSchema } from "../schemas/event.js";
import { publishOneEvent, requestTrace } from "./events.js";

type Fetch = (request: Request) => Response | Promise<Response>;

/** The request's path, without parsing the whole URL (a request's URL is always absolute). */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("://") + 3);
  const query = url.indexOf("?", start);
  return query === -1 ? url.slice(start) : url.slice(start, query);
}

/**
 * `application/json`, with parameters only as the route's OpenAPI validator accepts them (it
 * refuses `application/json;` with 415, for example): anything else goes to the app.
 */
const PLAIN_JSON = /^application\/json(;\s*[a-zA-Z0-9-]+=[^;]+)*$/i;

/** Answers a plain POST /events, or returns undefined when `request` is for the app. */
export function publishFast(request: Request, env: Env, app: Fetch): Promise<Response> | undefined {
  if (request.method !== "POST" || pathOf(request.url) !== "/events") return undefined;
  const headers = request.headers;
  // The app's body middleware reads the same length (a chunked body, NaN here, goes to the app).
  const length = declaredLength(headers.get("content-length"));
  if (!(length <= LIMITS.requestBodyBytes)) return undefined;
  if (!PLAIN_JSON.test(headers.get("content-type") ?? "") || isBinaryMode(headers)) return undefined;
  return publish(request, env, app);
}

async function publish(request: Request, env: Env, app: Fetch): Promise<Response> {
  const headers = request.headers;
  const requestId = requestIdOf(headers.get("x-request-id"));
  try {
    const principal = await authenticate(env, request.url, headers.get("authorization"), "events:publish", "POST /events");
    const text = await request.text();
    const parsed = PublishEventSchema.safeParse(parseJson(text));
    if (!parsed.success) return await app(new Request(request, { body: text }));
    const trace = requestTrace(headers);
    const input = trace ? { ...parsed.data, trace } : parsed.data;
    const { result, headers: extra } = await publishOneEvent(env, principal.tenantId, input, headers.get("idempotency-key"));
    return new Response(JSON.stringify(result), {
      status: 202,
      headers: { "content-type": "application/json", "x-request-id": requestId, ...extra },
    });
  } catch (err) {
    return errorResponse(err, requestId);
  }
}

/** The body's JSON value, or undefined (which the schema refuses) when it is empty or malformed. */
function parseJson(text: string): unknown {
  try {
    return text.length === 0 ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Set-up calls against the running worker (tenants, subscriptions, seeding), with the one error
 * type the scenarios understand: a route that answers 404/405 is "not available yet" (the
 * scenario is skipped), any other unexpected status fails the scenario with the problem body.
 */
import { setTimeout as sleep } from "node:timers/promises";

export const ADMIN_TOKEN = "dev-admin-token";

export class RouteUnavailable extends Error {
  constructor(method, path, status) {
    super(`route not available (${status}): ${method} ${path}`);
    this.status = status;
  }
}

export class ApiError extends Error {
  constructor(method, path, status, body) {
    super(`${method} ${path} answered ${status}: ${String(body).slice(0, 400)}`);
    this.status = status;
    this.body = body;
  }
}

export class Api {
  constructor(base, key) {
    this.base = base;
    this.key = key;
  }

  withKey(key) {
    return new Api(this.base, key);
  }

  /**
   * One JSON request. `expect` lists the accepted statuses; `optional` marks a route that may not
   * exist yet (404 with code ROUTE_NOT_FOUND, or 405) and turns that into RouteUnavailable.
   */
  async call(method, path, { body, headers = {}, expect = [200, 201, 202, 204], optional = false, retries = 2 } = {}) {
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        res = await fetch(this.base + path, {
          method,
          headers: {
            authorization: `Bearer ${this.key}`,
            ...(body !== undefined ? { "content-type": "application/json" } : {}),
            ...headers,
          },
          body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        if (attempt < retries) {
          await sleep(200 * (attempt + 1));
          continue;
        }
        throw err;
      }
      const text = await res.text();
      if (expect.includes(res.status)) {
        return { status: res.status, headers: res.headers, body: parse(text) };
      }
      if (optional && isMissingRoute(res.status, text)) throw new RouteUnavailable(method, path, res.status);
      if (res.status >= 500 && attempt < retries) {
        await sleep(200 * (attempt + 1));
        continue;
      }
      throw new ApiError(method, path, res.status, text);
    }
  }

  /** A fresh tenant per scenario, so no scenario sees another's subscriptions or partitions. */
  async createTenant(name) {
    const admin = this.withKey(ADMIN_TOKEN);
    const { body } = await admin.call("POST", "/tenants", { body: { name }, expect: [201] });
    return this.withKey(body.apiKey);
  }
}

function parse(text) {
  try {
    return text === "" ? null : JSON.parse(text);
  } catch {
    return text;
  }
}

/** 404 from notFound (ROUTE_NOT_FOUND) or 405 means the route is not there; a 404 for an id is not. */
function isMissingRoute(status, text) {
  if (status === 405) return true;
  if (status !== 404) return false;
  const body = parse(text);
  return !body || typeof body !== "object" || body.code === "ROUTE_NOT_FOUND" || body.code === undefined;
}

/** Runs `fn(i)` for i in [0, n) with at most `concurrency` in flight; resolves in index order. */
export async function pool(n, concurrency, fn) {
  const out = new Array(n);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  });
  await Promise.all(workers);
  return out;
}

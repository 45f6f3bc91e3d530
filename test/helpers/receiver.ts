/**
 * A real HTTP receiver for tests (Node, 127.0.0.1, random port). Each test uses its own bucket:
 * deliveries to `/hook/<bucket>` are recorded with headers and raw body; what the receiver answers
 * is scripted per bucket through `POST /_script/<bucket>`; `GET /_log/<bucket>` returns what arrived.
 * Used by tests inside workerd through fetch, and by the benchmark.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  at: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** How a bucket answers: `responses` are used in order (the last one repeats). */
export interface Script {
  responses: Array<{
    status: number;
    delayMs?: number;
    headers?: Record<string, string>;
    body?: string;
    /** Send the status and the first bytes of the body, then never finish it. */
    stallBody?: boolean;
  }>;
  /** Fail (with `status` 500) every n-th request instead of using `responses`. */
  failEvery?: number;
}

export interface ReceiverHandle {
  url: string;
  close(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<ReceiverHandle> {
  const logs = new Map<string, Received[]>();
  const scripts = new Map<string, Script>();

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", reject);
    });

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(body);
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const [, kind, bucket = "default"] = url.pathname.split("/");
    const body = await readBody(req);
    if (kind === "_log") {
      send(res, 200, JSON.stringify(logs.get(bucket) ?? []));
      return;
    }
    if (kind === "_script") {
      scripts.set(bucket, JSON.parse(body) as Script);
      logs.set(bucket, logs.get(bucket) ?? []);
      send(res, 204, "");
      return;
    }
    const list = logs.get(bucket) ?? [];
    logs.set(bucket, list);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : (v ?? "");
    list.push({ at: Date.now(), method: req.method ?? "GET", path: url.pathname, headers, body });
    const script = scripts.get(bucket);
    if (script?.failEvery && list.length % script.failEvery === 0) {
      send(res, 500, JSON.stringify({ error: "scripted failure" }));
      return;
    }
    const responses = script?.responses ?? [];
    const r = responses[Math.min(list.length - 1, responses.length - 1)] ?? { status: 200 };
    if (r.delayMs) await new Promise((done) => setTimeout(done, r.delayMs));
    if (res.destroyed) return;
    if (r.stallBody) {
      res.writeHead(r.status, { "content-type": "application/json" });
      res.write('{"ok":');
      return;
    }
    send(res, r.status, r.body ?? JSON.stringify({ ok: true }), r.headers);
  });

  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

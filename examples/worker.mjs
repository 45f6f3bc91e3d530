/**
 * An example task worker for edgebus: `WORKER_SECRET=… node examples/worker.mjs`.
 *
 * edgebus POSTs each task attempt to a registered worker, signed exactly like a webhook, with the
 * body {"task": {id, type, priority, data, attempt, maxAttempts, createdAt}}. This worker listens on
 * 127.0.0.1:$PORT (default 9001), verifies the signature with the secret in WORKER_SECRET, and
 * answers 200 with {"shipped": true}. edgebus keeps a 2xx body (up to 64 KiB) as the task's
 * `result` and marks it SUCCEEDED; any other answer (or no answer within the task's timeoutMs)
 * fails the attempt and it is retried. The task id is the same on every attempt (X-Event-ID,
 * webhook-id): a real worker makes its effect idempotent on it.
 */
import { createServer } from "node:http";
import { readBody, secretFromEnv, verify } from "./verify.mjs";

const secret = secretFromEnv("WORKER_SECRET", "worker-secret-12345");
const port = Number(process.env.PORT ?? 9001);

/** The work itself. Here every task "ships"; the return value becomes the task's result. */
async function handle(_task) {
  return { shipped: true };
}

const server = createServer(async (req, res) => {
  if (req.method !== "POST") return res.writeHead(405, { allow: "POST" }).end();
  const body = await readBody(req);
  const check = verify(req.headers, body, secret);
  if (!check.ok) {
    console.log(`refused ${req.url}: ${check.reason}`);
    return res.writeHead(401, { "content-type": "text/plain" }).end(`refused: ${check.reason}\n`);
  }
  let task;
  try {
    ({ task } = JSON.parse(body));
  } catch {
    task = undefined;
  }
  if (!task?.id) {
    console.log(`refused ${req.url}: signed, but the body is not {"task": {...}}`);
    return res.writeHead(400, { "content-type": "text/plain" }).end("not a task\n");
  }
  try {
    const result = await handle(task);
    console.log(`done ${task.type} ${task.id} attempt=${task.attempt} priority=${task.priority} result=${JSON.stringify(result)}`);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result));
  } catch (err) {
    // A 5xx fails this attempt; edgebus retries it with backoff until maxAttempts.
    console.log(`failed ${task.type} ${task.id} attempt=${task.attempt}: ${err}`);
    res.writeHead(500, { "content-type": "text/plain" }).end(String(err));
  }
});

server.listen(port, "127.0.0.1", () => console.log(`worker listening on http://127.0.0.1:${port}`));

#!/usr/bin/env node
/**
 * Browser tests of the console (GET /console): starts its own `wrangler dev` on a free port (a
 * snapshot of the sources, fresh state, its own process group) and a local receiver, creates a
 * fresh tenant, and drives Debian's Chromium with playwright-core through every page: sign-in
 * (a wrong key shows the API's detail), overview, webhooks (create, pause/resume, rotate, test
 * send), a failed delivery's attempts and Redeliver, a dead task's Retry, schemas, cache, bad
 * input, and the partition page's live tail. It fails on any request to another origin than the
 * worker's, any console error or page error (except the API errors a step provokes on purpose),
 * and any horizontal overflow at phone width.
 *
 *   npm run test:browser                 # about a minute
 *   npm run screenshots                  # the same run, also writing docs/console/*.png
 *
 * CHROMIUM=/path/to/chromium overrides /usr/bin/chromium.
 */
import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { WranglerDev } from "../bench/lib/server.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SHOTS = process.argv.includes("--screenshots") ? join(ROOT, "docs", "console") : null;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const started = Date.now();
const server = new WranglerDev(ROOT);
let browser;
const watchdog = setTimeout(() => {
  console.error("browser-test: took longer than 300 s; stopping");
  server.killNow();
  process.exit(1);
}, 300_000);
process.on("exit", () => server.killNow());

// ---------- a local receiver: webhook target and task worker, each answering 500 until switched ----------

const receiver = { hook: 500, work: 500, hits: [] };
const http = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    const kind = req.url.startsWith("/work") ? "work" : "hook";
    receiver.hits.push({ kind, url: req.url, status: receiver[kind] });
    res.writeHead(receiver[kind], { "content-type": "application/json" });
    res.end(receiver[kind] < 300 ? JSON.stringify({ ok: true }) : JSON.stringify({ error: "receiver says no" }));
  });
});

// ---------- API helpers (Node side) ----------

let base;
let apiKey;
async function api(method, path, body, key = apiKey) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
async function ok(method, path, body) {
  const r = await api(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}
async function until(what, fn, ms = 30_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

// ---------- checks ----------

const results = [];
function check(cond, what) {
  if (!cond) throw new Error(what);
  console.log(`    ✓ ${what}`);
}
async function step(name, fn) {
  console.log(`  ${name}`);
  const t = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
  } catch (err) {
    console.error(`    ✗ ${err.message.split("\n").slice(0, 6).join("\n      ")}`);
    results.push({ name, ok: false, error: err.message });
  }
  console.log(`    (${((Date.now() - t) / 1000).toFixed(1)} s)`);
}

// Console errors and page errors fail the run; a step that provokes an error on purpose allows
// the browser's lines for exactly that: the "Failed to load resource: … status of N" of an API
// error (a number), or a pattern (the connection errors while the server restarts).
const problems = [];
let allowed = [];
async function allowing(what, fn) {
  allowed = what;
  try {
    return await fn();
  } finally {
    await sleep(100); // console events arrive asynchronously
    allowed = [];
  }
}
function isAllowed(text) {
  const status = Number(/status of (\d{3})/.exec(text)?.[1]);
  return allowed.some((a) => (typeof a === "number" ? a === status : a.test(text)));
}

async function shot(page, name) {
  if (!SHOTS) return;
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

/** The page is usable at phone width: nothing wider than the viewport. */
async function fitsPhone(page, what) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  check(scrollWidth <= innerWidth, `${what} fits a 390 px wide screen (${scrollWidth} ≤ ${innerWidth})`);
}

async function main() {
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  const recv = `http://127.0.0.1:${http.address().port}`;
  base = await server.start();
  const origin = new URL(base).origin;
  console.log(`browser-test: wrangler dev at ${base}, receiver at ${recv}`);

  // A fresh tenant, so runs are isolated from one another and from the dev tenant.
  const tenant = await api("POST", "/tenants", { name: `console-${Date.now()}` }, "dev-admin-token");
  if (tenant.status !== 201) throw new Error(`tenant: ${tenant.status} ${JSON.stringify(tenant.body)}`);
  apiKey = tenant.body.apiKey;

  // What the pages will show: a webhook whose deliveries fail (2 quick attempts), a dead task, a schema.
  const hook = await ok("POST", "/webhooks", {
    name: "console-failing",
    url: `${recv}/hook`,
    events: ["console.*"],
    secret: "console-secret-123",
    retryPolicy: { maxAttempts: 2, backoffMs: 100, timeoutMs: 5000 },
  });
  await ok("POST", "/workers", { name: "console-worker", url: `${recv}/work`, taskTypes: ["console.*"], secret: "console-worker-123" });
  await ok("PUT", "/schemas/console.checked/versions/1.0.0", {
    schema: { type: "object", properties: { n: { type: "integer" } } },
    description: "Console test schema",
  });
  const published = await ok("POST", "/events", { type: "console.checked", partitionKey: "console-p1", data: { n: 1 } });
  const task = await ok("POST", "/tasks", { id: "console-task-1", type: "console.job", data: { n: 1 }, maxAttempts: 1 });
  await until("the delivery to fail", async () => {
    const log = await ok("GET", `/webhooks/${hook.webhookId}/deliveries?status=FAILED`);
    return log.deliveries.length === 1 && log.deliveries[0].attempts.length === 2;
  });
  await until("the task to die", async () => (await ok("GET", `/tasks/${task.taskId}`)).status === "DEAD");

  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: "block" });
  // Nothing may leave the worker's origin: such a request is recorded and aborted.
  const foreign = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin || url.startsWith("data:")) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on("request", (req) => {
    const url = req.url();
    if (!url.startsWith("data:") && new URL(url).origin !== origin && !foreign.includes(url)) foreign.push(url);
  });
  page.on("websocket", (ws) => {
    if (new URL(ws.url()).host !== new URL(origin).host) foreign.push(ws.url());
  });
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const text = msg.text();
    if (isAllowed(text)) return;
    problems.push(`console error: ${text} (${msg.location()?.url ?? ""})`);
  });
  page.setDefaultTimeout(15_000);
  const link = (name) => page.getByRole("link", { name, exact: true });
  const button = (name) => page.getByRole("button", { name, exact: true });
  const alertText = async () => (await page.locator("#alert").textContent())?.trim() ?? "";
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });

  await step("sign-in: a wrong key shows the API's detail, the right one opens the overview", async () => {
    await page.goto(`${base}/console`);
    await page.getByLabel("API key").waitFor();
    await shot(page, "sign-in");
    const expected = (await api("GET", "/partitions?limit=1", undefined, "ebk_wrong_key")).body.detail;
    check(typeof expected === "string" && expected.length > 0, `the API's detail for a wrong key: "${expected}"`);
    await allowing([401], async () => {
      await page.getByLabel("API key").fill("ebk_wrong_key");
      await button("Sign in").click();
      await page.waitForFunction(() => document.getElementById("alert").textContent.trim() !== "");
    });
    check((await alertText()) === expected, "the page shows exactly the problem's detail");
    check(await link("Overview").isHidden(), "no navigation before signing in");
    await page.getByLabel("API key").fill(apiKey);
    await page.getByLabel("API key").press("Enter"); // keyboard: Enter submits
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    for (const name of ["Overview", "Events", "Webhooks", "Deliveries", "Tasks", "Schemas", "Cache"]) {
      check(await link(name).isVisible(), `navigation link "${name}"`);
    }
    check((await page.evaluate(() => document.cookie)) === "", "no cookies");
    check((await page.evaluate(() => sessionStorage.getItem("edgebus.apiKey"))) === apiKey, "the key is kept in sessionStorage");
  });

  await step("overview: live numbers from the API", async () => {
    await page.getByText("Deliveries failed").waitFor();
    const card = (label) => page.locator(".cards > div", { has: page.getByText(label, { exact: true }) }).locator("dd");
    // The page shows GET /stats as it is: the same figures the API gives this tenant.
    const stats = await ok("GET", "/stats");
    check(stats.deliveries.failed === 1 && stats.tasks.DEAD === 1, "GET /stats: 1 failed delivery, 1 dead task");
    check((await card("Deliveries failed").textContent()) === "1", "deliveries failed: 1");
    check((await card("Tasks DEAD").textContent()) === "1", "tasks DEAD: 1");
    check((await card("Subscriptions").textContent()) === "1", "subscriptions: 1");
    // The event accepted before the page opened is counted within a refresh or two (reported every few seconds).
    await until("the event to be counted", async () => Number(await card("Events last hour").textContent()) >= 1, 30_000);
    await until("events stored to show", async () => (await card("Events stored").textContent()) !== "0", 90_000).catch(() => {
      throw new Error("Events stored stayed 0 (the partition directory did not report)");
    });
    check(Number(await card("Events stored").textContent()) >= 1, "events stored ≥ 1");
    await shot(page, "overview");
  });

  await step("webhooks: open by name, test send, create, pause/resume, rotate secret, bad input", async () => {
    await link("Webhooks").click();
    await link("console-failing").click();
    await page.getByRole("heading", { name: "Webhook console-failing" }).waitFor();
    await button("Send test").click();
    await page.getByText(/Test send: failed, status 500/).waitFor();
    check(true, "a test send reports the receiver's 500");
    await shot(page, "webhook");
    await link("Webhooks").click();
    // Bad input: the API's problem detail is shown.
    await page.getByLabel("Name").fill("console-bad");
    await page.getByLabel("URL").fill("ftp://127.0.0.1/x");
    await page.getByLabel("Event types (comma-separated patterns)").fill("never.*");
    const bad = await api("POST", "/webhooks", { name: "console-bad", url: "ftp://127.0.0.1/x", events: ["never.*"] });
    await allowing([400], async () => {
      // type=url accepts ftp:, so the browser lets the form through to the API.
      await button("Create webhook").click();
      await page.waitForFunction(() => document.getElementById("alert").textContent.trim() !== "");
    });
    check(bad.status === 400 && (await alertText()) === bad.body.detail, `a refused URL shows the detail: "${bad.body.detail}"`);
    await page.getByLabel("Name").fill("console-created");
    await page.getByLabel("URL").fill(`${recv}/hook-created`);
    await page.getByLabel("Max attempts").fill("1");
    await button("Create webhook").click();
    await link("console-created").first().waitFor();
    check((await alertText()) === "", "creating a webhook shows no error");
    await page.getByText("Its signing secret (shown once): whsec_").waitFor();
    await page.getByRole("paragraph").getByRole("link", { name: "console-created" }).click();
    await button("Pause").click();
    await page.locator("#webhook-status").getByText("DISABLED").waitFor();
    await button("Resume").click();
    await page.locator("#webhook-status").getByText("ACTIVE").waitFor();
    check(true, "pause and resume change the status");
    await button("Rotate secret").click();
    await page.getByText("Secret rotated. New secret (shown once): whsec_").waitFor();
    check(true, "rotating shows the new secret");
  });

  await step("deliveries: a failed delivery's attempts, Redeliver, then delivered", async () => {
    await link("Deliveries").click();
    await page.getByLabel("Subscription").selectOption({ label: "console-failing" });
    await page.getByLabel("Status").selectOption("FAILED");
    const row = page.locator("tr", { has: page.getByRole("link", { name: published.eventId }) });
    await row.waitFor();
    const attempts = await row.locator("ol.attempts li").allTextContents();
    check(attempts.length === 2, `the delivery shows its 2 attempts`);
    for (const a of attempts) check(/status 500, \d+ ms/.test(a), `attempt with status code and duration: "${a.split(" — ")[0]}"`);
    await shot(page, "deliveries");
    receiver.hook = 200;
    const redeliver = row.getByRole("button", { name: "Redeliver" });
    await redeliver.focus();
    await page.keyboard.press("Enter"); // keyboard-usable
    await page.getByText(/sent again\./).waitFor();
    check((await alertText()) === "", "redeliver accepted");
    await page.getByLabel("Status").selectOption("DELIVERED");
    await until(
      "the delivery to show DELIVERED",
      async () => {
        await button("Refresh").click();
        await sleep(400);
        return (await page.locator("tr", { has: page.getByRole("link", { name: published.eventId }) }).count()) === 1;
      },
      30_000,
    );
    const delivered = page.locator("tr", { has: page.getByRole("link", { name: published.eventId }) });
    check((await delivered.locator(".st-DELIVERED").count()) === 1, "the delivery turned DELIVERED");
    check(/status 200/.test(await delivered.locator("ol.attempts").textContent()), "its latest attempt has status 200");
    // Recover with a date in the future: nothing to send; with a bad date the API's detail is shown.
    await page.getByLabel("Recover failed since").fill("2999-01-01T00:00");
    await button("Recover").click();
    await page.getByText("Recover: 0 deliveries sent again.").waitFor();
    check(true, "recover since answers with its count");
  });

  await step("tasks: the dead task's Retry runs it again", async () => {
    await link("Tasks").click();
    await page.getByLabel("Status").selectOption("DEAD");
    const row = page.locator("tr", { has: page.getByRole("button", { name: task.taskId }) });
    await row.waitFor();
    check((await row.locator(".st-DEAD").count()) === 1, "the task is listed as DEAD");
    await shot(page, "tasks");
    receiver.work = 200;
    await row.getByRole("button", { name: "Retry" }).click();
    await page.getByText(`Task ${task.taskId} is QUEUED again.`).waitFor();
    await until("the task to succeed", async () => (await ok("GET", `/tasks/${task.taskId}`)).status === "SUCCEEDED");
    await page.getByLabel("Status").selectOption("SUCCEEDED");
    await page
      .locator("tr", { has: page.getByRole("button", { name: task.taskId }) })
      .locator(".st-SUCCEEDED")
      .waitFor();
    check(true, "the retried task shows SUCCEEDED");
    await allowing([409], async () => {
      // Retrying it again (through the API the page uses) is refused; the page shows that detail too.
      const again = await api("POST", `/tasks/${task.taskId}/retry`);
      check(again.status === 409, "a task that is not DEAD cannot be retried (409)");
    });
    await page.getByRole("button", { name: task.taskId }).click();
    await page.getByRole("heading", { name: `Task ${task.taskId}` }).waitFor();
    check(/"shipped"|"ok": true/.test(await page.locator("pre").textContent()), "the task's result is shown");
  });

  await step("schemas and cache", async () => {
    await link("Schemas").click();
    await link("console.checked").click();
    await page.getByRole("heading", { name: "Version 1.0.0" }).waitFor();
    check(true, "a schema version is shown");
    await link("Cache").click();
    await page.getByLabel("Key", { exact: true }).fill("console-key");
    await page.getByLabel("Value (JSON)").fill('{"hello":"console"}');
    await button("Put").click();
    await page.getByText(/^STORED until/).waitFor();
    await button("Get").click();
    await page.getByText(/^HIT \(tier/).waitFor();
    check(/"hello": "console"/.test(await page.locator("#cache-result pre").textContent()), "get shows the value");
    await button("Clear").click();
    await page.getByText("CLEARED", { exact: true }).waitFor();
    const miss = await api("GET", "/cache/console-key");
    await allowing([404], async () => {
      await button("Get").click();
      await page.waitForFunction(() => document.getElementById("alert").textContent.trim() !== "");
    });
    check((await alertText()) === miss.body.detail, `a miss shows the detail: "${miss.body.detail}"`);
    await page.getByLabel("Value (JSON)").fill("{not json");
    await button("Put").click();
    check((await alertText()) === "The value must be JSON.", "a value that is not JSON is refused in the page");
  });

  await step("phone width: pages fit 390 px", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await link("Overview").click();
    await page.getByText("Deliveries failed").waitFor();
    await fitsPhone(page, "the overview");
    await shot(page, "overview-phone");
    await link("Deliveries").click();
    await page.getByLabel("Subscription").selectOption({ label: "console-failing" });
    await page.locator("table").first().waitFor();
    await fitsPhone(page, "the delivery log");
    await link("Tasks").click();
    await page.locator("table").first().waitFor();
    await fitsPhone(page, "the task list");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await step("live tail: an event published while the partition page is open appears", async () => {
    await link("Events").click();
    await page.getByLabel("Partition", { exact: true }).fill("console-p1");
    await button("Open partition").click();
    await page.getByRole("heading", { name: "Partition console-p1" }).waitFor();
    await page.locator('tr[data-sequence="1"]').waitFor();
    await page.locator('#tail-status[data-state="on"]').waitFor({ timeout: 15_000 });
    check(true, "the live tail is on");
    const next = await ok("POST", "/events", { type: "console.live", partitionKey: "console-p1", data: { live: true } });
    await page.locator('tr[data-sequence="2"]', { has: page.getByRole("link", { name: next.eventId }) }).waitFor({ timeout: 10_000 });
    check(true, `event ${next.eventId} appeared without a reload`);
    await shot(page, "partition");
    await page.getByRole("link", { name: next.eventId }).click();
    await page.getByRole("heading", { name: `Event ${next.eventId}` }).waitFor();
    check(true, "an event opens by id, with its deliveries");
  });

  await step("live tail: a dropped WebSocket reconnects with backoff (wrangler dev restarted)", async () => {
    await link("Events").click();
    await page.getByLabel("Partition", { exact: true }).fill("console-p1");
    await button("Open partition").click();
    await page.locator('#tail-status[data-state="on"]').waitFor();
    const seen = await page.locator("tbody tr").count();
    const dropped = /ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE|WebSocket connection to .* failed|Failed to fetch/;
    await allowing([dropped], async () => {
      const restarted = server.restart();
      await page.locator('#tail-status[data-state="off"]').waitFor({ timeout: 30_000 });
      check(/reconnecting in \d+ s/.test(await page.locator("#tail-status").textContent()), "the tail says it is off and when it retries");
      base = await restarted;
      await page.locator('#tail-status[data-state="on"]').waitFor({ timeout: 60_000 });
    });
    check(true, "the tail is on again after the restart");
    const after = await ok("POST", "/events", { type: "console.live", partitionKey: "console-p1", data: { afterRestart: true } });
    await page
      .locator(`tr[data-sequence="${after.sequence}"]`, { has: page.getByRole("link", { name: after.eventId }) })
      .waitFor({ timeout: 10_000 });
    check((await page.locator("tbody tr").count()) === seen + 1, `event ${after.eventId} appeared once, after the reconnect`);
  });

  await step("sign out forgets the key", async () => {
    await button("Sign out").click();
    await page.getByLabel("API key").waitFor();
    check((await page.evaluate(() => sessionStorage.getItem("edgebus.apiKey"))) === null, "sessionStorage is empty");
  });

  await step("no request left the worker's origin; no console or page errors", async () => {
    await sleep(200);
    check(foreign.length === 0, `no request to another origin${foreign.length ? `: ${foreign.join(", ")}` : ""}`);
    check(problems.length === 0, `no console or page errors${problems.length ? `:\n      ${problems.join("\n      ")}` : ""}`);
  });
}

async function finish(code) {
  clearTimeout(watchdog);
  await browser?.close().catch(() => {});
  await server.stop();
  http.close();
  const failed = results.filter((r) => !r.ok);
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  if (code === 0 && failed.length === 0) console.log(`browser-test: OK, ${results.length} steps in ${secs} s`);
  else console.error(`browser-test: FAILED (${failed.map((f) => f.name).join("; ") || "set-up"}) after ${secs} s`);
  process.exit(code === 0 && failed.length === 0 ? 0 : 1);
}

main()
  .then(() => finish(0))
  .catch(async (err) => {
    console.error(`browser-test: ${err.stack ?? err.message}`);
    console.error(server.logTail?.(20) ?? "");
    await finish(1);
  });

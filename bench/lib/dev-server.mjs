/**
 * Runs one worker for the benchmark the way `wrangler dev` does (same config, bundling, Miniflare
 * simulators, --persist-to state), through wrangler's own `unstable_startWorker`, with one
 * difference: no devtools inspector. `wrangler dev` always attaches its inspector relay to the
 * runtime and enables the Network domain, so every outbound fetch the worker makes sends several
 * devtools events, each relayed to wrangler's Node process as an HTTP request: at a few hundred
 * deliveries per second the relay is a measurable share of the machine, and under a burst its
 * backlog of connections ran into the open-file limit ("Too many open files") and stalled the
 * server for minutes. A benchmark measures the worker, not the debugger's relay.
 *
 * Usage (spawned by server.mjs): node dev-server.mjs <config> <port> <persist-dir> <vars-json>
 */
import { unstable_startWorker } from "wrangler";

const [config, port, persist, varsJson] = process.argv.slice(2);
const vars = JSON.parse(varsJson ?? "{}");

const worker = await unstable_startWorker({
  config,
  // --var NAME:value: plain-text bindings that override the config's [vars].
  bindings: Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, { type: "plain_text", value: String(value) }])),
  dev: {
    server: { hostname: "127.0.0.1", port: Number(port) },
    inspector: false,
    persist,
    watch: false,
    liveReload: false,
    // BENCH_LOG_LEVEL=info for diagnosis: the local queue broker then logs each batch and its duration.
    logLevel: process.env.BENCH_LOG_LEVEL ?? "warn",
  },
});
await worker.ready;
console.log(`ready on http://127.0.0.1:${port}`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await worker.dispose().catch(() => {});
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

/**
 * Runs the README's walk-through exactly as printed, against a fresh `wrangler dev`, and checks it.
 *
 *   npm run walkthrough
 *
 * What it runs comes from README.md itself:
 *   - the ```sh block after `<!-- walkthrough:background -->`: one long-running command per line
 *     (the example receiver and worker), started in the background;
 *   - every ```sh block after `<!-- walkthrough -->`, in order, in one bash process (so shell
 *     variables carry over from block to block, as in a reader's terminal).
 * Each command is followed in the README by an optional `# → <status> <output>` line: the command's
 * HTTP status (of its last curl) must be <status>, and the pieces of <output> between `…` must
 * appear in its output in that order (case-insensitive, because HTTP header names are). A GET
 * whose check fails is tried again for a few seconds (deliveries and tasks are asynchronous).
 *
 * The README's addresses are replaced by free ports (8787 → the server, 9000 → the receiver,
 * 9001 → the worker, 9999 → a port where nothing listens), so a developer's own `npm start` and
 * other runs on the machine are not disturbed. The server runs with fresh state in a temp folder
 * and is stopped by process group at the end. Every wait has a time-out; the whole run is capped.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, WranglerDev } from "../bench/lib/server.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const TOTAL_LIMIT_MS = 150_000;
const STEP_LIMIT_MS = 30_000;
const RETRY_FOR_MS = 8_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const failures = [];
const children = [];

// ---------- reading the README ----------

/** The ```sh blocks that follow a given HTML comment marker. */
function markedBlocks(markdown, marker) {
  const blocks = [];
  const re = new RegExp(`<!--\\s*${marker}\\s*-->\\s*\\n\`\`\`(?:sh|bash)\\n([\\s\\S]*?)\\n\`\`\``, "g");
  for (const m of markdown.matchAll(re)) blocks.push(m[1]);
  return blocks;
}

/**
 * Splits a block into steps: a command (continued while a line ends in `\` or a single-quoted
 * string is still open) with the `# →` expectation lines that follow it.
 */
function steps(block) {
  const out = [];
  let cur = null;
  const open = (cmd) => (cmd.match(/'/g) ?? []).length % 2 === 1 || /\\$/.test(cmd);
  for (const line of block.split("\n")) {
    if (cur && open(cur.command)) {
      cur.command += `\n${line}`;
      continue;
    }
    const expect = line.match(/^#\s*→\s*(.*)$/);
    if (expect) {
      if (!cur) throw new Error(`an expectation with no command before it: ${line}`);
      cur.expect = expect[1].trim();
      continue;
    }
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    cur = { command: line, expect: null };
    out.push(cur);
  }
  return out;
}

function parseExpect(text) {
  if (text === null) return null;
  const m = text.match(/^(\d{3})(?:\s+([\s\S]*))?$/);
  const status = m ? Number(m[1]) : null;
  const pattern = m ? (m[2] ?? "") : text;
  const pieces = pattern
    .split("…")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  return { status, pieces };
}

function matches(output, pieces) {
  const hay = output.toLowerCase();
  let at = 0;
  for (const piece of pieces) {
    const i = hay.indexOf(piece.toLowerCase(), at);
    if (i < 0) return `missing ${JSON.stringify(piece)}`;
    at = i + piece.length;
  }
  return null;
}

// ---------- processes ----------

function startBackground(line, logPath) {
  const command = line.replace(/\s+#.*$/, ""); // a trailing comment would swallow the redirection
  const child = spawn("bash", ["-c", `${command} >${JSON.stringify(logPath)} 2>&1`], {
    cwd: root,
    detached: true,
    stdio: "ignore",
  });
  children.push(child);
  return child;
}

async function waitForLine(path, re, ms, what) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch {
      // not written yet
    }
    if (re.test(text)) return;
    await sleep(100);
  }
  throw new Error(`${what} did not start within ${ms / 1000} s:\n${safeRead(path)}`);
}

function safeRead(path) {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** One bash process that runs the steps in order; a step's output goes to files in `dir`. */
class Shell {
  constructor(dir) {
    this.dir = dir;
    this.proc = spawn("bash", ["--noprofile", "--norc"], { cwd: root, detached: true, stdio: ["pipe", "pipe", "inherit"] });
    children.push(this.proc);
    this.buffer = "";
    this.waiter = null;
    this.proc.stdout.on("data", (d) => {
      this.buffer += d;
      this.waiter?.();
    });
    // Each curl also writes its status code to stderr (the step's .err file); --max-time bounds it.
    this.send(`curl() { command curl --max-time 20 -w '%{stderr}@@status %{http_code}\\n' "$@"; }\n`);
  }

  send(text) {
    this.proc.stdin.write(text);
  }

  async run(command) {
    const out = join(this.dir, "out");
    const err = join(this.dir, "err");
    this.buffer = "";
    this.send(`{ ${command}\n} >${JSON.stringify(out)} 2>${JSON.stringify(err)}; echo "@@done $?"\n`);
    const deadline = Date.now() + STEP_LIMIT_MS;
    while (!/@@done (\d+)/.test(this.buffer)) {
      if (Date.now() > deadline) throw new Error(`step did not finish within ${STEP_LIMIT_MS / 1000} s`);
      await new Promise((r) => {
        this.waiter = r;
        setTimeout(r, 200);
      });
    }
    const exit = Number(this.buffer.match(/@@done (\d+)/)[1]);
    const errText = safeRead(err);
    const statuses = [...errText.matchAll(/@@status (\d+)/g)].map((m) => Number(m[1]));
    const stderr = errText.replace(/@@status \d+\n?/g, "");
    return { exit, stdout: safeRead(out), stderr, status: statuses.at(-1) ?? null };
  }
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

// ---------- the run ----------

async function main() {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const background = markedBlocks(readme, "walkthrough:background")
    .flatMap((b) => b.split("\n"))
    .filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
  const plan = markedBlocks(readme, "walkthrough").flatMap(steps);
  if (background.length === 0 || plan.length === 0) throw new Error("README.md has no marked walk-through blocks");

  const tmp = mkdtempSync(join(tmpdir(), "edgebus-walkthrough-"));
  const server = new WranglerDev(root);
  const stopAll = async () => {
    for (const c of children) signalGroup(c.pid, "SIGKILL");
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  };
  const cap = setTimeout(async () => {
    console.error(`\nwalkthrough: over the ${TOTAL_LIMIT_MS / 1000} s limit, stopping`);
    await stopAll();
    process.exit(1);
  }, TOTAL_LIMIT_MS);

  try {
    const [rec, wrk, dead] = [await freePort(), await freePort(), await freePort()];
    const base = await server.start({ readyTimeoutMs: 60_000 });
    const port = new URL(base).port;
    const swaps = [
      ["127.0.0.1:8787", `127.0.0.1:${port}`],
      ["127.0.0.1:9000", `127.0.0.1:${rec}`],
      ["127.0.0.1:9001", `127.0.0.1:${wrk}`],
      ["127.0.0.1:9999", `127.0.0.1:${dead}`],
      ["PORT=9000", `PORT=${rec}`],
      ["PORT=9001", `PORT=${wrk}`],
    ];
    const local = (text) => swaps.reduce((t, [a, b]) => t.split(a).join(b), text);
    console.log(`walkthrough: wrangler dev on ${base}, receiver :${rec}, worker :${wrk}, nothing on :${dead}`);

    const logs = background.map((line, i) => {
      const log = join(tmp, `background-${i}.log`);
      console.log(`$ ${line}   (background)`);
      startBackground(local(line), log);
      return log;
    });
    for (const [i, log] of logs.entries()) await waitForLine(log, /listening/, 10_000, background[i]);

    const shell = new Shell(tmp);
    for (const step of plan) {
      const command = local(step.command);
      const expect = parseExpect(step.expect === null ? null : local(step.expect));
      const isGet = /^\s*(?:\w+=\$\()?curl\b/.test(command) && !/\s-X\s|\s-d\s/.test(command);
      const until = Date.now() + RETRY_FOR_MS;
      let result;
      let problem;
      for (;;) {
        result = await shell.run(command);
        problem = check(result, expect);
        if (!problem || !isGet || Date.now() > until) break;
        await sleep(500);
      }
      console.log(`$ ${step.command}`);
      const shown = result.stdout.trim();
      if (shown) console.log(shown.length > 400 ? `${shown.slice(0, 400)}…` : shown);
      if (problem) {
        console.log(`  ✗ ${problem}${step.expect ? `\n    expected: ${step.expect}` : ""}`);
        if (result.stderr.trim()) console.log(`    stderr: ${result.stderr.trim()}`);
        failures.push(`${step.command.split("\n")[0]}: ${problem}`);
      } else if (step.expect) {
        console.log(`  ✓ ${step.expect.slice(0, 100)}`);
      }
    }
    shell.send("exit\n");

    // What the README says the examples printed.
    await sleep(300);
    const [receiverLog, workerLog] = logs.map(safeRead);
    const expectLog = (text, re, what) => {
      if (re.test(text)) console.log(`  ✓ ${what}`);
      else failures.push(`${what}: not found in\n${text}`);
    };
    console.log(`\nexample receiver:\n${receiverLog.trim()}`);
    expectLog(
      receiverLog,
      /verified order\.status\.changed evt_\S+ partition=_shard-\d+ sequence=\d+/,
      "the receiver verified the routed event",
    );
    expectLog(receiverLog, /verified order\.created evt_\S+ partition=order-777 sequence=1/, "the receiver verified the webhook delivery");
    expectLog(receiverLog, /verified webhook\.test/, "the receiver verified the test delivery");
    if (/refused/.test(receiverLog)) failures.push("the receiver refused a request");
    console.log(`\nexample worker:\n${workerLog.trim()}`);
    expectLog(
      workerLog,
      /done process\.order order-123-fulfil attempt=1 priority=high result=\{"shipped":true\}/,
      "the worker answered the task",
    );
    if (/refused/.test(workerLog)) failures.push("the worker refused a request");
    const wranglerLog = server.logText();
    if (/ENOTFOUND|workers\.cloudflare\.com/.test(wranglerLog)) failures.push(`wrangler dev tried to reach the network:\n${wranglerLog}`);
  } finally {
    clearTimeout(cap);
    await stopAll();
  }

  if (failures.length > 0) {
    console.error(`\nwalkthrough: ${failures.length} problem(s):\n- ${failures.join("\n- ")}`);
    process.exit(1);
  }
  console.log("\nwalkthrough: every step worked as printed");
}

function check(result, expect) {
  if (result.exit !== 0) return `exit status ${result.exit}`;
  if (!expect) return null;
  if (expect.status !== null && result.status !== expect.status) return `HTTP ${result.status}, expected ${expect.status}`;
  return matches(result.stdout, expect.pieces);
}

main().catch((err) => {
  console.error(`walkthrough: ${err.stack ?? err}`);
  for (const c of children) signalGroup(c.pid, "SIGKILL");
  process.exit(1);
});

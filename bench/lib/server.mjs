/**
 * Starts the worker (`wrangler dev` without its devtools relay: dev-server.mjs) for one benchmark
 * run and stops it again.
 *
 * The worker runs from a snapshot of src/ and wrangler.toml copied into a temp folder (with a
 * symlink to node_modules): wrangler dev watches its sources and reloads on every save, and a
 * reload in the middle of a run drops in-memory queue messages and resets the isolate, which
 * would show up as lost deliveries or a throughput dip that has nothing to do with the code.
 * State goes to a fresh --persist-to folder in the same temp folder, removed at the end.
 *
 * wrangler is spawned detached (its own process group, like setsid) and stopped by signalling
 * the whole group, so workerd and esbuild go with it (killing wrangler alone can leave workerd
 * running and holding the port).
 */
import { spawn } from "node:child_process";
import { cpSync, createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** A free TCP port on 127.0.0.1, never 8787 (someone's `npm start`). */
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const srv = createServer();
      srv.once("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const { port: p } = srv.address();
        srv.close(() => resolve(p));
      });
    });
    if (port !== 8787) return port;
  }
}

/** Copies what the worker is built from; returns the snapshot's folder. */
function snapshot(root, into) {
  const app = join(into, "app");
  // bench/calibration: the calibration worker, which imports edgebus's own signed POST from src/.
  for (const entry of ["src", "wrangler.toml", "tsconfig.json", "package.json", "bench/calibration"]) {
    cpSync(join(root, entry), join(app, entry), { recursive: true });
  }
  symlinkSync(join(root, "node_modules"), join(app, "node_modules"), "dir");
  return app;
}

export class WranglerDev {
  /** `config`: another wrangler config inside the snapshot (the calibration worker); default edgebus's. */
  /** `vars`: {NAME: value} passed as `--var NAME:value` (overrides wrangler.toml's [vars]). */
  constructor(root, { keepState = false, config = null, vars = {} } = {}) {
    this.root = root;
    this.keepState = keepState;
    this.config = config;
    this.vars = vars;
    this.child = null;
    this.exited = null;
    this.tmp = mkdtempSync(join(tmpdir(), "edgebus-bench-"));
    this.logPath = join(this.tmp, "wrangler.log");
  }

  async start({ readyTimeoutMs = 90_000 } = {}) {
    // A restart (restart()) runs the same snapshot on the same port with the same state.
    this.app ??= snapshot(this.root, this.tmp);
    const app = this.app;
    const state = join(this.tmp, "state");
    this.port ??= await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    const log = createWriteStream(this.logPath);
    // wrangler dev without its devtools relay (dev-server.mjs says why).
    const args = [
      join(this.root, "bench", "lib", "dev-server.mjs"),
      join(app, this.config ?? "wrangler.toml"),
      String(this.port),
      state,
      JSON.stringify(this.vars),
    ];
    this.child = spawn(process.execPath, args, {
      cwd: app,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      // No network: no metrics, no update check (banner), no fetch of the Request.cf object.
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        WRANGLER_HIDE_BANNER: "true",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        NO_COLOR: "1",
        FORCE_COLOR: "0",
      },
    });
    this.child.stdout.pipe(log);
    this.child.stderr.pipe(log);
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + readyTimeoutMs;
    let early = null;
    this.exited.then((e) => (early = e));
    while (Date.now() < deadline) {
      if (early) throw new Error(`wrangler dev exited before it was ready (${JSON.stringify(early)}):\n${this.logTail()}`);
      try {
        const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return this.url;
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
    throw new Error(`wrangler dev was not ready within ${readyTimeoutMs / 1000} s:\n${this.logTail()}`);
  }

  logText() {
    try {
      return readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  logTail(lines = 30) {
    return this.logText().split("\n").slice(-lines).join("\n");
  }

  /** Lines the worker or wrangler logged at error/warn level (for the report). */
  logSummary() {
    // wrangler's own attempts to reach the network (the Request.cf object) are noise offline.
    const noise = /workers\.cloudflare\.com|Request\.cf/;
    const lines = this.logText()
      .split("\n")
      .filter((l) => l.trim() !== "" && !noise.test(l));
    const errors = lines.filter((l) => /"level":"error"|\bERROR\b|✘|Uncaught|Error:/i.test(l));
    const warnings = lines.filter((l) => /"level":"warn"|▲|\bWARN/i.test(l));
    const distinct = (list) => [...new Set(list.map((l) => l.slice(0, 300)))].slice(0, 8);
    return {
      lines: lines.length,
      errorLines: errors.length,
      warnLines: warnings.length,
      errorSamples: distinct(errors),
      warnSamples: distinct(warnings),
    };
  }

  /** SIGTERM to the group, SIGKILL after a grace period; safe to call twice. */
  async stop(graceMs = 5000) {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      signalGroup(child.pid, "SIGTERM");
      const done = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!done) signalGroup(child.pid, "SIGKILL");
      await Promise.race([this.exited, sleep(2000)]);
    }
    // workerd may outlive wrangler's own exit: sweep the group once more.
    if (child) signalGroup(child.pid, "SIGKILL");
    this.child = null;
    if (!this.keepState) rmSync(this.tmp, { recursive: true, force: true });
  }

  /** Stops wrangler dev and starts it again on the same port and state (the chaos run's mid-run restart). */
  async restart(options) {
    const keep = this.keepState;
    this.keepState = true;
    await this.stop();
    this.keepState = keep;
    return this.start(options);
  }

  /**
   * CPU seconds used so far by wrangler's process group (workerd included), from /proc; null
   * where there is no /proc. Lets a calibration wait until edgebus has finished its background
   * work (outcomes recorded after the last receipt) instead of measuring beside it.
   */
  cpuSeconds() {
    if (!this.child) return null;
    try {
      let ticks = 0;
      for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
        let stat;
        try {
          stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        } catch {
          continue; // gone meanwhile
        }
        // Fields after the command name (which may contain spaces): state is the 3rd field.
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (Number(f[2]) === this.child.pid) ticks += Number(f[11]) + Number(f[12]);
      }
      return ticks / 100; // USER_HZ is 100 on Linux
    } catch {
      return null;
    }
  }

  /** Waits (at most maxMs) until the group used under `share` of a core over 500 ms; returns the ms waited. */
  async quiesce({ share = 0.15, maxMs = 15_000 } = {}) {
    const start = Date.now();
    let last = this.cpuSeconds();
    if (last === null) return 0;
    while (Date.now() - start < maxMs) {
      await sleep(500);
      const now = this.cpuSeconds();
      if (now - last < share * 0.5) break;
      last = now;
    }
    return Date.now() - start;
  }

  /** Synchronous last resort for process.on("exit"). */
  killNow() {
    if (this.child) signalGroup(this.child.pid, "SIGKILL");
  }
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/** What the CLI prints: one-line errors, tables, event lines, and the replay progress bar. */
import { EdgebusError } from "../client/index.js";

/** A mistake the user can fix: printed as one line, exit code 1 (or `exitCode`). */
export class CliError extends Error {
  constructor(message, exitCode = 1) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** One line for any error: never a stack trace. */
export function describeError(err, url) {
  if (err instanceof CliError) return err.message;
  if (err instanceof EdgebusError) {
    const hint = err.status === 401 ? " (check EDGEBUS_API_KEY or --api-key)" : "";
    return `${err.status} ${err.message}${hint}`;
  }
  if (err?.name === "TimeoutError") return `no answer from ${url ?? "the server"} in time`;
  // fetch failures carry the reason in `cause` (ECONNREFUSED, ENOTFOUND, …).
  if (err instanceof TypeError && err.message === "fetch failed") {
    const cause = err.cause;
    const reason = cause?.code ?? cause?.message ?? "network error";
    return `cannot reach ${url ?? "the server"}: ${reason}`;
  }
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n")[0] || "unexpected error";
}

/** A plain text table: columns padded to their widest cell, two spaces apart. */
export function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? "").length)));
  const line = (cells) =>
    cells
      .map((c, i) => String(c ?? "").padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** One event as one line: time, type, id, partition, sequence and the data. */
export function eventLine(event, extra = "") {
  const data = JSON.stringify(event.data ?? {});
  return `${event.timestamp ?? ""} ${event.type} ${event.id} partition=${event.partitionKey} sequence=${event.sequence}${extra} data=${data.length > 200 ? `${data.slice(0, 197)}...` : data}`;
}

/**
 * Replay progress: a bar redrawn in place when `tty` (stdout is a terminal), else one plain line
 * each time the figures change. `total` (partitions) may be unknown (null).
 */
export function progressPrinter({ tty, write = (s) => process.stdout.write(s), width = 30 }) {
  let last = "";
  return {
    update(state, total) {
      const scanned = state.partitionsScanned;
      const of = total ? Math.max(total, scanned) : null;
      const figures = `partitions=${scanned}${of ? `/${of}` : ""} events=${state.eventsScanned} deliveries=${state.deliveriesCreated}`;
      if (tty) {
        const done = state.status === "COMPLETED" ? 1 : of ? Math.min(1, scanned / of) : 0;
        const filled = Math.round(done * width);
        write(`\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${Math.round(done * 100)}% ${state.status} ${figures}\x1b[K`);
        return;
      }
      const text = `replay ${state.replayId} ${state.status} ${figures}`;
      if (text !== last) write(`${text}\n`);
      last = text;
    },
    end() {
      if (tty) write("\n");
    },
  };
}

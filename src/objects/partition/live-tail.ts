/**
 * The live tail of a partition (`GET /partitions/:key/stream`): WebSockets accepted with the
 * hibernation API, so an idle tail keeps no isolate alive; the object wakes only to push an
 * appended event. Browsers cannot send headers on a WebSocket, so they open the stream with a
 * short-lived single-use token that an authenticated call obtained (signed by the worker); the
 * object keeps the token's SHA-256 only, and redeeming it deletes it.
 */
import { sha256Hex } from "../../domain/ids.js";
import { parseStored, publicEvent, type StoredEventText } from "../../schemas/event.js";

/** At most this many open tails per partition. */
export const MAX_TAILS = 100;
/** A stream token opens one stream within this long of its issue. */
export const STREAM_TOKEN_TTL_MS = 60_000;

export const STREAM_TOKENS_TABLE = "CREATE TABLE stream_tokens (hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)";

export class LiveTail {
  /**
   * False once the object has seen no open tail and accepted none since, so a publish skips asking
   * the runtime for its sockets. Only `accept` opens a tail here, and a woken object starts at true.
   */
  private mayHaveTails = true;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly sql: SqlStorage,
  ) {
    // Answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", '{"type":"pong"}'));
  }

  get open(): number {
    return this.ctx.getWebSockets().length;
  }

  async issueToken(token: string, expiresAt: number, now: number): Promise<void> {
    this.sql.exec("DELETE FROM stream_tokens WHERE expires_at <= ?", now);
    this.sql.exec("INSERT INTO stream_tokens (hash, expires_at) VALUES (?, ?)", await sha256Hex(token), expiresAt);
  }

  /** True once for a token this partition issued that has not expired. */
  async redeem(token: string, now: number): Promise<boolean> {
    const hash = await sha256Hex(token);
    const row = this.sql.exec<{ expires_at: number }>("DELETE FROM stream_tokens WHERE hash = ? RETURNING expires_at", hash).toArray()[0];
    return row !== undefined && row.expires_at > now;
  }

  /** Accepts the server end of a new tail and greets it with the partition's last sequence. */
  accept(partitionKey: string, lastSequence: number): WebSocket {
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    this.mayHaveTails = true;
    server.send(JSON.stringify({ type: "ready", partition: partitionKey, lastSequence }));
    return client;
  }

  /** Pushes each appended event to every open tail (nothing is built when none is open). */
  broadcast(events: StoredEventText[]): void {
    if (events.length === 0 || !this.mayHaveTails) return;
    const sockets = this.ctx.getWebSockets();
    if (sockets.length === 0) {
      this.mayHaveTails = false;
      return;
    }
    for (const stored of events) {
      const frame = JSON.stringify({ type: "event", event: publicEvent(parseStored(stored)) });
      for (const ws of sockets) {
        try {
          ws.send(frame);
        } catch {
          // closing or closed: webSocketClose cleans up
        }
      }
    }
  }
}

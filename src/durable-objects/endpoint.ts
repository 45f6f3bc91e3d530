/**
 * Endpoint Durable Object — declared in wrangler.toml from the start (DESIGN §2) so the binding and its
 * SQLite migration exist; its RPC methods are added by the issue that builds it.
 */
import { DurableObject } from "cloudflare:workers";

export class Endpoint extends DurableObject<Env> {}

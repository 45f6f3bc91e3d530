/**
 * Worker endpoints (HTTP receivers of tasks), stored in the Tenant object. Concrete fields only:
 * an `unknown` anywhere in the type (an index signature included) turns the Tenant object's RPC
 * return types into `never`.
 */
import type { SigningSecret } from "./subscription.js";

export interface WorkerRecord {
  id: string;
  name: string;
  url: string;
  /** Task type patterns (AMQP topic rules) this worker serves. */
  taskTypes: string[];
  /** At most this many attempts at once on this worker (per consumer isolate). */
  concurrency: number;
  /** Throttling across every consumer invocation (the worker's Endpoint object keeps the gate). */
  rateLimit?: { perSecond?: number; maxInFlight?: number };
  secrets: SigningSecret[];
  createdAt: string;
}

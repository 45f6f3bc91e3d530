/** Partition Durable Object (placeholder until the event-bus core lands). */
import { DurableObject } from "cloudflare:workers";

export class Partition extends DurableObject<Env> {}

/** Talks to the real receiver (test/helpers/receiver.ts) from inside workerd. */
import { env } from "cloudflare:workers";
import type { Received, Script } from "./receiver.js";

let counter = 0;

/** A fresh bucket (its own URL and log) for one test. */
export function bucket(label = "b"): { name: string; url: string } {
  const name = `${label}-${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  return { name, url: `${env.RECEIVER_URL}/hook/${name}` };
}

export async function script(name: string, s: Script): Promise<void> {
  const res = await fetch(`${env.RECEIVER_URL}/_script/${name}`, { method: "POST", body: JSON.stringify(s) });
  if (res.status !== 204) throw new Error(`scripting the receiver failed: ${res.status}`);
}

export async function received(name: string): Promise<Received[]> {
  return (await (await fetch(`${env.RECEIVER_URL}/_log/${name}`)).json()) as Received[];
}

/** Waits until the bucket has at least `n` requests (polling), or fails after `timeoutMs`. */
export async function waitFor(name: string, n: number, timeoutMs = 10_000): Promise<Received[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const got = await received(name);
    if (got.length >= n) return got;
    if (Date.now() > until) throw new Error(`receiver bucket ${name}: expected ${n} requests, got ${got.length}`);
    await sleep(100);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs in Node before the Workers-pool tests: starts the real HTTP receiver on 127.0.0.1 that
 * webhook and worker tests deliver to, and hands its URL to the pool as the RECEIVER_URL binding.
 */
import type { TestProject } from "vitest/node";
import { startReceiver } from "./receiver.js";

declare module "vitest" {
  export interface ProvidedContext {
    receiverUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const receiver = await startReceiver();
  project.provide("receiverUrl", receiver.url);
  return () => receiver.close();
}

/** Worker endpoints (HTTP receivers of tasks), stored in the Tenant object. */
import type { SigningSecret } from "./subscription.js";

export interface WorkerRecord {
  id: string;
  name: string;
  url: string;
  taskTypes: string[];
  concurrency: number;
  secrets: SigningSecret[];
  createdAt: string;
  [key: string]: unknown;
}

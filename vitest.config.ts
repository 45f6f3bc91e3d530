import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Every test runs inside workerd with the bindings of wrangler.toml (Durable Objects, Queues,
// KV, Cache API as Miniflare simulates them). test/helpers/global-setup.ts runs in Node and
// starts real HTTP receivers on 127.0.0.1 for webhook and worker tests.
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: { RECEIVER_URL: inject("receiverUrl") },
      },
    })),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});

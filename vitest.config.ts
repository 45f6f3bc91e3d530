import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Two projects. `unit`: the pure modules of src/domain/ in plain Node (milliseconds, no runtime
// to boot). `workers`: everything else runs inside workerd with the bindings of wrangler.toml
// (Durable Objects, Queues, KV, Cache API as Miniflare simulates them); its global setup runs in
// Node and starts real HTTP receivers on 127.0.0.1 for webhook and worker tests.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
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
          name: "workers",
          include: ["test/integration/**/*.test.ts", "test/workers/**/*.test.ts"],
          globalSetup: ["test/helpers/global-setup.ts"],
          testTimeout: 20_000,
          hookTimeout: 20_000,
        },
      },
    ],
  },
});

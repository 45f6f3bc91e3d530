import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// standardwebhooks (the reference verifier the tests check signatures with) ships source maps that
// point at a src/ it does not publish, and Vite warns about that on every run. Its files are loaded
// without the map comment: the tests never step into that library.
const MAP_WITHOUT_SOURCES = /\/node_modules\/standardwebhooks\/dist\/[^?]+\.js(\?|$)/;
const withoutBrokenSourcemaps = {
  name: "edgebus:without-broken-sourcemaps",
  async load(id: string) {
    if (!MAP_WITHOUT_SOURCES.test(id)) return null;
    const code = await readFile(id.split("?")[0] as string, "utf8");
    return { code: code.replace(/^\/\/# sourceMappingURL=.*$/m, ""), map: null };
  },
};

// The cloudevents SDK (the tests build and parse CloudEvents with it) require()s uuid, whose
// package exports send that require to its ES module wrapper, which a require() inside workerd
// cannot use; its CommonJS build is given instead.
const UUID_CJS = fileURLToPath(new URL("./node_modules/uuid/dist/index.js", import.meta.url));
const uuidForRequire = {
  name: "edgebus:uuid-for-require",
  enforce: "pre" as const,
  resolveId(id: string) {
    return id === "uuid" ? UUID_CJS : null;
  },
};

// Two projects. `unit`: the pure modules of src/domain/ in plain Node (milliseconds, no runtime
// to boot). `workers`: everything else runs inside workerd with the bindings of wrangler.toml
// (Durable Objects, Queues, KV, Cache API as Miniflare simulates them); its global setup runs in
// Node and starts real HTTP receivers on 127.0.0.1 for webhook and worker tests.
export default defineConfig({
  plugins: [uuidForRequire],
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
              // A slow replay pace, so the pacing test tells a paced replay from an unpaced one on any machine.
              bindings: {
                RECEIVER_URL: inject("receiverUrl"),
                FUZZ_SEED: process.env.FUZZ_SEED ?? "",
                REPLAY_DELIVERIES_PER_SECOND: "200",
              },
            },
          })),
          withoutBrokenSourcemaps,
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

// Bindings that exist only in tests (vitest.config.ts adds them to the pool's Miniflare).
declare namespace Cloudflare {
  interface Env {
    /** Base URL of the Node receiver started by test/helpers/global-setup.ts. */
    RECEIVER_URL: string;
    /** Overrides the fuzz test's seed (test/integration/fuzz.test.ts): `FUZZ_SEED=123 npm test`. */
    FUZZ_SEED: string;
  }
}

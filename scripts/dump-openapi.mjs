// Writes the OpenAPI document that GET /openapi.json serves, without starting a worker: bundles
// src/app.ts for Node with the Workers-only imports stubbed out (only the route table is needed),
// then asks the app for /openapi.json. Usage: node scripts/dump-openapi.mjs [out.json]

import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const out = process.argv[2];
const bundle = ".wrangler/tmp/openapi-dump.mjs";

const stubs = {
  name: "stubs",
  setup(b) {
    // Durable Object classes only need a base class to extend; the docs UI and console assets only a string.
    b.onResolve({ filter: /^cloudflare:/ }, (a) => ({ path: a.path, namespace: "stub" }));
    b.onResolve({ filter: /^swagger-ui-dist\// }, (a) => ({ path: a.path, namespace: "stub" }));
    // The console's script is bundled as text by wrangler (a Text rule); here a string will do.
    b.onResolve({ filter: /\/console\/console\.js$/ }, (a) => ({ path: a.path, namespace: "stub" }));
    b.onLoad({ filter: /.*/, namespace: "stub" }, (a) => ({
      contents: a.path.startsWith("cloudflare:")
        ? "export class DurableObject {} export class WorkerEntrypoint {} export const env = {};"
        : 'export default "";',
      loader: "js",
    }));
  },
};

await mkdir(dirname(bundle), { recursive: true });
await build({
  entryPoints: ["src/app.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  outfile: bundle,
  logLevel: "warning",
  plugins: [stubs],
});
const { buildApp } = await import(pathToFileURL(bundle).href);
const res = await buildApp().request("http://127.0.0.1/openapi.json");
if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}: ${await res.text()}`);
const text = `${JSON.stringify(await res.json(), null, 2)}\n`;
if (out) {
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, text);
} else {
  process.stdout.write(text);
}

// Secrets are not in wrangler.toml, so `wrangler types` cannot see them; they are declared here.
declare namespace Cloudflare {
  interface Env {
    /** Admin token for POST /tenants (`wrangler secret put ADMIN_TOKEN`); required in production. */
    ADMIN_TOKEN?: string;
  }
}

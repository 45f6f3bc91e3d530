/** The Hono environment shared by the app, its middleware and its routes. */
import type { Scope } from "./domain/scopes.js";

export interface Principal {
  tenantId: string;
  keyId: string;
  /** What the key may do (domain/scopes.ts); the route's scope is checked by the auth middleware. */
  scopes: readonly Scope[];
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    principal: Principal;
  };
}

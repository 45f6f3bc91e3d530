/** The Hono environment shared by the app, its middleware and its routes. */
export interface Principal {
  tenantId: string;
  keyId: string;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    principal: Principal;
  };
}

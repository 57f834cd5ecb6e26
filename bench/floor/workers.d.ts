/**
 * The little of the Workers runtime the floor Worker uses. bench/ is type-checked against Node's
 * types (tsconfig.node.json), where `cloudflare:workers` does not exist; wrangler bundles the
 * Worker against the real runtime.
 */
declare module "cloudflare:workers" {
  export interface SqlStorage {
    exec(query: string, ...bindings: unknown[]): unknown;
  }
  export interface DurableObjectState {
    storage: { sql: SqlStorage };
  }
  export class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState;
    protected env: Env;
    constructor(ctx: DurableObjectState, env: Env);
  }
}

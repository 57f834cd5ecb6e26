import type { AgentDO } from "./agent/agent-do.js";
import type { RunDO } from "./run/run-do.js";
import type { WorkspaceDO } from "./schedules/workspace-do.js";

export interface Env {
  AGENT: DurableObjectNamespace<AgentDO>;
  RUN: DurableObjectNamespace<RunDO>;
  WORKSPACE: DurableObjectNamespace<WorkspaceDO>;
  /** The workspace-wide index of runs and agents (D1; migrations/). */
  INDEX: D1Database;
  /** The signing key set: a JSON array of Ed25519 private JWKs, the first signs (wrangler secret put TETHER_SIGNING_KEYS). */
  TETHER_SIGNING_KEYS: string;
  /** The retired HS256 secret: only read to refuse it with a message saying what to do. */
  TETHER_SIGNING_KEY?: string;
  /** Issuer URL put in job identity tokens, where /.well-known/jwks.json is served; default: the request's origin. */
  TETHER_ISSUER?: string;
  /** 32 random bytes, base64: seals agents' secrets at rest (wrangler secret put TETHER_SECRETS_KEY). */
  TETHER_SECRETS_KEY?: string;
}

/** Object names carry the workspace, so one workspace can never name another's objects. */
export const agentStub = (env: Env, ws: string, agent: string) => env.AGENT.get(env.AGENT.idFromName(`${ws}:${agent}`));
export const runStub = (env: Env, ws: string, runId: string) => env.RUN.get(env.RUN.idFromName(`${ws}:${runId}`));
export const workspaceStub = (env: Env, ws: string) => env.WORKSPACE.get(env.WORKSPACE.idFromName(ws));

/** Header by which the Worker hands verified claims to an object on a WebSocket upgrade. */
export const CLAIMS_HEADER = "x-tether-claims";
